// Prints vitest's totals as the plain closing line CI reads ("N passed, N failed").
import { readFileSync } from 'node:fs';
const r = JSON.parse(readFileSync('.tmp/vitest.json', 'utf8'));
const skipped = r.numPendingTests + r.numTodoTests;
console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(r.numFailedTests === 0 && r.numPassedTests > 0 ? 0 : 1);

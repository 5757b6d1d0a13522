// Prints vitest's totals as the plain closing line CI reads ("N passed, N failed"): the full
// suite on the machine's Node, and the unit suite on Node 24.
import { existsSync, readFileSync } from 'node:fs';
const runs = [['.tmp/vitest.json', 'node 20'], ['.tmp/vitest-node24.json', 'node 24 (unit)']].filter(([f]) => existsSync(f));
let passed = 0, failed = 0, skipped = 0;
const parts = [];
for (const [file, label] of runs) {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  parts.push(`${label}: ${r.numPassedTests}/${r.numTotalTests}`);
}
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''} (${parts.join('; ')})`);
process.exit(failed === 0 && passed > 0 && runs.length === 2 ? 0 : 1);

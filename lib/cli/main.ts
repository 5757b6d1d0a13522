#!/usr/bin/env node
import { dispatch } from './dispatch.js';
import { describeError } from './dtls.js';

/** Exits once what was written to stdout and stderr has been handed to the OS. */
function exit(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

dispatch(process.argv.slice(2), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }).then(exit, (e: unknown) => {
  process.stderr.write(`coaps: ${describeError(e)}\n`);
  exit(1);
});

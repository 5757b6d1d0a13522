#!/usr/bin/env node
import { dtlsClient, dtlsServer, describeError, DTLS_USAGE } from './dtls.js';
import { UsageError } from './args.js';

const USAGE = `usage:\n${DTLS_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const [group, cmd, ...rest] = argv;
  if (group === 'dtls' && cmd === 'server') return dtlsServer(rest);
  if (group === 'dtls' && cmd === 'client') return dtlsClient(rest);
  if (group === '-h' || group === '--help' || group === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  throw new UsageError(USAGE);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`coaps: ${e instanceof UsageError ? e.message : describeError(e)}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);

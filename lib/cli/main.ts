#!/usr/bin/env node
import { dtlsClient, dtlsServer, describeError, DTLS_USAGE } from './dtls.js';
import { UsageError } from './args.js';
import { coapCommand, COAP_USAGE } from './coap.js';
import { serve, SERVE_USAGE } from './serve.js';
import { lwm2mCommand, LWM2M_USAGE } from './lwm2m.js';

const USAGE = `usage:\n${DTLS_USAGE}\n  ${COAP_USAGE}\n  ${SERVE_USAGE}\n  ${LWM2M_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const [group, cmd, ...rest] = argv;
  if (group === 'dtls' && cmd === 'server') return dtlsServer(rest);
  if (group === 'dtls' && cmd === 'client') return dtlsClient(rest);
  const methods = { get: 'GET', put: 'PUT', post: 'POST', delete: 'DELETE' } as const;
  if (group && group in methods) return coapCommand(methods[group as keyof typeof methods], argv.slice(1));
  if (group === 'serve') return serve(argv.slice(1));
  if (group === 'lwm2m') return lwm2mCommand(argv.slice(1));
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

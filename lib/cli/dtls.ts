import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { connect, createServer } from '../../transports/node-dgram.js';
import { toHex } from '../bytes/util.js';
import { DtlsError } from '../dtls/errors.js';
import { pskMap } from '../dtls/keystore.js';
import { alertName } from '../dtls/wire/constants.js';
import { parseHostPort, parseIntArg, parsePskArg, UsageError } from './args.js';

const printable = (b: Uint8Array) => {
  const s = new TextDecoder('utf-8', { fatal: false }).decode(b);
  return /^[\x20-\x7e\t\r\n]*$/.test(s) ? s : toHex(b);
};

function keyLogger(file: string | undefined): ((line: string) => void) | undefined {
  return file ? (line) => appendFileSync(file, line + '\n', { mode: 0o600 }) : undefined;
}

export function describeError(e: unknown): string {
  if (e instanceof DtlsError) return `${e.code}${e.alert !== undefined && e.code === 'PEER_ALERT' ? ` (${alertName(e.alert)})` : ''}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

const SERVER_USAGE = 'coaps dtls server --listen HOST:PORT --psk IDENTITY:HEXKEY [--psk ...] [--echo] [--hint TEXT] [--mtu N] [--keylog FILE]';
const CLIENT_USAGE = 'coaps dtls client HOST:PORT --psk IDENTITY:HEXKEY [--mtu N] [--keylog FILE] [--timeout MS] [--wait MS]';

export async function dtlsServer(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string' },
      psk: { type: 'string', multiple: true },
      echo: { type: 'boolean', default: false },
      hint: { type: 'string' },
      mtu: { type: 'string' },
      keylog: { type: 'string' },
      quiet: { type: 'boolean', short: 'q', default: false },
    },
    strict: true,
  });
  if (!values.listen || !values.psk?.length) throw new UsageError(`usage: ${SERVER_USAGE}`);
  const { host, port } = parseHostPort(values.listen, '--listen');
  const psks = values.psk.map(parsePskArg);
  const log = (s: string) => values.quiet || process.stderr.write(s + '\n');
  const opts = {
    psk: pskMap(psks.map((p) => [p.identity, p.key] as [Uint8Array, Uint8Array])),
    mtu: parseIntArg(values.mtu, '--mtu', 64, 65507),
    keyLog: keyLogger(values.keylog),
    pskHint: values.hint !== undefined ? new TextEncoder().encode(values.hint) : undefined,
  };
  const server = createServer(opts);
  server.on('session', (s) => {
    const who = `${s.peer.address}:${s.peer.port}`;
    log(`session ${who} identity=${printable(s.peerIdentity)}`);
    s.on('data', (d: Uint8Array) => {
      process.stdout.write(printable(d));
      if (values.echo) s.send(d);
    });
    s.on('close', (e?: DtlsError) => log(`closed ${who}${e ? ' ' + describeError(e) : ''}`));
  });
  server.on('handshakeError', (e: DtlsError, peer: { address: string; port: number }) => log(`handshake failed ${peer.address}:${peer.port} ${describeError(e)}`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address();
  log(`listening on ${a.address}:${a.port}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}

export async function dtlsClient(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      psk: { type: 'string' },
      mtu: { type: 'string' },
      keylog: { type: 'string' },
      timeout: { type: 'string' },
      wait: { type: 'string' },
      quiet: { type: 'boolean', short: 'q', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1 || !values.psk) throw new UsageError(`usage: ${CLIENT_USAGE}`);
  const { host, port } = parseHostPort(positionals[0]!, 'HOST:PORT');
  const log = (s: string) => values.quiet || process.stderr.write(s + '\n');
  const waitMs = parseIntArg(values.wait, '--wait', 0, 600_000) ?? 500;
  let session;
  try {
    session = await connect({
      host,
      port,
      psk: parsePskArg(values.psk),
      mtu: parseIntArg(values.mtu, '--mtu', 64, 65507),
      keyLog: keyLogger(values.keylog),
      timeoutMs: parseIntArg(values.timeout, '--timeout', 1, 3_600_000) ?? 30_000,
    });
  } catch (e) {
    process.stderr.write(`coaps: handshake failed: ${describeError(e)}\n`);
    return 1;
  }
  log(`connected to ${host}:${port}`);
  let lastTraffic = Date.now();
  let failure: DtlsError | undefined;
  session.on('data', (d: Uint8Array) => {
    lastTraffic = Date.now();
    process.stdout.write(printable(d));
  });
  const closed = new Promise<void>((r) =>
    session.once('close', (e?: DtlsError) => {
      failure = e;
      r();
    }),
  );
  const rl = createInterface({ input: process.stdin, terminal: false });
  const input = (async () => {
    for await (const line of rl) {
      if (session.closed) break;
      session.send(line + '\n');
      lastTraffic = Date.now();
    }
  })();
  await Promise.race([input, closed]);
  if (!session.closed) {
    // End of input: let answers in flight arrive, then close_notify.
    while (!session.closed && Date.now() - lastTraffic < waitMs) await new Promise((r) => setTimeout(r, 50));
    await session.close();
  }
  rl.close();
  if (failure) {
    process.stderr.write(`coaps: ${describeError(failure)}\n`);
    return 1;
  }
  log('closed');
  return 0;
}

import { appendFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { connect, createServer } from '../entry/dtls.js';
import { toHex } from '../bytes/util.js';
import { DtlsError } from '../dtls/errors.js';
import { pskMap } from '../dtls/keystore.js';
import { decodeClientResumption, encodeClientResumption, type ClientResumption } from '../dtls/resumption.js';
import { parseHostPort, parseIntArg, parsePskArg, untilSignal } from './args.js';
import { resolveCredentialFlags } from './credentials.js';
import { describeError, printable } from './describe.js';
import { logServerLimits, serverLimits } from './server-limits.js';
import { parseFlags } from './flags.js';
import { openSessionStore, parseSessionStoreArg, stopServer } from './session-store.js';
import { DTLS_CLIENT, DTLS_SERVER } from './specs/dtls.js';
import type { PeerIdentity } from '../dtls/keystore.js';
import type { SessionInfo } from '../dtls/events.js';

function describeIdentity(id: PeerIdentity): string {
  switch (id.kind) {
    case 'psk':
      return `psk identity=${printable(id.identity)}`;
    case 'rpk':
      return `raw public key sha256:${id.fingerprint.slice(0, 16)}…${id.name ? ` (${id.name})` : ''}`;
    case 'x509':
      return `certificate "${id.subject.replace(/\n/g, ', ')}"`;
    default:
      return 'anonymous client';
  }
}


function keyLogger(file: string | undefined): ((line: string) => void) | undefined {
  return file ? (line) => appendFileSync(file, line + '\n', { mode: 0o600 }) : undefined;
}

export { describeError };

/** ` resumed`, ` cid=…`: what a session line adds about resumption and RFC 9146 connection IDs. */
function sessionNotes(info: SessionInfo): string {
  const cid = info.connectionId;
  const hex = (b: Uint8Array) => (b.length ? toHex(b) : '-');
  return `${info.resumed ? ' resumed' : ''}${cid ? ` cid=${hex(cid.read)}/${hex(cid.write)}` : ''}`;
}

/** `--cid LEN`: the endpoint's connectionId option. */
function serverCid(v: string | undefined): { connectionId?: number } {
  return v === undefined ? {} : { connectionId: parseIntArg(v, '--cid', 1, 255) };
}

/**
 * `--resume FILE`: the session kept there, if the file exists and holds one made with this
 * server (`HOST:PORT` as given); otherwise nothing (a full handshake), saying why.
 */
function readResumption(file: string, server: string, log: (s: string) => void): ClientResumption | undefined {
  if (!existsSync(file)) return undefined;
  let r: ClientResumption;
  try {
    r = decodeClientResumption(new Uint8Array(readFileSync(file)));
  } catch (e) {
    log(`ignoring ${file}: not a session to resume (${e instanceof Error ? e.message : String(e)})`);
    return undefined;
  }
  if (r.server !== undefined && r.server !== server) {
    log(`ignoring ${file}: its session is with ${r.server}, not ${server}`);
    return undefined;
  }
  return r;
}

/**
 * Keeps what resumes the session in `file` (written beside it, then renamed, mode 0600: it
 * holds the master secret), marked with the server it belongs to; removes the file when the
 * server gave nothing to resume with.
 */
function keepResumption(file: string, blob: Uint8Array | undefined, server: string, log: (s: string) => void): void {
  if (!blob) {
    rmSync(file, { force: true });
    log(`the server offers no resumption: nothing kept in ${file}`);
    return;
  }
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, encodeClientResumption({ ...decodeClientResumption(blob), server }), { mode: 0o600 });
  renameSync(tmp, file);
}

export async function dtlsServer(argv: string[]): Promise<number> {
  const { values } = parseFlags(DTLS_SERVER, argv);
  const { host, port } = parseHostPort(values.listen, '--listen');
  const psks = (values.psk ?? []).map(parsePskArg);
  const cred = resolveCredentialFlags(values, psks.length > 0);
  const log = (s: string) => values.quiet || process.stderr.write(s + '\n');
  const storeArg = parseSessionStoreArg(values['session-store']);
  const opts = {
    ...(psks.length ? { psk: pskMap(psks.map((p) => [p.identity, p.key] as [Uint8Array, Uint8Array])) } : {}),
    ...(cred.ecdhe ? { ecdhe: cred.ecdhe } : {}),
    ...(cred.suites ? { suites: cred.suites } : {}),
    ...(cred.hasTrust ? { keyStore: cred.trust } : {}),
    clientAuth: cred.clientAuth,
    mtu: parseIntArg(values.mtu, '--mtu', 64, 65507),
    keyLog: keyLogger(values.keylog),
    pskHint: values.hint !== undefined ? new TextEncoder().encode(values.hint) : undefined,
    ...serverCid(values.cid),
    ...serverLimits(values),
  };
  // after every argument is checked: a Redis that cannot be reached fails the start (exit 1)
  const store = storeArg && (await openSessionStore(storeArg, log));
  const server = createServer({ ...opts, ...(store ? { sessionStore: store.store } : {}) });
  logServerLimits(server, log, { handshakeErrors: true });
  server.on('peerMoved', (to: { address: string; port: number }, from: { address: string; port: number }) => log(`moved ${from.address}:${from.port} -> ${to.address}:${to.port} (connection ID)`));
  server.on('session', (s) => {
    const who = `${s.peer.address}:${s.peer.port}`;
    log(`session ${who} ${describeIdentity(s.info.identity)} suite=0x${s.info.cipherSuite.toString(16)}${sessionNotes(s.info)}`);
    s.on('data', (d: Uint8Array) => {
      process.stdout.write(printable(d));
      if (values.echo) s.send(d);
    });
    s.on('close', (e?: DtlsError) => log(`closed ${who}${e ? ' ' + describeError(e) : ''}`));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const a = server.address();
    log(`listening on ${a.address}:${a.port}${store ? ` (sessions kept in ${store.name})` : ''}`);
    await untilSignal();
  } finally {
    await stopServer(server, store, log);
  }
  return 0;
}

export async function dtlsClient(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(DTLS_CLIENT, argv);
  const cred = resolveCredentialFlags(values, !!values.psk);
  const { host, port } = parseHostPort(positionals[0]!, 'HOST:PORT');
  const log = (s: string) => values.quiet || process.stderr.write(s + '\n');
  const waitMs = parseIntArg(values.wait, '--wait', 0, 600_000);
  const server = `${host}:${port}`;
  const resume = values.resume !== undefined ? readResumption(values.resume, server, log) : undefined;
  let session;
  try {
    session = await connect({
      host,
      port,
      ...(values.psk ? { psk: parsePskArg(values.psk) } : {}),
      ...(cred.ecdhe ? { ecdhe: cred.ecdhe } : {}),
      ...(cred.suites ? { suites: cred.suites } : {}),
      ...(cred.hasTrust ? { trust: cred.trust } : {}),
      ...(values['server-name'] !== undefined ? { serverName: values['server-name'] } : {}),
      ...(values.cid ? { connectionId: true } : {}),
      ...(resume ? { resume } : {}),
      mtu: parseIntArg(values.mtu, '--mtu', 64, 65507),
      keyLog: keyLogger(values.keylog),
      timeoutMs: parseIntArg(values.timeout, '--timeout', 1, 3_600_000),
    });
  } catch (e) {
    process.stderr.write(`coaps: handshake failed: ${describeError(e)}\n`);
    return 1;
  }
  log(`connected to ${host}:${port}: ${describeIdentity(session.info.identity)} suite=0x${session.info.cipherSuite.toString(16)}${sessionNotes(session.info)}`);
  if (values.resume !== undefined) {
    if (resume) log(session.info.resumed ? `resumed the session kept in ${values.resume} (abbreviated handshake)` : `the server did not resume the session kept in ${values.resume}: full handshake`);
    keepResumption(values.resume, session.resumption, server, log);
  }
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

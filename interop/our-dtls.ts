/**
 * Our side of the DTLS interop tests (dtls-psk, dtls-ecdhe): an in-process echo server and a
 * client on the public API (lib/entry/dtls.ts), each recording what it sees, with a short
 * retransmission timer and, when asked, an NSS key log for tshark. Both are closed by the
 * file's `runCleanups()`.
 */
import { writeFileSync } from 'node:fs';
import { expect } from 'vitest';
import { connect, createServer, DtlsError, type ConnectOptions, type DtlsServer, type DtlsSession, type ServerOptions } from '../lib/entry/dtls.js';
import { LOOPBACK, onCleanup } from './helpers.js';

/** Fast but tolerant: the peers answer in a few ms on loopback. */
export const FAST = { initialMs: 400, maxMs: 1600, maxRetransmits: 3 };

export const text = (d: Uint8Array): string => Buffer.from(d).toString('utf8');

/** A `keyLog` callback that keeps `file` an NSS key log of every line so far (tshark reads it after the session). */
export function keyLogTo(file: string): (line: string) => void {
  const lines: string[] = [];
  return (line) => {
    lines.push(line);
    writeFileSync(file, lines.join('\n') + '\n', { mode: 0o600 });
  };
}

export interface OurServer {
  server: DtlsServer;
  port: number;
  sessions: DtlsSession[];
  closes: Array<{ session: DtlsSession; error: DtlsError | undefined }>;
  handshakeErrors: Array<{ error: DtlsError; peer: { address: string; port: number } }>;
  /** Every record received, as text, all sessions together. */
  received: string[];
}

/** createServer on 127.0.0.1:`port`, echoing every record back. */
export async function ourEchoServer(port: number, opts: ServerOptions): Promise<OurServer> {
  const server = createServer({ retransmission: FAST, ...opts });
  const s: OurServer = { server, port, sessions: [], closes: [], handshakeErrors: [], received: [] };
  server.on('session', (session: DtlsSession) => {
    s.sessions.push(session);
    session.on('data', (d: Uint8Array) => {
      s.received.push(text(d));
      if (!session.closed) session.send(d);
    });
    session.on('close', (error?: DtlsError) => s.closes.push({ session, error }));
  });
  server.on('handshakeError', (error: DtlsError, peer: { address: string; port: number }) => s.handshakeErrors.push({ error, peer }));
  await new Promise<void>((r) => server.listen(port, LOOPBACK, r));
  onCleanup(() => server.close());
  return s;
}

export interface OurClient {
  session: DtlsSession;
  /** Everything received so far, as text. */
  received: () => string;
  closeEvents: Array<DtlsError | undefined>;
}

/** connect() to 127.0.0.1:`port`. */
export async function ourClient(port: number, opts: Omit<ConnectOptions, 'host' | 'port'>): Promise<OurClient> {
  const session = await connect({ host: LOOPBACK, port, retransmission: FAST, timeoutMs: 5000, ...opts });
  onCleanup(() => session.close());
  const chunks: string[] = [];
  const closeEvents: Array<DtlsError | undefined> = [];
  session.on('data', (d: Uint8Array) => chunks.push(text(d)));
  session.on('close', (e?: DtlsError) => closeEvents.push(e));
  return { session, received: () => chunks.join(''), closeEvents };
}

/** connect() to 127.0.0.1:`port` that must fail: returns the DtlsError. */
export async function ourClientFails(port: number, opts: Omit<ConnectOptions, 'host' | 'port'>): Promise<DtlsError> {
  let session: DtlsSession | undefined;
  try {
    session = await connect({ host: LOOPBACK, port, retransmission: FAST, timeoutMs: 5000, ...opts });
  } catch (e) {
    expect(e).toBeInstanceOf(DtlsError);
    return e as DtlsError;
  }
  await session.close();
  throw new Error(`the handshake succeeded: ${JSON.stringify(session.info.identity)}`);
}

/**
 * What the benchmark server processes (psk-echo-server, ecdhe-server, coap-server,
 * udp-echo-server) share: their command line, the benchmark PSK, their error counters, and how
 * they stop. Each is run by a bench as a separate process, pinned to one core:
 *   node dist/bench/<server>.js [port] [host] ...
 * prints `LISTENING <port>` on stdout once bound, and exits on SIGTERM/SIGINT or when its stdin
 * closes (the parent holds it open: if the parent dies, the server follows).
 */
import type { EventEmitter } from 'node:events';

/** The port (0: any) and host from the command line. */
export function listenArgs(): { port: number; host: string } {
  return { port: Number(process.argv[2] ?? 0), host: process.argv[3] ?? '127.0.0.1' };
}

/** The PSK of every benchmark client (and dtls-load's default): identity Client_identity, key ASCII 'secretPSK'. */
export const BENCH_PSK_IDENTITY = 'Client_identity';
export const BENCH_PSK_KEY = Uint8Array.from(Buffer.from('73656372657450534b', 'hex'));

/** Adds one to `counts[key]`. */
export function tally(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/** Counts a server's 'handshakeError' events into `errors` by code; returns the running total. */
export function countHandshakeErrors(server: EventEmitter, errors: Record<string, number>): () => number {
  let n = 0;
  server.on('handshakeError', (e: { code?: string }) => {
    n++;
    tally(errors, e.code ?? 'unknown');
  });
  return () => n;
}

/**
 * For a DTLS server (transports/node-dgram.ts): counts sessions, and session and handshake
 * errors into `errors` by code; logs server errors. Returns the running counts.
 */
export function countDtlsServerEvents(server: EventEmitter, errors: Record<string, number>): { sessions: () => number; handshakeErrors: () => number } {
  let sessions = 0;
  server.on('session', (s: EventEmitter) => {
    sessions++;
    s.on('error', (e: { code?: string }) => tally(errors, `session:${e.code ?? 'unknown'}`));
  });
  server.on('error', (e: unknown) => console.error('server error:', e));
  return { sessions: () => sessions, handshakeErrors: countHandshakeErrors(server, errors) };
}

/** `heapUsedMB=… rssMB=…` of this process. */
export function memoryText(): string {
  const mem = process.memoryUsage();
  return `heapUsedMB=${(mem.heapUsed / 1e6).toFixed(1)} rssMB=${(mem.rss / 1e6).toFixed(1)}`;
}

/** `LISTENING <port>` on stdout: the parent waits for it. */
export function announceListening(port: number): void {
  process.stdout.write(`LISTENING ${port}\n`);
}

/**
 * SIGUSR2 prints `stats()` on stderr (the benches read the counters between runs); SIGTERM,
 * SIGINT or the end of stdin print them once more, close the server and exit, at the latest
 * `exitAfterMs` later (process.exit() lets --cpu-prof write its profile). Without `stats`,
 * nothing is printed.
 */
export function stopOnSignals(stats: (() => string) | undefined, close: () => Promise<unknown> | void, exitAfterMs = 10): void {
  if (stats) process.on('SIGUSR2', () => process.stderr.write(`${stats()}\n`));
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    if (stats) process.stderr.write(`${stats()}\n`);
    setTimeout(() => process.exit(0), exitAfterMs).unref();
    void Promise.resolve(close()).finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}

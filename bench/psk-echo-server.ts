/**
 * Benchmark server (not a test): our DTLS PSK server echoing every application record.
 * Run as a separate process by bench/dtls-psk.ts, pinned to one core:
 *   node dist/bench/psk-echo-server.js [port] [host]
 * Prints `LISTENING <port>` on stdout once bound; exits on SIGTERM/SIGINT or when stdin closes.
 */
import { createServer } from '../transports/node-dgram.js';
import { pskMap } from '../lib/dtls/keystore.js';

const IDENTITY = 'Client_identity';
const KEY = Uint8Array.from(Buffer.from('73656372657450534b', 'hex'));

const port = Number(process.argv[2] ?? 0);
const host = process.argv[3] ?? '127.0.0.1';

const server = createServer({ psk: pskMap([[IDENTITY, KEY]]) });
let sessions = 0;
let handshakeErrors = 0;
const errorCodes: Record<string, number> = {};
server.on('session', (s) => {
  sessions++;
  s.on('data', (d: Uint8Array) => {
    if (!s.closed) s.send(d);
  });
  s.on('error', (e: { code?: string }) => {
    const k = `session:${e.code ?? 'unknown'}`;
    errorCodes[k] = (errorCodes[k] ?? 0) + 1;
  });
});
server.on('handshakeError', (e: { code?: string }) => {
  handshakeErrors++;
  const k = e.code ?? 'unknown';
  errorCodes[k] = (errorCodes[k] ?? 0) + 1;
});
server.on('error', (e) => {
  console.error('server error:', e);
});
server.listen(port, host, () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});

function stats(): string {
  const st = server.endpoint.stats;
  // diagnostics only: the endpoint's private timer heap (entries, live or stale)
  const timers = (server.endpoint as unknown as { timers?: { size?: number } }).timers;
  const mem = process.memoryUsage();
  return (
    `psk-echo-server: sessions=${sessions} handshakeErrors=${handshakeErrors} open=${server.endpoint.sessionCount} ` +
      `hvr=${st.helloVerifyRequests} started=${st.handshakesStarted} refused=${st.handshakesRefused} dropped=${st.datagramsDropped} errors=${JSON.stringify(errorCodes)} ` +
      `timerHeap=${timers?.size ?? '?'} heapUsedMB=${(mem.heapUsed / 1e6).toFixed(1)} rssMB=${(mem.rss / 1e6).toFixed(1)}`
  );
}
// SIGUSR2: print the counters now (diagnostics while sessions are open)
process.on('SIGUSR2', () => process.stderr.write(`${stats()}\n`));

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`${stats()}\n`);
  // process.exit() lets --cpu-prof write its profile
  setTimeout(() => process.exit(0), 10).unref();
  void server.close().finally(() => process.exit(0));
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent holds our stdin open: if it dies, we follow.
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();

/**
 * Benchmark server (not a test): our DTLS PSK server echoing every application record.
 * Run as a separate process by bench/dtls-psk.ts, pinned to one core:
 *   node dist/bench/psk-echo-server.js [port] [host]
 * Prints `LISTENING <port>` on stdout once bound; exits on SIGTERM/SIGINT or when stdin closes
 * (bench/lib/server-process.ts).
 */
import { createServer } from '../transports/node-dgram.js';
import { pskMap } from '../lib/dtls/keystore.js';
import { announceListening, BENCH_PSK_IDENTITY, BENCH_PSK_KEY, countDtlsServerEvents, listenArgs, memoryText, stopOnSignals } from './lib/server-process.js';

const { port, host } = listenArgs();

const server = createServer({ psk: pskMap([[BENCH_PSK_IDENTITY, BENCH_PSK_KEY]]) });
const errorCodes: Record<string, number> = {};
const { sessions, handshakeErrors } = countDtlsServerEvents(server, errorCodes);
server.on('session', (s) => {
  s.on('data', (d: Uint8Array) => {
    if (!s.closed) s.send(d);
  });
});
server.listen(port, host, () => announceListening(server.address().port));

function stats(): string {
  const st = server.endpoint.stats;
  // diagnostics only: the endpoint's private timer heap (entries, live or stale)
  const timers = (server.endpoint as unknown as { timers?: { size?: number } }).timers;
  return (
    `psk-echo-server: sessions=${sessions()} handshakeErrors=${handshakeErrors()} open=${server.endpoint.sessionCount} ` +
    `hvr=${st.helloVerifyRequests} started=${st.handshakesStarted} refused=${st.handshakesRefused} dropped=${st.datagramsDropped} errors=${JSON.stringify(errorCodes)} ` +
    `timerHeap=${timers?.size ?? '?'} ${memoryText()}`
  );
}
stopOnSignals(stats, () => server.close());

/**
 * Benchmark server (not a test): our CoAP server over DTLS PSK (TLS_PSK_WITH_AES_128_CCM_8),
 * with the resources the coaps benchmark compares against libcoap's example server:
 *   /hello  "Hello, coaps!" (text/plain), as in `coaps serve` (lib/cli/serve.ts demoRouter)
 *   /time   "Mon DD HH:MM:SS" with Max-Age 1: the same answer as libcoap's coap-server /time
 *           (15 bytes, one Max-Age option, no Content-Format), so both servers send the same bytes
 * plus /.well-known/core, through the library's Router (the path a real application takes).
 * Run as a separate process by bench/coaps.ts, pinned to one core:
 *   node dist/bench/coap-server.js [port] [host] [maxSessions]
 * (maxSessions: the DTLS endpoint's session limit, default 200,000; the report's
 * `sessions` part passes a limit to fit its idle sessions.)
 * Prints `LISTENING <port>` on stdout once bound; exits on SIGTERM/SIGINT or when stdin closes
 * (bench/lib/server-process.ts), printing its counters on stderr.
 */
import { createServer, type ServerResponse } from '../transports/coap-node.js';
import { Router } from '../lib/coap/router.js';
import { ContentFormat } from '../lib/coap/content-format.js';
import { OptionNumber } from '../lib/coap/message.js';
import { pskMap } from '../lib/dtls/keystore.js';
import { announceListening, BENCH_PSK_IDENTITY, BENCH_PSK_KEY, countHandshakeErrors, listenArgs, memoryText, stopOnSignals, tally } from './lib/server-process.js';

const { port, host } = listenArgs();

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => (n < 10 ? `0${n}` : String(n));
/** libcoap's `strftime("%b %d %H:%M:%S", gmtime(now))`, formatted once per second. */
let timeSec = -1;
let timeText = '';
function clockText(): string {
  const ms = Date.now();
  const sec = Math.floor(ms / 1000);
  if (sec !== timeSec) {
    const d = new Date(ms);
    timeSec = sec;
    timeText = `${MONTHS[d.getUTCMonth()]} ${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
  }
  return timeText;
}

let requests = 0;
const byPath: Record<string, number> = {};
const router = new Router<ServerResponse>()
  .get('/hello', (_req, res) => res.contentFormat(ContentFormat.TextPlain).end('Hello, coaps!'), { attributes: [['ct', '0']] })
  .get('/time', (_req, res) => res.setOption(OptionNumber.MaxAge, 1).end(clockText()), { attributes: [['ct', '0']] });
const route = router.handler();

// maxSessions: room for the idle sessions `npm run bench -- coaps --idle-sessions N` opens beside the measured ones
const maxSessions = process.argv[4] ? Number(process.argv[4]) : 200_000;
const keys = pskMap([[BENCH_PSK_IDENTITY, BENCH_PSK_KEY]]);
/** PSK lookups: one per full handshake that reached the ClientKeyExchange (the report counts its idle sessions so). */
let pskLookups = 0;
const psk: typeof keys = (identity, peer) => {
  pskLookups++;
  return keys(identity, peer);
};
const server = createServer({ dtls: { psk, maxSessions } }, (req, res) => {
  requests++;
  tally(byPath, req.path);
  return route(req, res);
});
const errors: Record<string, number> = {};
const handshakeErrors = countHandshakeErrors(server, errors);
server.on('error', (e: unknown) => tally(errors, `server:${e instanceof Error ? e.message : String(e)}`.slice(0, 80)));
server.listen(port, host, () => announceListening(server.address().port));

function stats(): string {
  return `coap-server: requests=${requests} pskLookups=${pskLookups} byPath=${JSON.stringify(byPath)} handshakeErrors=${handshakeErrors()} errors=${JSON.stringify(errors)} ${memoryText()}`;
}
stopOnSignals(stats, () => server.close(), 200);

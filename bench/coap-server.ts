/**
 * Benchmark server (not a test): our CoAP server over DTLS PSK (TLS_PSK_WITH_AES_128_CCM_8),
 * with the resources the coaps benchmark compares against libcoap's example server:
 *   /hello  "Hello, coaps!" (text/plain), as in `coaps serve` (lib/cli/serve.ts demoRouter)
 *   /time   "Mon DD HH:MM:SS" with Max-Age 1: the same answer as libcoap's coap-server /time
 *           (15 bytes, one Max-Age option, no Content-Format), so both servers send the same bytes
 * plus /.well-known/core, through the library's Router (the path a real application takes).
 * Run as a separate process by bench/coaps.ts, pinned to one core:
 *   node dist/bench/coap-server.js [port] [host]
 * Prints `LISTENING <port>` on stdout once bound; exits on SIGTERM/SIGINT or when stdin closes,
 * printing its counters on stderr.
 */
import { createServer, type ServerResponse } from '../transports/coap-node.js';
import { Router } from '../lib/coap/router.js';
import { ContentFormat } from '../lib/coap/content-format.js';
import { OptionNumber } from '../lib/coap/message.js';
import { pskMap } from '../lib/dtls/keystore.js';

const IDENTITY = 'Client_identity';
const KEY = Uint8Array.from(Buffer.from('73656372657450534b', 'hex')); // ASCII 'secretPSK'

const port = Number(process.argv[2] ?? 0);
const host = process.argv[3] ?? '127.0.0.1';

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

const server = createServer({ dtls: { psk: pskMap([[IDENTITY, KEY]]) } }, (req, res) => {
  requests++;
  byPath[req.path] = (byPath[req.path] ?? 0) + 1;
  return route(req, res);
});
let handshakeErrors = 0;
const errors: Record<string, number> = {};
server.on('handshakeError', (e: { code?: string }) => {
  handshakeErrors++;
  const k = e.code ?? 'unknown';
  errors[k] = (errors[k] ?? 0) + 1;
});
server.on('error', (e: unknown) => {
  const k = `server:${e instanceof Error ? e.message : String(e)}`.slice(0, 80);
  errors[k] = (errors[k] ?? 0) + 1;
});
server.listen(port, host, () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});

function stats(): string {
  const mem = process.memoryUsage();
  return (
    `coap-server: requests=${requests} byPath=${JSON.stringify(byPath)} handshakeErrors=${handshakeErrors} errors=${JSON.stringify(errors)} ` +
    `heapUsedMB=${(mem.heapUsed / 1e6).toFixed(1)} rssMB=${(mem.rss / 1e6).toFixed(1)}`
  );
}
process.on('SIGUSR2', () => process.stderr.write(`${stats()}\n`));

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`${stats()}\n`);
  // process.exit() lets --cpu-prof write its profile
  setTimeout(() => process.exit(0), 200).unref();
  void server.close().finally(() => process.exit(0));
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent holds our stdin open: if it dies, we follow.
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();

/**
 * Benchmark child (not a test): bytes per established, idle DTLS PSK session held by the
 * sans-IO server engine (lib/dtls/endpoint.ts), measured in one fresh process:
 *
 *   node --expose-gc dist/bench/report/memory-probe.js <sessions>
 *
 * Sessions are made in-process, one client at a time, every datagram handed over directly (no
 * sockets); each client has its own address and is dropped once connected, so only the
 * server's side stays. First a warm-up fills what is bounded and shared (the session cache of
 * 1,024 entries, the JIT, hidden classes) with handshakes that are then closed; then the
 * baseline; then the sessions; then the virtual clock moves on 241 s, so the last flights each
 * session keeps for retransmission (RFC 6347 §4.2.4) are gone: the sessions are idle. Growth
 * over the baseline after full GCs, per session: process.memoryUsage() heapUsed (heap),
 * external (native memory of JS objects, ArrayBuffers included) and rss.
 * Prints one JSON line. The Node driver's per-session objects (DtlsSession, its emitter) are
 * not counted: this measures the engine.
 */
import { performance } from 'node:perf_hooks';
import { nodeCrypto } from '../../lib/crypto/node.js';
import { resolveConfig } from '../../lib/dtls/config.js';
import { DtlsEndpoint } from '../../lib/dtls/endpoint.js';
import { ClientConnection } from '../../lib/dtls/handshake/client.js';
import type { ServerConnection } from '../../lib/dtls/handshake/server.js';
import { pskMap, type PeerAddress } from '../../lib/dtls/keystore.js';
import { BENCH_PSK_IDENTITY, BENCH_PSK_KEY } from '../lib/server-process.js';

const n = Number(process.argv[2] ?? 1000);
const WARMUP = 1_200;
const LINGER_MS = 241_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc || !(n > 0)) {
  console.log(JSON.stringify({ error: gc ? 'usage: memory-probe <sessions>' : 'run with --expose-gc' }));
  process.exit(2);
}

interface Mem {
  heap: number;
  ext: number;
  rss: number;
}
function sample(): Mem {
  for (let i = 0; i < 4; i++) gc!();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, ext: m.external, rss: m.rss };
}

const server = new DtlsEndpoint({ crypto: nodeCrypto, psk: pskMap([[BENCH_PSK_IDENTITY, BENCH_PSK_KEY]]), maxSessions: n + WARMUP + 10 });
const clientCfg = resolveConfig({ crypto: nodeCrypto, psk: { identity: BENCH_PSK_IDENTITY, key: BENCH_PSK_KEY } });
let now = 1;

/** Peer i: 10.x.y.z:port, or 172.16.x.y for the warm-up. */
function peer(i: number, warm: boolean): PeerAddress {
  return warm ? { address: `172.16.${(i >>> 8) & 255}.${i & 255}`, port: 40000, family: 'IPv4' } : { address: `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`, port: 5684 + (i % 50_000), family: 'IPv4' };
}

/** One full handshake; returns the server's connection (for the warm-up to close). */
function handshake(p: PeerAddress): ServerConnection {
  const c = new ClientConnection(clientCfg);
  c.start(now);
  let serverConn: ServerConnection | undefined;
  let clientUp = false;
  for (let turn = 0; turn < 20 && !(clientUp && serverConn); turn++) {
    for (let d = c.pollTransmit(); d; d = c.pollTransmit()) server.handleDatagram(now, p, d);
    for (let t = server.pollTransmit(); t; t = server.pollTransmit()) c.handleDatagram(now, t.data);
    for (let e = server.pollEvent(); e; e = server.pollEvent()) {
      if (e.type === 'connected') serverConn = e.connection;
      else if (e.type === 'failed') throw new Error(`server: ${e.error.code}`);
    }
    for (let e = c.pollEvent(); e; e = c.pollEvent()) {
      if (e.type === 'connected') clientUp = true;
      else if (e.type === 'failed') throw new Error(`client: ${e.error.code}`);
    }
  }
  if (!clientUp || !serverConn) throw new Error('handshake did not finish');
  return serverConn;
}

try {
  const warm: ServerConnection[] = [];
  for (let i = 0; i < WARMUP; i++) warm.push(handshake(peer(i, true)));
  for (const conn of warm) server.closeSession(now, conn);
  warm.length = 0;
  now += LINGER_MS;
  server.handleTimeout(now);
  while (server.pollTransmit());
  while (server.pollEvent());
  const before = sample();
  const sessionsBefore = server.sessionCount;

  const t0 = performance.now();
  for (let i = 0; i < n; i++) handshake(peer(i, false));
  const establishMs = performance.now() - t0;
  now += LINGER_MS;
  server.handleTimeout(now);
  while (server.pollTransmit());
  while (server.pollEvent());
  const after = sample();
  const held = server.sessionCount - sessionsBefore;
  if (held !== n) throw new Error(`${held} sessions held, ${n} expected`);
  console.log(
    JSON.stringify({
      sessions: n,
      heapBytes: (after.heap - before.heap) / n,
      nativeBytes: (after.ext - before.ext) / n,
      rssBytes: (after.rss - before.rss) / n,
      establishMs,
    }),
  );
} catch (e) {
  console.log(JSON.stringify({ error: e instanceof Error ? e.message : String(e) }));
  process.exit(1);
}

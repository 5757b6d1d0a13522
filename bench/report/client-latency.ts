/**
 * Benchmark child (not a test): client PSK handshake latency, one handshake at a time, against
 * a DTLS server in another process, for the report's `client` part.
 *
 *   node dist/bench/report/client-latency.js --client coaps|node-dtls-client --port P
 *        [--duration 3] [--warmup 0.5]
 *
 * coaps: the package's `connect` (lib/entry/dtls.ts: a fresh UDP socket, the Node driver, the
 * cookie exchange, the handshake), timed from the call to the resolved session; then
 * `session.close()` (close_notify), not timed, and the next one. node-dtls-client
 * (interop/peers/node_modules, TLS_PSK_WITH_AES_128_CCM_8, no extensions: no extended master
 * secret): `dtls.createSocket` to its 'connected' event, then `close()`. Handshakes inside the
 * warm-up are not counted. Last stdout line: JSON { client, n, p50_ms, p90_ms, p99_ms, mean_ms,
 * failed }.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect } from '../../lib/entry/dtls.js';
import { arg, hardTimeLimit, pct } from '../lib/load-client.js';
import { INTEROP_PEERS_DIR } from '../lib/paths.js';
import { BENCH_PSK_IDENTITY, BENCH_PSK_KEY } from '../lib/server-process.js';

const client = arg('client', 'coaps');
const port = Number(arg('port', '0'));
const durationS = Number(arg('duration', '3'));
const warmupS = Number(arg('warmup', '0.5'));
const HOST = '127.0.0.1';
const TIMEOUT_MS = 3_000;

/** The part of node-dtls-client 1.1's API used here. */
interface NodeDtlsClient {
  createSocket(opts: { type: 'udp4'; address: string; port: number; psk: Record<string, string>; ciphers?: string[]; timeout?: number }): {
    on(event: string, f: (...args: unknown[]) => void): void;
    close(): void;
  };
}

/** One handshake; resolves with its milliseconds once connected (the close is not timed, but awaited). */
type Handshake = () => Promise<number>;

function ours(): Handshake {
  return async () => {
    const t0 = performance.now();
    const session = await connect({ host: HOST, port, psk: { identity: BENCH_PSK_IDENTITY, key: BENCH_PSK_KEY }, timeoutMs: TIMEOUT_MS });
    const ms = performance.now() - t0;
    await session.close();
    return ms;
  };
}

function nodeDtlsClient(): Handshake {
  const req = createRequire(join(INTEROP_PEERS_DIR, 'package.json'));
  const { dtls } = req('node-dtls-client') as { dtls: NodeDtlsClient };
  const key = new TextDecoder().decode(BENCH_PSK_KEY);
  return () =>
    new Promise<number>((resolve, reject) => {
      const t0 = performance.now();
      const sock = dtls.createSocket({ type: 'udp4', address: HOST, port, psk: { [BENCH_PSK_IDENTITY]: key }, ciphers: ['TLS_PSK_WITH_AES_128_CCM_8'], timeout: TIMEOUT_MS });
      let done = false;
      sock.on('connected', () => {
        const ms = performance.now() - t0;
        done = true;
        sock.on('close', () => resolve(ms));
        sock.close();
      });
      sock.on('error', (e) => {
        if (done) return;
        done = true;
        reject(e instanceof Error ? e : new Error(String(e)));
      });
    });
}

async function main(): Promise<void> {
  if (!port || !['coaps', 'node-dtls-client'].includes(client)) {
    console.error('usage: client-latency --client coaps|node-dtls-client --port P [--duration S] [--warmup S]');
    process.exit(2);
  }
  hardTimeLimit('client-latency', durationS + warmupS + 30);
  const hs = client === 'coaps' ? ours() : nodeDtlsClient();
  const times: number[] = [];
  let failed = 0;
  let lastError = '';
  const start = performance.now();
  const warmEnd = start + warmupS * 1000;
  const end = warmEnd + durationS * 1000;
  while (performance.now() < end) {
    const counted = performance.now() >= warmEnd;
    try {
      const ms = await hs();
      if (counted) times.push(ms);
    } catch (e) {
      failed++;
      lastError = e instanceof Error ? `${(e as { code?: string }).code ?? ''} ${e.message}`.trim() : String(e);
      if (failed > 20 && times.length === 0) break;
    }
  }
  const mean = times.length ? times.reduce((s, x) => s + x, 0) / times.length : 0;
  const r = (x: number) => Number(x.toFixed(4));
  console.log(JSON.stringify({ client, n: times.length, p50_ms: r(pct(times, 0.5)), p90_ms: r(pct(times, 0.9)), p99_ms: r(pct(times, 0.99)), mean_ms: r(mean), failed, ...(lastError ? { last_error: lastError.slice(0, 200) } : {}) }));
  process.exit(0);
}

void main();

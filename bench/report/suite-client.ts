/**
 * Part `client`: client PSK handshake latency, sequential (one handshake at a time, a fresh
 * socket each, the cookie exchange included), three clients against the same C server:
 * libcoap+GnuTLS (coap-server-gnutls, CCM_8 forced, no PSK hint) on the server core. The
 * clients run on the load core in turn, round after round:
 *   coaps             our client through the package's `connect` (bench/report/client-latency.ts)
 *   node-dtls-client  the npm DTLS client (interop/peers; skipped if not installed)
 *   dtls-load         the C client over Mbed TLS (dtls-load hs --concurrency 1): the floor
 * Issue 13 names tinydtls's C server; tinydtls is not packaged here (neither Debian nor npm on
 * this machine), so the same comparison runs against libcoap+GnuTLS.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runDtlsLoad } from '../lib/dtls-load.js';
import { INTEROP_PEERS_DIR, REPO_ROOT } from '../lib/paths.js';
import { isStopping, runToEnd } from '../lib/procs.js';
import { median } from '../lib/report.js';
import { LOAD_CPU, startLibcoap } from '../lib/servers.js';
import { freePorts } from '../lib/sys.js';
import { stopServers, type Ctx, type Plan } from './context.js';
import { DTLS_LOAD_CLIENT, GNUTLS, OURS, type ClientLatencyFigures, type ClientLatencyRow, type Part } from './figures.js';

export const NODE_DTLS_CLIENT = 'node-dtls-client';
/**
 * Each client's warm-up before its timed window (every client the same): a Node client's
 * handshake keeps getting faster for its first ~3,000 handshakes in a process while V8 still
 * optimises its functions (p50 ~0.8 ms falling to ~0.45 ms at 0.3 ms a handshake), so 2 s
 * measures the steady state a long-running client sees, not the JIT's first minute.
 */
const WARMUP_S = 2;
const CLIENTS = 3;

export function planClient(o: Ctx['o']): Plan {
  return { steps: o.rounds * CLIENTS, seconds: 1 + o.rounds * CLIENTS * (o.clientDuration + WARMUP_S + 0.6) };
}

interface One {
  n: number;
  p50: number;
  p99: number;
}

const WHAT: Record<string, string> = {
  [OURS]: '`connect()` (lib/entry/dtls.ts) to the resolved session: socket, cookie exchange, handshake; close_notify after, not timed',
  [NODE_DTLS_CLIENT]: '`dtls.createSocket()` to `connected` (no extended master secret: it sends no extensions)',
  [DTLS_LOAD_CLIENT]: '`dtls-load hs --concurrency 1`: first ClientHello to Finished, fresh port each, extended master secret',
};

async function nodeClient(name: string, port: number, o: Ctx['o']): Promise<One | { error: string }> {
  const script = join(REPO_ROOT, 'dist/bench/report/client-latency.js');
  const args = ['-c', String(LOAD_CPU), process.execPath, script, '--client', name, '--port', String(port), '--duration', String(o.clientDuration), '--warmup', String(WARMUP_S)];
  const r = await runToEnd('taskset', args, (o.clientDuration + WARMUP_S + 40) * 1000);
  const line = r.out.trim().split('\n').pop() ?? '';
  try {
    const j = JSON.parse(line) as { n: number; p50_ms: number; p99_ms: number; failed: number; last_error?: string };
    if (!j.n) return { error: `no handshake completed (${j.failed} failed: ${j.last_error ?? '?'})` };
    return { n: j.n, p50: j.p50_ms, p99: j.p99_ms };
  } catch {
    return { error: `no JSON (exit ${r.code}): ${(r.err || r.out).trim().slice(-300)}` };
  }
}

async function cClient(bin: string, port: number, pid: number, o: Ctx['o']): Promise<One | { error: string }> {
  const run = await runDtlsLoad(bin, LOAD_CPU, ['hs', '--port', String(port), '--concurrency', '1', '--duration', String(o.clientDuration), '--warmup', String(WARMUP_S), '--server-pid', String(pid)], (o.clientDuration + 30) * 1000);
  const r = run.result;
  if (!r || !r.ok) return { error: `dtls-load: ${r ? JSON.stringify(r.errors) : run.stderr.trim().slice(-300)}` };
  return { n: r.ok, p50: r.p50_ms, p99: r.p99_ms };
}

export async function runClient(ctx: Ctx): Promise<Part<ClientLatencyFigures>> {
  const { o, progress } = ctx;
  const base = await freePorts(2);
  const server = await startLibcoap(base, ctx.capS, 'gnutls');
  if ('skip' in server) {
    progress.note(`client skipped: ${server.skip}`);
    return { skipped: server.skip };
  }
  ctx.servers.push(server);
  const port = base + 1;
  const missing: Record<string, string> = {};
  const clients: string[] = [OURS];
  if (existsSync(join(INTEROP_PEERS_DIR, 'node_modules/node-dtls-client/package.json'))) clients.push(NODE_DTLS_CLIENT);
  else missing[NODE_DTLS_CLIENT] = 'not installed (interop/install-peers.sh)';
  if ('bin' in ctx.dl) clients.push(DTLS_LOAD_CLIENT);
  else missing[DTLS_LOAD_CLIENT] = ctx.dl.skip;
  ctx.log(`\n[client] sequential PSK handshakes against ${GNUTLS} (coaps port ${port}): ${clients.join(', ')}; ${o.rounds} round(s) × ${o.clientDuration} s (+${WARMUP_S} s warm-up)`);
  try {
    const got = new Map<string, One[]>();
    for (let round = 1; round <= o.rounds; round++) {
      for (const c of clients) {
        progress.step(`client: ${c} (round ${round}/${o.rounds})`, o.clientDuration + WARMUP_S + 0.6);
        const x = c === DTLS_LOAD_CLIENT && 'bin' in ctx.dl ? await cClient(ctx.dl.bin, port, server.pid, o) : await nodeClient(c, port, o);
        if (isStopping()) throw new Error('interrupted');
        if ('error' in x) {
          ctx.log(`  ${c.padEnd(24)} FAILED: ${x.error}`);
          missing[c] = x.error;
          continue;
        }
        delete missing[c];
        if (!got.has(c)) got.set(c, []);
        got.get(c)!.push(x);
        ctx.log(`  ${c.padEnd(24)} p50 ${x.p50.toFixed(3)} ms  p99 ${x.p99.toFixed(3)} ms  (${x.n} handshakes)`);
      }
    }
    const rows: ClientLatencyRow[] = [];
    for (const c of clients) {
      const xs = got.get(c);
      if (!xs?.length) continue;
      rows.push({ client: c, p50Ms: median(xs.map((x) => x.p50)), p99Ms: median(xs.map((x) => x.p99)), n: xs.reduce((s, x) => s + x.n, 0), what: WHAT[c] ?? '' });
    }
    if (!rows.length) return { skipped: `every client failed: ${Object.entries(missing).map(([k, v]) => `${k}: ${v}`).join('; ')}` };
    return { server: GNUTLS, warmupS: WARMUP_S, rows, missing };
  } finally {
    await stopServers(ctx, [server]);
  }
}

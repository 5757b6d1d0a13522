/**
 * Part `coap`: CoAP CON GET/s over established DTLS PSK sessions (dtls-load coap: N sessions,
 * W requests in flight on each, only 2.xx responses inside the window counted), coaps
 * (bench/coap-server.ts) vs libcoap+GnuTLS vs libcoap+OpenSSL, interleaved per round and W.
 * libcoap's example server has no /hello: the path is /time (15 bytes + Max-Age), which
 * bench/coap-server.ts answers with the same bytes, unless libcoap lists /hello.
 */
import { runDtlsLoad, type DtlsLoadResult } from '../lib/dtls-load.js';
import { isStopping } from '../lib/procs.js';
import { median } from '../lib/report.js';
import { libcoapResources, LOAD_CPU } from '../lib/servers.js';
import { stopServers, type Ctx, type Plan } from './context.js';
import { OURS, type CoapFigures, type CoapRow, type Part } from './figures.js';
import { startPskServers } from './suite-handshakes.js';

const WARMUP_S = 0.5;
const DRAIN_MS = 300;
const OVERHEAD_S = 0.8; // session setup, drain, process start

export function planCoap(o: Ctx['o']): Plan {
  const n = o.rounds * o.coapWindows.length * 3;
  return { steps: 1 + n, seconds: 4 + n * (o.coapDuration + WARMUP_S + OVERHEAD_S) };
}

type CoapResult = DtlsLoadResult & Record<string, unknown>;

export interface CoapRun {
  r: CoapResult;
  problems: string[];
}

/** One `dtls-load coap` run, with what went wrong in it (setup failures, errors, timeouts). */
export async function coapRun(bin: string, port: number, serverPid: number, sessions: number, window: number, path: string, durationS: number, warmupS = WARMUP_S): Promise<CoapRun | { error: string }> {
  const args = ['coap', '--port', String(port), '--sessions', String(sessions), '--window', String(window), '--path', path];
  args.push('--duration', String(durationS), '--warmup', String(warmupS), '--drain', String(DRAIN_MS), '--server-pid', String(serverPid));
  const run = await runDtlsLoad(bin, LOAD_CPU, args, (durationS + warmupS + 40) * 1000);
  if (isStopping()) throw new Error('interrupted');
  const r = run.result as CoapResult | undefined;
  if (!r) return { error: `dtls-load printed no JSON (exit ${run.code}): ${run.stderr.trim().slice(-300)}` };
  if (r.ok === 0) return { error: `no response counted (${String(r['error'] ?? '')})` };
  const n = (k: string) => Number(r[k] ?? 0);
  const problems: string[] = [];
  if (n('sessions_open') !== sessions) problems.push(`${n('sessions_open')}/${sessions} sessions open (setup failed ${n('setup_failed')})`);
  for (const k of ['error_responses', 'timeouts', 'rst', 'malformed', 'unmatched', 'session_errors']) if (n(k) > 0) problems.push(`${k} ${n(k)}`);
  return { r, problems };
}

export async function runCoap(ctx: Ctx): Promise<Part<CoapFigures>> {
  const { o } = ctx;
  if ('skip' in ctx.dl) {
    ctx.progress.note(`coap skipped: ${ctx.dl.skip}`);
    return { skipped: ctx.dl.skip };
  }
  ctx.log(`\n[coap] dtls-load coap, ${o.coapSessions} sessions, W = ${o.coapWindows.join(', ')}, ${o.rounds} round(s) × ${o.coapDuration} s per server`);
  const { targets, missing } = await startPskServers(ctx, 'coap-server.js');
  try {
    // libcoap's resources, over plain coap:// on the port below its coaps port
    let path = '/time';
    const lib = targets.find((t) => t.name !== OURS);
    if (lib) {
      const res = await libcoapResources(lib.port - 1);
      if (!('error' in res) && res.includes('/hello')) path = '/hello';
      else if (!('error' in res) && !res.includes('/time')) return { skipped: `libcoap serves neither /hello nor /time (it lists ${res.join(' ')})` };
    }
    const bin = ctx.dl.bin;
    ctx.progress.step('coap: coaps JIT warm-up (1 s, not counted)', 2);
    await coapRun(bin, targets[0]!.port, targets[0]!.server.pid, o.coapSessions, 1, path, 1, 0);

    const runs = new Map<string, CoapRun[]>();
    const key = (s: string, w: number) => `${s}|${w}`;
    for (let round = 1; round <= o.rounds; round++) {
      for (const w of o.coapWindows) {
        for (const t of targets) {
          ctx.progress.step(`coap: W=${w} ${t.name} (round ${round}/${o.rounds})`, o.coapDuration + WARMUP_S + OVERHEAD_S);
          const x = await coapRun(bin, t.port, t.server.pid, o.coapSessions, w, path, o.coapDuration);
          if ('error' in x) {
            ctx.log(`  W=${w} ${t.name.padEnd(16)} FAILED: ${x.error}`);
            continue;
          }
          ctx.contention.note(x.r.cpu_busy_pct, x.r.server_cpu_pct, x.r.client_cpu_pct);
          const k = key(t.name, w);
          if (!runs.has(k)) runs.set(k, []);
          runs.get(k)!.push(x);
          ctx.log(
            `  W=${w} ${t.name.padEnd(16)} ${Math.round(x.r.rate).toLocaleString('en-US').padStart(7)} req/s  server cpu ${x.r.server_cpu_pct?.toFixed(0) ?? '?'}%  ` +
              `p50 ${x.r.p50_ms.toFixed(2)} p99 ${x.r.p99_ms.toFixed(2)} ms${x.problems.length ? `  PROBLEMS: ${x.problems.join('; ')}` : ''}  cpu busy ${x.r.cpu_busy_pct.map((b) => `${Math.round(b)}%`).join('/')}`,
          );
        }
      }
    }
    const rows: CoapRow[] = [];
    for (const t of targets) {
      for (const w of o.coapWindows) {
        const rs = runs.get(key(t.name, w)) ?? [];
        if (!rs.length) continue;
        const mid = [...rs].sort((a, b) => a.r.rate - b.r.rate)[(rs.length - 1) >> 1]!;
        rows.push({
          server: t.name,
          window: w,
          rate: median(rs.map((x) => x.r.rate)),
          rates: rs.map((x) => x.r.rate),
          serverCpuPct: mid.r.server_cpu_pct,
          p50Ms: median(rs.map((x) => x.r.p50_ms)),
          p99Ms: median(rs.map((x) => x.r.p99_ms)),
          problems: [...new Set(rs.flatMap((x) => x.problems))],
        });
      }
    }
    return { sessions: o.coapSessions, path, durationS: o.coapDuration, rounds: o.rounds, rows, missing };
  } finally {
    await stopServers(ctx, targets.map((t) => t.server));
  }
}

/**
 * Part `handshakes`: PSK full handshakes/s against concurrency (dtls-load hs: cookie exchange,
 * extended master secret, close_notify, a fresh source port each), coaps (bench/psk-echo-server.ts)
 * vs libcoap+GnuTLS (CCM_8 forced) vs libcoap+OpenSSL, all three servers up on cpu0 at once and
 * measured in turn from cpu1: for each round, for each C, each server (A, B, C, A, B, C, ...).
 * The runs at C=4 give the latency percentiles (p50/p90/p99) as well; at C=4 only, a fourth server
 * takes its turn: coaps again with a 1 MB young generation (OURS_SMALL_YOUNG), for the latency
 * rows (how much of coaps's tail is scavenge pauses), not for the throughput figures.
 */
import { runDtlsLoad, type DtlsLoadResult } from '../lib/dtls-load.js';
import { isStopping } from '../lib/procs.js';
import { median } from '../lib/report.js';
import { LOAD_CPU, startLibcoap, startNodeServer, type LibcoapFlavor, type ServerProcess } from '../lib/servers.js';
import { freePorts } from '../lib/sys.js';
import { stopServers, type Ctx, type Plan } from './context.js';
import { GNUTLS, OPENSSL, OURS, OURS_SMALL_YOUNG, SMALL_YOUNG_NODE_ARGS, type HandshakeFigures, type HandshakePoint, type LatencyFigures, type Part } from './figures.js';
import { TARGET_CONCURRENCY } from './targets.js';

const WARMUP_S = 0.5;
const OVERHEAD_S = 0.4;
const SERVERS = 3;

export function planHandshakes(c: Ctx['o']): Plan {
  const per = c.hsDuration + WARMUP_S + OVERHEAD_S;
  const runs = c.rounds * (c.concurrency.length * SERVERS + (c.concurrency.includes(TARGET_CONCURRENCY) ? 1 : 0));
  return { steps: 1 + runs, seconds: 2 + 1.5 + runs * per };
}

interface Target {
  name: string;
  port: number;
  server: ServerProcess;
}

/** Starts coaps and both libcoap builds on the server core; `missing` says why one is not there. */
export async function startPskServers(ctx: Ctx, ourScript: string, ourArgs: string[] = []): Promise<{ targets: Target[]; missing: Record<string, string> }> {
  const base = await freePorts(6);
  const targets: Target[] = [];
  const missing: Record<string, string> = {};
  const ours = await startNodeServer(ourScript, base, { capS: ctx.capS, args: ourArgs });
  ctx.servers.push(ours);
  targets.push({ name: OURS, port: base, server: ours });
  const flavors: Array<[string, LibcoapFlavor, number]> = [
    [GNUTLS, 'gnutls', base + 2],
    [OPENSSL, 'openssl', base + 4],
  ];
  for (const [name, flavor, port] of flavors) {
    const s = await startLibcoap(port, ctx.capS, flavor);
    if ('skip' in s) {
      missing[name] = s.skip;
      ctx.log(`  SKIP ${name}: ${s.skip}`);
      ctx.progress.note(`${name} skipped: ${s.skip}`);
    } else {
      ctx.servers.push(s);
      targets.push({ name, port: port + 1, server: s });
    }
  }
  return { targets, missing };
}

interface Run {
  r: DtlsLoadResult;
}

async function hs(ctx: Ctx, bin: string, t: Target, concurrency: number, durationS: number, warmupS: number): Promise<Run | { error: string }> {
  const args = ['hs', '--port', String(t.port), '--concurrency', String(concurrency), '--duration', String(durationS), '--warmup', String(warmupS), '--server-pid', String(t.server.pid)];
  const run = await runDtlsLoad(bin, LOAD_CPU, args, (durationS + warmupS + 20) * 1000);
  if (isStopping()) throw new Error('interrupted');
  const r = run.result;
  if (!r) return { error: `dtls-load printed no JSON (exit ${run.code}): ${run.stderr.trim().slice(-300)}` };
  if (r.ok === 0) return { error: `no handshake completed (${JSON.stringify(r.errors)})` };
  return { r };
}

export async function runHandshakes(ctx: Ctx): Promise<{ handshakes: Part<HandshakeFigures>; latency: Part<LatencyFigures> }> {
  const { o, progress } = ctx;
  if ('skip' in ctx.dl) {
    progress.note(`handshakes skipped: ${ctx.dl.skip}`);
    return { handshakes: { skipped: ctx.dl.skip }, latency: { skipped: ctx.dl.skip } };
  }
  const bin = ctx.dl.bin;
  ctx.log(`\n[handshakes] dtls-load hs, C = ${o.concurrency.join(', ')}, ${o.rounds} round(s) × ${o.hsDuration} s (+${WARMUP_S} s warm-up) per server`);
  const { targets, missing } = await startPskServers(ctx, 'psk-echo-server.js');
  if (o.concurrency.includes(TARGET_CONCURRENCY)) {
    const port = await freePorts(1);
    const s = await startNodeServer('psk-echo-server.js', port, { capS: ctx.capS, nodeArgs: SMALL_YOUNG_NODE_ARGS });
    ctx.servers.push(s);
    targets.push({ name: OURS_SMALL_YOUNG, port, server: s });
  }
  try {
    return await measure(ctx, bin, targets, missing);
  } finally {
    await stopServers(ctx, targets.map((t) => t.server));
  }
}

async function measure(ctx: Ctx, bin: string, targets: Target[], missing: Record<string, string>): Promise<{ handshakes: Part<HandshakeFigures>; latency: Part<LatencyFigures> }> {
  const { o, progress } = ctx;
  progress.step('handshakes: coaps JIT warm-up (1 s, not counted)', 1.5);
  for (const t of targets.filter((t) => t.name === OURS || t.name === OURS_SMALL_YOUNG)) await hs(ctx, bin, t, 4, 1, 0);

  const runs = new Map<string, Run[]>();
  const failed = new Map<string, number>();
  const key = (s: string, c: number) => `${s}|${c}`;
  const per = o.hsDuration + WARMUP_S + OVERHEAD_S;
  for (let round = 1; round <= o.rounds; round++) {
    for (const c of o.concurrency) {
      for (const t of targets) {
        if (t.name === OURS_SMALL_YOUNG && c !== TARGET_CONCURRENCY) continue;
        progress.step(`handshakes: C=${c} ${t.name} (round ${round}/${o.rounds})`, per);
        const x = await hs(ctx, bin, t, c, o.hsDuration, WARMUP_S);
        const k = key(t.name, c);
        if ('error' in x) {
          failed.set(k, (failed.get(k) ?? 0) + 1);
          ctx.log(`  C=${String(c).padStart(2)} ${t.name.padEnd(16)} FAILED: ${x.error}`);
          continue;
        }
        ctx.contention.note(x.r.cpu_busy_pct, x.r.server_cpu_pct, x.r.client_cpu_pct);
        if (!runs.has(k)) runs.set(k, []);
        runs.get(k)!.push(x);
        const fails = x.r.failed ?? 0;
        if (fails) failed.set(k, (failed.get(k) ?? 0) + fails);
        ctx.log(
          `  C=${String(c).padStart(2)} ${t.name.padEnd(16)} ${Math.round(x.r.rate).toLocaleString('en-US').padStart(7)}/s  server cpu ${x.r.server_cpu_pct?.toFixed(0) ?? '?'}%  ` +
            `p50 ${x.r.p50_ms.toFixed(2)} p90 ${(x.r.p90_ms ?? NaN).toFixed(2)} p99 ${x.r.p99_ms.toFixed(2)} ms${fails ? `  ${fails} failed` : ''}  cpu busy ${x.r.cpu_busy_pct.map((b) => `${Math.round(b)}%`).join('/')}`,
        );
      }
    }
  }

  const points: HandshakePoint[] = [];
  for (const t of targets) {
    for (const c of o.concurrency) {
      const rs = runs.get(key(t.name, c)) ?? [];
      if (!rs.length) continue;
      const rates = rs.map((x) => x.r.rate);
      const mid = [...rs].sort((a, b) => a.r.rate - b.r.rate)[(rs.length - 1) >> 1]!;
      points.push({
        server: t.name,
        concurrency: c,
        rate: median(rates),
        rates,
        serverCpuPct: mid.r.server_cpu_pct,
        p50Ms: median(rs.map((x) => x.r.p50_ms)),
        p90Ms: median(rs.map((x) => x.r.p90_ms ?? NaN)),
        p99Ms: median(rs.map((x) => x.r.p99_ms)),
        failed: failed.get(key(t.name, c)) ?? 0,
      });
    }
  }
  // the small-young-generation server is for the latency rows only
  const handshakes: HandshakeFigures = { durationS: o.hsDuration, rounds: o.rounds, concurrency: o.concurrency, points: points.filter((p) => p.server !== OURS_SMALL_YOUNG), missing };
  const at = points.filter((p) => p.concurrency === TARGET_CONCURRENCY);
  const latency: Part<LatencyFigures> = at.length
    ? { concurrency: TARGET_CONCURRENCY, rows: at.map((p) => ({ server: p.server, p50Ms: p.p50Ms, p90Ms: p.p90Ms, p99Ms: p.p99Ms })) }
    : { skipped: `no handshake run at C=${TARGET_CONCURRENCY}` };
  return { handshakes, latency };
}

/**
 * Part `floors`: what a Node server cannot go below on this machine, measured in the same run,
 * so that the report can say which of issue 13's targets the floors leave room for
 * (bench/report/budgets.ts):
 *   echo        the datagram floor: `dtls-load echo` (plain UDP, W=1, 4 sockets: the shape of
 *               the handshake row at C=4, and 16: the CoAP row's; with fewer datagrams per
 *               wake-up each costs more) against node:dgram with our driver's send path
 *               (bench/udp-echo-server.ts), node:dgram with its defaults (--plain), and
 *               dtls-load's own C echo server; server CPU per round trip
 *   primitives  SHA-256, HMAC, PRF, AES and CCM_8 in JS beside node:crypto (bench/floors.ts,
 *               process CPU, on the server's core)
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runDtlsLoad } from '../lib/dtls-load.js';
import { REPO_ROOT } from '../lib/paths.js';
import { grandchildPid, isStopping, runToEnd, spawnTracked, stop } from '../lib/procs.js';
import { median } from '../lib/report.js';
import { LOAD_CPU, SERVER_CPU, startNodeServer, type ServerProcess } from '../lib/servers.js';
import { freePorts, udpBound } from '../lib/sys.js';
import { stopServers, type Ctx, type Plan } from './context.js';
import type { EchoFigures, EchoRow, FloorsFigures, Part, PrimitiveRow } from './figures.js';
import { TARGET_CONCURRENCY } from './targets.js';

/** The shapes of the handshake row (C=4) and of the CoAP row (16 sessions), W=1. */
const SOCKETS = [TARGET_CONCURRENCY, 16];
const WINDOW = 1;
const SIZE = 32;
const WARMUP_S = 0.5;
const OVERHEAD_S = 0.5;
const SERVERS = 3;

const primitiveArgs = (o: Ctx['o']) => (o.quick ? ['--quick'] : ['--rounds', '5', '--ms', '150']);
/** bench/floors.ts: 8 primitives × rounds × ms, plus warm-up and start-up. */
const primitiveSeconds = (o: Ctx['o']) => (o.quick ? 8 * 2 * 0.06 + 2 : 8 * 5 * 0.15 + 3);
const echoDuration = (o: Ctx['o']) => Math.min(2, o.coapDuration);

export function planFloors(o: Ctx['o']): Plan {
  const n = o.rounds * SERVERS * SOCKETS.length;
  return { steps: 2 + n, seconds: primitiveSeconds(o) + 2 + n * (echoDuration(o) + WARMUP_S + OVERHEAD_S) };
}

interface Echo {
  name: string;
  port: number;
  server: ServerProcess;
}

/** dtls-load's C echo server on the server core, under `timeout`. */
async function startCEcho(bin: string, port: number, capS: number): Promise<ServerProcess> {
  const t = spawnTracked('timeout', ['-k', '2', String(capS), 'taskset', '-c', String(SERVER_CPU), bin, 'echo-server', '--port', String(port), '--duration', String(capS)]);
  const deadline = performance.now() + 5000;
  while (!udpBound(port)) {
    if (t.proc.exitCode !== null || performance.now() > deadline) {
      await stop(t);
      throw new Error(`dtls-load echo-server did not bind UDP ${port}: ${t.err().trim().slice(-300)}`);
    }
    await sleep(20);
  }
  return { t, pid: await grandchildPid(t.proc.pid!) };
}

async function measureEcho(ctx: Ctx, bin: string): Promise<Part<EchoFigures>> {
  const { o } = ctx;
  const base = await freePorts(3);
  const servers: Echo[] = [];
  try {
    for (const [name, port, args] of [
      ['node-driver', base, []],
      ['node-plain', base + 1, ['--plain']],
    ] as const) {
      const s = await startNodeServer('udp-echo-server.js', port, { capS: ctx.capS, args: [...args] });
      ctx.servers.push(s);
      servers.push({ name, port, server: s });
    }
    const c = await startCEcho(bin, base + 2, ctx.capS);
    ctx.servers.push(c);
    servers.push({ name: 'c', port: base + 2, server: c });

    const durationS = echoDuration(o);
    const run = async (e: Echo, sockets: number, d: number, w: number) => {
      const args = ['echo', '--port', String(e.port), '--sessions', String(sockets), '--window', String(WINDOW), '--size', String(SIZE)];
      args.push('--duration', String(d), '--warmup', String(w), '--server-pid', String(e.server.pid));
      const r = await runDtlsLoad(bin, LOAD_CPU, args, (d + w + 20) * 1000);
      if (isStopping()) throw new Error('interrupted');
      return r.result;
    };
    ctx.progress.step('floors: node echo JIT warm-up (1 s, not counted)', 1.5);
    await run(servers[0]!, SOCKETS[SOCKETS.length - 1]!, 1, 0);
    const got = new Map<string, Array<{ rate: number; cpu: number | null }>>();
    const key = (name: string, sockets: number) => `${name}|${sockets}`;
    for (let round = 1; round <= o.rounds; round++) {
      for (const sockets of SOCKETS) {
        for (const e of servers) {
          ctx.progress.step(`floors: echo ${e.name}, ${sockets} sockets (round ${round}/${o.rounds})`, durationS + WARMUP_S + OVERHEAD_S);
          const r = await run(e, sockets, durationS, WARMUP_S);
          if (!r || r.ok === 0) {
            ctx.log(`  echo ${e.name.padEnd(12)} ${String(sockets).padStart(2)} sockets FAILED: no answer counted`);
            continue;
          }
          ctx.contention.note(r.cpu_busy_pct, r.server_cpu_pct, r.client_cpu_pct);
          const k = key(e.name, sockets);
          if (!got.has(k)) got.set(k, []);
          got.get(k)!.push({ rate: r.rate, cpu: r.server_cpu_pct ?? null });
          ctx.log(`  echo ${e.name.padEnd(12)} ${String(sockets).padStart(2)} sockets ${Math.round(r.rate).toLocaleString('en-US').padStart(8)} round trips/s  server cpu ${r.server_cpu_pct?.toFixed(0) ?? '?'}%`);
        }
      }
    }
    const rows: EchoRow[] = [];
    for (const sockets of SOCKETS) {
      for (const e of servers) {
        const rs = got.get(key(e.name, sockets)) ?? [];
        if (!rs.length) continue;
        const mid = [...rs].sort((a, b) => a.rate - b.rate)[(rs.length - 1) >> 1]!;
        rows.push({
          server: e.name,
          sockets,
          rate: median(rs.map((x) => x.rate)),
          rates: rs.map((x) => x.rate),
          serverCpuPct: mid.cpu,
          usPerRoundTrip: mid.cpu === null ? null : ((mid.cpu / 100) * 1e6) / mid.rate,
        });
      }
    }
    return { sockets: SOCKETS, window: WINDOW, size: SIZE, durationS, rounds: o.rounds, rows };
  } finally {
    await stopServers(
      ctx,
      servers.map((s) => s.server),
    );
  }
}

/** bench/floors.ts pinned to the server's core. */
async function measurePrimitives(ctx: Ctx): Promise<Part<{ node: string; rows: PrimitiveRow[] }>> {
  ctx.progress.step('floors: primitives in-process (bench/floors.ts)', primitiveSeconds(ctx.o));
  const script = join(REPO_ROOT, 'dist/bench/run.js');
  const res = await runToEnd('taskset', ['-c', String(SERVER_CPU), process.execPath, script, 'floors', ...primitiveArgs(ctx.o)], (primitiveSeconds(ctx.o) + 30) * 1000);
  const line = res.out.split('\n').find((l) => l.startsWith('FLOORS_JSON '));
  if (!line) return { skipped: `bench/floors.ts measured nothing (exit ${res.code}): ${(res.err || res.out).trim().slice(-300)}` };
  const j = JSON.parse(line.slice('FLOORS_JSON '.length)) as { node: string; primitives: PrimitiveRow[] };
  for (const p of j.primitives) ctx.log(`  ${p.name.padEnd(14)} ${p.ns.toFixed(0).padStart(7)} ns  ${p.what}`);
  return { node: j.node, rows: j.primitives };
}

export async function runFloors(ctx: Ctx): Promise<FloorsFigures> {
  ctx.log(`\n[floors] datagram floor (dtls-load echo, ${SOCKETS.join(' and ')} sockets, W=${WINDOW}, ${SIZE} B) and primitives`);
  const primitives = await measurePrimitives(ctx);
  let echo: Part<EchoFigures>;
  if ('skip' in ctx.dl) echo = { skipped: ctx.dl.skip };
  else {
    try {
      echo = await measureEcho(ctx, ctx.dl.bin);
    } catch (e) {
      if (isStopping()) throw e;
      echo = { skipped: `failed: ${e instanceof Error ? e.message : String(e)}`.slice(0, 400) };
    }
  }
  return { echo, primitives };
}

/**
 * Part `ecdhe`: TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 handshakes/s with raw public keys and no
 * client authentication, coaps only (bench/ecdhe-server.ts on cpu0). dtls-load is PSK only, so
 * the load is bench/ecdhe-load-client.ts on cpu1 (our own client, with its bench-only crypto
 * shortcuts and reused source ports: see its header); there is no peer line, the figure is a ratio to DESIGN.md's
 * ceiling. One load process: a JIT warm-up, then back-to-back windows (medians).
 */
import { join } from 'node:path';
import { REPO_ROOT } from '../lib/paths.js';
import { isStopping, runToEnd } from '../lib/procs.js';
import { median } from '../lib/report.js';
import { LOAD_CPU, SERVER_CPU, startNodeServer } from '../lib/servers.js';
import { freePorts } from '../lib/sys.js';
import { stopServers, type Ctx, type Plan } from './context.js';
import type { EcdheFigures, Part } from './figures.js';
import { ECDHE_CEILING } from './targets.js';

export function planEcdhe(o: Ctx['o']): Plan {
  return { steps: 1, seconds: 2 + warmupOf(o) + o.ecdheWindows * o.ecdheDuration + 1.5 + inProcessSeconds(o) };
}

const warmupOf = (o: Ctx['o']): number => (o.quick ? 1 : 2);

/**
 * Source ports per concurrent handshake, reused in turn (bench/ecdhe-load-client.ts's header):
 * a socket per handshake costs the one-core client about a fifth of its CPU per handshake,
 * which it needs to keep the server's core busy. The server still does a cookie exchange and a
 * full handshake on a new connection every time.
 */
const PORTS_PER_SLOT = 4;

interface Window {
  ok: number;
  rate: number;
  failed: number;
  timeouts: number;
  server_cpu_pct: number | null;
  client_cpu_pct: number;
  crypto: string;
  error?: string;
  final?: boolean;
  /** every core's busy %, all processes (the machine may be shared) */
  cpu_busy_pct?: number[];
}

/** bench/ecdhe-cpu.ts's rounds × (ECDHE + PSK/2 + floor/2) ms, plus start-up and warm-up. */
const inProcessArgs = (o: Ctx['o']): string[] => (o.quick ? ['--rounds', '2', '--ms', '300'] : ['--rounds', '5', '--ms', '500']);
const inProcessSeconds = (o: Ctx['o']): number => (o.quick ? 2 * 0.6 : 5 * 1.0) + 1.5;

/**
 * The server's CPU per handshake in-process (bench/ecdhe-cpu.ts, pinned to the server's core):
 * process CPU time inside the endpoint's calls, so other processes on the machine do not count.
 */
async function inProcess(o: Ctx['o']): Promise<NonNullable<EcdheFigures['inProcess']>> {
  const script = join(REPO_ROOT, 'dist/bench/run.js');
  const res = await runToEnd('taskset', ['-c', String(SERVER_CPU), process.execPath, script, 'ecdhe-cpu', ...inProcessArgs(o)], (inProcessSeconds(o) + 30) * 1000);
  const line = res.out.split('\n').find((l) => l.startsWith('ECDHE_CPU_JSON '));
  if (!line) return { skipped: `ecdhe-cpu measured nothing (exit ${res.code}): ${(res.err || res.out).trim().slice(-300)}` };
  const j = JSON.parse(line.slice('ECDHE_CPU_JSON '.length)) as { ecdheServerUs: number; pskServerUs: number | null; floorUs: number | null };
  return { serverUs: j.ecdheServerUs, pskServerUs: j.pskServerUs, floorUs: j.floorUs, capacity: 1e6 / j.ecdheServerUs };
}

/**
 * Which side limited the achieved rate (the load is a closed loop of C handshakes). `busy`:
 * every core's busy % over the window, all processes: on a shared machine a core can be full
 * while neither of ours reaches 90% of it.
 */
export function boundBy(serverCpu: number | null, clientCpu: number, busy: number[] = []): string {
  if ((serverCpu ?? 0) >= 90) return 'server-bound';
  if (clientCpu >= 90) return 'client-bound: the achieved rate understates the server, read the capacity';
  const sb = busy[SERVER_CPU];
  const lb = busy[LOAD_CPU];
  if ((sb ?? 0) >= 90 || (lb ?? 0) >= 90) {
    return `neither process saturated its core, but the cores were ${busy.map((b) => `${b.toFixed(0)}%`).join('/')} busy (other processes on a shared machine): read the capacity`;
  }
  return 'neither process saturated its core';
}

export async function runEcdhe(ctx: Ctx): Promise<Part<EcdheFigures>> {
  const load = await runLoad(ctx);
  if ('skipped' in load) return load;
  // after the server process is gone: the in-process figure on the server's core
  load.inProcess = await inProcess(ctx.o);
  if (!('skipped' in load.inProcess)) {
    const ip = load.inProcess;
    ctx.log(`  in-process (bench/ecdhe-cpu.ts): server ${ip.serverUs.toFixed(0)} us CPU per handshake (capacity ${Math.round(ip.capacity)}/s), PSK ${ip.pskServerUs?.toFixed(0) ?? '?'} us, crypto floor ${ip.floorUs?.toFixed(0) ?? '?'} us`);
  }
  return load;
}

async function runLoad(ctx: Ctx): Promise<Part<EcdheFigures>> {
  const { o } = ctx;
  const port = await freePorts(1);
  const server = await startNodeServer('ecdhe-server.js', port, { capS: ctx.capS, args: ['none'] });
  ctx.servers.push(server);
  try {
    const warmup = warmupOf(o);
    ctx.log(`\n[ecdhe] bench/ecdhe-load-client.ts C=${o.ecdheConcurrency} against bench/ecdhe-server.ts (RPK, no client auth): ${warmup} s warm-up, ${o.ecdheWindows} × ${o.ecdheDuration} s`);
    ctx.progress.step(`ecdhe: ${o.ecdheWindows} window(s) of ${o.ecdheDuration} s after ${warmup} s warm-up`, planEcdhe(o).seconds);
    const script = join(REPO_ROOT, 'dist/bench/ecdhe-load-client.js');
    const total = warmup + o.ecdheWindows * o.ecdheDuration;
    const args = ['-k', '2', String(Math.ceil(total + 25)), 'taskset', '-c', String(LOAD_CPU), process.execPath, script];
    args.push('--port', String(port), '--concurrency', String(o.ecdheConcurrency), '--duration', String(o.ecdheDuration), '--windows', String(o.ecdheWindows));
    args.push('--warmup', String(warmup), '--server-pid', String(server.pid), '--ports-per-slot', String(PORTS_PER_SLOT));
    const res = await runToEnd('timeout', args, (total + 30) * 1000);
    if (isStopping()) throw new Error('interrupted');
    const windows: Window[] = [];
    for (const line of res.out.trim().split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const j = JSON.parse(line) as Window;
        if (j.error) return { skipped: `ecdhe-load-client failed: ${j.error.slice(0, 300)}` };
        if (!j.final) windows.push(j);
      } catch {
        /* not a JSON line */
      }
    }
    if (!windows.length || windows.every((w) => w.ok === 0)) return { skipped: `ecdhe-load-client measured nothing (exit ${res.code}): ${(res.err || res.out).trim().slice(-300)}` };
    for (const w of windows) {
      ctx.log(`  ${Math.round(w.rate).toLocaleString('en-US').padStart(6)}/s  server cpu ${w.server_cpu_pct?.toFixed(0) ?? '?'}%  client cpu ${w.client_cpu_pct.toFixed(0)}%${w.failed ? `  ${w.failed} failed` : ''}`);
    }
    const mid = [...windows].sort((a, b) => a.rate - b.rate)[(windows.length - 1) >> 1]!;
    const serverCpu = mid.server_cpu_pct;
    const capacity = serverCpu ? (mid.rate * 100) / serverCpu : NaN;
    return {
      rate: median(windows.map((w) => w.rate)),
      rates: windows.map((w) => w.rate),
      serverCpuPct: serverCpu,
      capacity,
      concurrency: o.ecdheConcurrency,
      ceiling: ECDHE_CEILING,
      bound: boundBy(serverCpu, mid.client_cpu_pct, mid.cpu_busy_pct),
      clientCrypto: mid.crypto,
      serverUsPerHs: serverCpu ? (serverCpu / 100 / mid.rate) * 1e6 : undefined,
    };
  } finally {
    await stopServers(ctx, [server]);
  }
}

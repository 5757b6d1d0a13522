/**
 * What our two load clients (psk-load-client, ecdhe-load-client) share: `--name value`
 * options, a hard time limit, and the measurement window they report in their JSON lines
 * (the same fields as dtls-load's: rate inputs, client and server CPU, every core's busy %).
 */
import { performance } from 'node:perf_hooks';
import { clockTicks, cpuBusyPct, cpuSnap, procTicks, type CpuSnap } from './sys.js';

/** The value after `--name`, or `dflt`. */
export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

/** Whether `--name` is on the command line. */
export const flag = (name: string): boolean => process.argv.includes(`--${name}`);

/** Never hang: exit 3 after `seconds`, whatever the run is doing. */
export function hardTimeLimit(tool: string, seconds: number): void {
  setTimeout(() => {
    console.error(`${tool}: hard time limit reached`);
    process.exit(3);
  }, seconds * 1000).unref();
}

/** The `p` quantile (0..1) of `a`; 0 when empty. */
export function pct(a: number[], p: number): number {
  if (a.length === 0) return 0;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

/** One edge of a measurement window. */
export interface Mark {
  t: number;
  cpu: NodeJS.CpuUsage;
  /** The server's CPU ticks, -1 without a server pid. */
  serverTicks: number;
  cpus: CpuSnap;
}

export function mark(serverPid: number): Mark {
  return { t: performance.now(), cpu: process.cpuUsage(), serverTicks: serverPid ? procTicks(serverPid) : -1, cpus: cpuSnap() };
}

/** The window between two marks: its length, our CPU seconds, and the CPU fields of the JSON line. */
export function windowFigures(a: Mark, b: Mark, serverPid: number) {
  const secs = (b.t - a.t) / 1000;
  const clientCpuS = (b.cpu.user - a.cpu.user + (b.cpu.system - a.cpu.system)) / 1e6;
  const serverCpuS = a.serverTicks >= 0 && b.serverTicks >= 0 ? (b.serverTicks - a.serverTicks) / clockTicks() : -1;
  return {
    secs,
    clientCpuS,
    cpuFields: {
      client_cpu_pct: Number(((100 * clientCpuS) / secs).toFixed(1)),
      server_pid: serverPid || null,
      server_cpu_pct: serverCpuS >= 0 ? Number(((100 * serverCpuS) / secs).toFixed(1)) : null,
      cpu_busy_pct: cpuBusyPct(a.cpus, b.cpus).map((x) => Number(x.toFixed(1))),
    },
  };
}

/** Samples `count()` once a second: `perSec` holds the increments until `stop()`. */
export function perSecond(count: () => number): { perSec: number[]; stop: () => void } {
  const perSec: number[] = [];
  let last = count();
  const ticker = setInterval(() => {
    const now = count();
    perSec.push(now - last);
    last = now;
  }, 1000);
  return { perSec, stop: () => clearInterval(ticker) };
}

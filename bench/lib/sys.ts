/** Small readers of /proc for benchmark bookkeeping (Linux only). */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

let clkTck: number | undefined;
export function clockTicks(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** utime + stime of a process, in clock ticks (-1 when unreadable). */
export function procTicks(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return -1;
  }
}

export interface CpuSnap {
  busy: number[];
  total: number[];
}
export function cpuSnap(): CpuSnap {
  const busy: number[] = [];
  const total: number[] = [];
  try {
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const m = /^cpu(\d+)\s+(.*)$/.exec(line);
      if (!m) continue;
      const v = m[2]!.trim().split(/\s+/).map(Number);
      const tot = v.slice(0, 8).reduce((a, b) => a + b, 0);
      const idle = (v[3] ?? 0) + (v[4] ?? 0);
      busy[Number(m[1])] = tot - idle;
      total[Number(m[1])] = tot;
    }
  } catch {
    /* not Linux */
  }
  return { busy, total };
}
export function cpuBusyPct(a: CpuSnap, b: CpuSnap): number[] {
  return b.total.map((t, i) => {
    const dt = t - (a.total[i] ?? 0);
    return dt > 0 ? (100 * (b.busy[i]! - (a.busy[i] ?? 0))) / dt : 0;
  });
}

export function which(cmd: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    const p = `${dir}/${cmd}`;
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A base port P with P..P+count-1 free for UDP and TCP on 127.0.0.1, from a private range
 * below the kernel's ephemeral range (dtls-load walks the ephemeral range for source ports).
 */
export async function freePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + 4 * Math.floor(Math.random() * 2400);
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = (await udpFree(p)) && (await tcpFree(p));
    if (ok) return base;
  }
  throw new Error('no free port range found');
}

/** True when something is bound to UDP `port` on IPv4 (from /proc/net/udp). */
export function udpBound(port: number): boolean {
  try {
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    return readFileSync('/proc/net/udp', 'utf8')
      .split('\n')
      .some((l) => l.trim().split(/\s+/)[1]?.endsWith(`:${hex}`));
  } catch {
    return false;
  }
}

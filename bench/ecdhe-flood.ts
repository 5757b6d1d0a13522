/**
 * `npm run bench -- ecdhe-flood`: does a flood of ECDHE_ECDSA handshakes starve established
 * sessions? Our server (bench/ecdhe-server.ts with `psk-echo`: RFC 7250 raw public keys for
 * ECDHE, PSK too, every session echoes) on the server core; from this process one established
 * PSK session sends a 64-byte record and waits for its echo, one at a time, first with the
 * server idle, then while bench/ecdhe-load-client.ts (C handshakes at a time, the load core)
 * floods it with ECDHE handshakes. Prints the round trip's p50/p90/p99 in both phases, their
 * ratio, and the flood's handshakes/s.
 *
 * Options: --probes N (per phase, 400), --concurrency C (flood, 8), --duration S (flood, 4).
 * measureEcdheFlood() returns the figures (for the report).
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '../transports/node-dgram.js';
import { REPO_ROOT } from './lib/paths.js';
import { runToEnd, stop } from './lib/procs.js';
import { log } from './lib/report.js';
import { BENCH_PSK_IDENTITY, BENCH_PSK_KEY } from './lib/server-process.js';
import { LOAD_CPU, startNodeServer } from './lib/servers.js';
import { freePorts } from './lib/sys.js';

export interface RoundTrips {
  n: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface EcdheFlood {
  /** ms, established PSK session, 64-byte record echoed */
  idle: RoundTrips;
  flood: RoundTrips;
  /** flood / idle at p50 and p99 */
  ratioP50: number;
  ratioP99: number;
  floodHandshakesPerS: number | undefined;
  concurrency: number;
}

interface Opts {
  probes: number;
  concurrency: number;
  duration: number;
}

function percentiles(xs: number[]): RoundTrips {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(s.length * q))] ?? NaN;
  return { n: s.length, p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}

export async function measureEcdheFlood(o: Partial<Opts> = {}, progress: (s: string) => void = () => {}): Promise<EcdheFlood> {
  const opts: Opts = { probes: 400, concurrency: 8, duration: 4, ...o };
  const port = await freePorts(1);
  const server = await startNodeServer('ecdhe-server.js', port, { capS: 60 + opts.duration * 2, args: ['none', 'psk-echo'] });
  try {
    const session = await connect({ host: '127.0.0.1', port, psk: { identity: new TextEncoder().encode(BENCH_PSK_IDENTITY), key: BENCH_PSK_KEY } });
    let waiting: (() => void) | undefined;
    session.on('data', () => waiting?.());
    const payload = new Uint8Array(64).fill(0x61);
    const probe = async (): Promise<number> => {
      const t0 = performance.now();
      const echoed = new Promise<void>((resolve) => (waiting = resolve));
      session.send(payload);
      await Promise.race([echoed, sleep(1000)]);
      return performance.now() - t0;
    };
    for (let i = 0; i < 50; i++) await probe(); // warm-up
    progress('round trips, server idle');
    const idle: number[] = [];
    for (let i = 0; i < opts.probes; i++) idle.push(await probe());

    progress(`round trips during an ECDHE flood (C=${opts.concurrency}, ${opts.duration} s)`);
    const script = join(REPO_ROOT, 'dist/bench/ecdhe-load-client.js');
    const flooding = runToEnd(
      'timeout',
      ['-k', '2', String(opts.duration + 25), 'taskset', '-c', String(LOAD_CPU), process.execPath, script, '--port', String(port), '--concurrency', String(opts.concurrency), '--duration', String(opts.duration), '--windows', '1', '--warmup', '0.5'],
      (opts.duration + 30) * 1000,
    );
    let done = false;
    void flooding.then(() => (done = true));
    await sleep(1000); // the flood's warm-up, then its window
    const flood: number[] = [];
    // probes spaced out over the flood window (a probe every ~5 ms)
    const until = performance.now() + (opts.duration - 1) * 1000;
    while (!done && flood.length < opts.probes && performance.now() < until) {
      flood.push(await probe());
      await sleep(5);
    }
    const res = await flooding;
    let rate: number | undefined;
    for (const line of res.out.trim().split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const j = JSON.parse(line) as { rate?: number; final?: boolean };
        if (!j.final && typeof j.rate === 'number') rate = j.rate;
      } catch {
        /* not JSON */
      }
    }
    await session.close();
    const a = percentiles(idle);
    const b = percentiles(flood);
    return { idle: a, flood: b, ratioP50: b.p50 / a.p50, ratioP99: b.p99 / a.p99, floodHandshakesPerS: rate, concurrency: opts.concurrency };
  } finally {
    await stop(server.t);
  }
}

const ms = (x: number) => x.toFixed(3);

export function printEcdheFlood(r: EcdheFlood): void {
  log('established PSK session, 64-byte record echoed by our server, one at a time; ms');
  log('| phase | n | p50 | p90 | p99 |');
  log('|---|---:|---:|---:|---:|');
  log(`| server idle | ${r.idle.n} | ${ms(r.idle.p50)} | ${ms(r.idle.p90)} | ${ms(r.idle.p99)} |`);
  log(`| ECDHE flood, C=${r.concurrency} (${r.floodHandshakesPerS === undefined ? '?' : Math.round(r.floodHandshakesPerS)} handshakes/s) | ${r.flood.n} | ${ms(r.flood.p50)} | ${ms(r.flood.p90)} | ${ms(r.flood.p99)} |`);
  log(`flood / idle: p50 ${r.ratioP50.toFixed(2)}x, p99 ${r.ratioP99.toFixed(2)}x`);
}

export async function main(args: string[]): Promise<number> {
  const o: Partial<Opts> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = () => Number(args[++i]);
    if (a === '--probes') o.probes = Math.max(1, v());
    else if (a === '--concurrency') o.concurrency = Math.max(1, v());
    else if (a === '--duration') o.duration = Math.max(2, v());
    else throw new Error(`ecdhe-flood: unknown option ${a}`);
  }
  printEcdheFlood(await measureEcdheFlood(o, (s) => process.stderr.write(`ecdhe-flood: ${s}\n`)));
  return 0;
}

/**
 * Part `sessions`: does the CoAP server slow down with many established sessions? Two coaps
 * servers (bench/coap-server.ts) on the server core: A holds only what the load opens; B first
 * receives `idleSessions` full PSK handshakes that are never closed (dtls-load hs
 * --no-close-notify: the client drops its socket, the server keeps the session, idle). Then
 * CoAP CON GET/s over 16 fresh sessions at W=1 (dtls-load coap) on A and B in turn, A, B, A,
 * B, ...; the figure is median(B) / median(A), the target ≥ 0.9× (no cliff).
 *
 * dtls-load runs for a time, not a count: it runs with --progress and is stopped once its
 * per-second totals reach the goal (or will within the second); the count recorded is the
 * server's own, its PSK lookups (one per full handshake that reached the ClientKeyExchange:
 * at most C more than the sessions, as handshakes cut short at the stop are dropped later).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { isStopping, spawnTracked, stop } from '../lib/procs.js';
import { median } from '../lib/report.js';
import { LOAD_CPU, startNodeServer, type ServerProcess } from '../lib/servers.js';
import { freePorts } from '../lib/sys.js';
import { stopServers, type Ctx, type Plan } from './context.js';
import type { Part, SessionsScaleFigures } from './figures.js';
import { coapRun } from './suite-coap.js';

const ACTIVE = 16;
const WINDOW = 1;
const OPEN_CONCURRENCY = 16;
const PATH = '/hello';
/** a guess for the plan: handshakes/s while opening */
const OPEN_RATE_GUESS = 1_500;

export function planSessions(o: Ctx['o']): Plan {
  const n = o.rounds * 2;
  return { steps: 2 + n, seconds: 7 + o.idleSessions / OPEN_RATE_GUESS + 2 + n * (o.coapDuration + 1.3) };
}

/**
 * `dtls-load hs --no-close-notify --progress` until about `goal` handshakes are done: from its
 * per-second totals, the run is stopped (SIGTERM) when the goal is reached or due within the
 * second. Returns dtls-load's count extrapolated to the stop.
 */
async function openIdle(bin: string, port: number, goal: number): Promise<{ estimate: number } | { error: string }> {
  const args = ['-c', String(LOAD_CPU), bin, 'hs', '--port', String(port), '--concurrency', String(OPEN_CONCURRENCY), '--no-close-notify', '--src-addrs', '8', '--duration', '900', '--progress'];
  const t = spawnTracked('taskset', args);
  try {
    const deadline = performance.now() + Math.max(60_000, goal * 10);
    let seen = 0;
    let total = 0;
    let rate = 0;
    let at = performance.now();
    for (;;) {
      if (isStopping()) throw new Error('interrupted');
      if (t.proc.exitCode !== null) return { error: `dtls-load ended early (exit ${t.proc.exitCode}): ${t.err().trim().slice(-300)}` };
      if (performance.now() > deadline) return { error: `only ${total} idle sessions opened in time` };
      const lines = [...t.err().matchAll(/(\d+) ok total, (\d+) in last second/g)];
      if (lines.length > seen) {
        seen = lines.length;
        const last = lines[lines.length - 1]!;
        total = Number(last[1]);
        rate = Number(last[2]);
        at = performance.now();
        if (total >= goal) break;
        if (rate > 0 && total + rate >= goal) {
          await sleep(((goal - total) / rate) * 1000);
          break;
        }
      }
      await sleep(20);
    }
    return { estimate: Math.round(total + (rate * (performance.now() - at)) / 1000) };
  } finally {
    await stop(t);
  }
}

/** The server's PSK lookups so far (bench/coap-server.ts prints them on SIGUSR2), or undefined. */
async function pskLookups(s: ServerProcess): Promise<number | undefined> {
  const before = s.t.err().length;
  try {
    process.kill(s.pid, 'SIGUSR2');
  } catch {
    return undefined;
  }
  for (let i = 0; i < 50; i++) {
    await sleep(20);
    const m = /pskLookups=(\d+)/.exec(s.t.err().slice(before));
    if (m) return Number(m[1]);
  }
  return undefined;
}

export async function runSessions(ctx: Ctx): Promise<Part<SessionsScaleFigures>> {
  const { o, progress } = ctx;
  if ('skip' in ctx.dl) {
    progress.note(`sessions skipped: ${ctx.dl.skip}`);
    return { skipped: ctx.dl.skip };
  }
  const bin = ctx.dl.bin;
  ctx.log(`\n[sessions] CoAP CON GET/s on ${ACTIVE} sessions W=${WINDOW}: coaps alone vs coaps holding ${o.idleSessions.toLocaleString('en-US')} idle established sessions; ${o.rounds} round(s) × ${o.coapDuration} s each`);
  const base = await freePorts(2);
  const maxSessions = String(o.idleSessions * 2 + 1_000);
  const a = await startNodeServer('coap-server.js', base, { capS: ctx.capS, args: [maxSessions] });
  ctx.servers.push(a);
  const b = await startNodeServer('coap-server.js', base + 1, { capS: ctx.capS, args: [maxSessions] });
  ctx.servers.push(b);
  try {
    progress.step(`sessions: opening ${o.idleSessions.toLocaleString('en-US')} idle sessions (handshakes without close_notify)`, o.idleSessions / OPEN_RATE_GUESS + 1);
    const t0 = performance.now();
    const open = await openIdle(bin, base + 1, o.idleSessions);
    const openMs = performance.now() - t0;
    if (isStopping()) throw new Error('interrupted');
    if ('error' in open) return { skipped: open.error };
    // the server's count: PSK lookups (one per full handshake that reached the ClientKeyExchange)
    const lookups = await pskLookups(b);
    const opened = lookups ?? open.estimate;
    if (opened < o.idleSessions * 0.5) return { skipped: `only ${opened} of ${o.idleSessions} idle sessions opened` };
    ctx.log(`  ${opened.toLocaleString('en-US')} idle sessions on B (${lookups !== undefined ? 'its PSK lookups' : "dtls-load's count"}), opened in ${(openMs / 1000).toFixed(1)} s`);

    progress.step('sessions: JIT warm-up of both servers (1 s each, not counted)', 4);
    await coapRun(bin, base, a.pid, ACTIVE, WINDOW, PATH, 1, 0);
    await coapRun(bin, base + 1, b.pid, ACTIVE, WINDOW, PATH, 1, 0);

    const without: number[] = [];
    const withIdle: number[] = [];
    const problems: string[] = [];
    for (let round = 1; round <= o.rounds; round++) {
      for (const [label, srv, port, into] of [
        ['alone', a, base, without],
        ['with idle', b, base + 1, withIdle],
      ] as const) {
        progress.step(`sessions: ${ACTIVE} active, ${label} (round ${round}/${o.rounds})`, o.coapDuration + 1.3);
        const x = await coapRun(bin, port, srv.pid, ACTIVE, WINDOW, PATH, o.coapDuration);
        if ('error' in x) {
          ctx.log(`  ${label.padEnd(10)} FAILED: ${x.error}`);
          problems.push(`${label}: ${x.error}`);
          continue;
        }
        ctx.contention.note(x.r.cpu_busy_pct, x.r.server_cpu_pct, x.r.client_cpu_pct);
        into.push(x.r.rate);
        problems.push(...x.problems.map((p) => `${label}: ${p}`));
        ctx.log(`  ${label.padEnd(10)} ${Math.round(x.r.rate).toLocaleString('en-US').padStart(7)} req/s  server cpu ${x.r.server_cpu_pct?.toFixed(0) ?? '?'}%  p99 ${x.r.p99_ms.toFixed(2)} ms${x.problems.length ? `  PROBLEMS: ${x.problems.join('; ')}` : ''}`);
      }
    }
    if (!without.length || !withIdle.length) return { skipped: `CoAP runs failed: ${problems.join('; ').slice(0, 300)}` };
    const rateWithout = median(without);
    const rateWith = median(withIdle);
    return { idleSessions: opened, idleGoal: o.idleSessions, activeSessions: ACTIVE, window: WINDOW, ratesWithout: without, ratesWith: withIdle, rateWithout, rateWith, ratio: rateWith / rateWithout, openMs, problems: [...new Set(problems)] };
  } finally {
    await stopServers(ctx, [a, b]);
  }
}

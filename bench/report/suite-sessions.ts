/**
 * Part `sessions`: does the CoAP server slow down with many established sessions? Two coaps
 * servers (bench/coap-server.ts) on the server core: A holds only what the load opens; B first
 * receives `idleSessions` full PSK handshakes that are never closed (dtls-load hs
 * --no-close-notify: the client drops its socket, the server keeps the session, idle). Then
 * CoAP CON GET/s over 16 fresh sessions at W=1 (dtls-load coap) on A and B in turn, A, B, A,
 * B, ...; the figure is median(B) / median(A), the target ≥ 0.9× (no cliff).
 *
 * dtls-load runs for a time, not a count: a short calibration on A (with close_notify, so A
 * keeps nothing) gives the handshake rate, and B's opening run lasts 1.1 × idleSessions / rate
 * (another run if that fell short); the handshakes dtls-load counts are the idle sessions
 * recorded, so the figure is at or somewhat above the goal (a few more finish in the drain;
 * a second run may reuse a few source ports of the first, replacing those sessions).
 */
import { performance } from 'node:perf_hooks';
import { runDtlsLoad } from '../lib/dtls-load.js';
import { isStopping } from '../lib/procs.js';
import { median } from '../lib/report.js';
import { LOAD_CPU, startNodeServer } from '../lib/servers.js';
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
  return { steps: 2 + n, seconds: 3 + 2 + o.idleSessions / OPEN_RATE_GUESS + 2 + n * (o.coapDuration + 1.3) };
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
    progress.step('sessions: calibration (handshakes/s, 1.5 s on the server without idle sessions)', 2);
    const cal = await runDtlsLoad(bin, LOAD_CPU, ['hs', '--port', String(base), '--concurrency', String(OPEN_CONCURRENCY), '--duration', '1.5', '--warmup', '0.5'], 30_000);
    if (isStopping()) throw new Error('interrupted');
    const calRate = cal.result?.rate ?? 0;
    if (!(calRate > 0)) return { skipped: `calibration handshakes failed: ${cal.stderr.trim().slice(-300)}` };

    // a little more than the goal (the calibration ran with close_notify, and the machine is shared); then more if short
    const t0 = performance.now();
    let opened = 0;
    for (let chunk = 0; chunk < 3 && opened < o.idleSessions; chunk++) {
      const openS = Math.max(1, ((o.idleSessions - opened) / calRate) * (chunk === 0 ? 1.1 : 1.3));
      progress.step(`sessions: opening ${(o.idleSessions - opened).toLocaleString('en-US')}+ idle sessions (${openS.toFixed(1)} s of handshakes without close_notify)`, openS + 1);
      const open = await runDtlsLoad(
        bin,
        LOAD_CPU,
        ['hs', '--port', String(base + 1), '--concurrency', String(OPEN_CONCURRENCY), '--no-close-notify', '--src-addrs', '8', '--duration', openS.toFixed(2), '--drain', '1000'],
        (openS + 40) * 1000,
      );
      if (isStopping()) throw new Error('interrupted');
      const ok = open.result?.ok ?? 0;
      if (ok === 0) return { skipped: `no idle session opened (${JSON.stringify(open.result?.errors ?? {})}; ${open.stderr.trim().slice(-200)})` };
      opened += ok;
    }
    const openMs = performance.now() - t0;
    if (opened < o.idleSessions * 0.5) return { skipped: `only ${opened} of ${o.idleSessions} idle sessions opened` };
    ctx.log(`  ${opened.toLocaleString('en-US')} idle sessions opened on B in ${(openMs / 1000).toFixed(1)} s (calibration ${Math.round(calRate)} hs/s)`);

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

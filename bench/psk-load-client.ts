/**
 * Benchmark client (not a test): application records over established DTLS PSK sessions,
 * through our public `connect` API, against an echo server in another process.
 *
 *   node dist/bench/psk-load-client.js --port P [--host 127.0.0.1] [--sessions 16] [--window 8]
 *        [--size 64] [--duration 3] [--warmup 0.5] [--server-pid PID]
 *
 * Opens N sessions, then keeps W records of `size` bytes outstanding on each: every echo
 * that comes back is checked (length, session and sequence number) and answered with the
 * next record. Only echoes completed inside the measurement window count; the rate is
 * divided by the measured window. A session that gets no echo for 250 ms while records are
 * outstanding counts them as lost and refills its window. Last stdout line: JSON.
 */
import { performance } from 'node:perf_hooks';
import { connect, type DtlsSession } from '../transports/node-dgram.js';
import { arg, hardTimeLimit, mark, pct, perSecond, windowFigures } from './lib/load-client.js';
import { BENCH_PSK_IDENTITY, BENCH_PSK_KEY } from './lib/server-process.js';
const host = arg('host', '127.0.0.1');
const port = Number(arg('port', '0'));
const sessionsWanted = Number(arg('sessions', '16'));
const window = Number(arg('window', '8'));
const size = Math.max(8, Number(arg('size', '64')));
const durationS = Number(arg('duration', '3'));
const warmupS = Number(arg('warmup', '0.5'));
const serverPid = Number(arg('server-pid', '0'));
const STALL_MS = 250;

if (!port) {
  console.error('usage: psk-load-client --port P [--sessions N] [--window W] [--size B] [--duration S] [--warmup S] [--server-pid PID]');
  process.exit(2);
}
hardTimeLimit('psk-load-client', durationS + warmupS + 20);

const psk = { identity: new TextEncoder().encode(BENCH_PSK_IDENTITY), key: BENCH_PSK_KEY };

interface Load {
  s: DtlsSession;
  idx: number;
  nextSeq: number;
  expectSeq: number;
  outstanding: number;
  lastProgress: number;
}

const st = { issuing: false, measuring: false, ok: 0, bytes: 0, sent: 0, bad: 0, late: 0, lost: 0, stalls: 0, closedEarly: 0 };
const lat: number[] = [];
const sentAt = new Map<number, number>(); // sampled latencies: one record in 64 per session
const payload = new Uint8Array(size);

function sendOne(l: Load): void {
  const seq = l.nextSeq++;
  payload[0] = l.idx >>> 8;
  payload[1] = l.idx & 0xff;
  payload[2] = seq >>> 24;
  payload[3] = (seq >>> 16) & 0xff;
  payload[4] = (seq >>> 8) & 0xff;
  payload[5] = seq & 0xff;
  if ((seq & 63) === 0) sentAt.set(l.idx * 0x1_0000_0000 + seq, performance.now());
  l.outstanding++;
  if (st.measuring) st.sent++;
  l.s.send(payload); // the engine seals into a fresh record: reusing `payload` is safe
}

function onEcho(l: Load, d: Uint8Array): void {
  const now = performance.now();
  l.lastProgress = now;
  const idx = ((d[0] ?? 0) << 8) | (d[1] ?? 0);
  const seq = (((d[2] ?? 0) << 24) | ((d[3] ?? 0) << 16) | ((d[4] ?? 0) << 8) | (d[5] ?? 0)) >>> 0;
  if (d.length !== size || idx !== l.idx) {
    if (st.measuring) st.bad++;
    return;
  }
  if (seq < l.expectSeq) {
    if (st.measuring) st.late++; // an echo we had already given up on (stall)
    return;
  }
  // records may be lost (UDP): anything skipped is lost, not outstanding any more
  const skipped = seq - l.expectSeq;
  l.outstanding -= skipped + 1;
  if (st.measuring) st.lost += skipped;
  l.expectSeq = seq + 1;
  const k = l.idx * 0x1_0000_0000 + seq;
  const t0 = sentAt.get(k);
  if (t0 !== undefined) {
    sentAt.delete(k);
    if (st.measuring) lat.push(now - t0);
  }
  if (st.measuring) {
    st.ok++;
    st.bytes += d.length;
  }
  while (st.issuing && !l.s.closed && l.outstanding < window) sendOne(l);
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const results = await Promise.allSettled(
    Array.from({ length: sessionsWanted }, () => connect({ host, port, psk, timeoutMs: 5000, retransmission: { initialMs: 200, maxMs: 1600, maxRetransmits: 4 } })),
  );
  const setupMs = performance.now() - t0;
  const loads: Load[] = [];
  let setupFailed = 0;
  for (const r of results) {
    if (r.status === 'rejected') {
      setupFailed++;
      continue;
    }
    const l: Load = { s: r.value, idx: loads.length, nextSeq: 0, expectSeq: 0, outstanding: 0, lastProgress: performance.now() };
    r.value.on('data', (d: Uint8Array) => onEcho(l, d));
    r.value.on('error', () => {});
    r.value.on('close', () => {
      if (st.issuing) st.closedEarly++;
    });
    loads.push(l);
  }
  if (loads.length === 0) {
    const why = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
    console.log(JSON.stringify({ tool: 'psk-load-client', error: `no session opened: ${String(why)}`, setup_failed: setupFailed }));
    process.exit(1);
  }

  const stall = setInterval(() => {
    const now = performance.now();
    for (const l of loads) {
      if (l.outstanding > 0 && now - l.lastProgress > STALL_MS && !l.s.closed && st.issuing) {
        if (st.measuring) {
          st.lost += l.outstanding;
          st.stalls++;
        }
        l.expectSeq = l.nextSeq;
        l.outstanding = 0;
        l.lastProgress = now;
        while (l.outstanding < window) sendOne(l);
      }
    }
  }, 50);

  st.issuing = true;
  for (const l of loads) while (l.outstanding < window) sendOne(l);
  await new Promise((r) => setTimeout(r, warmupS * 1000));

  const start = mark(serverPid);
  st.measuring = true;
  const ticker = perSecond(() => st.ok);
  await new Promise((r) => setTimeout(r, durationS * 1000));
  st.measuring = false;
  const end = mark(serverPid);
  ticker.stop();
  st.issuing = false;
  clearInterval(stall);

  // drain, then close every session with close_notify
  await new Promise((r) => setTimeout(r, 150));
  await Promise.race([Promise.all(loads.map((l) => l.s.close())), new Promise((r) => setTimeout(r, 1000))]);

  const { secs: win, cpuFields } = windowFigures(start, end, serverPid);
  const out = {
    tool: 'psk-load-client',
    sessions: sessionsWanted,
    sessions_open: loads.length,
    setup_failed: setupFailed,
    setup_ms: Math.round(setupMs),
    window: window,
    size,
    duration_s: Number(win.toFixed(4)),
    ok: st.ok,
    rate: Number((st.ok / win).toFixed(1)),
    mb_per_s: Number((st.bytes / win / 1e6).toFixed(3)),
    sent: st.sent,
    lost: st.lost,
    stalls: st.stalls,
    bad: st.bad,
    late: st.late,
    closed_early: st.closedEarly,
    p50_ms: Number(pct(lat, 0.5).toFixed(3)),
    p99_ms: Number(pct(lat, 0.99).toFixed(3)),
    ...cpuFields,
    per_sec: ticker.perSec,
  };
  console.log(JSON.stringify(out));
  process.exit(0);
}

main().catch((e) => {
  console.log(JSON.stringify({ tool: 'psk-load-client', error: String(e instanceof Error ? e.stack : e) }));
  process.exit(1);
});

/**
 * `npm run bench -- sessions`: what a session costs and weighs, in one run.
 *
 *  1. Handshakes/s against our DTLS PSK server (bench/psk-echo-server.ts: createServer with its
 *     defaults, session cache and tickets on) in its own process pinned to one core, from our
 *     own client engine in a second process pinned to the other core
 *     (bench/sessions-load-client.ts: ClientConnection on C sockets, handshakes back to back,
 *     cookie exchange and close_notify each time): full PSK handshakes, then abbreviated ones
 *     (RFC 5246 §7.3) resuming by session ID (the server's cache) and by RFC 5077 ticket (the
 *     server keeps nothing). Figures: handshakes/s, the server's CPU per handshake, and the
 *     ratios resumed/full of both. Our client costs about as much as the server per handshake,
 *     so the rates may be bound by the client's core (its CPU is printed): the server's µs per
 *     handshake is the figure that does not depend on it. When dtls-load (the neutral Mbed TLS
 *     generator, ../shared/tools/dtls-load) is there, one full-handshake run of it is printed
 *     beside ours as a check on our client.
 *  2. The bytes of an exported session: encodeSessionSnapshot (lib/dtls/session-snapshot-codec.ts)
 *     of a server snapshot built from an established PSK session's values (identity
 *     Client_identity; the master secret of a real session; AES-128-CCM_8 key sizes; its
 *     sequence numbers with the first nonce lease), against the target of 128 B plus the
 *     identity; also with a 4-byte CID and after a long life (large sequence numbers).
 *  3. Redis round trips per handshake, per record, per restored and per closed session,
 *     counted by a real redis-server (bench/lib/redis-round-trips.ts).
 *
 * Options: --runs N (default 3: medians), --duration S (each window, default 3),
 *          --concurrency C (handshakes in flight, default 4), --no-dtls-load.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { nodeCrypto } from '../lib/crypto/node.js';
import { decodeClientResumption } from '../lib/dtls/resumption.js';
import { DEFAULT_LEASE_STEP } from '../lib/dtls/sequence-lease.js';
import { encodeSessionSnapshot } from '../lib/dtls/session-snapshot-codec.js';
import type { SessionSnapshot } from '../lib/dtls/session-snapshot.js';
import { connect } from '../transports/node-dgram.js';
import { ensureDtlsLoad, runDtlsLoad } from './lib/dtls-load.js';
import { measureRedisRoundTrips } from './lib/redis-round-trips.js';
import { REPO_ROOT } from './lib/paths.js';
import { isStopping, runToEnd } from './lib/procs.js';
import { Contention, fmt2, fmtInt, log, logSummaryTable, median, medianRun, paren, spread } from './lib/report.js';
import { BENCH_PSK_IDENTITY, BENCH_PSK_KEY } from './lib/server-process.js';
import { LOAD_CPU, SERVER_CPU, startNodeServer, withServers, type ServerProcess } from './lib/servers.js';
import { freePorts, which } from './lib/sys.js';

// DESIGN.md, "Budgets on this machine"
const HS_CEILING = 15_000; // 14-16k PSK_CCM_8 full handshakes/s, server, one core
/** Issue 11: bytes per exported session, plus the identity. */
const SNAPSHOT_TARGET = 128;

type Mode = 'full' | 'id' | 'ticket';
const MODES: Mode[] = ['full', 'id', 'ticket'];
const MODE_NAME: Record<Mode, string> = { full: 'full PSK', id: 'resumed, session ID', ticket: 'resumed, ticket' };

interface Opts {
  runs: number;
  duration: number;
  concurrency: number;
  dtlsLoad: boolean;
}

function parseOpts(args: string[]): Opts {
  const o: Opts = { runs: 3, duration: 3, concurrency: 4, dtlsLoad: true };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = () => Number(args[++i]);
    if (a === '--runs') o.runs = Math.max(1, v());
    else if (a === '--duration') o.duration = v();
    else if (a === '--concurrency') o.concurrency = Math.max(1, v());
    else if (a === '--no-dtls-load') o.dtlsLoad = false;
    else throw new Error(`sessions: unknown option ${a}`);
  }
  return o;
}

const estimateSeconds = (o: Opts) => 2 + o.runs * MODES.length * (o.duration + 1.5) + (o.dtlsLoad ? o.duration + 2 : 0) + 3;

// --- 1. handshakes ----------------------------------------------------------------------

interface HsRun {
  rate: number;
  serverCpu: number;
  clientCpu: number;
  usPerHs: number;
  j: Record<string, unknown>;
}

async function hsRun(mode: Mode, port: number, server: ServerProcess, o: Opts, durationS = o.duration): Promise<HsRun | { error: string }> {
  const script = join(REPO_ROOT, 'dist/bench/sessions-load-client.js');
  const args = ['-k', '2', String(Math.ceil(durationS + 30)), 'taskset', '-c', String(LOAD_CPU), process.execPath, script];
  args.push('--port', String(port), '--mode', mode, '--concurrency', String(o.concurrency), '--duration', String(durationS), '--warmup', '0.5', '--server-pid', String(server.pid));
  const r = await runToEnd('timeout', args, (durationS + 35) * 1000);
  if (isStopping()) throw new Error('interrupted');
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(r.out.trim().split('\n').pop() ?? '') as Record<string, unknown>;
  } catch {
    return { error: `sessions-load-client printed no JSON (exit ${r.code}): ${(r.err || r.out).trim().slice(-400)}` };
  }
  if (typeof j['error'] === 'string') return { error: j['error'] };
  if (Number(j['ok']) === 0) return { error: `no handshake completed: ${JSON.stringify(j)}` };
  const rate = Number(j['rate']);
  const serverCpu = Number(j['server_cpu_pct']);
  return { rate, serverCpu, clientCpu: Number(j['client_cpu_pct']), usPerHs: (serverCpu / 100 / rate) * 1e6, j };
}

/** Whatever went wrong in a run: failures, handshakes not resumed (or resumed) as asked, timer expiries. */
function problems(j: Record<string, unknown>): string {
  const p: string[] = [];
  if (Number(j['failed']) > 0) p.push(`${j['failed']} failed ${JSON.stringify(j['failures'])}`);
  if (Number(j['not_as_asked']) > 0) p.push(`${j['not_as_asked']} not ${j['mode'] === 'full' ? 'full' : 'resumed'}`);
  if (Number(j['retransmit_timeouts']) > 0) p.push(`${j['retransmit_timeouts']} retransmissions`);
  return p.length ? `  PROBLEMS: ${p.join(', ')}` : '';
}

// --- 2. exported session bytes ----------------------------------------------------------

interface SnapshotSize {
  what: string;
  bytes: number;
}

/**
 * Snapshots of one real PSK session with our server (in this process's view: its master
 * secret from the client's resumption blob, its sequence numbers), as the server would export
 * it. The engine does not hand out its record keys yet, so the keys and IVs are random bytes of
 * AES-128-CCM_8's sizes (16 and 4): the encoding's size depends on their lengths only.
 */
async function snapshotSizes(port: number): Promise<SnapshotSize[]> {
  const s = await connect({ host: '127.0.0.1', port, psk: { identity: BENCH_PSK_IDENTITY, key: BENCH_PSK_KEY }, timeoutMs: 5000 });
  const echoes = 3;
  let got = 0;
  s.on('data', () => got++);
  for (let i = 0; i < echoes; i++) s.send(`record ${i}`);
  const deadline = performance.now() + 2000;
  while (got < echoes && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const blob = s.resumption;
  const info = s.info;
  await s.close();
  if (!blob) throw new Error('the server gave nothing to resume: no master secret to export');
  const resumable = decodeClientResumption(blob).session;
  // the server's view after the handshake and three echoes: it sent 1 record in epoch 1 (Finished) + 3 echoes,
  // received Finished + 3 records; its first lease reserves DEFAULT_LEASE_STEP numbers ahead
  const base: SessionSnapshot = {
    version: 1,
    role: 'server',
    cipherSuite: info.cipherSuite,
    extendedMasterSecret: info.extendedMasterSecret,
    masterSecret: resumable.masterSecret,
    epoch: 1,
    writeKey: nodeCrypto.random(16),
    writeIv: nodeCrypto.random(4),
    readKey: nodeCrypto.random(16),
    readIv: nodeCrypto.random(4),
    writeSequenceLease: 1 + echoes + DEFAULT_LEASE_STEP,
    replayTop: echoes,
    replayBitmap: (1n << BigInt(echoes + 1)) - 1n,
    readCid: undefined,
    writeCid: undefined,
    sendLimit: 16384,
    receiveLimit: 16384,
    peer: info.identity,
  };
  const sizes: SnapshotSize[] = [{ what: 'PSK session, Client_identity, first lease', bytes: encodeSessionSnapshot(base).length }];
  sizes.push({ what: '+ RFC 9146 CIDs (server 4 B, client none)', bytes: encodeSessionSnapshot({ ...base, readCid: nodeCrypto.random(4), writeCid: new Uint8Array(0) }).length });
  sizes.push({ what: 'after 10^9 records each way', bytes: encodeSessionSnapshot({ ...base, writeSequenceLease: 1e9 + DEFAULT_LEASE_STEP, replayTop: 1e9, replayBitmap: (1n << 64n) - 1n }).length });
  return sizes;
}

// --- 3. Redis ---------------------------------------------------------------------------

/** Redis round trips per handshake, record, restored and closed session (bench/lib/redis-round-trips.ts). */
async function redisRoundTrips(): Promise<Array<[string, string]>> {
  log('\n[redis] round trips a server makes to a real redis-server (store calls, checked against INFO commandstats), 50 PSK clients with CIDs on the simulated network');
  const r = await measureRedisRoundTrips(50);
  if ('skip' in r) {
    log(`  SKIPPED: ${r.skip}`);
    return [['Redis round trips', `skipped (${r.skip})`]];
  }
  for (const x of r) log(`  ${x.phase.padEnd(58)} ${x.perOp.toFixed(2).padStart(6)} per op  (${Object.entries(x.byCommand).map(([c, n]) => `${c} ${n}`).join(', ') || 'none'}; ${x.ops} ops)`);
  return r.map((x) => [`Redis round trips per ${x.phase}`, x.perOp.toFixed(2)]);
}

// --- main -------------------------------------------------------------------------------

export async function main(args: string[]): Promise<number> {
  const o = parseOpts(args);
  return withServers<ServerProcess>((servers) => body(o, servers));
}

async function body(o: Opts, servers: ServerProcess[]): Promise<number> {
  log(
    `sessions: coaps DTLS 1.2 PSK server (TLS_PSK_WITH_AES_128_CCM_8; session cache and tickets on, their defaults), node ${process.version}; ` +
      `server on cpu${SERVER_CPU}, load (bench/sessions-load-client, our client engine) on cpu${LOAD_CPU}; ${o.runs > 1 ? `median of ${o.runs} runs` : '1 run'}; about ${Math.round(estimateSeconds(o))} s`,
  );
  if (!which('taskset')) {
    log('taskset not found (util-linux): cannot pin processes; giving up');
    return 1;
  }
  const capS = Math.ceil(estimateSeconds(o) * 1.5 + 30);
  const port = await freePorts(2);
  const server = await startNodeServer('psk-echo-server.js', port, { capS });
  servers.push(server);
  log(`coaps server: pid ${server.pid}, 127.0.0.1:${port}`);

  // 1. handshakes
  const contention = new Contention();
  const runs = new Map<Mode, HsRun[]>(MODES.map((m) => [m, []]));
  log(`\n[hs] handshakes back to back, ${o.concurrency} in flight (cookie exchange, EMS, close_notify), ${o.duration} s windows after 0.5 s warm-up; modes interleaved in each run`);
  await hsRun('full', port, server, o, 1); // unmeasured: V8's JIT warms up on both sides
  for (let i = 0; i < o.runs; i++) {
    for (const mode of MODES) {
      const r = await hsRun(mode, port, server, o);
      if ('error' in r) {
        log(`  ${MODE_NAME[mode].padEnd(20)} run ${i + 1}: FAILED: ${r.error}`);
        continue;
      }
      runs.get(mode)!.push(r);
      const j = r.j;
      log(
        `  ${MODE_NAME[mode].padEnd(20)} ${fmtInt(r.rate).padStart(7)}/s  server cpu ${r.serverCpu.toFixed(1)}%  ${r.usPerHs.toFixed(0)} us/hs  client cpu ${r.clientCpu.toFixed(0)}%  ` +
          `p50 ${Number(j['p50_ms']).toFixed(2)} ms  p99 ${Number(j['p99_ms']).toFixed(2)} ms${problems(j)}${paren(contention.note(j['cpu_busy_pct'] as number[], r.serverCpu, r.clientCpu))}`,
      );
    }
  }
  let neutral: string | undefined;
  if (o.dtlsLoad) {
    const dl = await ensureDtlsLoad();
    if ('skip' in dl) log(`\n[check] dtls-load: SKIPPED (${dl.skip})`);
    else {
      const run = await runDtlsLoad(dl.bin, LOAD_CPU, ['hs', '--port', String(port), '--concurrency', String(o.concurrency), '--duration', String(o.duration), '--warmup', '0.5', '--server-pid', String(server.pid)], (o.duration + 20) * 1000);
      const r = run.result;
      if (!r || r.ok === 0) log(`\n[check] dtls-load hs: FAILED (exit ${run.code})`);
      else {
        const us = ((r.server_cpu_pct ?? NaN) / 100 / r.rate) * 1e6;
        neutral = `${fmtInt(r.rate)}/s, ${us.toFixed(0)} us/hs`;
        log(`\n[check] dtls-load hs (Mbed TLS, full, fresh port each): ${fmtInt(r.rate)}/s  server cpu ${(r.server_cpu_pct ?? NaN).toFixed(1)}%  ${us.toFixed(0)} us/hs  client cpu ${r.client_cpu_pct.toFixed(0)}%`);
      }
    }
  }

  // 2. snapshot bytes
  const sizes = await snapshotSizes(port);
  const identity = new TextEncoder().encode(BENCH_PSK_IDENTITY).length;
  log(`\n[snapshot] encodeSessionSnapshot, server role, AES-128-CCM_8 (target: ${SNAPSHOT_TARGET} B + the ${identity}-byte identity = ${SNAPSHOT_TARGET + identity} B)`);
  for (const s of sizes) log(`  ${s.what.padEnd(44)} ${String(s.bytes).padStart(4)} B  (${s.bytes - identity} B + identity)`);

  // 3. Redis
  const redisRows = await redisRoundTrips();

  // summary
  const rows: string[][] = [];
  const med = (m: Mode) => {
    const rs = runs.get(m)!;
    return rs.length ? { rate: median(rs.map((r) => r.rate)), us: median(rs.map((r) => r.usPerHs)), rates: rs.map((r) => r.rate), run: medianRun(rs) } : undefined;
  };
  const full = med('full');
  if (full) {
    rows.push([`full PSK handshakes/s${full.run.clientCpu > 90 ? ' (client-bound)' : ''}`, `${fmtInt(full.rate)}${spread(full.rates)}`, `DESIGN.md ceiling ${fmtInt(HS_CEILING)}`, fmt2(full.rate / HS_CEILING)]);
    if (neutral) rows.push(['full, dtls-load (check)', neutral, '-', '-']);
  }
  for (const m of ['id', 'ticket'] as const) {
    const r = med(m);
    if (!r) continue;
    rows.push([`${MODE_NAME[m]} handshakes/s${r.run.clientCpu > 90 ? ' (client-bound)' : ''}`, `${fmtInt(r.rate)}${spread(r.rates)}`, full ? `full ${fmtInt(full.rate)}` : '-', full ? fmt2(r.rate / full.rate) : '-']);
  }
  for (const m of MODES) {
    const r = med(m);
    if (!r) continue;
    rows.push([`server us per handshake, ${MODE_NAME[m]}`, r.us.toFixed(0), m === 'full' || !full ? '-' : `full ${full.us.toFixed(0)}`, m === 'full' || !full ? '-' : fmt2(r.us / full.us)]);
  }
  for (const s of sizes) rows.push([`exported session bytes: ${s.what}`, String(s.bytes), `${SNAPSHOT_TARGET} + ${identity}`, fmt2(s.bytes / (SNAPSHOT_TARGET + identity))]);
  for (const [what, v] of redisRows) rows.push([what, v, '-', '-']);
  logSummaryTable('summary (ratios: resumed/full; bytes/target)', rows);
  if (contention.contended > 0) log(`\n${contention.contended} of ${contention.measured} measurements had other work on the cores (see the notes above): figures may be low.`);
  const failed = MODES.some((m) => runs.get(m)!.length === 0) || MODES.some((m) => runs.get(m)!.some((r) => Number(r.j['failed']) > 0 || Number(r.j['not_as_asked']) > 0));
  return failed ? 1 : 0;
}

/**
 * `npm run bench -- dtls-ecdhe`: our DTLS 1.2 server with TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 and
 * RFC 7250 raw public keys (bench/ecdhe-server.ts) on one core, full handshakes per second
 * without and with client authentication (clientAuth 'required'), measured from the other core
 * in the same run, as ratios to DESIGN.md's ceiling (5.3-5.6k/s, 5.45k used) and to the 4k/s
 * target (without client authentication).
 *
 * The load: no neutral C generator does ECDHE here (dtls-load, bench/lib/dtls-load.ts, is PSK only), so
 * bench/ecdhe-load-client.ts drives our own sans-IO client over real UDP: C handshakes at a
 * time, cookie exchange, close_notify at the end; by default 4 sockets (source ports) per
 * concurrent handshake taken in turn (--ports-per-slot 0: a fresh socket per handshake, as
 * dtls-load does; sockets cost the one-core client a fifth of its CPU per handshake).
 * The client side of ECDHE costs about as much CPU as the server's, so by default the client
 * uses BENCH-ONLY crypto shortcuts (one cached client ECDH key pair, no ServerKeyExchange
 * signature check; the server cannot tell and does all of its own work). Two figures per run:
 *   - achieved handshakes/s (bounded by whichever side saturates first: said explicitly),
 *   - server CPU per handshake from /proc/<pid>/stat, and the one-core capacity it implies
 *     (1e6 / us per handshake), which holds even when the client is the bottleneck.
 * Also printed for reference: the crypto floor per server handshake (ECDH keygen + ECDSA sign
 * + ECDH compute, + ECDSA verify with client authentication), timed with nodeCrypto in this
 * process, and OpenSSL's own P-256 ECDH speed when the `openssl` command exists.
 *
 * Per mode: one server process, one load-client process: 2 s unmeasured warm-up (JIT of both),
 * then N back-to-back measurement windows; medians over the windows.
 *
 * Options: --runs N (windows per mode, 3), --duration S (window length, 4), --concurrency C (8),
 *          --real-crypto (client without shortcuts), --no-client-auth-run, --no-openssl,
 *          --ports-per-slot K (4; 0 = a fresh socket per handshake),
 *          --profile (an extra run: node --cpu-prof of the server without client
 *          authentication; top functions, in % of busy time and us per handshake).
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { nodeCrypto } from '../lib/crypto/node.js';
import type { ClientAuth } from '../lib/dtls/config.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { summarizeProfile } from './lib/cpuprofile.js';
import { clientKey, serverKey } from './lib/ecdhe-keys.js';
import { BUILD_DIR, REPO_ROOT } from './lib/paths.js';
import { isStopping, runToEnd, stop } from './lib/procs.js';
import { Contention, fmt2, fmtInt, log, logSummaryTable, median, medianRun, paren, spread } from './lib/report.js';
import { LOAD_CPU, SERVER_CPU, startNodeServer, type ServerProcess } from './lib/servers.js';
import { cpuBusyPct, cpuSnap, freePorts, which } from './lib/sys.js';

// DESIGN.md, "Budgets on this machine"
const HS_CEILING = 5_450; // ECDHE_ECDSA handshakes/s, server, one core: 5.3-5.6k (crypto ~153 us)
const HS_TARGET = 4_000; // without client authentication
const DESIGN_CRYPTO_US = 153;
/** Unmeasured load before the first window: JIT warm-up of the server and of the client. */
const WARMUP_S = 2;

let processCapS = 300;

interface Opts {
  runs: number;
  duration: number;
  concurrency: number;
  realCrypto: boolean;
  clientAuthRun: boolean;
  openssl: boolean;
  profile: boolean;
  /** ecdhe-load-client --ports-per-slot: sockets per concurrent handshake, reused in turn (0: one per handshake) */
  portsPerSlot: number;
}

function parseOpts(args: string[]): Opts {
  const o: Opts = { runs: 3, duration: 4, concurrency: 8, realCrypto: false, clientAuthRun: true, openssl: true, profile: false, portsPerSlot: 4 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = () => Number(args[++i]);
    if (a === '--runs') o.runs = Math.max(1, v());
    else if (a === '--duration') o.duration = v();
    else if (a === '--concurrency') o.concurrency = Math.max(1, v());
    else if (a === '--real-crypto') o.realCrypto = true;
    else if (a === '--no-client-auth-run') o.clientAuthRun = false;
    else if (a === '--no-openssl') o.openssl = false;
    else if (a === '--profile') o.profile = true;
    else if (a === '--ports-per-slot') o.portsPerSlot = Math.max(0, v());
    else throw new Error(`dtls-ecdhe: unknown option ${a}`);
  }
  return o;
}

function estimateSeconds(o: Opts): number {
  const perMode = 1.5 + WARMUP_S + o.runs * o.duration + 0.5;
  return 3.5 + (o.openssl ? 1.5 : 0) + (perMode + 0.4) * (o.clientAuthRun ? 2 : 1) + (o.profile ? 8 : 0);
}

// --- crypto floor ------------------------------------------------------------------------

interface Floor {
  keygen: number;
  sign: number;
  derive: number;
  verify: number;
  /** server per handshake without / with client authentication */
  server: number;
  serverAuth: number;
}

/** Fastest of 7 batches (a floor: interference only ever adds time), us per call, after a warm-up. */
function timeUs(f: () => unknown, n = 300): number {
  for (let i = 0; i < 200; i++) f();
  const batches: number[] = [];
  for (let b = 0; b < 7; b++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    batches.push(((performance.now() - t0) * 1000) / n);
  }
  return Math.min(...batches);
}

function cryptoFloor(): Floor {
  const c = nodeCrypto;
  const key = serverKey(c);
  const peer = c.p256.generateEcdh().publicKey;
  // what the server signs: ClientHello.random ‖ ServerHello.random ‖ ServerECDHParams (~133 B);
  // the CertificateVerify covers the transcript (~600 B)
  const ske = c.random(133);
  const transcript = c.random(600);
  const cv = c.p256.sign(clientKey(c), transcript);
  const clientPub = clientKey(c).publicKey;
  const eph = c.p256.generateEcdh();
  const keygen = timeUs(() => c.p256.generateEcdh());
  const sign = timeUs(() => c.p256.sign(key, ske));
  const derive = timeUs(() => eph.deriveSecret(peer));
  const verify = timeUs(() => {
    if (!c.p256.verify(clientPub, transcript, cv)) throw new Error('verify failed');
  });
  return { keygen, sign, derive, verify, server: keygen + sign + derive, serverAuth: keygen + sign + derive + verify };
}

/** OpenSSL's own P-256 ECDH (system libcrypto), us per derive; undefined if unavailable. */
async function opensslEcdhUs(): Promise<{ us: number; version: string } | undefined> {
  if (!which('openssl')) return undefined;
  const r = await runToEnd('taskset', ['-c', String(SERVER_CPU), 'openssl', 'speed', '-seconds', '1', 'ecdhp256'], 15_000);
  const m = /256 bits ecdh \(nistp256\)\s+([\d.]+)s\s+([\d.]+)/.exec(r.out);
  if (!m) return undefined;
  const v = await runToEnd('openssl', ['version'], 5000);
  return { us: 1e6 / Number(m[2]), version: v.out.trim().split(' ').slice(0, 2).join(' ') };
}

// --- server ------------------------------------------------------------------------------

interface Server extends ServerProcess {
  mode: ClientAuth;
}

async function startServer(port: number, mode: ClientAuth, nodeArgs: string[] = []): Promise<Server> {
  return { ...(await startNodeServer('ecdhe-server.js', port, { capS: processCapS, nodeArgs, args: [mode] })), mode };
}

interface ServerCounters {
  sessions: number;
  identities: Record<string, number>;
  handshakeErrors: number;
  hvr: number;
  started: number;
  open: number;
  errors: Record<string, number>;
  line: string;
}

function serverCounters(stderr: string): ServerCounters | undefined {
  const line = stderr.trim().split('\n').filter((l) => l.startsWith('ecdhe-server:')).pop();
  if (!line) return undefined;
  const num = (k: string) => Number(new RegExp(`\\b${k}=(\\d+)`).exec(line)?.[1] ?? NaN);
  const obj = (k: string) => {
    const m = new RegExp(`\\b${k}=(\\{[^}]*\\})`).exec(line);
    try {
      return m ? (JSON.parse(m[1]!) as Record<string, number>) : {};
    } catch {
      return {};
    }
  };
  return { sessions: num('sessions'), identities: obj('identities'), handshakeErrors: num('handshakeErrors'), hvr: num('hvr'), started: num('started'), open: num('open'), errors: obj('errors'), line };
}

// --- load ----------------------------------------------------------------------------------

interface ClientResult {
  ok: number;
  rate: number;
  failed: number;
  timeouts: number;
  bad: number;
  bad_why: Record<string, number>;
  errors: Record<string, number>;
  socket_errors: number;
  tx_per_hs: number;
  rx_per_hs: number;
  p50_ms: number;
  p99_ms: number;
  client_cpu_pct: number;
  client_cpu_us_per_hs: number;
  server_cpu_pct: number | null;
  cpu_busy_pct: number[];
  per_sec: number[];
  crypto: string;
}

interface Run {
  rate: number;
  serverCpu: number;
  usPerHs: number;
  clientCpu: number;
  bound: string;
  /** other processes used >10% of either core during this window */
  contended: boolean;
  r: ClientResult;
}

interface LoadResult {
  runs: Run[];
  final: { abandoned: number; warmup_failed: number; warmup_errors: Record<string, number>; drain_failed: number; drain_errors: Record<string, number> } | undefined;
}

/**
 * One load-client process: `warmupS` unmeasured, then `windows` back-to-back windows of
 * `durationS` (one JIT warm-up for the client; each window is one run).
 */
async function loadRun(port: number, server: Server, o: Opts, durationS: number, windows: number, warmupS: number): Promise<LoadResult | { error: string }> {
  const script = join(REPO_ROOT, 'dist/bench/ecdhe-load-client.js');
  const total = windows * durationS + warmupS;
  const args = ['-k', '2', String(Math.ceil(total + 25)), 'taskset', '-c', String(LOAD_CPU), process.execPath, script];
  args.push('--port', String(port), '--concurrency', String(o.concurrency), '--duration', String(durationS), '--windows', String(windows), '--warmup', String(warmupS), '--server-pid', String(server.pid));
  if (server.mode !== 'none') args.push('--client-auth');
  if (o.realCrypto) args.push('--real-crypto');
  args.push('--ports-per-slot', String(o.portsPerSlot));
  const res = await runToEnd('timeout', args, (total + 30) * 1000);
  if (isStopping()) throw new Error('interrupted');
  const runs: Run[] = [];
  let final: LoadResult['final'];
  for (const line of res.out.trim().split('\n')) {
    if (!line.startsWith('{')) continue;
    let j: ClientResult & { error?: string; final?: boolean };
    try {
      j = JSON.parse(line) as typeof j;
    } catch {
      continue;
    }
    if (typeof j.error === 'string') return { error: j.error };
    if (j.final) {
      final = j as unknown as LoadResult['final'];
      continue;
    }
    const serverCpu = j.server_cpu_pct ?? NaN;
    runs.push({ rate: j.rate, serverCpu, usPerHs: j.ok ? (serverCpu / 100 / j.rate) * 1e6 : NaN, clientCpu: j.client_cpu_pct, bound: boundBy(j), contended: false, r: j });
  }
  if (runs.length === 0) return { error: `ecdhe-load-client printed no JSON (exit ${res.code}): ${(res.err || res.out).trim().slice(-400)}` };
  if (runs.every((r) => r.r.ok === 0)) return { error: `no handshake completed: ${JSON.stringify(runs[0]!.r)}` };
  return { runs, final };
}

/**
 * Which side limited the achieved rate. The load is a closed loop (C handshakes in flight), so
 * when neither process reaches ~90% of its core, each waits on the other part of the time: the
 * achieved rate then understates the server, and its CPU per handshake is the figure to use.
 */
function boundBy(j: ClientResult): string {
  const s = j.server_cpu_pct ?? 0;
  const c = j.client_cpu_pct;
  const core1 = j.cpu_busy_pct[LOAD_CPU] ?? 0;
  if (s >= 90) return 'server-bound';
  if (c >= 90) return 'CLIENT-BOUND';
  if (core1 >= 95) return 'CLIENT-BOUND (cpu1 shared with other work)';
  return 'neither saturated';
}

const contention = new Contention();
/** The contention note of one window ('' if none), counted. */
const contentionOf = (r: ClientResult): string => contention.note(r.cpu_busy_pct, r.server_cpu_pct, r.client_cpu_pct);

/** Problems that make a run's numbers meaningless (the brief: 0 failures). */
function runProblems(r: ClientResult): string[] {
  const p: string[] = [];
  if (r.failed > 0) p.push(`${r.failed} failed handshakes ${JSON.stringify(r.errors)}`);
  if (r.bad > 0) p.push(`${r.bad} handshakes with wrong parameters ${JSON.stringify(r.bad_why)}`);
  if (r.timeouts > 0) p.push(`${r.timeouts} timeouts`);
  if (r.socket_errors > 0) p.push(`${r.socket_errors} socket errors`);
  return p;
}

/** Not failures, but worth saying: retransmissions mean the server answered later than the client's timer. */
function runNotes(r: ClientResult): string[] {
  const n: string[] = [];
  if (r.tx_per_hs > 4.02) n.push(`${r.tx_per_hs} client datagrams per handshake (4 without retransmissions)`);
  return n;
}

interface ModeResult {
  mode: ClientAuth;
  runs: Run[];
  counters: ServerCounters | undefined;
  checks: string[];
  broken: boolean;
}

/**
 * Other engineers' test runs share these two cores. Before a measurement, wait (up to
 * `maxS`) until both cores are mostly idle, and say what was found.
 */
async function waitForQuiet(maxS: number): Promise<string | undefined> {
  const t0 = performance.now();
  for (;;) {
    const a = cpuSnap();
    await sleep(400);
    const busy = cpuBusyPct(a, cpuSnap());
    const worst = Math.max(busy[SERVER_CPU] ?? 0, busy[LOAD_CPU] ?? 0);
    const waited = (performance.now() - t0) / 1000;
    if (worst < 20) return waited > 1 ? `  (waited ${waited.toFixed(1)} s for other work on cpu${SERVER_CPU}/cpu${LOAD_CPU} to calm down)` : undefined;
    if (waited >= maxS) {
      return `  WARNING: cpu${SERVER_CPU}/cpu${LOAD_CPU} still ${busy.map((b) => `${Math.round(b)}%`).join('/')} busy with other work after ${maxS} s of waiting: measuring anyway`;
    }
  }
}

async function measureMode(mode: ClientAuth, o: Opts): Promise<ModeResult> {
  const quiet = await waitForQuiet(6);
  const port = await freePorts(1);
  const server = await startServer(port, mode);
  const label = mode === 'none' ? 'without client authentication' : `with client authentication (clientAuth '${mode}')`;
  log(
    `\n[${mode === 'none' ? 'no-auth' : 'client-auth'}] ${label}: server pid ${server.pid} on cpu${SERVER_CPU}, 127.0.0.1:${port}; one ecdhe-load-client on cpu${LOAD_CPU}, C=${o.concurrency}: ` +
      `${WARMUP_S} s unmeasured warm-up, then ${o.runs} back-to-back ${o.duration} s window${o.runs > 1 ? 's' : ''}`,
  );
  if (quiet) log(quiet);
  const runs: Run[] = [];
  let broken = false;
  let final: LoadResult['final'];
  try {
    const res = await loadRun(port, server, o, o.duration, o.runs, WARMUP_S);
    if ('error' in res) {
      log(`  FAILED: ${res.error}`);
      broken = true;
    } else {
      final = res.final;
      for (const a of res.runs) {
        runs.push(a);
        const r = a.r;
        const problems = runProblems(r);
        const cont = contentionOf(r);
        a.contended = cont !== '';
        log(
          `  ${fmtInt(a.rate).padStart(6)}/s  server cpu ${a.serverCpu.toFixed(1)}%  ${a.usPerHs.toFixed(0)} us/hs  client cpu ${a.clientCpu.toFixed(0)}% (${r.client_cpu_us_per_hs.toFixed(0)} us/hs)  ` +
            `p50 ${r.p50_ms.toFixed(2)} ms p99 ${r.p99_ms.toFixed(2)} ms  ${a.bound}  per-s ${JSON.stringify(r.per_sec)}${paren(cont)}`,
        );
        if (problems.length) log(`    problems: ${problems.join('; ')}`);
        const notes = runNotes(r);
        if (notes.length) log(`    note: ${notes.join('; ')}`);
      }
    }
  } finally {
    await stop(server.t);
  }
  const counters = serverCounters(server.t.err());
  const checks: string[] = [];
  const extraHvr = counters && counters.hvr > counters.started ? ` (${counters.hvr - counters.started} retransmitted ClientHellos got another HelloVerifyRequest)` : '';
  if (!counters) checks.push('server printed no counters');
  else {
    const wantId = mode === 'none' ? 'anonymous' : 'rpk:bench-client';
    const ids = Object.keys(counters.identities);
    if (ids.length !== 1 || ids[0] !== wantId) checks.push(`server sessions by identity ${JSON.stringify(counters.identities)} (want only ${wantId})`);
    // a retransmitted first ClientHello gets another HelloVerifyRequest: more HVRs is fine
    if (counters.hvr < counters.started) checks.push(`only ${counters.hvr} HelloVerifyRequests for ${counters.started} handshakes`);
    if (counters.sessions !== counters.started) checks.push(`${counters.started} handshakes started, ${counters.sessions} sessions`);
    if (counters.open !== 0) checks.push(`${counters.open} sessions still open on the server at the end (close_notify not processed?)`);
    if (counters.handshakeErrors > 0 || Object.keys(counters.errors).length > 0) checks.push(`server errors ${counters.handshakeErrors} ${JSON.stringify(counters.errors)}`);
  }
  for (const r of runs) for (const p of runProblems(r.r)) checks.push(p);
  if (!final) checks.push('the load client printed no final line');
  else {
    if (final.warmup_failed > 0) checks.push(`${final.warmup_failed} failures during the warm-up ${JSON.stringify(final.warmup_errors)}`);
    if (final.drain_failed > 0) checks.push(`${final.drain_failed} failures during the drain ${JSON.stringify(final.drain_errors)}`);
    if (final.abandoned > 0) checks.push(`${final.abandoned} handshakes unfinished after the drain`);
  }
  if (counters) {
    log(
      checks.length === 0
        ? `  check: ${counters.sessions} handshakes on the server (warm-up included), every one with cookie exchange, TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, EMS, raw public keys, ` +
            `${mode === 'none' ? 'no client certificate (peer anonymous)' : "the client's raw public key verified (peer rpk:bench-client)"}, close_notify; 0 failures${extraHvr}`
        : `  check FAILED: ${checks.join('; ')}`,
    );
  }
  return { mode, runs, counters, checks, broken: broken || checks.length > 0 };
}

// --- main ------------------------------------------------------------------------------

export async function main(args: string[]): Promise<number> {
  const o = parseOpts(args);
  processCapS = Math.ceil(estimateSeconds(o) * 1.5 + 30);
  const t0 = performance.now();
  log(
    `dtls-ecdhe: coaps DTLS 1.2 server, TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 with RFC 7250 raw public keys (P-256, tinydtls test keys), node ${process.version}; ` +
      `server on cpu${SERVER_CPU}, load on cpu${LOAD_CPU}; ${o.runs > 1 ? `median of ${o.runs} runs` : '1 run'} per mode; about ${Math.round(estimateSeconds(o))} s`,
  );
  if (!which('taskset')) {
    log('taskset not found (util-linux): cannot pin processes; giving up');
    return 1;
  }
  log(
    o.realCrypto
      ? 'client crypto: plain nodeCrypto (--real-crypto): the client does all of its own crypto'
      : 'client crypto: BENCH-ONLY SHORTCUTS in the load client: one cached client ECDH key pair (the shared secret is still computed per handshake) and no check of the ' +
          "ServerKeyExchange signature. The server cannot tell; its work is unchanged (with client auth the client's CertificateVerify is signed for real).",
  );

  // 1. crypto floor ------------------------------------------------------------------------
  const quietFloor = await waitForQuiet(4);
  const f = cryptoFloor();
  log('\n[floor]');
  if (quietFloor) log(quietFloor);
  log(`  nodeCrypto in this process (fastest of 7 x 300 calls): ECDH keygen ${f.keygen.toFixed(1)} us, ECDSA sign ${f.sign.toFixed(1)} us, ECDH compute ${f.derive.toFixed(1)} us, ECDSA verify ${f.verify.toFixed(1)} us`);
  log(`  server crypto per handshake: ${f.server.toFixed(0)} us without client auth (keygen + sign + compute) -> at most ${fmtInt(1e6 / f.server)}/s on one core; ${f.serverAuth.toFixed(0)} us with client auth (+ verify) -> ${fmtInt(1e6 / f.serverAuth)}/s`);
  log(`  DESIGN.md: crypto ~${DESIGN_CRYPTO_US} us, ceiling 5.3-5.6k/s; measured floor / DESIGN's crypto = ${fmt2(f.server / DESIGN_CRYPTO_US)}`);
  if (o.openssl) {
    const os = await opensslEcdhUs();
    if (os) {
      log(
        `  reference: \`openssl speed ecdhp256\` (${os.version}, system libcrypto, cpu${SERVER_CPU}): ${os.us.toFixed(1)} us per ECDH compute; node's ECDH.computeSecret takes ${fmt2(f.derive / os.us)}x that ` +
          '(node runs EC_KEY_check_key on its own key pair on every call: src/crypto/crypto_ec.cc ECDH::ComputeSecret -> IsKeyPairValid)',
      );
    }
  }

  // 2. handshakes ---------------------------------------------------------------------------
  const modes: ModeResult[] = [];
  modes.push(await measureMode('none', o));
  if (o.clientAuthRun && !isStopping()) modes.push(await measureMode('required', o));

  // 3. optional profile ---------------------------------------------------------------------
  const profileLines: string[] = [];
  if (o.profile) {
    const dir = join(BUILD_DIR, 'prof-ecdhe');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const quietProfile = await waitForQuiet(4);
    const port = await freePorts(1);
    const ps = await startServer(port, 'none', ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    let prof: Run | undefined;
    try {
      const res = await loadRun(port, ps, o, 4, 1, 1);
      prof = 'error' in res ? undefined : res.runs[0];
      if (prof) prof.contended = contentionOf(prof.r) !== '';
    } finally {
      await stop(ps.t, 5000);
    }
    const c = serverCounters(ps.t.err());
    const file = readdirSync(dir).find((x) => x.endsWith('.cpuprofile'));
    if (!file || !c || !prof) profileLines.push('\n[profile] no profile written, or the profiled run failed');
    else {
      // Shares by sample count (robust when other processes share the core), turned into
      // microseconds with the server CPU per handshake measured (/proc) in the profiled window.
      const sm = summarizeProfile(join(dir, file), REPO_ROOT, 18, 'samples');
      const usHs = prof.usPerHs;
      const line = (x: { pct: number; name: string }) => `   ${x.pct.toFixed(1).padStart(5)}%  ${((x.pct / 100) * usHs).toFixed(1).padStart(6)} us/hs  ${x.name}`;
      profileLines.push(
        `\n[profile] node --cpu-prof of the server without client auth, 1 s warm-up + 4 s, ${fmtInt(c.sessions)} handshakes; profiled window: ${fmtInt(prof.rate)} hs/s, server cpu ${prof.serverCpu.toFixed(0)}%, ` +
          `${usHs.toFixed(0)} us/hs (profiler on), ${prof.bound}${prof.contended ? ', CONTENDED' : ''}`,
        ...(quietProfile ? [quietProfile] : []),
        `  ${join(dir, file)}`,
        '  shares of profile samples (busy only), and those shares of the measured server CPU per handshake:',
        '  self time by kind:',
        ...sm.categories.slice(0, 9).map(line),
        '  top self time:',
        ...sm.self.map(line),
        '  top inclusive, our code:',
        ...sm.inclusive.slice(0, 14).map(line),
      );
    }
  }

  // 4. summary -------------------------------------------------------------------------------
  const rows: string[][] = [];
  const row = (...c: string[]) => rows.push(c);
  const usedNotes: string[] = [];
  const ceilUs = 1e6 / HS_CEILING;
  const targetUs = 1e6 / HS_TARGET;
  const byMode = new Map(modes.map((m) => [m.mode, m]));
  for (const m of modes) {
    if (!m.runs.length) {
      row(m.mode === 'none' ? 'handshakes/s, no client auth' : 'handshakes/s, client auth', 'FAILED', 'see above', '-');
      continue;
    }
    const noAuth = m.mode === 'none';
    const name = noAuth ? 'no client auth' : 'client auth required';
    // windows disturbed by other processes are left out when there are undisturbed ones
    const clean = m.runs.filter((r) => !r.contended);
    const use = clean.length ? clean : m.runs;
    if (clean.length && clean.length < m.runs.length) usedNotes.push(`${name}: medians over the ${clean.length} of ${m.runs.length} windows without contention`);
    if (!clean.length) usedNotes.push(`${name}: every window had contention (figures are lower bounds)`);
    const med = medianRun(use);
    const rate = median(use.map((r) => r.rate));
    const cap = 1e6 / med.usPerHs;
    const target = (v: number, asUs = false) => {
      if (noAuth) row('', '', asUs ? `target ${targetUs.toFixed(0)} us` : `target ${fmtInt(HS_TARGET)}`, fmt2(asUs ? targetUs / v : v / HS_TARGET));
    };
    row(`achieved handshakes/s, ${name}`, `${fmtInt(rate)}${spread(use.map((r) => r.rate))}`, `ceiling ${fmtInt(HS_CEILING)} (5.3-5.6k)`, fmt2(rate / HS_CEILING));
    target(rate);
    row(`  bound by`, `${med.bound}`, `server cpu ${med.serverCpu.toFixed(0)}%, client cpu ${med.clientCpu.toFixed(0)}%`, '');
    row(`  server CPU per handshake`, `${med.usPerHs.toFixed(0)} us${spread(use.map((r) => r.usPerHs), (x) => x.toFixed(0))}`, `ceiling ${ceilUs.toFixed(0)} us`, fmt2(ceilUs / med.usPerHs));
    target(med.usPerHs, true);
    row(`  one-core capacity (1e6/us)`, `${fmtInt(cap)}/s`, `ceiling ${fmtInt(HS_CEILING)}`, fmt2(cap / HS_CEILING));
    target(cap);
    const floorUs = noAuth ? f.server : f.serverAuth;
    row(`  crypto floor (in-process)`, `${floorUs.toFixed(0)} us = ${fmtInt(1e6 / floorUs)}/s`, `ceiling ${fmtInt(HS_CEILING)}`, fmt2(1e6 / floorUs / HS_CEILING));
    row(`  crypto share of server CPU`, `${((100 * floorUs) / med.usPerHs).toFixed(0)}%`, `non-crypto ${(med.usPerHs - floorUs).toFixed(0)} us/hs`, '');
  }
  if (rows.length) {
    logSummaryTable('summary (medians; [windows]; ratio > 1 is better than the reference; target is for no client auth)', rows);
    for (const n of usedNotes) log(`(${n})`);
  }
  const a = byMode.get('none');
  const b = byMode.get('required');
  if (a?.runs.length && b?.runs.length) {
    const pick = (m: ModeResult) => (m.runs.some((r) => !r.contended) ? m.runs.filter((r) => !r.contended) : m.runs);
    const ua = medianRun(pick(a)).usPerHs;
    const ub = medianRun(pick(b)).usPerHs;
    log(`client auth costs the server +${(ub - ua).toFixed(0)} us/hs (x${fmt2(ub / ua)}); the crypto floor predicts +${f.verify.toFixed(0)} us (one ECDSA verify)`);
  }
  const clientBound = modes.some((m) => m.runs.some((r) => r.bound.startsWith('CLIENT')));
  log(
    clientBound
      ? 'NOTE: at least one run was CLIENT-BOUND (the load client saturated cpu1 first): its achieved rate is a lower bound for the server; the server CPU per handshake and the one-core capacity are the server figures.'
      : modes.every((m) => m.runs.every((r) => r.bound === 'server-bound'))
        ? "All runs were server-bound (server cpu >= 90%): the achieved rate is the server's."
        : 'Runs marked "neither saturated": neither process reached 90% of its core (closed loop, each side waits on the other part of the time), ' +
          "so the achieved rate understates the server; the server CPU per handshake and the one-core capacity are the server's figures.",
  );
  if (!o.realCrypto) log('(load client used the BENCH-ONLY crypto shortcuts described at the top; the server did all of its crypto)');
  contention.logNote('rates are lower bounds, and heavy contention inflates the CPU per handshake too (shared caches, scheduling): prefer uncontended windows.');
  for (const l of profileLines) log(l);
  for (const m of modes) if (m.counters) log(`server (${m.mode}): ${m.counters.line.replace(/^ecdhe-server: /, '')}`);
  log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return modes.some((m) => m.broken) ? 1 : 0;
}

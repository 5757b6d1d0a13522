/**
 * `npm run bench -- coaps`: CoAP request/response pairs per second over established DTLS 1.2
 * PSK sessions (TLS_PSK_WITH_AES_128_CCM_8), our server (bench/coap-server.ts: transports/
 * coap-node.ts createServer + the library's Router) in its own process on cpu0, the neutral
 * generator `dtls-load coap` (bench/tools/dtls-load, C over Mbed TLS;
 * bench/lib/dtls-load.ts) on cpu1: N sessions,
 * W CON GETs in flight on each, only 2.xx responses completed inside the window counted.
 * The same load runs against libcoap's coap-server-gnutls (GnuTLS forced to CCM_8) in the
 * same run, interleaved with ours, and the figures are printed as ratios: coaps / libcoap, to
 * the 50k/s target and to DESIGN.md's 68-92k/s ceiling (80k), plus server CPU% and server CPU
 * microseconds per request for both. Then one extra run of our server under `node --cpu-prof`.
 *
 * The path: libcoap's example server has no /hello, so the benchmark asks it for
 * /.well-known/core (coap-client over plain coap://) and uses /hello if listed, else /time
 * (15 bytes + Max-Age 1, which bench/coap-server.ts answers identically).
 *
 * With --idle-sessions N, before the measured runs the server is given N more established
 * sessions that stay idle (`dtls-load hs --no-close-notify`: each handshake's session is kept by
 * the server, the client goes away): the request rate beside N idle sessions, against the
 * same run without them, shows whether the rate falls with the session count (issue 13: at
 * 10k sessions >= 0.9x the rate at 16). The idle sessions hibernate after 30 s (DtlsEndpoint
 * hibernateAfterMs): the runs start --idle-wait seconds after they are open.
 *
 * Options: --runs N (3: medians), --duration S (window per run, 3), --sessions N (16),
 *          --idle-sessions N (0), --idle-wait S (seconds to wait after opening them, 35: they hibernate),
 *          --windows 1,4 (requests in flight per session), --path /p (skip the discovery),
 *          --no-libcoap, --no-profile, --profile-duration S (3).
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { summarizeProfile } from './lib/cpuprofile.js';
import { ensureDtlsLoad, runDtlsLoad, type DtlsLoadResult } from './lib/dtls-load.js';
import { BUILD_DIR, REPO_ROOT } from './lib/paths.js';
import { isStopping, runToEnd, stop } from './lib/procs.js';
import { Contention, fmt2, fmtInt, log, logSummaryTable, median, medianRun, paren, spread } from './lib/report.js';
import { libcoapResources, LOAD_CPU, SERVER_CPU, startLibcoap as startLibcoapProcess, startNodeServer, withServers, type ServerProcess } from './lib/servers.js';
import { freePorts, which } from './lib/sys.js';

// DESIGN.md, "Budgets on this machine": CoAP request/response over an established DTLS session,
// one core, 68-92k/s; the project's target is 50k/s.
const CEILING = 80_000;
const TARGET = 50_000;
const WARMUP_S = 0.5;
const DRAIN_MS = 300;
let processCapS = 300;

interface Opts {
  runs: number;
  duration: number;
  sessions: number;
  windows: number[];
  path: string | undefined;
  libcoap: boolean;
  profile: boolean;
  profileDuration: number;
  idleSessions: number;
  idleWait: number;
}

function parseOpts(args: string[]): Opts {
  const o: Opts = { runs: 3, duration: 3, sessions: 16, windows: [1, 4], path: undefined, libcoap: true, profile: true, profileDuration: 3, idleSessions: 0, idleWait: 35 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = () => {
      const x = args[++i];
      if (x === undefined) throw new Error(`coaps: ${a} needs a value`);
      return x;
    };
    if (a === '--runs') o.runs = Math.max(1, Number(v()));
    else if (a === '--duration') o.duration = Number(v());
    else if (a === '--sessions') o.sessions = Number(v());
    else if (a === '--windows' || a === '--window') o.windows = v().split(',').map(Number).filter((n) => n > 0);
    else if (a === '--path') o.path = v();
    else if (a === '--no-libcoap') o.libcoap = false;
    else if (a === '--no-profile') o.profile = false;
    else if (a === '--profile-duration') o.profileDuration = Number(v());
    else if (a === '--idle-sessions') o.idleSessions = Number(v());
    else if (a === '--idle-wait') o.idleWait = Number(v());
    else throw new Error(`coaps: unknown option ${a}`);
  }
  return o;
}

function estimateSeconds(o: Opts): number {
  const perRun = 0.3 + WARMUP_S + o.duration + DRAIN_MS / 1000;
  return 3 + 1.5 + o.runs * o.windows.length * (o.libcoap ? 2 : 1) * perRun + (o.profile ? o.profileDuration + 3 : 0) + (o.idleSessions > 0 ? o.idleWait + o.idleSessions / 200 + 10 : 0);
}

// --- servers ---------------------------------------------------------------------------

interface Server extends ServerProcess {
  name: string;
  port: number; // the coaps port
}

async function startOurs(port: number, nodeArgs: string[] = [], name = 'coaps'): Promise<Server> {
  return { ...(await startNodeServer('coap-server.js', port, { capS: processCapS, nodeArgs })), name, port };
}

/** libcoap's example server, coap on `port`, coaps on port+1 (interop/PEERS.md). */
async function startLibcoap(port: number): Promise<Server | { skip: string }> {
  const p = await startLibcoapProcess(port, processCapS);
  return 'skip' in p ? p : { ...p, name: 'libcoap-gnutls', port: port + 1 };
}

// --- measurements ----------------------------------------------------------------------

interface Run {
  server: string;
  window: number;
  rate: number;
  serverCpu: number;
  clientCpu: number;
  usPerReq: number;
  p50: number;
  p99: number;
  codes: string;
  problems: string[];
  contention: string;
  r: DtlsLoadResult;
}

type CoapResult = DtlsLoadResult & Record<string, unknown>;

const contention = new Contention();

async function coapRun(bin: string, s: Server, o: Opts, path: string, window: number, durationS: number, warmupS = WARMUP_S, counted = true): Promise<Run | { error: string; text: string }> {
  const args = ['coap', '--port', String(s.port), '--sessions', String(o.sessions), '--window', String(window), '--path', path];
  args.push('--duration', String(durationS), '--warmup', String(warmupS), '--drain', String(DRAIN_MS), '--server-pid', String(s.pid));
  const run = await runDtlsLoad(bin, LOAD_CPU, args, (durationS + warmupS + 30) * 1000);
  if (isStopping()) throw new Error('interrupted');
  const r = run.result as CoapResult | undefined;
  if (!r) return { error: `dtls-load printed no JSON (exit ${run.code}) ${run.stderr.trim().slice(-300)}`, text: run.text };
  if (r.ok === 0) return { error: `no response counted (${String(r['error'] ?? '')})`, text: run.text };
  const codes = /response codes:\s*([^\n(]*)/.exec(run.text)?.[1]?.trim() ?? '?';
  const lostAtEnd = Number(/unanswered after the drain (\d+)/.exec(run.text)?.[1] ?? 0);
  const problems: string[] = [];
  const n = (k: string) => Number(r[k] ?? 0);
  if (n('sessions_open') !== o.sessions) problems.push(`${n('sessions_open')}/${o.sessions} sessions open (setup failed ${n('setup_failed')})`);
  for (const k of ['error_responses', 'timeouts', 'rst', 'malformed', 'unmatched', 'session_errors'] as const) if (n(k) > 0) problems.push(`${k} ${n(k)}`);
  if (lostAtEnd > 0) problems.push(`${lostAtEnd} unanswered after the drain`);
  if (!/^2\.05=\d+$/.test(codes)) problems.push(`response codes ${codes} (want only 2.05)`);
  if (Object.keys(r.errors ?? {}).length) problems.push(`errors ${JSON.stringify(r.errors)}`);
  const serverCpu = r.server_cpu_pct ?? NaN;
  const note = contention.note(r.cpu_busy_pct, serverCpu, r.client_cpu_pct, counted);
  return {
    server: s.name,
    window,
    rate: r.rate,
    serverCpu,
    clientCpu: r.client_cpu_pct,
    usPerReq: (serverCpu / 100 / r.rate) * 1e6,
    p50: r.p50_ms,
    p99: r.p99_ms,
    codes,
    problems,
    contention: note,
    r,
  };
}

/** Opens `n` sessions the server keeps (handshakes without close_notify), in 2-second runs of dtls-load hs; returns how many completed. */
async function openIdleSessions(bin: string, s: Server, n: number): Promise<number> {
  let done = 0;
  for (let round = 0; done < n && round < 200; round++) {
    const args = ['hs', '--port', String(s.port), '--concurrency', '8', '--no-close-notify', '--src-addrs', '8', '--duration', '2', '--drain', '500'];
    const run = await runDtlsLoad(bin, LOAD_CPU, args, 40_000);
    if (isStopping()) throw new Error('interrupted');
    done += run.result?.ok ?? 0;
    process.stderr.write(`coaps: ${done}/${n} idle sessions opened\n`);
  }
  return done;
}

function runLine(x: Run): string {
  const drops = x.r.udp_rcvbuf_drops > 0 ? `  rcvbuf drops ${x.r.udp_rcvbuf_drops}` : '';
  const clientBound = x.clientCpu > 90 ? ' (client-bound?)' : '';
  return (
    `${x.server.padEnd(15)} ${fmtInt(x.rate).padStart(7)} req/s  server cpu ${x.serverCpu.toFixed(1).padStart(5)}%  ${x.usPerReq.toFixed(2).padStart(5)} us/req  ` +
    `client cpu ${x.clientCpu.toFixed(0)}%${clientBound}  p50 ${x.p50.toFixed(3)} ms  p99 ${x.p99.toFixed(3)} ms  ${x.codes}${drops}` +
    (x.problems.length ? `  FAILURES: ${x.problems.join('; ')}` : '') +
    paren(x.contention)
  );
}

// --- main ------------------------------------------------------------------------------

export async function main(args: string[]): Promise<number> {
  const o = parseOpts(args);
  processCapS = Math.ceil(estimateSeconds(o) * 1.5 + 30);
  const t0 = performance.now();
  return withServers<Server>((servers) => body(o, servers, t0));
}

async function body(o: Opts, servers: Server[], t0: number): Promise<number> {
  log(
    `coaps: CoAP CON GET request/response over established DTLS 1.2 PSK sessions (TLS_PSK_WITH_AES_128_CCM_8), node ${process.version}; ` +
      `server on cpu${SERVER_CPU}, dtls-load on cpu${LOAD_CPU}; ${o.runs > 1 ? `median of ${o.runs} runs` : '1 run'} x ${o.duration} s; about ${Math.round(estimateSeconds(o))} s`,
  );
  if (!which('taskset')) {
    log('taskset not found (util-linux): cannot pin processes; giving up');
    return 1;
  }
  const dl = await ensureDtlsLoad();
  if ('skip' in dl) {
    log(`SKIP coaps: every measurement here is \`dtls-load coap\` against coaps and libcoap: ${dl.skip}`);
    return 0;
  }
  log(`dtls-load: ${dl.bin}`);

  const base = await freePorts(4);
  let coap: Server | undefined;
  let path = o.path;
  if (o.libcoap) {
    const c = await startLibcoap(base + 2);
    if ('skip' in c) log(`SKIP libcoap-gnutls: ${c.skip}`);
    else {
      coap = c;
      servers.push(c);
      const res = await libcoapResources(base + 2);
      if ('error' in res) log(`libcoap-gnutls: pid ${c.pid}, coaps on 127.0.0.1:${c.port}; /.well-known/core: ${res.error}`);
      else {
        log(`libcoap-gnutls: pid ${c.pid}, coaps on 127.0.0.1:${c.port} (GnuTLS forced to CCM_8); /.well-known/core lists ${res.join(' ')}`);
        if (path === undefined) path = res.includes('/hello') ? '/hello' : res.includes('/time') ? '/time' : undefined;
        if (path === undefined) {
          log(`FAILED: libcoap serves neither /hello nor /time; pass --path with a resource both servers answer`);
          return 1;
        }
      }
    }
  }
  path ??= '/hello';
  const ours = await startOurs(base);
  servers.push(ours);
  log(`coaps server: pid ${ours.pid}, 127.0.0.1:${ours.port} (bench/coap-server.ts: coap-node createServer + Router; /hello, /time)`);
  const inflight = Math.max(...o.windows) * o.sessions;
  log(
    `path ${path}${path === '/time' ? ' (libcoap has no /hello: /time, 15-byte text + Max-Age 1, on both)' : ''}; sessions ${o.sessions}; windows ${o.windows.join(', ')}; ` +
      `up to ${inflight} requests in flight (dtls-load: keep under ~180 with default receive buffers; ours sets 4 MB)`,
  );

  // one unmeasured second on ours, so that the first measured run does not pay for V8's JIT
  const warm = await coapRun(dl.bin, ours, o, path, 1, 1, 0, false);
  if ('error' in warm) {
    log(`FAILED: warm-up against coaps: ${warm.error}\n${warm.text}`);
    return 1;
  }
  if (warm.problems.length) log(`  warm-up (not counted): ${warm.problems.join('; ')}`);
  if (o.idleSessions > 0) {
    const opened = await openIdleSessions(dl.bin, ours, o.idleSessions);
    log(`idle sessions: ${opened} handshakes completed and left open (dtls-load hs --no-close-notify); waiting ${o.idleWait} s (idle sessions hibernate after 30 s)`);
    await new Promise((r) => setTimeout(r, o.idleWait * 1000));
    const again = await coapRun(dl.bin, ours, o, path, 1, 1, 0, false);
    if (!('error' in again) && again.problems.length) log(`  warm-up after the idle sessions (not counted): ${again.problems.join('; ')}`);
  }

  const runs = new Map<string, Run[]>();
  const key = (server: string, w: number) => `${server}|${w}`;
  let failures = 0;
  log(`\n[coap] dtls-load coap --sessions ${o.sessions} --window W --path ${path} --duration ${o.duration} --warmup ${WARMUP_S} --drain ${DRAIN_MS}; order per round: coaps, libcoap for each W`);
  for (let i = 0; i < o.runs; i++) {
    for (const w of o.windows) {
      for (const s of coap ? [ours, coap] : [ours]) {
        const x = await coapRun(dl.bin, s, o, path, w, o.duration);
        if ('error' in x) {
          failures++;
          log(`  run ${i + 1} W=${w} ${s.name}: FAILED: ${x.error}\n${x.text.split('\n').map((l) => `    | ${l}`).join('\n')}`);
          continue;
        }
        if (x.problems.length) failures++;
        const k = key(s.name, w);
        if (!runs.has(k)) runs.set(k, []);
        runs.get(k)!.push(x);
        log(`  run ${i + 1} W=${w}  ${runLine(x)}`);
      }
    }
  }

  // profile: one more run of our server under node --cpu-prof ------------------------------
  const profileLines: string[] = [];
  if (o.profile) {
    const dir = join(BUILD_DIR, 'prof-coaps');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const port = await freePorts(1);
    const ps = await startOurs(port, ['--cpu-prof', `--cpu-prof-dir=${dir}`], 'coaps (profiled)');
    servers.push(ps);
    const w = o.windows[0]!;
    await coapRun(dl.bin, ps, o, path, w, 0.5, 0, false); // JIT warm-up, inside the profile but not counted in the rate
    const x = await coapRun(dl.bin, ps, o, path, w, o.profileDuration, WARMUP_S, false);
    const rate = 'error' in x ? `failed: ${x.error}` : `${fmtInt(x.rate)} req/s at ${x.serverCpu.toFixed(0)}% cpu, ${x.usPerReq.toFixed(2)} us/req${x.problems.length ? `, FAILURES: ${x.problems.join('; ')}` : ''}`;
    // a share of busy time -> approximate server microseconds per request (profiler on)
    const us = (pct: number) => ('error' in x || !Number.isFinite(x.usPerReq) ? '' : `  ~${((pct / 100) * x.usPerReq).toFixed(1).padStart(5)} us/req`);
    await stop(ps.t, 5000);
    servers.splice(servers.indexOf(ps), 1);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) profileLines.push(`\n[profile] no profile written`);
    else {
      const sm = summarizeProfile(join(dir, file), REPO_ROOT, 20);
      profileLines.push(
        `\n[profile] node --cpu-prof of the coaps server, W=${w}, ${o.profileDuration} s (+0.5 s warm-up) (profiler on: ${rate}); busy ${sm.busyMs.toFixed(0)} of ${sm.totalMs.toFixed(0)} ms`,
        `  ${join(dir, file)}`,
        '  self time by kind (% of busy):',
        ...sm.categories.slice(0, 9).map((c) => `   ${c.pct.toFixed(1).padStart(5)}%${us(c.pct)}  ${c.name}`),
        '  top self time:',
        ...sm.self.map((c) => `   ${c.pct.toFixed(1).padStart(5)}%${us(c.pct)}  ${c.name}`),
        '  top inclusive, our code:',
        ...sm.inclusive.slice(0, 16).map((c) => `   ${c.pct.toFixed(1).padStart(5)}%${us(c.pct)}  ${c.name}`),
      );
    }
  }

  // summary ---------------------------------------------------------------------------------
  const rows: string[][] = [];
  const row = (...c: string[]) => rows.push(c);
  for (const w of o.windows) {
    const a = runs.get(key(ours.name, w)) ?? [];
    const b = coap ? runs.get(key(coap.name, w)) ?? [] : [];
    if (!a.length) {
      row(`CON GET/s, W=${w}`, 'FAILED', '', '-');
      continue;
    }
    const rate = median(a.map((x) => x.rate));
    const m = medianRun(a);
    row(`CON GET/s, ${o.sessions} sessions x W=${w}`, `${fmtInt(rate)}${spread(a.map((x) => x.rate))}`, `ceiling ${fmtInt(CEILING)} (68-92k)`, fmt2(rate / CEILING));
    row('', '', `target ${fmtInt(TARGET)}`, fmt2(rate / TARGET));
    if (b.length) {
      const cr = median(b.map((x) => x.rate));
      row('', '', `libcoap-gnutls ${fmtInt(cr)}${spread(b.map((x) => x.rate))}`, fmt2(rate / cr));
    }
    row('  server CPU', `${m.serverCpu.toFixed(0)}%`, b.length ? `libcoap-gnutls ${medianRun(b).serverCpu.toFixed(0)}%` : '', '');
    row('  server CPU per request', `${m.usPerReq.toFixed(2)} us`, `ceiling ${(1e6 / CEILING).toFixed(2)} us`, fmt2(1e6 / CEILING / m.usPerReq));
    row('', '', `target ${(1e6 / TARGET).toFixed(2)} us`, fmt2(1e6 / TARGET / m.usPerReq));
    if (b.length) {
      const c = medianRun(b);
      row('', '', `libcoap-gnutls ${c.usPerReq.toFixed(2)} us`, fmt2(c.usPerReq / m.usPerReq));
    }
  }
  logSummaryTable('summary (medians; [runs]; ratio > 1 is better than the reference; CPU figures from the median run)', rows);
  if (coap) {
    for (const w of o.windows) {
      const a = runs.get(key(ours.name, w)) ?? [];
      const b = runs.get(key(coap.name, w)) ?? [];
      if (!a.length || !b.length) continue;
      const ratio = median(a.map((x) => x.rate)) / median(b.map((x) => x.rate));
      const eff = medianRun(b).usPerReq / medianRun(a).usPerReq;
      log(`W=${w}: coaps / libcoap-gnutls = ${fmt2(ratio)}  (req/s, same generator, same run; per server CPU-second: ${fmt2(eff)})`);
    }
  }
  const all = [...runs.values()].flat();
  log(
    `checks: ${all.length} measured runs, ${fmtInt(all.reduce((s, x) => s + x.r.ok, 0))} responses counted, ` +
      `${failures ? `${failures} run(s) with FAILURES (see above)` : '0 failures (every response 2.05; no timeouts, RSTs, errors or unanswered requests)'}`,
  );
  contention.logNote('rates are lower bounds; the CPU-per-request figures (us/req) are the steadier ratios.');
  for (const l of profileLines) log(l);

  for (const s of servers.splice(0)) {
    await stop(s.t);
    const e = s.t.err().trim();
    if (s.name.startsWith('coaps') && e) log(`${s.name} server: ${e.split('\n').slice(-2).join(' / ')}`);
  }
  log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return failures ? 1 : 0;
}

/**
 * `npm run bench -- dtls-psk`: our DTLS 1.2 PSK server (TLS_PSK_WITH_AES_128_CCM_8) on one
 * core, measured from the other core in the same run:
 *  1. full handshakes/s with the neutral generator `dtls-load hs` (bench/tools/dtls-load,
 *     built by bench/lib/dtls-load.ts; Mbed TLS: extended master secret, cookie
 *     exchange, close_notify), against our server and against libcoap's coap-server-gnutls, as
 *     ratios to DESIGN.md's ceiling, to the 8k/s target and to libcoap;
 *  2. echoed application records/s at 64 B and 1 KB over established sessions, with our own
 *     client (bench/psk-load-client.ts) in a separate process: dtls-load's `echo` mode is
 *     plain UDP and its `coap` mode only counts CoAP 2.xx responses, so neither fits.
 *
 *  3. the same echo over plain UDP through node:dgram (bench/udp-echo-server.ts, driven by
 *     `dtls-load echo`): the ceiling of any Node dgram driver, so the DTLS cost shows apart.
 *
 * Without dtls-load, 1 and 3 (and the handshake profile) are skipped, saying so; 2 runs.
 *
 * Options: --runs N (default 3: medians), --duration S (hs window, default 5),
 *          --rec-duration S (records window, default 2), --sessions N (16), --window W (8),
 *          --no-libcoap, --no-records, --profile (extra runs: node --cpu-prof of our server
 *          under the hs load and under the 64 B record load; top functions printed).
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { summarizeProfile } from './lib/cpuprofile.js';
import { ensureDtlsLoad, runDtlsLoad, type DtlsLoadResult, type DtlsLoadRun } from './lib/dtls-load.js';
import { BUILD_DIR, REPO_ROOT } from './lib/paths.js';
import { isStopping, runToEnd, stop } from './lib/procs.js';
import { Contention, fmt2, fmtInt, log, logSummaryTable, median, medianRun, paren, spread } from './lib/report.js';
import { LOAD_CPU, SERVER_CPU, startLibcoap as startLibcoapProcess, startNodeServer, withServers, type ServerProcess } from './lib/servers.js';
import { freePorts, which } from './lib/sys.js';

// DESIGN.md, "Budgets on this machine"
const HS_CEILING = 15_000; // 14-16k PSK_CCM_8 full handshakes/s, server, one core
const HS_TARGET = 8_000;
const REC_CEILING = 80_000; // CoAP request/response over DTLS, one core: 68-92k/s (mid)
const CCM_NS_PER_BYTE = 1.6; // AES-128-CCM_8 per record: ~2.5 us fixed + 1.6 ns/B

/** `timeout` around every server, so nothing outlives a killed run for long: set from the options. */
let processCapS = 300;
function estimateSeconds(o: Opts): number {
  const hs = 1 + o.runs * (o.libcoap ? 2 : 1) * (o.duration + 1.5);
  const rec = o.records ? o.runs * 2 * (o.recDuration + 1.5) + 2 * (o.recDuration + 1) : 0;
  return hs + rec + (o.profile ? 12 : 0) + 5;
}

interface Opts {
  runs: number;
  duration: number;
  recDuration: number;
  sessions: number;
  window: number;
  libcoap: boolean;
  records: boolean;
  profile: boolean;
}

function parseOpts(args: string[]): Opts {
  const o: Opts = { runs: 3, duration: 5, recDuration: 2, sessions: 16, window: 8, libcoap: true, records: true, profile: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = () => Number(args[++i]);
    if (a === '--runs') o.runs = Math.max(1, v());
    else if (a === '--duration') o.duration = v();
    else if (a === '--rec-duration') o.recDuration = v();
    else if (a === '--sessions') o.sessions = v();
    else if (a === '--window') o.window = v();
    else if (a === '--no-libcoap') o.libcoap = false;
    else if (a === '--no-records') o.records = false;
    else if (a === '--profile') o.profile = true;
    else throw new Error(`dtls-psk: unknown option ${a}`);
  }
  return o;
}

// --- servers ---------------------------------------------------------------------------

interface Server extends ServerProcess {
  name: string;
}

async function startOurServer(port: number, nodeArgs: string[] = [], name = 'coaps'): Promise<Server> {
  return { ...(await startNodeServer('psk-echo-server.js', port, { capS: processCapS, nodeArgs })), name };
}

async function startUdpEcho(port: number): Promise<Server> {
  return { ...(await startNodeServer('udp-echo-server.js', port, { capS: processCapS })), name: 'node-udp-echo' };
}

async function startLibcoap(port: number): Promise<Server | { skip: string }> {
  const p = await startLibcoapProcess(port, processCapS);
  return 'skip' in p ? p : { ...p, name: 'libcoap-gnutls' };
}

// --- measurements ----------------------------------------------------------------------

interface HsRun {
  rate: number;
  serverCpu: number; // % of one core
  usPerHs: number; // server CPU per handshake
  r: DtlsLoadResult;
  text: string;
}

async function hsRun(bin: string, port: number, server: Server, o: Opts, durationS = o.duration, warmupS = 0.5): Promise<HsRun | { error: string; run: DtlsLoadRun }> {
  const args = ['hs', '--port', String(port), '--concurrency', '4', '--duration', String(durationS), '--warmup', String(warmupS), '--server-pid', String(server.pid)];
  const run = await runDtlsLoad(bin, LOAD_CPU, args, (durationS + warmupS + 20) * 1000);
  if (isStopping()) throw new Error('interrupted');
  const r = run.result;
  if (!r) return { error: `dtls-load printed no JSON (exit ${run.code})`, run };
  if (r.ok === 0) return { error: 'no handshake completed', run };
  const serverCpu = r.server_cpu_pct ?? NaN;
  return { rate: r.rate, serverCpu, usPerHs: (serverCpu / 100 / r.rate) * 1e6, r, text: run.text };
}

/** Checks what the brief asks: does dtls-load's hs mode do what it should against us? */
function hsChecks(r: DtlsLoadResult): string[] {
  const problems: string[] = [];
  if (r.negotiated !== 'TLS-PSK-WITH-AES-128-CCM-8') problems.push(`negotiated ${r.negotiated}`);
  if ((r.failed ?? 0) > 0) problems.push(`${r.failed} failed handshakes (timeouts ${r.timeouts}, refused ${r.refused}); errors ${JSON.stringify(r.errors)}`);
  if (r.full_handshakes !== r.ok) problems.push(`only ${r.full_handshakes}/${r.ok} full handshakes`);
  if (r.cookie_exchanges !== r.ok) problems.push(`cookie exchange in ${r.cookie_exchanges}/${r.ok}`);
  if (r.server_ems !== r.ok) problems.push(`server EMS extension in ${r.server_ems}/${r.ok}`);
  if ((r.abandoned ?? 0) > 0) problems.push(`${r.abandoned} handshakes unfinished after the drain`);
  return problems;
}

const contention = new Contention();
/** The contention note of one measurement, counted. */
const contended = (busy: number[], serverCpu: number | null, clientCpu: number) => paren(contention.note(busy, serverCpu, clientCpu));

interface RecRun {
  rate: number;
  mbps: number;
  serverCpu: number;
  clientCpu: number;
  usPerRec: number;
  j: Record<string, unknown>;
}

async function recRun(port: number, server: Server, size: number, o: Opts): Promise<RecRun | { error: string }> {
  const script = join(REPO_ROOT, 'dist/bench/psk-load-client.js');
  const args = ['-k', '2', String(Math.ceil(o.recDuration + 30)), 'taskset', '-c', String(LOAD_CPU), process.execPath, script];
  args.push('--port', String(port), '--sessions', String(o.sessions), '--window', String(o.window), '--size', String(size));
  args.push('--duration', String(o.recDuration), '--warmup', '0.5', '--server-pid', String(server.pid));
  const r = await runToEnd('timeout', args, (o.recDuration + 35) * 1000);
  if (isStopping()) throw new Error('interrupted');
  const last = r.out.trim().split('\n').pop() ?? '';
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(last) as Record<string, unknown>;
  } catch {
    return { error: `psk-load-client printed no JSON (exit ${r.code}): ${(r.err || r.out).trim().slice(-400)}` };
  }
  if (typeof j['error'] === 'string') return { error: j['error'] };
  const rate = Number(j['rate']);
  const serverCpu = Number(j['server_cpu_pct']);
  return { rate, mbps: Number(j['mb_per_s']), serverCpu, clientCpu: Number(j['client_cpu_pct']), usPerRec: (serverCpu / 100 / rate) * 1e6, j };
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
    `dtls-psk: coaps DTLS 1.2 PSK server (TLS_PSK_WITH_AES_128_CCM_8), node ${process.version}; server on cpu${SERVER_CPU}, load on cpu${LOAD_CPU}; ` +
      `${o.runs > 1 ? `median of ${o.runs} runs` : '1 run'}; about ${Math.round(estimateSeconds(o))} s`,
  );
  if (!which('taskset')) {
    log('taskset not found (util-linux): cannot pin processes; giving up');
    return 1;
  }
  const dl = await ensureDtlsLoad();
  if ('skip' in dl) {
    log(`SKIP [hs] handshakes/s (coaps and libcoap-gnutls), [udp] the node:dgram echo ceiling and the hs profile: ${dl.skip}`);
    log('     (only [records], with our own load client, runs)');
  } else log(`dtls-load: ${dl.bin}`);

  const base = await freePorts(4);
  const ours = await startOurServer(base);
  servers.push(ours);
  log(`coaps server: pid ${ours.pid}, 127.0.0.1:${base}`);
  let coap: Server | undefined;
  if ('bin' in dl && o.libcoap) {
    const c = await startLibcoap(base + 2);
    if ('skip' in c) log(`SKIP libcoap-gnutls: ${c.skip}`);
    else {
      coap = c;
      servers.push(c);
      log(`libcoap-gnutls server: pid ${c.pid}, coaps on 127.0.0.1:${base + 3} (GnuTLS forced to CCM_8)`);
    }
  }

  // 1. handshakes -----------------------------------------------------------------------
  const oursHs: HsRun[] = [];
  const coapHs: HsRun[] = [];
  let hsBroken = false;
  if ('bin' in dl) {
    log(`\n[hs] dtls-load hs --concurrency 4 --duration ${o.duration} --warmup 0.5 (EMS, cookie exchange, close_notify), ${o.runs} x (coaps, libcoap), after 1 s unmeasured warm-up of coaps`);
    // one unmeasured second first, so that the first measured run does not pay for V8's JIT
    await hsRun(dl.bin, base, ours, o, 1, 0);
    for (let i = 0; i < o.runs && !hsBroken; i++) {
      const a = await hsRun(dl.bin, base, ours, o);
      if ('error' in a) {
        hsBroken = true;
        log(`  coaps run ${i + 1}: FAILED: ${a.error}`);
        log(a.run.text.split('\n').map((l) => `    | ${l}`).join('\n'));
        if (a.run.stderr.trim()) log(`    stderr: ${a.run.stderr.trim().slice(-600)}`);
        break;
      }
      oursHs.push(a);
      const problems = hsChecks(a.r);
      if (problems.length) log(`  coaps: dtls-load hs reports problems: ${problems.join('; ')}`);
      if (problems.length && a.text) log(a.text.split('\n').map((l) => `    | ${l}`).join('\n'));
      log(`  coaps          ${fmtInt(a.rate).padStart(7)}/s  server cpu ${a.serverCpu.toFixed(1)}%  ${a.usPerHs.toFixed(0)} us/hs  p50 ${a.r.p50_ms.toFixed(2)} ms  client ${a.r.client_cpu_pct.toFixed(0)}%  per-s ${JSON.stringify(a.r.per_sec)}${contended(a.r.cpu_busy_pct, a.r.server_cpu_pct, a.r.client_cpu_pct)}`);
      if (coap) {
        const b = await hsRun(dl.bin, base + 3, coap, o);
        if ('error' in b) {
          log(`  libcoap run ${i + 1}: FAILED: ${b.error}\n${b.run.text}`);
        } else {
          coapHs.push(b);
          const problems = hsChecks(b.r);
          if (problems.length) log(`  libcoap-gnutls: ${problems.join('; ')}`);
          log(`  libcoap-gnutls ${fmtInt(b.rate).padStart(7)}/s  server cpu ${b.serverCpu.toFixed(1)}%  ${b.usPerHs.toFixed(0)} us/hs  p50 ${b.r.p50_ms.toFixed(2)} ms  client ${b.r.client_cpu_pct.toFixed(0)}%  per-s ${JSON.stringify(b.r.per_sec)}${contended(b.r.cpu_busy_pct, b.r.server_cpu_pct, b.r.client_cpu_pct)}`);
        }
      }
    }
    if (oursHs.length > 0) {
      const problems = hsChecks(oursHs[0]!.r);
      log(
        problems.length === 0
          ? `  check: dtls-load hs works against coaps: every handshake full, with cookie exchange and EMS, negotiated ${oursHs[0]!.r.negotiated}, 0 failures`
          : `  check: dtls-load hs against coaps: ${problems.join('; ')}`,
      );
    }
  }

  // 2. application records ----------------------------------------------------------------
  const rec = new Map<number, RecRun[]>([
    [64, []],
    [1024, []],
  ]);
  if (o.records) {
    log(`\n[records] bench/psk-load-client: ${o.sessions} sessions x window ${o.window}, echo, ${o.recDuration} s window + 0.5 s warmup`);
    for (let i = 0; i < o.runs; i++) {
      for (const size of [64, 1024]) {
        const r = await recRun(base, ours, size, o);
        if ('error' in r) {
          log(`  ${size} B run ${i + 1}: FAILED: ${r.error}`);
          continue;
        }
        rec.get(size)!.push(r);
        const j = r.j;
        const lossy = Number(j['lost']) + Number(j['bad']) + Number(j['late']) > 0 ? `  lost ${j['lost']} late ${j['late']} bad ${j['bad']} stalls ${j['stalls']}` : '';
        log(
          `  ${String(size).padStart(4)} B  ${fmtInt(r.rate).padStart(7)} rec/s  ${r.mbps.toFixed(2)} MB/s  server cpu ${r.serverCpu.toFixed(1)}%  ${r.usPerRec.toFixed(1)} us/rec  client cpu ${r.clientCpu.toFixed(0)}%  p50 ${Number(j['p50_ms']).toFixed(2)} ms${lossy}` +
            contended(j['cpu_busy_pct'] as number[], r.serverCpu, r.clientCpu),
        );
      }
    }
  }

  // 3. plain UDP echo through node:dgram: the ceiling of a Node driver -----------------------
  const udp = new Map<number, { rate: number; serverCpu: number; usPerRec: number }>();
  if (o.records && 'skip' in dl) log('\n[udp] SKIPPED: no dtls-load (see above)');
  if (o.records && 'bin' in dl) {
    const port = await freePorts(1);
    const echo = await startUdpEcho(port);
    servers.push(echo);
    log(`\n[udp] dtls-load echo -> node:dgram echo server (no DTLS), ${o.sessions} sockets x window ${o.window}, ${o.recDuration} s, 1 run per size`);
    for (const size of [64, 1024]) {
      const args = ['echo', '--port', String(port), '--sessions', String(o.sessions), '--window', String(o.window), '--size', String(size)];
      args.push('--duration', String(o.recDuration), '--warmup', '0.3', '--drain', '200', '--server-pid', String(echo.pid));
      const run = await runDtlsLoad(dl.bin, LOAD_CPU, args, (o.recDuration + 15) * 1000);
      const r = run.result;
      if (!r || r.ok === 0) {
        log(`  ${size} B: FAILED\n${run.text}`);
        continue;
      }
      const serverCpu = r.server_cpu_pct ?? NaN;
      udp.set(size, { rate: r.rate, serverCpu, usPerRec: (serverCpu / 100 / r.rate) * 1e6 });
      log(`  ${String(size).padStart(4)} B  ${fmtInt(r.rate).padStart(7)} echoes/s  server cpu ${serverCpu.toFixed(1)}%  ${((serverCpu / 100 / r.rate) * 1e6).toFixed(1)} us/echo  client cpu ${r.client_cpu_pct.toFixed(0)}%${contended(r.cpu_busy_pct, r.server_cpu_pct, r.client_cpu_pct)}`);
    }
    await stop(echo.t);
  }

  // 4. optional profiles --------------------------------------------------------------------
  const profileLines: string[] = [];
  if (o.profile) {
    const profile = async (what: 'hs' | 'records'): Promise<void> => {
      const bin = 'bin' in dl ? dl.bin : undefined;
      if (what === 'hs' && !bin) {
        profileLines.push('\n[profile hs] SKIPPED: no dtls-load (see above)');
        return;
      }
      const dir = join(BUILD_DIR, `prof-${what}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const port = await freePorts(1);
      const ps = await startOurServer(port, ['--cpu-prof', `--cpu-prof-dir=${dir}`], `coaps (profiled, ${what})`);
      servers.push(ps);
      let rate = 'failed';
      if (what === 'hs' && bin) {
        const a = await hsRun(bin, port, ps, o, 4, 0);
        if (!('error' in a)) rate = `${fmtInt(a.rate)} hs/s at ${a.serverCpu.toFixed(0)}% cpu, ${a.usPerHs.toFixed(0)} us/hs`;
      } else {
        const a = await recRun(port, ps, 64, { ...o, recDuration: 3 });
        if (!('error' in a)) rate = `${fmtInt(a.rate)} rec/s at ${a.serverCpu.toFixed(0)}% cpu, ${a.usPerRec.toFixed(1)} us/rec`;
      }
      await stop(ps.t, 5000);
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) {
        profileLines.push(`\n[profile ${what}] no profile written`);
        return;
      }
      const sm = summarizeProfile(join(dir, file), REPO_ROOT, 14);
      profileLines.push(
        `\n[profile ${what === 'hs' ? 'hs: dtls-load hs C=4, 4 s' : 'records: 64 B echo, 3 s'}] node --cpu-prof of the coaps server (profiler on: ${rate}); busy ${sm.busyMs.toFixed(0)} of ${sm.totalMs.toFixed(0)} ms`,
        `  ${join(dir, file)}`,
        '  self time by kind (% of busy):',
        ...sm.categories.slice(0, 8).map((x) => `   ${x.pct.toFixed(1).padStart(5)}%  ${x.name}`),
        '  top self time:',
        ...sm.self.map((x) => `   ${x.pct.toFixed(1).padStart(5)}%  ${x.name}`),
        '  top inclusive, our code:',
        ...sm.inclusive.slice(0, 10).map((x) => `   ${x.pct.toFixed(1).padStart(5)}%  ${x.name}`),
      );
    };
    await profile('hs');
    if (o.records) await profile('records');
  }

  // 5. summary ------------------------------------------------------------------------------
  const rows: string[][] = [];
  const row = (...c: string[]) => rows.push(c);
  if (oursHs.length) {
    const m = medianRun(oursHs);
    const rate = median(oursHs.map((r) => r.rate));
    row('PSK full handshakes/s', `${fmtInt(rate)}${spread(oursHs.map((r) => r.rate))}`, `ceiling ${fmtInt(HS_CEILING)} (14-16k)`, `${fmt2(rate / HS_CEILING)}`);
    row('', '', `target ${fmtInt(HS_TARGET)}`, `${fmt2(rate / HS_TARGET)}`);
    if (coapHs.length) {
      const cr = median(coapHs.map((r) => r.rate));
      row('', '', `libcoap-gnutls ${fmtInt(cr)}${spread(coapHs.map((r) => r.rate))}`, `${fmt2(rate / cr)}`);
    }
    const ceilUs = 1e6 / HS_CEILING;
    row('  server CPU per handshake', `${m.usPerHs.toFixed(0)} us (${m.serverCpu.toFixed(0)}% cpu)`, `ceiling ${ceilUs.toFixed(0)} us`, `${fmt2(ceilUs / m.usPerHs)}`);
    row('', '', `target ${(1e6 / HS_TARGET).toFixed(0)} us`, `${fmt2(1e6 / HS_TARGET / m.usPerHs)}`);
    if (coapHs.length) {
      const c = medianRun(coapHs);
      row('', '', `libcoap-gnutls ${c.usPerHs.toFixed(0)} us (${c.serverCpu.toFixed(0)}% cpu)`, `${fmt2(c.usPerHs / m.usPerHs)}`);
    }
  } else if (hsBroken) {
    row('PSK full handshakes/s', 'FAILED', 'see above', '-');
  } else if ('skip' in dl) {
    row('PSK full handshakes/s', 'SKIPPED', 'no dtls-load (see the top)', '-');
  }
  for (const [size, runs] of rec) {
    if (!runs.length) continue;
    const m = medianRun(runs);
    const rate = median(runs.map((r) => r.rate));
    const mbps = median(runs.map((r) => r.mbps));
    // DESIGN.md: 68-92k request/response per core; a 1 KB record adds ~1.6 ns/B of CCM each way
    const ceil = 1e6 / (1e6 / REC_CEILING + (2 * CCM_NS_PER_BYTE * Math.max(0, size - 16)) / 1000);
    const bound = m.clientCpu > 90 && m.serverCpu < 90 ? ', client-bound' : '';
    const ceilMBs = (ceil * size) / 1e6;
    row(`echoed records/s ${size} B`, `${fmtInt(rate)}${spread(runs.map((r) => r.rate))}`, `ceiling ~${fmtInt(ceil)} (derived)`, `${fmt2(rate / ceil)}`);
    row(`  MB/s (payload, one way)`, `${mbps.toFixed(2)}`, `ceiling ${ceilMBs.toFixed(2)}`, `${fmt2(mbps / ceilMBs)}`);
    row(`  server CPU per record`, `${m.usPerRec.toFixed(1)} us (${m.serverCpu.toFixed(0)}% cpu${bound})`, `ceiling ${(1e6 / ceil).toFixed(1)} us`, `${fmt2(1e6 / ceil / m.usPerRec)}`);
    const u = udp.get(size);
    if (u) row('', '', `node:dgram UDP echo ${u.usPerRec.toFixed(1)} us`, `${fmt2(u.usPerRec / m.usPerRec)}`);
  }
  if (rows.length) logSummaryTable('summary (medians; [runs]; ratio > 1 is better than the reference)', rows);
  if (oursHs.length && coapHs.length) {
    const ratio = median(oursHs.map((r) => r.rate)) / median(coapHs.map((r) => r.rate));
    const eff = medianRun(coapHs).usPerHs / medianRun(oursHs).usPerHs;
    log(`coaps / libcoap-gnutls = ${fmt2(ratio)}   (handshakes/s, same generator, same run; per server CPU-second: ${fmt2(eff)})`);
  }
  contention.logNote('rates are lower bounds; the CPU-per-operation figures (us/hs, us/record) are the steadier ratios.');
  for (const l of profileLines) log(l);

  // stop the servers now, to show their own counters
  for (const s of servers.splice(0)) {
    await stop(s.t);
    const e = s.t.err().trim();
    if (s.name.startsWith('coaps') && e) log(`${s.name} server: ${e.split('\n').slice(-3).join(' / ').replace(/^psk-echo-server: /, '')}`);
  }
  log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return hsBroken ? 1 : 0;
}

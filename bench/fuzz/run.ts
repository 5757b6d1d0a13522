/**
 * `npm run fuzz -- TARGET [options]` (= node dist/bench/fuzz/run.js; `npm run build` first).
 * Runs one target (or `all`, one after the other) in a worker thread with a watchdog: an input
 * that runs past --timeout-s is a hang (the worker is stopped, the input saved, the run goes on
 * in a new worker), a worker that runs out of its heap is an out-of-memory finding. Findings
 * are minimized and written to .tmp/fuzz/<target>/ as JSON (replay one with --replay FILE);
 * the figures (inputs, inputs/s, findings) are printed and saved in summary.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { fromHex, reproduce, toHex, type Finding, type FuzzStats } from './engine.js';
import { ROOT } from './fixtures.js';
import { findTarget, TARGETS } from './targets/index.js';
import type { WorkerData, WorkerMessage } from './worker.js';

const USAGE = `usage: npm run fuzz -- TARGET|all [options]      (npm run build first)
       npm run fuzz -- TARGET --replay FILE        re-run a saved finding
       npm run fuzz -- --help

options:
  --seconds N      run for N seconds (default 60 unless --runs is given)
  --runs N         stop after N inputs
  --seed N         PRNG seed (default 1): a run is reproducible from its seed
  --budget-ms N    an input slower than this is a finding (default 1000)
  --timeout-s N    an input still running after N s is a hang (default 20)
  --heap-mb N      the worker's heap limit; beyond it, an out-of-memory finding (default 1024)
  --out DIR        where findings and summary.json go (default .tmp/fuzz)
  --no-minimize    keep findings' inputs as found
  --quiet          no progress lines`;

interface Args {
  target: string | undefined;
  seconds: number | undefined;
  runs: number | undefined;
  seed: number;
  budgetMs: number;
  timeoutS: number;
  heapMb: number;
  out: string;
  minimize: boolean;
  quiet: boolean;
  replay: string | undefined;
  help: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { target: undefined, seconds: undefined, runs: undefined, seed: 1, budgetMs: 1000, timeoutS: 20, heapMb: 1024, out: resolve(ROOT, '.tmp/fuzz'), minimize: true, quiet: false, replay: undefined, help: false };
  const num = (i: number, name: string): number => {
    const v = Number(argv[i]);
    if (argv[i] === undefined || !Number.isFinite(v) || v < 0) throw new Error(`${name} needs a non-negative number`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    switch (x) {
      case '--help':
      case '-h':
        a.help = true;
        break;
      case '--seconds':
        a.seconds = num(++i, x);
        break;
      case '--runs':
        a.runs = num(++i, x);
        break;
      case '--seed':
        a.seed = num(++i, x) >>> 0;
        break;
      case '--budget-ms':
        a.budgetMs = num(++i, x);
        break;
      case '--timeout-s':
        a.timeoutS = num(++i, x);
        break;
      case '--heap-mb':
        a.heapMb = num(++i, x);
        break;
      case '--out':
        a.out = resolve(argv[++i] ?? '.');
        break;
      case '--no-minimize':
        a.minimize = false;
        break;
      case '--quiet':
        a.quiet = true;
        break;
      case '--replay':
        a.replay = argv[++i];
        break;
      default:
        if (x.startsWith('-') || a.target !== undefined) throw new Error(`unknown argument ${x}`);
        a.target = x;
    }
  }
  if (a.seconds === undefined && a.runs === undefined) a.seconds = 60;
  return a;
}

function help(): void {
  console.log(USAGE);
  console.log('\ntargets:');
  for (const t of TARGETS) console.log(`  ${t.name.padEnd(26)} ${t.about}`);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

interface Result {
  target: string;
  inputs: number;
  seconds: number;
  perSecond: number;
  findings: Finding[];
  workers: number;
  corpus: number;
  features: number;
  slowestMs: number;
  heapMb: number;
}

/** Runs one target to its limit, restarting the worker after a hang or an out-of-memory. */
async function fuzzTarget(name: string, a: Args): Promise<Result> {
  const started = performance.now();
  const deadline = a.seconds !== undefined ? started + a.seconds * 1000 : Infinity;
  const findings = new Map<string, Finding>();
  let inputs = 0;
  let workers = 0;
  let last: FuzzStats | undefined;
  let final: FuzzStats | undefined;
  let heapMb = 0;
  let slowestMs = 0;
  const dir = join(a.out, name);
  mkdirSync(dir, { recursive: true });
  const save = (f: Finding) => {
    const old = findings.get(f.key);
    if (old) {
      old.count += f.count;
      return;
    }
    findings.set(f.key, f);
    const file = join(dir, `${toHex(new TextEncoder().encode(f.key)).slice(0, 16)}-${hash(f.key)}.json`);
    writeFileSync(file, JSON.stringify({ ...f, replay: `npm run fuzz -- ${name} --replay ${file}` }, null, 2));
    console.log(`[${name}] FINDING ${f.kind}: ${f.key}\n  ${f.message.slice(0, 300)}\n  input ${(f.minimized ?? f.input).slice(0, 160)}${(f.minimized ?? f.input).length > 160 ? '…' : ''}\n  saved ${file}`);
  };

  while (performance.now() < deadline && (a.runs === undefined || inputs < a.runs)) {
    const shared = new SharedArrayBuffer(16 + 65536);
    const header = new Int32Array(shared, 0, 4);
    const data: WorkerData = {
      target: name,
      seed: (a.seed + workers * 7919) >>> 0,
      ...(a.runs !== undefined ? { runs: a.runs - inputs } : {}),
      ...(a.seconds !== undefined ? { timeMs: Math.max(0, deadline - performance.now()) } : {}),
      budgetMs: a.budgetMs,
      minimize: a.minimize,
      shared,
    };
    workers++;
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: data, resourceLimits: { maxOldGenerationSizeMb: a.heapMb } });
    const outcome = await new Promise<{ stats?: FuzzStats; problem?: Finding }>((done) => {
      let seen = -1;
      let stuckSince = performance.now();
      const inFlight = (): Pick<Finding, 'input' | 'worldSeed'> => {
        const n = header[1]!;
        const input = toHex(new Uint8Array(shared, 16, n));
        return header[3] ? { input, worldSeed: header[2]! >>> 0 } : { input };
      };
      const watch = setInterval(() => {
        const c = Atomics.load(header, 0);
        const now = performance.now();
        if (c !== seen) {
          seen = c;
          stuckSince = now;
          return;
        }
        if (now - stuckSince > a.timeoutS * 1000) {
          clearInterval(watch);
          const f: Finding = { target: name, key: `hang: no progress for ${a.timeoutS} s`, kind: 'hang', message: `an input ran for more than ${a.timeoutS} s (the watchdog stopped the worker)`, stack: '', count: 1, ...inFlight() };
          void w.terminate().then(() => done({ problem: f, ...(last ? { stats: last } : {}) }));
        }
      }, 500);
      w.on('message', (m: WorkerMessage) => {
        if (m.type === 'finding') save(m.finding);
        else {
          last = m.stats;
          heapMb = Math.max(heapMb, m.heapMb);
          if (m.type === 'progress' && !a.quiet) {
            console.log(`[${name}] ${fmt(inputs + m.stats.inputs)} inputs, ${fmt(m.stats.perSecond)}/s, corpus ${m.stats.corpus}, features ${m.stats.features}, findings ${findings.size}, heap ${m.heapMb.toFixed(0)} MB`);
          }
          if (m.type === 'done') {
            clearInterval(watch);
            // the worker reported each finding when first seen; these are the final hit counts
            for (const [key, count] of m.counts) {
              const f = findings.get(key);
              if (f) f.count += count - 1;
            }
            done({ stats: m.stats });
          }
        }
      });
      w.on('error', (e: Error & { code?: string }) => {
        clearInterval(watch);
        const oom = e.code === 'ERR_WORKER_OUT_OF_MEMORY';
        const f: Finding = { target: name, key: oom ? `out of memory: heap over ${a.heapMb} MB` : `worker: ${e.name}: ${e.message}`, kind: oom ? 'hang' : 'crash', message: e.message, stack: e.stack ?? '', count: 1, ...inFlight() };
        done({ problem: f, ...(last ? { stats: last } : {}) });
      });
    });
    // inputs started, from the shared counter: right also for a worker stopped mid-run
    inputs += Atomics.load(header, 0);
    if (outcome.stats) {
      final = outcome.stats;
      slowestMs = Math.max(slowestMs, outcome.stats.slowestMs);
    }
    last = undefined;
    if (outcome.problem) save(outcome.problem);
    else break;
  }
  const seconds = (performance.now() - started) / 1000;
  const r: Result = { target: name, inputs, seconds, perSecond: inputs / seconds, findings: [...findings.values()], workers, corpus: final?.corpus ?? 0, features: final?.features ?? 0, slowestMs, heapMb };
  writeFileSync(join(dir, 'summary.json'), JSON.stringify({ ...r, findings: r.findings.map((f) => ({ kind: f.kind, key: f.key, count: f.count })), seed: a.seed, date: new Date().toISOString() }, null, 2));
  return r;
}

function hash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

function replay(name: string, file: string): number {
  const t = findTarget(name);
  if (!t) throw new Error(`unknown target ${name}`);
  const raw = /^[0-9a-f]*$/i.test(file) ? { input: file } : (JSON.parse(readFileSync(file, 'utf8')) as Partial<Finding>);
  const input = fromHex(raw.minimized ?? raw.input ?? '');
  Error.stackTraceLimit = 30;
  const key = reproduce(t, { ...(raw.worldSeed !== undefined ? { worldSeed: raw.worldSeed } : {}), history: raw.history ?? [] }, input);
  if (key === undefined) {
    console.log(`${name}: the input runs clean (${input.length} bytes)`);
    return 0;
  }
  console.log(`${name}: ${key}`);
  try {
    if (t.reset) t.reset(raw.worldSeed ?? 1);
    for (const h of raw.history ?? []) t.run(fromHex(h));
    t.run(input);
  } catch (e) {
    console.log(e instanceof Error ? e.stack : e);
  }
  return 1;
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  if (a.help || a.target === undefined) {
    help();
    return a.help ? 0 : 2;
  }
  if (a.replay !== undefined) return replay(a.target, a.replay);
  const names = a.target === 'all' ? TARGETS.map((t) => t.name) : [a.target];
  for (const n of names) if (!findTarget(n)) throw new Error(`unknown target ${n} (npm run fuzz -- --help lists them)`);
  const results: Result[] = [];
  for (const n of names) results.push(await fuzzTarget(n, a));
  console.log('\ntarget                        inputs        inputs/s  findings  heap MB  slowest ms');
  for (const r of results) {
    console.log(`${r.target.padEnd(26)} ${fmt(r.inputs).padStart(12)} ${fmt(r.perSecond).padStart(12)} ${String(r.findings.length).padStart(9)} ${r.heapMb.toFixed(0).padStart(8)} ${r.slowestMs.toFixed(0).padStart(11)}`);
    for (const f of r.findings) console.log(`    ${f.kind} x${f.count}: ${f.key}`);
  }
  return results.some((r) => r.findings.length > 0) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(2);
  },
);

/**
 * `npm run bench -- gc-churn`: what a container churned by short-lived objects costs the
 * garbage collector, the pattern issue 13's p99 came from (README, "What the garbage collector
 * costs"). One loop per container, each in a fresh process (--expose-gc): every iteration makes
 * a small object graph (a stand-in for a handshake's connection), puts it in the container,
 * and takes out the one from four iterations before; once, a quarter of the way in, a full
 * collection runs (as one does in any long-running process). Counted with a PerformanceObserver
 * of 'gc' entries: scavenges, their mean and largest pause, full collections.
 *
 *   none     no container (the floor)
 *   map      Map<object, number>: the objects themselves are the keys
 *   map-int  Map<number, number> with the objects in an array of slots (what the session table,
 *            the handshake slots and the CoAP exchanges do now)
 *   weak     WeakMap<object, number>
 */
import { spawn } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const KINDS = ['none', 'map', 'map-int', 'weak'] as const;
type Kind = (typeof KINDS)[number];
const ITERATIONS = 2_000_000;

interface Figures {
  kind: Kind;
  scavenges: number;
  scavengeMeanMs: number;
  scavengeMaxMs: number;
  fullGcs: number;
  seconds: number;
}

class Payload {
  readonly parts = Array.from({ length: 50 }, (_, i) => ({ i }));
}

async function loop(kind: Kind): Promise<Figures> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('gc-churn: the child runs with --expose-gc');
  const pauses: number[] = [];
  let full = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const k = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (k === 1) pauses.push(e.duration); // minor (scavenge)
      else if (k === 4) full++; // major (mark-compact)
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const byObject = new Map<Payload, number>();
  const byInt = new Map<number, number>();
  const weak = new WeakMap<Payload, number>();
  const slots: Array<Payload | undefined> = [];
  const live: Array<[Payload, number]> = [];
  const start = performance.now();
  for (let k = 0; k < ITERATIONS; k++) {
    if (k % 20_000 === 0) await new Promise((r) => setImmediate(r)); // lets the observer's entries in
    if (k === ITERATIONS / 4) gc();
    const o = new Payload();
    const slot = k & 7;
    if (kind === 'map') byObject.set(o, k);
    else if (kind === 'weak') weak.set(o, k);
    else if (kind === 'map-int') {
      slots[slot] = o;
      byInt.set(k, slot);
    }
    live.push([o, k]);
    if (live.length > 4) {
      const [x, xk] = live.shift()!;
      if (kind === 'map') byObject.delete(x);
      else if (kind === 'weak') weak.delete(x);
      else if (kind === 'map-int') {
        byInt.delete(xk);
        if (slots[xk & 7] === x) slots[xk & 7] = undefined;
      }
    }
  }
  const seconds = (performance.now() - start) / 1000;
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  const mean = pauses.length ? pauses.reduce((a, b) => a + b, 0) / pauses.length : 0;
  return { kind, scavenges: pauses.length, scavengeMeanMs: mean, scavengeMaxMs: Math.max(0, ...pauses), fullGcs: full, seconds };
}

function child(kind: Kind): Promise<Figures> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', kind], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('GC_CHURN '));
      if (code !== 0 || !line) reject(new Error(`gc-churn: child ${kind} exited ${code}`));
      else resolve(JSON.parse(line.slice('GC_CHURN '.length)) as Figures);
    });
  });
}

export async function main(args: string[]): Promise<number> {
  if (args.length > 0) throw new Error(`gc-churn: unknown option ${args[0]}`);
  console.log(`gc-churn: ${ITERATIONS.toLocaleString('en-US')} iterations per container, one full collection a quarter of the way in; node ${process.version}`);
  console.log('| container | scavenges | mean ms | max ms | full collections | seconds |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const kind of KINDS) {
    const f = await child(kind);
    console.log(`| ${f.kind} | ${f.scavenges} | ${f.scavengeMeanMs.toFixed(2)} | ${f.scavengeMaxMs.toFixed(2)} | ${f.fullGcs} | ${f.seconds.toFixed(2)} |`);
  }
  return 0;
}

if (process.argv[2] === '--child') {
  const kind = process.argv[3] as Kind;
  if (!KINDS.includes(kind)) throw new Error(`gc-churn: unknown container ${kind}`);
  console.log(`GC_CHURN ${JSON.stringify(await loop(kind))}`);
}

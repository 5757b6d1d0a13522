/**
 * The mutation engine: a corpus seeded from the target's seeds, inputs made by stacked byte
 * mutations, splices and the target's structure-aware generator and mutator, and a cheap
 * coverage feedback: an input that produces a feature never seen (an error class, a state
 * reached, a response code) joins the corpus. Oracle failures and crashes become findings,
 * deduplicated by kind and place, kept with their first input (and, for stateful targets, the
 * world seed and the inputs since that world began, so they replay exactly) and minimized.
 * Slow inputs (over the per-input budget) are findings too; a true hang is caught by the
 * runner's watchdog (run.ts), which sees the input in flight through `inFlight`.
 */
import { deleteWithLengths, mutateBytes, type MutationContext } from './mutate.js';
import { regressions } from './regressions.js';
import { deriveSeed, Rng } from './rng.js';
import { messageClass, Violation, type FuzzTarget } from './target.js';

export interface FuzzOptions {
  seed: number;
  /** Stop after this many inputs (default: no limit). */
  runs?: number;
  /** Stop after this long (ms, default: no limit). */
  timeMs?: number;
  /** An input that takes longer than this is a finding (ms). */
  budgetMs?: number;
  /** Shrink each new finding's input (default true). */
  minimize?: boolean;
  /** Called about every `reportEveryMs` with the running figures. */
  onProgress?: (s: FuzzStats) => void;
  reportEveryMs?: number;
  /** Called when a new finding is recorded (already minimized when `minimize`). */
  onFinding?: (f: Finding) => void;
  /** Receives every input before it runs (the watchdog's view of the input in flight). */
  inFlight?: (input: Uint8Array, worldSeed: number | undefined) => void;
}

export interface Finding {
  target: string;
  /** Dedup key: violation kind or exception type, message class, and the first lib/ frame. */
  key: string;
  kind: 'crash' | 'violation' | 'slow' | 'hang';
  message: string;
  stack: string;
  /** The input, hex. */
  input: string;
  /** Stateful targets: the world seed and the inputs run in that world before this one (hex). */
  worldSeed?: number;
  history?: string[];
  /** How often it was hit. */
  count: number;
  /** The minimized input (hex) when minimization ran and shrank it. */
  minimized?: string;
  /** For 'slow': the input's time in ms. */
  ms?: number;
}

export interface FuzzStats {
  target: string;
  inputs: number;
  ms: number;
  perSecond: number;
  corpus: number;
  features: number;
  findings: number;
  slowestMs: number;
  worlds: number;
}

const MAX_CORPUS = 8192;
const MAX_FEATURES = 1 << 20;
/** Characters of one feature, at most: a million of them stay within some hundred MB. */
const MAX_FEATURE_CHARS = 160;
const MAX_CLASSES_PER_ERROR = 128;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
export const toHex = (b: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!]!;
  return s;
};
export const fromHex = (h: string): Uint8Array => {
  const out = new Uint8Array(h.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
};

/** The first stack frame inside lib/ (or bench/fuzz when none), as path:line. */
function topFrame(stack: string): string {
  const lines = stack.split('\n').slice(1);
  const at = (l: string) => /(?:\/|\()((?:lib|transports|bench)\/[^:()]+):(\d+)/.exec(l);
  for (const l of lines) {
    const m = at(l);
    if (m && m[1]!.startsWith('lib/')) return `${m[1]}:${m[2]}`;
  }
  for (const l of lines) {
    const m = at(l);
    if (m) return `${m[1]}:${m[2]}`;
  }
  return (lines[0] ?? '').trim().slice(0, 80);
}

function describeError(e: unknown): { kind: 'crash' | 'violation'; key: string; message: string; stack: string } {
  if (e instanceof Violation) return { kind: 'violation', key: `violation ${e.kind}: ${messageClass(e.detail)}`, message: e.message, stack: e.stack ?? '' };
  if (e instanceof Error) {
    const stack = e.stack ?? `${e.name}: ${e.message}`;
    return { kind: 'crash', key: `${e.name}: ${messageClass(e.message)} @ ${topFrame(stack)}`, message: `${e.name}: ${e.message}`, stack };
  }
  return { kind: 'crash', key: `thrown ${typeof e}: ${messageClass(String(e))}`, message: String(e), stack: '' };
}

export class Fuzzer {
  readonly rng: Rng;
  private readonly corpus: Uint8Array[] = [];
  private readonly seen = new Set<string>();
  private readonly perName = new Map<string, number>();
  readonly findings = new Map<string, Finding>();
  private readonly ctx: MutationContext;
  inputs = 0;
  worlds = 0;
  slowestMs = 0;
  private worldSeed: number | undefined;
  private history: Uint8Array[] = [];
  /** Stackless crash keys -> the key of the finding they were recorded under. */
  private readonly quickKeys = new Map<string, string>();

  constructor(
    readonly target: FuzzTarget,
    readonly opts: FuzzOptions,
  ) {
    this.rng = new Rng(opts.seed);
    const fixed = regressions(target.name).map((r) => fromHex(r.minimized ?? r.input));
    for (const s of [...target.seeds(), ...fixed]) this.corpus.push(s.length > target.maxLength ? s.slice(0, target.maxLength) : s);
    if (this.corpus.length === 0) this.corpus.push(new Uint8Array(0));
    const dictionary = target.dictionary;
    this.ctx = {
      other: () => (this.corpus.length > 1 ? this.rng.pick(this.corpus) : undefined),
      maxLength: target.maxLength,
      ...(dictionary ? { dictionary } : {}),
    };
  }

  get corpusSize(): number {
    return this.corpus.length;
  }
  get featureCount(): number {
    return this.seen.size;
  }

  /** Runs the seeds once each (their features prime the coverage map), then fuzzes until a limit. */
  run(): FuzzStats {
    // Rejected inputs throw typed errors all the time: capturing their stacks would cost more
    // than the decoding. Stacks are captured again when a crash is recorded (record()).
    const stackLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return this.loop();
    } finally {
      Error.stackTraceLimit = stackLimit;
    }
  }

  private loop(): FuzzStats {
    const t0 = performance.now();
    const { runs = Infinity, timeMs = Infinity, reportEveryMs = 10_000 } = this.opts;
    let nextReport = t0 + reportEveryMs;
    const seeds = this.corpus.slice();
    for (const s of seeds) {
      if (this.inputs >= runs) break;
      this.one(s);
    }
    while (this.inputs < runs) {
      // the clock is read once per 64 inputs (most inputs take microseconds)
      if ((this.inputs & 63) === 0) {
        const now = performance.now();
        if (now - t0 >= timeMs) break;
        if (now >= nextReport) {
          nextReport = now + reportEveryMs;
          this.opts.onProgress?.(this.stats(now - t0));
        }
      }
      let input: Uint8Array;
      try {
        input = this.next();
      } catch (e) {
        // a mutator's own bug: recorded (it is the harness's), and the run goes on
        this.addFinding({ target: this.target.name, key: `harness: ${describeError(e).key}`, kind: 'crash', message: `mutation failed: ${String(e)}`, stack: e instanceof Error ? (e.stack ?? '') : '', input: '', count: 1, check: true });
        input = this.rng.bytes(this.rng.smallLength(this.target.maxLength));
      }
      this.one(input);
    }
    this.endWorld();
    return this.stats(performance.now() - t0);
  }

  stats(ms: number): FuzzStats {
    return {
      target: this.target.name,
      inputs: this.inputs,
      ms,
      perSecond: ms > 0 ? (this.inputs * 1000) / ms : 0,
      corpus: this.corpus.length,
      features: this.seen.size,
      findings: this.findings.size,
      slowestMs: this.slowestMs,
      worlds: this.worlds,
    };
  }

  /** The next input: generated, random, or a mutation of a corpus entry. */
  next(): Uint8Array {
    const rng = this.rng;
    const t = this.target;
    const r = rng.below(100);
    if (r < 10 && t.generate) return this.cap(t.generate(rng));
    if (r < 12) return rng.bytes(rng.smallLength(t.maxLength));
    // favour recent additions (fresh coverage) half of the time
    const c = this.corpus;
    const base = rng.chance(0.5) ? c[Math.max(0, c.length - 1 - rng.below(64))]! : rng.pick(c);
    if (t.mutate && rng.chance(0.5)) {
      const m = t.mutate(base, rng, this.ctx);
      if (m) return this.cap(m);
    }
    return mutateBytes(base, rng, this.ctx);
  }

  private cap(b: Uint8Array): Uint8Array {
    return b.length > this.target.maxLength ? b.slice(0, this.target.maxLength) : b;
  }

  /** Runs one input through the target and its oracle, with world bookkeeping. */
  one(input: Uint8Array): void {
    const t = this.target;
    if (t.reset && (this.worldSeed === undefined || this.history.length >= (t.resetEvery ?? 256))) this.newWorld();
    this.opts.inFlight?.(input, this.worldSeed);
    this.inputs++;
    const start = performance.now();
    let features: string | readonly string[] | void;
    try {
      features = t.run(input);
    } catch (e) {
      this.record(e, input);
      // a world in an unknown state after a crash: start over
      if (t.reset) this.worldSeed = undefined;
      return;
    }
    const ms = performance.now() - start;
    if (ms > this.slowestMs) this.slowestMs = ms;
    if (this.opts.budgetMs !== undefined && ms > this.opts.budgetMs) {
      const key = `slow: over ${this.opts.budgetMs} ms`;
      this.addFinding({ target: t.name, key, kind: 'slow', message: `input took ${ms.toFixed(1)} ms (budget ${this.opts.budgetMs} ms)`, stack: '', input: toHex(input), count: 1, ms, ...this.worldContext() });
    }
    if (t.reset) this.history.push(input);
    if (features === undefined) return;
    if (typeof features === 'string') this.feature(features, input);
    else for (const f of features) if (this.feature(f, input)) break;
  }

  private feature(f: string, input: Uint8Array): boolean {
    // a feature is a class, not a value: one that grows with the input is a target's bug, and
    // the coverage set must stay small (MAX_FEATURES of these)
    if (f.length > MAX_FEATURE_CHARS) {
      this.addFinding({ target: this.target.name, key: 'harness: a feature over the length limit', kind: 'crash', message: `a feature of ${f.length} characters (limit ${MAX_FEATURE_CHARS}): ${f.slice(0, 60)}...`, stack: '', input: toHex(input), count: 1, check: true });
      return false;
    }
    if (this.seen.has(f) || this.seen.size >= MAX_FEATURES) return false;
    // error classes ("Name:words") are capped per error name: messages that echo input bytes
    // would otherwise make every rejected input look new
    const colon = f.indexOf(':');
    if (colon > 0 && f.charCodeAt(0) >= 65 && f.charCodeAt(0) <= 90) {
      const name = f.slice(0, colon);
      const n = this.perName.get(name) ?? 0;
      if (n >= MAX_CLASSES_PER_ERROR) return false;
      this.perName.set(name, n + 1);
    }
    this.seen.add(f);
    if (this.corpus.length < MAX_CORPUS) this.corpus.push(input);
    else this.corpus[this.rng.below(this.corpus.length)] = input;
    return true;
  }

  private newWorld(): void {
    this.endWorld();
    this.worldSeed = deriveSeed(this.opts.seed, this.worlds++);
    this.history = [];
    this.target.reset!(this.worldSeed);
  }

  /** The end-of-world oracle, then forget the world. */
  private endWorld(): void {
    const t = this.target;
    if (!t.check || this.worldSeed === undefined) return;
    try {
      t.check();
    } catch (e) {
      const last = this.history.pop() ?? new Uint8Array(0);
      this.record(e, last, 'check');
    }
    this.worldSeed = undefined;
  }

  private worldContext(): { worldSeed?: number; history?: string[] } {
    if (this.worldSeed === undefined) return {};
    return { worldSeed: this.worldSeed, history: this.history.map(toHex) };
  }

  private record(e: unknown, input: Uint8Array, where?: 'check'): void {
    const ctx = this.worldContext();
    let d = describeError(e);
    if (d.kind === 'crash' && !/\n\s+at /.test(d.stack)) {
      // captured without a stack (stackTraceLimit 0): a crash seen before only counts; a new
      // one runs again, with stacks, for its place in the code (its key)
      const quick = this.quickKeys.get(d.key);
      if (quick !== undefined) {
        const f = this.findings.get(quick);
        if (f) f.count++;
        return;
      }
      const again = this.withStacks(() => this.rerun(input, ctx, where !== undefined));
      if (again !== undefined) {
        const full = describeError(again);
        this.quickKeys.set(d.key, where ? `${full.key} (end-of-world check)` : full.key);
        d = full;
      }
    }
    const key = where ? `${d.key} (end-of-world check)` : d.key;
    this.addFinding({ target: this.target.name, key, kind: d.kind, message: d.message, stack: d.stack, input: toHex(input), count: 1, ...ctx, ...(where ? { check: true } : {}) });
  }

  private withStacks<T>(f: () => T): T {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 30;
    try {
      return f();
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  /** Runs an input again (in its replayed world for stateful targets); returns what it threw. */
  private rerun(input: Uint8Array, ctx: { worldSeed?: number; history?: string[] }, check: boolean): unknown {
    const t = this.target;
    try {
      if (t.reset) {
        t.reset(ctx.worldSeed ?? 1);
        for (const h of ctx.history ?? []) t.run(fromHex(h));
        this.worldSeed = undefined; // the world was replaced
      }
      t.run(input);
      if (check) t.check?.();
    } catch (e) {
      return e;
    }
    return undefined;
  }

  private addFinding(f: Finding & { check?: boolean }): void {
    const old = this.findings.get(f.key);
    if (old) {
      old.count++;
      return;
    }
    const { check, ...finding } = f;
    if (this.opts.minimize !== false && f.kind !== 'slow' && !check) {
      const m = this.withStacks(() => minimize(this.target, finding));
      if (m !== undefined && m !== finding.input) finding.minimized = m;
      if (this.target.reset) this.worldSeed = undefined; // minimization replaced the world
    }
    this.findings.set(f.key, finding);
    this.opts.onFinding?.(finding);
  }
}

/** Runs a finding's world and history, then its input; returns the key of what it raised (undefined: nothing). */
export function reproduce(target: FuzzTarget, f: Pick<Finding, 'worldSeed' | 'history'>, input: Uint8Array): string | undefined {
  if (target.reset) {
    target.reset(f.worldSeed ?? 1);
    for (const h of f.history ?? []) {
      try {
        target.run(fromHex(h));
      } catch (e) {
        return `history: ${describeError(e).key}`;
      }
    }
  }
  try {
    target.run(input);
  } catch (e) {
    return describeError(e).key;
  }
  return undefined;
}

/**
 * Shrinks a finding's input while it still raises the same key: without its history when
 * that reproduces alone, then by removing chunks (halves down to single bytes; when a cut
 * alone does not reproduce, the cut with the TLS-style length fields around it shrunk to
 * match) and zeroing bytes, within a fixed number of attempts and time. Returns the smallest input that reproduces (hex),
 * or undefined when the finding does not reproduce from its input.
 */
export function minimize(target: FuzzTarget, f: Finding, maxAttempts = 3000, maxMs = 10_000): string | undefined {
  let ctx: Pick<Finding, 'worldSeed' | 'history'> = f;
  let input = fromHex(f.input);
  let attempts = 0;
  const deadline = performance.now() + maxMs;
  const same = (b: Uint8Array) => {
    attempts++;
    if (performance.now() > deadline) attempts = maxAttempts;
    return reproduce(target, ctx, b) === f.key;
  };
  if (!same(input)) return undefined;
  if (f.history && f.history.length > 0) {
    const alone = { worldSeed: f.worldSeed ?? 1, history: [] };
    if (reproduce(target, alone, input) === f.key) {
      ctx = alone;
      f.history = [];
    }
  }
  for (let chunk = Math.max(1, input.length >> 1); chunk >= 1 && attempts < maxAttempts; chunk >>= 1) {
    for (let at = 0; at < input.length && attempts < maxAttempts; ) {
      const candidate = new Uint8Array(input.length - Math.min(chunk, input.length - at));
      candidate.set(input.subarray(0, at), 0);
      candidate.set(input.subarray(at + chunk), at);
      if (same(candidate)) input = candidate;
      else {
        // the same cut with the length fields around it shrunk to match
        const framed = deleteWithLengths(input, at, chunk);
        if (framed.length < input.length && same(framed)) input = framed;
        else at += chunk;
      }
    }
  }
  for (let i = 0; i < input.length && attempts < maxAttempts; i++) {
    if (input[i] === 0) continue;
    const candidate = input.slice();
    candidate[i] = 0;
    if (same(candidate)) input = candidate;
  }
  return toHex(input);
}

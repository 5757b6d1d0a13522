/**
 * Findings that were fixed, kept as regression inputs: bench/fuzz/regressions/<target>/*.json,
 * each a finding as the fuzzer saved it (input, minimized input, world seed and history for the
 * stateful targets) with a `fixed` line saying what the bug was and where it was fixed. The
 * engine starts each run of a target with them in its corpus, and test/fuzz-regressions.test.ts
 * replays each in its own world: it must run clean. Replay one by hand with
 * `npm run fuzz -- TARGET --replay bench/fuzz/regressions/TARGET/FILE.json`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding } from './engine.js';
import { ROOT } from './fixtures.js';

export const REGRESSIONS_DIR = join(ROOT, 'bench/fuzz/regressions');

export interface Regression extends Pick<Finding, 'target' | 'key' | 'input' | 'minimized' | 'worldSeed' | 'history'> {
  /** The file's name. */
  file: string;
  /** What the bug was and where it was fixed. */
  fixed: string;
}

/** The regression inputs of `target` (none when the directory is not there), sorted by file name. */
export function regressions(target: string): Regression[] {
  const dir = join(REGRESSIONS_DIR, target);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ ...(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Omit<Regression, 'file'>), file }));
}

/** The targets with regression inputs. */
export function regressionTargets(): string[] {
  if (!existsSync(REGRESSIONS_DIR)) return [];
  return readdirSync(REGRESSIONS_DIR).filter((d) => regressions(d).length > 0).sort();
}

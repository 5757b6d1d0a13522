/** How the benchmarks print: number formats, medians, the summary table, and contention notes. */
import { LOAD_CPU, SERVER_CPU } from './servers.js';

export const fmtInt = (x: number): string => Math.round(x).toLocaleString('en-US');
export const fmt2 = (x: number): string => x.toFixed(2);

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The run whose rate is the median (so its CPU figures belong to the same run). */
export function medianRun<T extends { rate: number }>(runs: T[]): T {
  const s = [...runs].sort((a, b) => a.rate - b.rate);
  return s[(s.length - 1) >> 1]!;
}

/** ` [a, b, c]`: every run's figure, after the median; nothing for a single run. */
export function spread(xs: number[], f = fmtInt): string {
  if (xs.length < 2) return '';
  return ` [${xs.map(f).join(', ')}]`;
}

export function log(s = ''): void {
  process.stdout.write(`${s}\n`);
}

/** The summary: a Markdown table of [metric, coaps, reference, ratio] rows under `title`. */
export function logSummaryTable(title: string, rows: string[][]): void {
  const head = ['metric', 'coaps', 'reference', 'ratio'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (c: string[]) => `| ${c.map((x, i) => (i === 3 ? x.padStart(w[i]!) : x.padEnd(w[i]!))).join(' | ')} |`;
  log(`\n${title}`);
  log(line(head));
  log(`|${w.map((n, i) => (i === 3 ? '-'.repeat(n + 1) + ':' : '-'.repeat(n + 2))).join('|')}|`);
  for (const r of rows) log(line(r));
}

/**
 * Other work on the server's or the load's core during a measurement: more than 10% of a core
 * busy beyond what the measured server and client used. Counts the measurements it is asked
 * about and those that had it.
 */
export class Contention {
  measured = 0;
  contended = 0;

  /** `contention: …` for one measurement ('' if none), counted unless `count` is false. */
  note(busyPct: number[], serverCpu: number | null, clientCpu: number, count = true): string {
    const b0 = busyPct[SERVER_CPU];
    const b1 = busyPct[LOAD_CPU];
    const notes: string[] = [];
    if (b0 !== undefined && serverCpu !== null && b0 - serverCpu > 10) notes.push(`cpu${SERVER_CPU} ${Math.round(b0 - serverCpu)}% busy with other work`);
    if (b1 !== undefined && b1 - clientCpu > 10) notes.push(`cpu${LOAD_CPU} ${Math.round(b1 - clientCpu)}% busy with other work`);
    if (count) {
      this.measured++;
      if (notes.length) this.contended++;
    }
    return notes.length ? `contention: ${notes.join(', ')}` : '';
  }

  /** The closing NOTE when any measurement had contention, with what to read instead. */
  logNote(advice: string): void {
    if (this.contended === 0) return;
    log(`NOTE: other processes used cpu${SERVER_CPU}/cpu${LOAD_CPU} (>10% of a core) during ${this.contended} of ${this.measured} measurements: ${advice}`);
  }
}

/** `  (note)`, or nothing. */
export const paren = (note: string): string => (note ? `  (${note})` : '');

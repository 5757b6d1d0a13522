/**
 * Progress of a long report run on stderr (stdout keeps the results): which step, n of m, time
 * so far and an ETA. Every step is planned with an estimate of its seconds; the ETA scales the
 * estimate of what is left by how the finished steps compared with theirs.
 */
import { performance } from 'node:perf_hooks';

export const clock = (s: number): string => {
  const t = Math.max(0, Math.round(s));
  return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`;
};

export class Progress {
  private total = 0;
  private plannedS = 0;
  private n = 0;
  /** planned seconds of the steps finished, and of the one running */
  private doneS = 0;
  private currentS = 0;
  private readonly t0 = performance.now();

  constructor(private readonly write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)) {}

  /** Adds `steps` steps of `seconds` in all to the plan. */
  plan(steps: number, seconds: number): void {
    this.total += steps;
    this.plannedS += seconds;
  }

  get planned(): { steps: number; seconds: number } {
    return { steps: this.total, seconds: this.plannedS };
  }

  elapsedS(): number {
    return (performance.now() - this.t0) / 1000;
  }

  /** The next step begins: `[report 3/27] label · 0:45 · ETA 2:10`. */
  step(label: string, seconds: number): void {
    this.doneS += this.currentS;
    this.currentS = seconds;
    this.n++;
    const elapsed = this.elapsedS();
    const left = Math.max(0, this.plannedS - this.doneS);
    // how the run compares with the plan so far (from the second step on), kept within reason
    const scale = this.doneS > 5 ? Math.min(3, Math.max(0.5, elapsed / this.doneS)) : 1;
    this.write(`[report ${this.n}/${Math.max(this.total, this.n)}] ${label} · ${clock(elapsed)} · ETA ${clock(left * scale)}`);
  }

  /** A line that is not a step (a skip, a finding). */
  note(text: string): void {
    this.write(`[report] ${text}`);
  }
}

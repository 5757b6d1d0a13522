/** What every part of the report run shares: the options, the progress line, dtls-load, the console summary. */
import type { ReportOptions } from './options.js';
import type { Progress } from './progress.js';
import { stop } from '../lib/procs.js';
import type { Contention } from '../lib/report.js';
import type { ServerProcess } from '../lib/servers.js';

export interface Ctx {
  o: ReportOptions;
  progress: Progress;
  /** the built dtls-load, or why there is none */
  dl: { bin: string } | { skip: string };
  /** every server started: stopped at the end whatever happens */
  servers: ServerProcess[];
  /** `timeout` around every server process, s */
  capS: number;
  /** a line of the console summary (stdout) */
  log(line?: string): void;
  /** notes for REPORT.md (contention, oddities) */
  notes: string[];
  /** other work on the server's or the load's core during the dtls-load measurements */
  contention: Contention;
}

/** One planned part: how many progress steps and about how long. */
export interface Plan {
  steps: number;
  seconds: number;
}

/** Stops these servers (they leave ctx.servers). */
export async function stopServers(ctx: Ctx, list: ServerProcess[]): Promise<void> {
  for (const s of list) {
    const i = ctx.servers.indexOf(s);
    if (i >= 0) ctx.servers.splice(i, 1);
    await stop(s.t);
  }
}

/**
 * Child processes of a benchmark run: every process is tracked and killed when the run ends,
 * fails, or is interrupted. Each child is started in its own process group (detached), and
 * signals go to that group, so `timeout ... taskset ... prog` dies whole (coreutils timeout
 * keeps its child in its group). Servers run under `timeout`, so even a SIGKILLed benchmark
 * cannot leave them behind for long.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const children = new Set<ChildProcess>();
let handlersInstalled = false;
let stopping = false;

function alive(c: ChildProcess): boolean {
  return c.exitCode === null && c.signalCode === null && c.pid !== undefined;
}

/** True once the run is being torn down (interrupt or end): callers should stop measuring. */
export function isStopping(): boolean {
  return stopping;
}

/** Signals the child's own process group (it was spawned detached), else the child. */
function signal(c: ChildProcess, sig: NodeJS.Signals): void {
  if (c.pid === undefined) return;
  try {
    process.kill(-c.pid, sig);
  } catch {
    try {
      c.kill(sig);
    } catch {
      /* gone */
    }
  }
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // Last resort: synchronous SIGKILL of whatever is left when the process exits.
  process.on('exit', () => {
    for (const c of children) if (alive(c)) signal(c, 'SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping children\n`);
      stopping = true;
      void killAll().finally(() => process.exit(130));
    });
  }
}

export interface Tracked {
  proc: ChildProcess;
  /** stdout so far */
  out(): string;
  /** stderr so far */
  err(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnTracked(cmd: string, args: readonly string[], opts: SpawnOptions = {}): Tracked {
  installHandlers();
  if (stopping) throw new Error('bench is stopping: no new processes');
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, ...opts });
  children.add(proc);
  let out = '';
  let err = '';
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  proc.stdin?.on('error', () => {});
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('error', (e) => {
      err += `spawn error: ${e.message}\n`;
      children.delete(proc);
      resolve({ code: -1, signal: null });
    });
    proc.on('exit', (code, signal) => {
      children.delete(proc);
      resolve({ code, signal });
    });
  });
  return { proc, out: () => out, err: () => err, exited };
}

/** Runs a command to completion (with a hard time limit) and returns its output. */
export async function runToEnd(cmd: string, args: readonly string[], limitMs: number, opts: SpawnOptions = {}): Promise<{ code: number | null; out: string; err: string }> {
  const t = spawnTracked(cmd, args, opts);
  t.proc.stdin?.end();
  const timer = setTimeout(() => stop(t), limitMs);
  const r = await t.exited;
  clearTimeout(timer);
  return { code: r.code, out: t.out(), err: t.err() };
}

/** Waits until `pattern` appears on the child's stdout. */
export async function waitForOutput(t: Tracked, pattern: RegExp, limitMs: number): Promise<RegExpMatchArray> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const m = t.out().match(pattern);
    if (m) return m;
    if (!alive(t.proc)) throw new Error(`process exited before printing ${pattern}: ${t.err().trim().slice(-500)}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; stderr: ${t.err().trim().slice(-500)}`);
    await sleep(20);
  }
}

/** Stops one child: SIGTERM, then SIGKILL after `graceMs`. */
export async function stop(t: Tracked, graceMs = 1500): Promise<void> {
  const p = t.proc;
  if (!alive(p)) return;
  signal(p, 'SIGTERM');
  const timer = setTimeout(() => {
    if (alive(p)) signal(p, 'SIGKILL');
  }, graceMs);
  await t.exited;
  clearTimeout(timer);
}

/** Stops every child still running. */
export async function killAll(): Promise<void> {
  stopping = true;
  const waits: Array<Promise<unknown>> = [];
  for (const c of [...children]) {
    if (!alive(c)) continue;
    signal(c, 'SIGTERM');
    waits.push(
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          if (alive(c)) signal(c, 'SIGKILL');
          resolve();
        }, 1500);
        c.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      }),
    );
  }
  await Promise.all(waits);
}

/**
 * The pid of the program that `timeout ... taskset -c N prog` ends up running: timeout's
 * only child (taskset execs the program, keeping its pid).
 */
export async function grandchildPid(pid: number, limitMs = 3000): Promise<number> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    try {
      const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
      const first = kids.split(/\s+/)[0];
      if (first) return Number(first);
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`no child process under pid ${pid}`);
    await sleep(10);
  }
}

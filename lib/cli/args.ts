import { fromHex } from '../bytes/util.js';

/** A mistake on the command line: exit code 2, with a hint to run the command's `--help`. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** `coaps dtls server`: the command whose help the hint names (the dispatcher fills it in). */
  command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
  get hint(): string {
    return `run '${this.command ?? 'coaps'} --help' for usage`;
  }
}

/** `IDENTITY:HEXKEY`; the key is the part after the last colon. */
export function parsePskArg(s: string): { identity: Uint8Array; key: Uint8Array } {
  const i = s.lastIndexOf(':');
  if (i <= 0) throw new UsageError(`--psk wants IDENTITY:HEXKEY, got "${s}"`);
  let key: Uint8Array;
  try {
    key = fromHex(s.slice(i + 1));
  } catch {
    throw new UsageError(`--psk key must be hex (e.g. 73656372657450534b)`);
  }
  if (key.length === 0 || key.length > 64) throw new UsageError('--psk key must be 1..64 bytes');
  const identity = new TextEncoder().encode(s.slice(0, i));
  if (identity.length > 128) throw new UsageError('--psk identity must be at most 128 bytes');
  return { identity, key };
}

/** `HOST:PORT` or `[V6]:PORT`. */
export function parseHostPort(s: string, what: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!m) throw new UsageError(`${what} wants HOST:PORT, got "${s}"`);
  const port = Number(m[2]);
  if (!(port > 0 && port < 65536)) throw new UsageError(`${what}: bad port ${m[2]}`);
  return { host: m[1]!, port };
}

export function parseIntArg(s: string, what: string, min: number, max: number): number;
export function parseIntArg(s: string | undefined, what: string, min: number, max: number): number | undefined;
export function parseIntArg(s: string | undefined, what: string, min: number, max: number): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${what} must be an integer in ${min}..${max}`);
  return n;
}

/**
 * Resolves on the first SIGINT or SIGTERM. Later ones are absorbed while the command shuts
 * down: `timeout` and process supervisors often signal the process and then its whole group,
 * and with a one-shot handler that second signal would kill the process mid-shutdown.
 */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    let seen = false;
    const on = () => {
      if (!seen) resolve();
      seen = true;
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

import { memorySessionStore } from '../dtls/memory-session-store.js';
import type { SessionStore } from '../dtls/session-store.js';
import { UsageError } from './args.js';
import type { Flag } from './flags.js';

/** `--session-store URL` (`coaps dtls server`, `coaps serve`, `coaps lwm2m server`). */
export const SESSION_STORE_FLAG = {
  name: 'session-store',
  kind: 'string',
  arg: 'URL',
  description:
    'keep established sessions in a store: redis://HOST:PORT[/DB] (shared by processes: a restarted server or another one on the same store continues them without a handshake; keep it private, it holds session keys) or memory',
} as const satisfies Flag;

/** What `--session-store` names: checked before anything is opened. */
export type SessionStoreArg = { kind: 'memory' } | { kind: 'redis'; url: string; /** The URL without its password, for logs and errors. */ shown: string };

/** Parses `--session-store`; UsageError for anything but `memory` or a redis:// / rediss:// URL with a host. */
export function parseSessionStoreArg(v: string | undefined): SessionStoreArg | undefined {
  if (v === undefined) return undefined;
  if (v === 'memory') return { kind: 'memory' };
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new UsageError(`--session-store wants redis://HOST:PORT or memory, got "${redact(v)}"`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new UsageError(`--session-store wants redis://HOST:PORT or memory, got a ${u.protocol}// URL`);
  if (!u.hostname) throw new UsageError('--session-store: the redis:// URL names no host');
  if (u.search || u.hash) throw new UsageError('--session-store: the redis:// URL takes no query or fragment');
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,5}$/.test(db)) throw new UsageError(`--session-store: the database in the redis:// URL must be a number, got "${db}"`);
  return { kind: 'redis', url: v, shown: showUrl(u) };
}

/** The URL with its password (if any) replaced by `***`. */
function showUrl(u: URL): string {
  if (!u.password) return u.href;
  const c = new URL(u.href);
  c.password = '***';
  return c.href;
}

/** A string that may be a URL with a password, without it (for a usage error). */
function redact(v: string): string {
  return v.replace(/(\/\/[^/@:]*:)[^/@]*@/, '$1***@');
}

/** An open session store and how to let it go. */
export interface OpenSessionStore {
  store: SessionStore;
  /** Shared with other processes: a server stopping leaves its sessions there for the next one. */
  shared: boolean;
  /** What the log calls it (no password). */
  name: string;
  close(): Promise<void>;
}

/** A store that could not be opened (Redis down, refused, wrong password): one line, no secret. */
export class SessionStoreUnavailable extends Error {
  override readonly name = 'SessionStoreUnavailable';
}

/**
 * Opens the store `--session-store` named. Redis: connects first (the store module loads only
 * then), and a Redis that cannot be reached rejects with {@link SessionStoreUnavailable}, so
 * the server fails at start rather than run with every session lost on restart. Redis errors
 * once running (it went away: the client reconnects) go to `log`, one line each while it is down.
 */
export async function openSessionStore(arg: SessionStoreArg, log: (line: string) => void): Promise<OpenSessionStore> {
  if (arg.kind === 'memory') {
    const t0 = Date.now();
    return { store: memorySessionStore({ clock: () => Date.now() - t0 }), shared: false, name: 'memory', close: async () => undefined };
  }
  const { connectRedisSessionStore } = await import('../entry/redis.js');
  let opened: { readonly ready: boolean } | undefined;
  let down = false;
  const onError = (e: Error) => {
    // before the first connection the failure is connect's to report
    if (!opened || down) return;
    down = true;
    log(`session store ${arg.shown}: ${errorLine(e)} (reconnecting; sessions are neither saved nor found meanwhile)`);
    const back = setInterval(() => {
      if (!opened?.ready) return;
      clearInterval(back);
      down = false;
      log(`session store ${arg.shown}: connected again`);
    }, 250);
    back.unref();
  };
  try {
    const store = await connectRedisSessionStore({ url: arg.url, onError });
    opened = store;
    return { store, shared: true, name: arg.shown, close: () => store.close() };
  } catch (e) {
    throw new SessionStoreUnavailable(`session store ${arg.shown}: cannot connect: ${errorLine(e)}`);
  }
}

/** An error as one line: its message (the redis client's carry no credentials), never a stack. */
function errorLine(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length) return errorLine(e.errors[0]);
  const code = (e as { code?: unknown } | undefined)?.code;
  const m = e instanceof Error ? e.message || (typeof code === 'string' ? code : e.name) : String(e);
  return m.split('\n')[0]!.slice(0, 200);
}

/**
 * Stops a server running on `store` (SIGINT, SIGTERM): with a shared store (Redis) its sessions
 * are not ended but left there, so that the next process continues them without a handshake
 * (a restart or a deploy costs the clients nothing); then the store's connection closes, after
 * the saves in flight are answered.
 */
export async function stopServer(server: { close(o?: { keepSessions?: boolean }): Promise<void> }, store: OpenSessionStore | undefined, log: (line: string) => void): Promise<void> {
  const keep = store?.shared ?? false;
  try {
    await server.close({ keepSessions: keep });
  } finally {
    await store?.close();
  }
  if (keep) log(`stopped; the sessions stay in ${store!.name} for the next server`);
}

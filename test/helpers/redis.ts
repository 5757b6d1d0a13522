/**
 * A real redis-server for tests (Debian's package, installed by interop/install-peers.sh):
 * started on a free loopback port with no persistence (`--save '' --appendonly no`), in its
 * own temporary directory, under coreutils `timeout` (so it dies even if the test runner is
 * killed), ready once it answers PING. `restart()` stops it and starts a new one on the same
 * port (an empty one: nothing is persisted), for reconnect tests.
 *
 * Without redis-server the helper throws, telling how to install it: the Redis tests fail,
 * they are never skipped.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_MISSING =
  'redis-server is not installed: run `bash interop/install-peers.sh` as root (it installs Debian\'s redis-server with the other test peers), then run the tests again';

/** The longest a test's redis-server may live (seconds), whatever happens to the test runner. */
const LIFETIME_S = 600;

export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /** Stops it (SIGTERM, then SIGKILL) and starts a new, empty one on the same port. */
  restart(): Promise<void>;
  /** Stops it without starting another (until `restart`). */
  stop(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

/** The redis-server binary's version line, or throws {@link REDIS_MISSING}. */
export function redisServerVersion(): string {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(REDIS_MISSING);
  return r.stdout.trim();
}

/** Starts a redis-server on a free loopback port; resolves when it answers PING. */
export async function startRedis(): Promise<RedisServer> {
  redisServerVersion();
  const dir = mkdtempSync(join(tmpdir(), 'coaps-redis-'));
  let port = 0;
  let child: ChildProcess | undefined;
  let lastError: unknown;
  // A free port can be taken between our probe and redis's bind: try a few.
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freeTcpPort();
    try {
      child = await launch(port, dir);
    } catch (e) {
      lastError = e;
    }
  }
  if (!child) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not start redis-server: ${String(lastError)}`);
  }
  const stop = async () => {
    if (child) await kill(child);
    child = undefined;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async restart() {
      await stop();
      child = await launch(port, dir);
    },
    stop,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function launch(port: number, dir: string): Promise<ChildProcess> {
  const args = ['-s', 'KILL', String(LIFETIME_S), 'redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'];
  const child = spawn('timeout', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-2000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (exited) throw new Error(`redis-server on port ${port} exited: ${output.trim()}`);
    if (Date.now() > deadline) {
      await kill(child);
      throw new Error(`redis-server on port ${port} did not answer PING within 10 s: ${output.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return child;
}

/** True if something on 127.0.0.1:port answers `PING` with `+PONG`. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    let got = '';
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes('\r\n')) done(got.startsWith('+PONG'));
    });
  });
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const hard = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(hard);
      resolve();
    });
    child.kill('SIGTERM'); // timeout(1) passes it on to redis-server
  });
}

/** A TCP port the kernel says is free on 127.0.0.1 now. */
function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

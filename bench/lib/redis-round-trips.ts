/**
 * Redis round trips of the session store, on a real redis-server (Debian's package, as in the
 * tests). Counted at the store's interface: every call is one command and one round trip (get:
 * GET, put: SET PX, delete: DEL, swap: EVALSHA of the compare-and-set script, loaded when the
 * store connects), and the store never pipelines. `INFO commandstats` on the server cannot
 * count them: it also counts the GET and SET a script runs inside its one round trip. It still
 * checks the count: the server's top-level commands (EVAL/EVALSHA, and GET, SET, DEL less those
 * the scripts ran) must equal the calls.
 *
 * The DTLS server and its clients are the sans-IO engines on the simulated network
 * (transports/sim.ts), so nothing but the store talks to the network and the counts are exact:
 *  - full: N PSK clients (with RFC 9146 CIDs) handshake and send one record each;
 *  - traffic: each established client sends 100 more records (the sequence-number lease is
 *    renewed every `sessionLeaseStep` records, 1024 by default, so 100 records need none);
 *  - restored: the server is replaced by a new one on the same store (a restart) and each client
 *    sends one record: the new server looks its session up by CID and continues it;
 *  - closed: each client sends close_notify; the server deletes its record.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@redis/client';
import { nodeCrypto } from '../../lib/crypto/node.js';
import { resolveConfig } from '../../lib/dtls/config.js';
import { DtlsEndpoint } from '../../lib/dtls/endpoint.js';
import { ClientConnection } from '../../lib/dtls/handshake/client.js';
import { pskMap } from '../../lib/dtls/keystore.js';
import type { SessionStore } from '../../lib/dtls/session-store.js';
import { connectRedisSessionStore } from '../../transports/redis-session-store.js';
import { SimNetwork } from '../../transports/sim.js';
import { SimClient, SimServer } from '../../transports/sim-nodes.js';
import { freePorts, which } from './sys.js';

const enc = (s: string) => new TextEncoder().encode(s);
const IDENTITY = enc('Client_identity');
const KEY = enc('secretPSK');
const SERVER = { address: '10.0.0.1', port: 5684 };

export interface RoundTrips {
  phase: string;
  /** Operations in the phase (handshakes, records, sessions). */
  ops: number;
  /** Round trips (store calls) per operation; byCommand: by call (get, put, swap, delete). */
  perOp: number;
  byCommand: Record<string, number>;
}

/** Counts Redis commands per handshake, per record, per restored and per closed session. */
export async function measureRedisRoundTrips(n = 50): Promise<RoundTrips[] | { skip: string }> {
  if (!which('redis-server')) return { skip: 'redis-server not installed (bash interop/install-peers.sh installs it)' };
  const redis = await startRedisServer();
  const admin = createClient({ url: redis.url });
  const redisStore = await connectRedisSessionStore({ url: redis.url });
  const calls = { get: 0, put: 0, swap: 0, delete: 0, swapped: 0 };
  const store: SessionStore = {
    get: (k) => (calls.get++, redisStore.get(k)),
    put: (k, v, t) => (calls.put++, redisStore.put(k, v, t)),
    delete: (k) => (calls.delete++, redisStore.delete(k)),
    swap: async (k, e, v, t) => {
      calls.swap++;
      const ok = await redisStore.swap(k, e, v, t);
      if (ok) calls.swapped++;
      return ok;
    },
  };
  try {
    await admin.connect();
    const counts = async (): Promise<Record<string, number>> => {
      const info = await admin.info('commandstats');
      const out: Record<string, number> = {};
      for (const m of info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) out[m[1]!] = Number(m[2]);
      return out;
    };
    const world = new World(store);
    const rows: RoundTrips[] = [];
    const phase = async (name: string, ops: number, run: () => Promise<void>) => {
      const before = await counts();
      const was = { ...calls };
      await run();
      const after = await counts();
      // the server's view: commands in the phase, less the INFO before this phase's `after`, and the one that produced `after`
      const d = (cmd: string) => (after[cmd] ?? 0) - (before[cmd] ?? 0) - (cmd === 'info' ? 1 : 0);
      const c = Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, v - was[k as keyof typeof calls]])) as typeof calls;
      // each script runs one GET, and a SET or DEL when it swapped; a NOSCRIPT EVALSHA is followed by an EVAL
      const scripts = d('evalsha') + d('eval');
      const check = { scripts: scripts - d('eval') === c.swap, gets: d('get') - c.swap === c.get, writes: d('set') + d('del') === c.put + c.delete + c.swapped };
      if (!check.scripts || !check.gets || !check.writes) throw new Error(`redis round trips: ${name}: the server counted other commands than the store sent (${JSON.stringify({ server: after, calls: c })})`);
      const byCommand: Record<string, number> = {};
      let total = d('eval');
      for (const k of ['get', 'put', 'swap', 'delete'] as const) {
        if (c[k] > 0) byCommand[k] = c[k];
        total += c[k];
      }
      if (d('eval') > 0) byCommand['eval (NOSCRIPT)'] = d('eval');
      rows.push({ phase: name, ops, perOp: total / ops, byCommand });
    };
    await phase('full handshake (CID, one record)', n, () => world.handshakes(n));
    await phase('record on an established session', n * 100, () => world.records(100));
    await phase('restored session (new server, same store; first record)', n, () => world.restart());
    await phase('closed session (close_notify)', n, () => world.closeAll());
    return rows;
  } finally {
    await redisStore.close();
    if (admin.isOpen) await admin.close();
    await redis.stop();
  }
}

/** One server endpoint on a store and its clients on the simulated network. */
class World {
  private readonly net = new SimNetwork(undefined, 1);
  private server: SimServer;
  private endpoint: DtlsEndpoint;
  private readonly clients: ClientConnection[] = [];
  private received = 0;

  constructor(private readonly store: SessionStore) {
    [this.endpoint, this.server] = this.newServer();
  }

  private newServer(): [DtlsEndpoint, SimServer] {
    let node: SimServer | undefined;
    const endpoint = new DtlsEndpoint({ crypto: nodeCrypto, psk: pskMap([[IDENTITY, KEY]]), connectionId: 4, sessionStore: this.store, wake: () => node?.wake() });
    node = this.net.add(new SimServer(SERVER, endpoint));
    return [endpoint, node];
  }

  async handshakes(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const conn = new ClientConnection(resolveConfig({ crypto: nodeCrypto, psk: { identity: IDENTITY, key: KEY }, connectionId: true }));
      this.net.add(new SimClient({ address: '10.0.0.2', port: 40000 + i }, SERVER, conn));
      conn.start(this.net.now);
      this.clients.push(conn);
    }
    await this.until(() => this.clients.every((c) => c.state === 'connected'), 'handshakes');
    await this.sendEach(1);
  }

  records(k: number): Promise<void> {
    return this.sendEach(k);
  }

  async restart(): Promise<void> {
    this.net.remove(this.server);
    [this.endpoint, this.server] = this.newServer();
    await this.sendEach(1);
    if (this.endpoint.stats.handshakesStarted !== 0) throw new Error('the restarted server ran a handshake: not restored');
  }

  async closeAll(): Promise<void> {
    for (const c of this.clients) c.close(this.net.now);
    await this.until(() => this.endpoint.sessionCount === 0, 'close_notify');
  }

  private async sendEach(k: number): Promise<void> {
    const want = this.received + k * this.clients.length;
    for (let j = 0; j < k; j++) for (const c of this.clients) c.send(this.net.now, enc(`record ${j}`));
    await this.until(() => this.received >= want, 'records');
  }

  /** Runs the network, letting the store's promises settle, until `done` (or 60 s of virtual time). */
  private async until(done: () => boolean, what: string): Promise<void> {
    const end = this.net.now + 60_000;
    const check = () => {
      for (let e = this.endpoint.pollEvent(); e; e = this.endpoint.pollEvent()) if (e.type === 'data') this.received++;
      for (const c of this.clients) while (c.pollEvent());
      return done();
    };
    while (!check()) {
      if (this.net.now >= end) throw new Error(`redis round trips: ${what} did not finish`);
      this.net.run(this.net.now + 10, check);
      await new Promise((r) => setImmediate(r));
    }
  }
}

interface RedisProcess {
  url: string;
  stop(): Promise<void>;
}

/** redis-server on a free loopback port, no persistence, in a temporary directory. */
async function startRedisServer(): Promise<RedisProcess> {
  const port = await freePorts(1);
  const dir = mkdtempSync(join(tmpdir(), 'coaps-bench-redis-'));
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    const probe = createClient({ url, socket: { reconnectStrategy: false } });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.close();
      return { url, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await stop();
  throw new Error('redis-server did not answer within 5 s');
}

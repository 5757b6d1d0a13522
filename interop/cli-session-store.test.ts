/**
 * The built CLI (dist/lib/cli/main.js) with `--session-store redis://...` on a real
 * redis-server (Debian's, started on a private port by test/helpers/redis.ts): a server
 * process killed with SIGKILL and started again on the same port and store, and a second
 * process on the same store, continue a client's session without a handshake (issue 11:
 * "Restart").
 *
 * Our Node client (lib/entry: `connect`, `CoapClient`, each with `connectionId: true`) talks
 * through a relay (helpers.ts `UdpTap`) that records every datagram, so the tests assert on the
 * wire that nothing after the restart is a handshake record (no ClientHello, no
 * HelloVerifyRequest, no flight of the server): only the client's tls12_cid records and the
 * server's application data, the server's sequence numbers past every one it sent before the
 * kill (the nonce lease: a restored session skips the range its snapshot reserved). The new
 * server logs the session it restored, and the echo (or the CoAP answer) arrives.
 *
 * Also: a Redis that is down at start fails the server with one line and exit 1, an invalid
 * URL is a usage error (exit 2), SIGTERM leaves the sessions in the store and closes the Redis
 * connection (the process exits 0).
 */
import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CoapClient } from '../lib/entry/coap.js';
import { connectRedisSessionStore, type RedisSessionStore } from '../lib/entry/redis.js';
import { startRedis, type RedisServer } from '../test/helpers/redis.js';
import { CLI, CONTENT_TYPE, LOOPBACK, PSK_HEX, PSK_IDENTITY, killAllPeers, parseRecords, portAllocator, runCleanups, runPeer, sleep, UdpTap, waitFor, type Peer } from './helpers.js';
import { ourClient, type OurClient } from './our-dtls.js';

const nextPort = portAllocator('interop/cli-session-store.test.ts');

const PSK_ARG = `${PSK_IDENTITY}:${PSK_HEX}`;
const PSK = { identity: new TextEncoder().encode(PSK_IDENTITY), key: Buffer.from(PSK_HEX, 'hex') };
const CID_LENGTH = 4;
const built = existsSync(CLI) || !!process.env.CI; // `npm ci` builds dist/ (prepare)

let redis: RedisServer;
let store: RedisSessionStore;

beforeAll(async () => {
  redis = await startRedis();
  store = await connectRedisSessionStore({ url: redis.url });
});
afterAll(async () => {
  await store?.close();
  await redis?.close();
});
afterEach(async () => {
  await killAllPeers();
  await runCleanups();
});

/** `coaps dtls server --cid 4 --session-store redis://... --echo` on `port`, listening. */
async function dtlsServer(port: number): Promise<Peer> {
  const p = runPeer(process.execPath, [CLI, 'dtls', 'server', '--listen', `${LOOPBACK}:${port}`, '--psk', PSK_ARG, '--cid', String(CID_LENGTH), '--session-store', redis.url, '--echo'], { timeoutMs: 60_000 });
  await p.waitFor(new RegExp(`^listening on 127\\.0\\.0\\.1:${port} \\(sessions kept in redis://127\\.0\\.0\\.1:${redis.port}\\)$`, 'm'), 10_000);
  return p;
}

/** `coaps serve --cid 4 --session-store redis://...` on `port`, serving. */
async function coapServer(port: number): Promise<Peer> {
  const p = runPeer(process.execPath, [CLI, 'serve', '--listen', `${LOOPBACK}:${port}`, '--psk', PSK_ARG, '--cid', String(CID_LENGTH), '--session-store', redis.url], { timeoutMs: 60_000 });
  await p.waitFor(/^serving coaps:\/\/.*\(sessions kept in redis:/m, 10_000);
  return p;
}

/** SIGKILL (the process and its `timeout` wrapper): nothing is closed, nothing said to anyone. */
async function crash(p: Peer): Promise<void> {
  p.kill();
  const exit = await p.waitExit(5000);
  expect(exit.signal ?? exit.code).not.toBe(0);
}

/** Waits until the store holds the session of the client's CID (the server saves it once established). */
async function storedSession(cid: Uint8Array): Promise<Uint8Array> {
  const key = `cid:${Buffer.from(cid).toString('hex')}`;
  const deadline = Date.now() + 5000;
  for (;;) {
    const v = await store.get(key);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`no session under ${key} in the store`);
    await sleep(20);
  }
}

async function roundTrip(c: OurClient, line: string): Promise<void> {
  c.session.send(`${line}\n`);
  await waitFor(() => c.received().includes(`${line}\n`), 5000, `the echo of ${line}`);
}

const parseAll = (b: Buffer) => parseRecords(b, CID_LENGTH);

/** What went over the relay since datagram `mark`: no handshake, only the session's records. */
function expectNoHandshakeSince(tap: UdpTap, mark: number, serverCid: Buffer): void {
  const after = tap.datagrams.slice(mark).flatMap((d) => parseAll(d.data).map((r) => ({ ...r, dir: d.dir })));
  expect(after.length).toBeGreaterThan(0);
  expect(after.filter((r) => r.type === CONTENT_TYPE.handshake || r.type === CONTENT_TYPE.change_cipher_spec)).toEqual([]);
  expect(after.every((r) => r.epoch === 1)).toBe(true);
  const c2s = after.filter((r) => r.dir === 'c2s');
  expect(c2s.length).toBeGreaterThan(0);
  expect(c2s.every((r) => r.type === CONTENT_TYPE.tls12_cid && r.cid!.equals(serverCid))).toBe(true);
  expect(after.filter((r) => r.dir === 's2c').every((r) => r.type === CONTENT_TYPE.application_data)).toBe(true);
}

/** The server's record sequence numbers (epoch 1) in datagrams [from, to). */
const serverSequences = (tap: UdpTap, from: number, to = tap.datagrams.length) =>
  tap.datagrams
    .slice(from, to)
    .filter((d) => d.dir === 's2c')
    .flatMap((d) => parseAll(d.data))
    .filter((r) => r.epoch === 1)
    .map((r) => r.sequence);

describe.skipIf(!built)('coaps dtls server --session-store redis://', () => {
  it('SIGKILL, a new process on the same port and store: the client\'s next record continues the session, no handshake', async () => {
    const sPort = await nextPort();
    let server = await dtlsServer(sPort);
    const tap = await UdpTap.start(await nextPort(), sPort);
    const c = await ourClient(tap.port, { psk: PSK, connectionId: true });
    const serverCid = Buffer.from(c.session.info.connectionId!.write);
    expect(serverCid.length).toBe(CID_LENGTH);
    await roundTrip(c, 'before the crash');
    await server.waitFor(new RegExp(`^session 127\\.0\\.0\\.1:\\d+ psk identity=Client_identity suite=0xc0a8 cid=${serverCid.toString('hex')}/-$`, 'm'), 3000);
    await storedSession(serverCid);

    await crash(server);
    const beforeCrash = tap.datagrams.length;
    server = await dtlsServer(sPort);
    const mark = tap.datagrams.length;
    for (let i = 1; i <= 3; i++) await roundTrip(c, `after the restart ${i}`);

    expectNoHandshakeSince(tap, mark, serverCid);
    // the new process restored the session (it logs it as a session) and printed what came
    await server.waitFor(new RegExp(`^session 127\\.0\\.0\\.1:\\d+ psk identity=Client_identity suite=0xc0a8 cid=${serverCid.toString('hex')}/-$`, 'm'), 3000);
    expect(server.stdout).toBe('after the restart 1\nafter the restart 2\nafter the restart 3\n');
    expect(server.stderr).not.toMatch(/handshake failed/);
    // no nonce twice: every record of the new process is numbered past the old one's
    const old = serverSequences(tap, 0, beforeCrash);
    const now = serverSequences(tap, mark);
    expect(Math.min(...now)).toBeGreaterThan(Math.max(...old));
    expect(c.closeEvents).toEqual([]);

    // SIGTERM: the sessions stay in the store, the Redis connection closes, exit 0
    server.signal('SIGTERM');
    expect((await server.waitExit(5000)).code, server.describe()).toBe(0);
    expect(server.stderr).toMatch(new RegExp(`^stopped; the sessions stay in redis://127\\.0\\.0\\.1:${redis.port} for the next server$`, 'm'));
    await storedSession(serverCid);
    // ...and the next process continues the session still
    server = await dtlsServer(sPort);
    const mark2 = tap.datagrams.length;
    await roundTrip(c, 'after a graceful restart');
    expectNoHandshakeSince(tap, mark2, serverCid);
  });

  it('a second process on the same store answers the client moved to it (a load balancer), no handshake', async () => {
    const portA = await nextPort();
    const portB = await nextPort();
    const a = await dtlsServer(portA);
    const b = await dtlsServer(portB);
    const tap = await UdpTap.start(await nextPort(), portA);
    const c = await ourClient(tap.port, { psk: PSK, connectionId: true });
    const serverCid = Buffer.from(c.session.info.connectionId!.write);
    await roundTrip(c, 'to A');
    await storedSession(serverCid);
    expect(a.stdout).toBe('to A\n');

    tap.retarget(portB);
    const mark = tap.datagrams.length;
    await roundTrip(c, 'to B');
    await roundTrip(c, 'to B again');
    expectNoHandshakeSince(tap, mark, serverCid);
    expect(b.stdout).toBe('to B\nto B again\n');
    expect(a.stdout).toBe('to A\n');
    await b.waitFor(new RegExp(`^session 127\\.0\\.0\\.1:\\d+ psk identity=Client_identity suite=0xc0a8 cid=${serverCid.toString('hex')}/-$`, 'm'), 3000);
    expect(b.stderr).not.toMatch(/handshake failed/);
  });

  it('a Redis that is down at start: one line naming the store (no password, no stack), exit 1; a bad URL: exit 2', async () => {
    const down = `redis://user:s3cret@127.0.0.1:${await nextPort()}`;
    const p = runPeer(process.execPath, [CLI, 'dtls', 'server', '--listen', `${LOOPBACK}:${await nextPort()}`, '--psk', PSK_ARG, '--session-store', down], { timeoutMs: 20_000 });
    expect((await p.waitExit(15_000)).code, p.describe()).toBe(1);
    expect(p.stdout).toBe('');
    expect(p.stderr).toMatch(/^coaps: session store redis:\/\/user:\*\*\*@127\.0\.0\.1:\d+: cannot connect: connect ECONNREFUSED 127\.0\.0\.1:\d+\n$/);
    expect(p.stderr).not.toContain('s3cret');

    for (const cmd of [['dtls', 'server', '--psk', PSK_ARG], ['serve', '--psk', PSK_ARG]]) {
      const bad = runPeer(process.execPath, [CLI, ...cmd, '--listen', `${LOOPBACK}:${await nextPort()}`, '--session-store', 'http://127.0.0.1:6379'], { timeoutMs: 10_000 });
      expect((await bad.waitExit(8000)).code, bad.describe()).toBe(2);
      expect(bad.stderr).toMatch(/--session-store wants redis:\/\/HOST:PORT or memory/);
    }
  });
});

describe.skipIf(!built)('coaps serve --session-store redis://', () => {
  it('SIGKILL, a new process on the same port and store: the next GET goes over the same session, no handshake', async () => {
    const sPort = await nextPort();
    let server = await coapServer(sPort);
    const tap = await UdpTap.start(await nextPort(), sPort);
    const client = new CoapClient({ dtls: { psk: PSK, connectionId: true, timeoutMs: 5000 } });
    const base = `coaps://${LOOPBACK}:${tap.port}`;
    try {
      expect((await client.request(`${base}/hello`, { timeoutMs: 5000 })).text()).toBe('Hello, coaps!');
      const session = client.session(base)!;
      const serverCid = Buffer.from(session.info.connectionId!.write);
      expect(serverCid.length).toBe(CID_LENGTH);
      await storedSession(serverCid);

      await crash(server);
      server = await coapServer(sPort);
      const mark = tap.datagrams.length;
      const r = await client.request(`${base}/hello`, { timeoutMs: 5000 });
      expect(r.codeText).toBe('2.05');
      expect(r.text()).toBe('Hello, coaps!');
      // block-wise over the restored session too
      expect((await client.request(`${base}/large`, { timeoutMs: 5000 })).payload.length).toBe(4096);
      expect(client.session(base)).toBe(session);
      expect(session.closed).toBe(false);
      expectNoHandshakeSince(tap, mark, serverCid);
      expect(server.stderr).not.toMatch(/handshake failed/);
    } finally {
      await client.close();
    }
  });
});

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createSocket, type Socket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeCrypto } from '../lib/crypto/node.js';
import { pskMap } from '../lib/dtls/keystore.js';
import { fromHex } from '../lib/bytes/util.js';
import type { ServerAccount } from '../lib/lwm2m/bootstrap-server-core.js';
import type { SecurityConfig } from '../lib/lwm2m/security.js';
import { BootstrapServer, deviceStore, FileStorage, Lwm2mClient, Lwm2mServer, MemoryStorage, type Lwm2mClientOptions, type Storage } from '../transports/lwm2m-node.js';
import { seededRandom } from '../transports/sim.js';

const enc = (s: string) => new TextEncoder().encode(s);
const FAST = { dtls: { retransmission: { initialMs: 150, maxMs: 1200, maxRetransmits: 12 } }, transmission: { ackTimeoutMs: 200, maxRetransmit: 8, emptyAckDelayMs: 100 } };

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A UDP relay on 127.0.0.1 dropping a seeded fraction of datagrams both ways. */
async function lossyRelay(target: number, loss: number, seed: number): Promise<number> {
  const rand = seededRandom(seed);
  const front: Socket = createSocket('udp4');
  const backs = new Map<string, Socket>();
  front.on('message', (msg, rinfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    let back = backs.get(key);
    if (!back) {
      back = createSocket('udp4');
      back.on('message', (m) => rand() >= loss && front.send(m, rinfo.port, rinfo.address));
      back.bind(0, '127.0.0.1');
      backs.set(key, back);
    }
    if (rand() >= loss) back.send(msg, target, '127.0.0.1');
  });
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', () => r()));
  closers.push(() => {
    front.close();
    for (const b of backs.values()) b.close();
  });
  return front.address().port;
}

interface Setup {
  client: Lwm2mClient;
  server: Lwm2mServer;
  bs: BootstrapServer;
  endpoint: string;
}

const clientKey = nodeCrypto.p256.privateKeyFromScalar(fromHex('41c1cb6b51247a144321435b7a80e714896a33bbad7294ca401455a194a949fa'));
const bsKey = nodeCrypto.p256.privateKeyFromScalar(fromHex('d9e2707a72da6a0504995c86eddbe3efc7f1cd74838f7570c8072d0a76261bd4'));
const serverKey = nodeCrypto.p256.privateKeyFromScalar(nodeCrypto.random(32));
const clientScalar = fromHex('41c1cb6b51247a144321435b7a80e714896a33bbad7294ca401455a194a949fa');

async function setup(o: { mode: 'psk' | 'rpk'; loss?: number; storage?: Storage; endpoint?: string; client?: Partial<Lwm2mClientOptions> }): Promise<Setup> {
  const endpoint = o.endpoint ?? `urn:test:${o.mode}-${Math.random().toString(16).slice(2, 8)}`;
  const bsPsk = { identity: enc(`${endpoint}-bs`), key: enc('bootstrap-secret') };
  const dmPsk = { identity: enc(endpoint), key: enc('dm-secret-123') };
  const server = new Lwm2mServer({
    dtls:
      o.mode === 'psk'
        ? { psk: pskMap([[dmPsk.identity, dmPsk.key]]), ...FAST.dtls }
        : { ecdhe: { key: serverKey, rawPublicKey: true }, keyStore: { rawPublicKeys: [[clientKey.publicKey.spki, endpoint]] }, clientAuth: 'required', ...FAST.dtls },
    transmission: FAST.transmission,
  });
  await server.listen(0);
  closers.push(() => server.close());
  const serverPort = o.loss ? await lossyRelay(server.address().port, o.loss, 7) : server.address().port;
  const dmSecurity: SecurityConfig =
    o.mode === 'psk' ? { mode: 'psk', ...dmPsk } : { mode: 'rpk', publicKey: clientKey.publicKey.spki, privateKey: clientScalar, serverKey: serverKey.publicKey.spki };
  const account: ServerAccount = { shortServerId: 101, uri: `coaps://127.0.0.1:${serverPort}`, lifetimeS: 60, security: dmSecurity };
  const bs = new BootstrapServer({
    dtls:
      o.mode === 'psk'
        ? { psk: pskMap([[bsPsk.identity, bsPsk.key]]), ...FAST.dtls }
        : { ecdhe: { key: bsKey, rawPublicKey: true }, keyStore: { rawPublicKeys: [[clientKey.publicKey.spki, endpoint]] }, clientAuth: 'required', ...FAST.dtls },
    endpoints: { [endpoint]: o.mode === 'psk' ? { pskIdentity: bsPsk.identity, servers: [account] } : { rawPublicKey: clientKey.publicKey.spki, servers: [account] } },
    transmission: FAST.transmission,
  });
  await bs.listen(0);
  closers.push(() => bs.close());
  const bsPort = o.loss ? await lossyRelay(bs.address().port, o.loss, 11) : bs.address().port;
  const bootstrapSecurity: SecurityConfig =
    o.mode === 'psk' ? { mode: 'psk', ...bsPsk } : { mode: 'rpk', publicKey: clientKey.publicKey.spki, privateKey: clientScalar, serverKey: bsKey.publicKey.spki };
  const client = new Lwm2mClient({
    endpoint,
    store: deviceStore(),
    bootstrap: { uri: `coaps://127.0.0.1:${bsPort}`, security: bootstrapSecurity },
    storage: o.storage ?? new MemoryStorage(),
    ...FAST,
    ...o.client,
  });
  closers.push(() => client.stop());
  return { client, server, bs, endpoint };
}

async function wholeFlow(s: Setup): Promise<void> {
  const registered = new Promise((r) => s.server.once('registered', r));
  await s.client.start();
  await registered;
  const reg = s.server.registration(s.endpoint)!;
  expect(reg.lifetimeS).toBe(60);
  expect(reg.objects.map((l) => l.target)).toEqual(expect.arrayContaining(['/1/0', '/3/0']));
  expect(reg.objects.map((l) => l.target)).not.toContain('/0/1'); // Security is never listed
  // the account the client registered with is the one the bootstrap server wrote
  expect(s.client.store.get([0, 1, 0])).toMatch(/^coaps:\/\/127\.0\.0\.1:\d+$/);
  expect(s.client.store.get([0, 1, 10])).toBe(101);
  expect(s.client.store.get([1, 0, 0])).toBe(101);
  expect(s.client.store.get([1, 0, 1])).toBe(60);
  const device = await s.server.read(s.endpoint, '/3/0');
  expect(device.find((r) => r.path.join('/') === '3/0/0')?.value).toBe('coaps');
  expect(device.find((r) => r.path.join('/') === '3/0/16')?.value).toBe('U');
  const obs = await s.server.observe(s.endpoint, '/3/0/9');
  expect(obs.first[0]?.value).toBe(87);
  const values: unknown[] = [];
  const it = obs.notifications[Symbol.asyncIterator]();
  for (const level of [50, 49]) {
    s.client.store.set([3, 0, 9], level);
    values.push((await it.next()).value?.[0]?.value);
  }
  expect(values).toEqual([50, 49]);
  obs.cancel();
  const gone = new Promise((r) => s.server.once('deregistered', r));
  await s.client.stop();
  await gone;
  expect(s.server.registration(s.endpoint)).toBeUndefined();
}

describe('LwM2M 1.1 device features on Node, over DTLS on loopback', () => {
  it('Write-Attributes and Discover, Read-/Write-Composite, Send, and a firmware update pulled from the server', async () => {
    const image = Uint8Array.from({ length: 30 * 1024 }, (_, i) => (i * 13) & 0xff);
    const digest = createHash('sha256').update(image).digest('hex');
    const installed: number[] = [];
    const s = await setup({
      mode: 'psk',
      client: { firmware: { verify: (_img, d) => Buffer.from(d).toString('hex') === digest, install: (img) => (installed.push(img.length), true) } },
    });
    const registered = new Promise((r) => s.server.once('registered', r));
    await s.client.start();
    await registered;
    const ep = s.endpoint;
    await s.server.writeAttributes(ep, '/3/0/9', { pmin: 2, pmax: 60, lt: 20 });
    expect((await s.server.discover(ep, '/3/0/9'))[0]!.attributes).toEqual([['pmin', '2'], ['pmax', '60'], ['lt', '20']]);
    await expect(s.server.writeAttributes(ep, '/3/0/9', { gt: 10 })).rejects.toMatchObject({ code: 0x80 }); // lt >= gt: 4.00
    await s.server.writeComposite(ep, [{ path: [3, 0, 15], value: 'Europe/Paris' }, { path: [1, 0, 1], value: 120 }]);
    expect(await s.server.readComposite(ep, ['/3/0/15', '/1/0/1'])).toEqual([{ path: [3, 0, 15], value: 'Europe/Paris' }, { path: [1, 0, 1], value: 120 }]);
    const sent = new Promise<unknown>((r) => s.server.once('send', (_reg, records) => r(records)));
    await s.client.send(['/3/0/9']);
    expect(await sent).toEqual([{ path: [3, 0, 9], value: 87 }]);
    // the server publishes the package; the client pulls it over a DTLS session of its own
    s.server.publish('/fw/1.bin', image);
    const state = await s.server.observe(ep, '/5/0/3');
    await s.server.write(ep, '/5/0/1', [{ path: [5, 0, 1], value: `${s.client.store.get([0, 1, 0]) as string}/fw/1.bin` }]);
    for await (const n of state.notifications) if (n[0]?.value === 2) break; // Downloaded
    state.cancel();
    await s.server.execute(ep, '/5/0/2');
    expect([s.client.store.get([5, 0, 3]), s.client.store.get([5, 0, 5])]).toEqual([0, 1]);
    expect(installed).toEqual([image.length]);
  }, 30_000);
});

describe('LwM2M: bootstrap -> register -> read -> observe -> de-register over DTLS', () => {
  it('with PSK', async () => {
    await wholeFlow(await setup({ mode: 'psk' }));
  }, 30_000);

  it('with raw public keys', async () => {
    const s = await setup({ mode: 'rpk' });
    await wholeFlow(s);
  }, 30_000);

  it('with PSK at 20% datagram loss both ways', async () => {
    await wholeFlow(await setup({ mode: 'psk', loss: 0.2 }));
  }, 60_000);

  it('a client restarted between bootstrap and registration carries on from its persisted configuration', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coaps-lwm2m-'));
    closers.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'state.json');
    const first = await setup({ mode: 'psk', storage: new FileStorage(file) });
    let bootstraps = 0;
    first.bs.on('bootstrapped', () => bootstraps++);
    // bootstrap only, then "crash" before registering
    await first.client.bootstrap();
    expect(JSON.parse(readFileSync(file, 'utf8')).endpoint).toBe(first.endpoint);
    // a new process: a fresh store, the same state file; no bootstrap server needed
    const again = new Lwm2mClient({ endpoint: first.endpoint, store: deviceStore(), storage: new FileStorage(file), ...FAST });
    closers.push(() => again.stop());
    const registered = new Promise((r) => first.server.once('registered', r));
    await again.start();
    await registered;
    expect(bootstraps).toBe(1);
    expect(first.server.registration(first.endpoint)).toBeDefined();
  }, 30_000);

  it('registers again after 4.04 to an Update, and after losing its DTLS session', async () => {
    const s = await setup({ mode: 'psk' });
    const first = new Promise<{ location: string }>((r) => s.server.once('registered', r));
    await s.client.start();
    const loc1 = (await first).location;
    // the server forgot the registration: the Update gets 4.04, the client registers again
    s.server.forget(s.endpoint);
    const second = new Promise<{ location: string; channel: unknown }>((r) => s.server.once('registered', r));
    await s.client.update();
    const reg2 = await second;
    expect(reg2.location).not.toBe(loc1);
    // the server closes the DTLS session: the client learns it (close_notify) and registers
    // afresh on a new session
    const third = new Promise<{ location: string; channel: unknown }>((r) => s.server.once('registered', r));
    await (reg2.channel as { close(): Promise<void> }).close();
    const reg3 = await third;
    expect(reg3.channel).not.toBe(reg2.channel);
    expect(s.server.registrations).toHaveLength(1);
  }, 30_000);

  it('registers over plain coap:// when the bootstrap server provisions a NoSec account', async () => {
    const endpoint = `urn:test:nosec-${Math.random().toString(16).slice(2, 8)}`;
    const bsPsk = { identity: enc(`${endpoint}-bs`), key: enc('bootstrap-secret') };
    const server = new Lwm2mServer({ transmission: FAST.transmission });
    await server.listen(0);
    closers.push(() => server.close());
    const bs = new BootstrapServer({
      dtls: { psk: pskMap([[bsPsk.identity, bsPsk.key]]), ...FAST.dtls },
      endpoints: { [endpoint]: { pskIdentity: bsPsk.identity, servers: [{ shortServerId: 7, uri: `coap://127.0.0.1:${server.address().port}`, lifetimeS: 60, security: { mode: 'nosec' } }] } },
      transmission: FAST.transmission,
    });
    await bs.listen(0);
    closers.push(() => bs.close());
    const client = new Lwm2mClient({ endpoint, store: deviceStore(), bootstrap: { uri: `coaps://127.0.0.1:${bs.address().port}`, security: { mode: 'psk', ...bsPsk } }, ...FAST });
    closers.push(() => client.stop());
    const registered = new Promise<{ identity: unknown }>((r) => server.once('registered', r));
    await client.start();
    expect((await registered).identity).toBeUndefined(); // no DTLS, no authenticated identity
    const device = await server.read(endpoint, '/3/0/0');
    expect(device[0]?.value).toBe('coaps');
    const gone = new Promise((r) => server.once('deregistered', r));
    await client.stop();
    await gone;
  }, 30_000);

  it('a torn state file is ignored, not trusted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coaps-lwm2m-'));
    closers.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'state.json');
    writeFileSync(file, '{"version":1,"endpoint":"x","objects":[{"id":0,"inst');
    expect(await new FileStorage(file).load()).toBeUndefined();
  });
});

/**
 * The LwM2M client and servers on the virtual clock (transports/sim-lwm2m.ts), for what real
 * time makes slow or flaky: the bootstrap inactivity timeout, the retry backoff schedule, a
 * fresh Register after 4.04 or a lost DTLS session, lifetime expiry on the server; also
 * block-wise Register and Read, Finish refused with 4.06, a restart from the persisted state,
 * and the server's device-management operations.
 */
import { describe, expect, it } from 'vitest';
import { ContentFormat } from '../lib/coap/content-format.js';
import { Code } from '../lib/coap/message.js';
import { pskMap } from '../lib/dtls/keystore.js';
import { CoapAgent } from '../lib/lwm2m/coap-agent.js';
import { deviceStore } from '../lib/lwm2m/device.js';
import { Lwm2mError } from '../lib/lwm2m/errors.js';
import { SimLwm2mClient, SimServerNode, type SimPeer } from '../transports/sim-lwm2m.js';
import { BS, BS_PSK, DEVICE_ADDRESS, DM, ENDPOINT, EPOCH, HOUR, MINUTE, SECOND, TEMPERATURE, enc, simSetup } from './helpers/lwm2m-sim-setup.js';

/** A bootstrap server that accepts the Bootstrap-Request and then says nothing. */
class SilentBootstrapCore {
  private readonly ids = new Map<SimPeer, string>();
  readonly agent = new CoapAgent<SimPeer>({
    peerId: (p) => {
      if (!this.ids.has(p)) this.ids.set(p, `peer${this.ids.size}`);
      return this.ids.get(p)!;
    },
    describe: () => ({ address: DEVICE_ADDRESS, identity: undefined }),
    handler: (_now, _peer, req) => ({ code: req.method === 'POST' && req.path === '/bs' ? Code.Changed : Code.NotFound }),
  });
  peerUp(): void {}
  peerDown(now: number, peer: SimPeer): void {
    this.agent.dropPeer(now, peer);
  }
  handleDatagram(now: number, peer: SimPeer, data: Uint8Array): void {
    this.agent.handleDatagram(now, peer, data);
  }
  handleTimeout(now: number): void {
    this.agent.handleTimeout(now);
  }
  pollTransmit() {
    return this.agent.pollTransmit();
  }
  pollTimeout() {
    return this.agent.pollTimeout();
  }
  pollEvent(): undefined {
    return undefined;
  }
}

/** Starts the client and runs until it is registered. */
function registered(o: Parameters<typeof simSetup>[0] = {}) {
  const t = simSetup(o);
  t.client.act(t.net.now, (c) => c.start(t.net.now));
  expect(t.runFor(5 * MINUTE, () => t.client.eventsOf('registered').length > 0)).toBe(true);
  return t;
}

describe('LwM2M client on the virtual clock: bootstrap', () => {
  it('a bootstrap server that goes silent after 2.04: the inactivity timeout fails the attempt, the configuration stays, a retry follows', () => {
    const t = simSetup({ noBootstrapServer: true, client: { bootstrapInactivityMs: 30 * SECOND, retryMs: 10 * SECOND } });
    const silent = t.net.add(new SimServerNode(BS, new SilentBootstrapCore(), { psk: pskMap([[BS_PSK.identity, BS_PSK.key]]) }));
    expect(silent.endpoint).toBeDefined();
    t.client.act(0, (c) => c.start(0));
    const before = JSON.stringify(t.store.snapshot([0, 1])); // the factory bootstrap account
    expect(t.runFor(2 * MINUTE, () => t.client.eventsOf('error').length > 0)).toBe(true);
    const [error] = t.client.eventsOf('error');
    const open = t.client.opened[0]!;
    // armed when the bootstrap began and never re-armed: no command came
    expect(error!.at - open.at).toBe(30 * SECOND);
    expect(error!.error).toBeInstanceOf(Lwm2mError);
    expect((error!.error as Lwm2mError).code).toBe(Code.ServiceUnavailable);
    expect(error!.retryInMs).toBe(10 * SECOND);
    expect(t.client.eventsOf('close').map((e) => e.channel)).toEqual([open.channel]);
    // the factory configuration is what there is, as before the attempt
    expect(JSON.stringify(t.store.snapshot([0, 1]))).toBe(before);
    expect(t.store.instanceIds(1)).toEqual([]);
    // and the retry comes after retryMs
    expect(t.runFor(MINUTE, () => t.client.opened.length > 1)).toBe(true);
    expect(t.client.opened[1]!.at - error!.at).toBe(10 * SECOND);
  });

  it('hold-off, then retries doubling from retryMs up to 64x when nobody answers', () => {
    const t = simSetup({
      noBootstrapServer: true,
      client: {
        retryMs: 10 * SECOND,
        bootstrap: { uri: `coaps://${BS.address}:${BS.port}`, security: { mode: 'psk', ...BS_PSK }, holdOffS: 5 },
        dtls: { retransmission: { initialMs: 1000, maxMs: 60_000, maxRetransmits: 2 } },
      },
    });
    t.client.act(0, (c) => c.start(0));
    t.runFor(2 * HOUR);
    const opens = t.client.opened.map((o) => o.at);
    const errors = t.client.eventsOf('error');
    // the first Bootstrap-Request waits for the Client Hold Off Time (/0/0/11)
    expect(opens[0]).toBe(5 * SECOND);
    // each DTLS handshake gives up after 1 + 2 + 4 s
    for (let i = 0; i < errors.length; i++) expect(errors[i]!.at - opens[i]!).toBe(7 * SECOND);
    const waits = errors.map((e) => e.retryInMs);
    expect(waits.slice(0, 9)).toEqual([10, 20, 40, 80, 160, 320, 640, 640, 640].map((s) => s * SECOND));
    for (let i = 0; i + 1 < opens.length; i++) expect(opens[i + 1]! - errors[i]!.at).toBe(waits[i]);
    expect(t.client.core.state).toBe('retry');
  });

  it('Bootstrap-Finish without a usable server account is refused with 4.06 and rolled back', () => {
    const t = simSetup({ client: { retryMs: 0 } });
    // the bootstrap server provisions a PSK account with an empty key: unusable
    const cfg = t.bs!.core as unknown as { opts: { endpoints: Record<string, { servers: Array<{ security: unknown }> }> } };
    cfg.opts.endpoints[ENDPOINT]!.servers[0]!.security = { mode: 'psk', identity: enc('x'), key: new Uint8Array(0) };
    t.client.act(0, (c) => c.start(0));
    const factory = JSON.stringify(t.store.snapshot([0, 1]));
    expect(t.runFor(MINUTE, () => t.client.eventsOf('error').length > 0)).toBe(true);
    const [error] = t.client.eventsOf('error');
    expect((error!.error as Lwm2mError).code).toBe(Code.NotAcceptable);
    expect(error!.retryInMs).toBeUndefined(); // retryMs 0: given up
    expect(JSON.stringify(t.store.snapshot([0, 1]))).toBe(factory);
    t.runFor(5 * SECOND);
    expect(t.bs!.events.find((e) => e.type === 'failed')).toMatchObject({ endpoint: ENDPOINT, reason: expect.stringContaining('4.06') });
    expect(t.client.saved).toBeUndefined();
  });

  it('the bootstrap server forgets a closed session entirely (its peer id too, after the agent dropped it)', () => {
    const t = registered();
    t.runFor(MINUTE);
    const peers = (t.bs!.core as unknown as { peers: { info: Map<unknown, unknown>; ids: Map<unknown, string> } }).peers;
    expect(t.bs!.events.filter((e) => e.type === 'bootstrapped')).toHaveLength(1);
    expect(peers.info.size).toBe(0);
    expect(peers.ids.size).toBe(0);
  });

  it('a restarted client registers from its persisted configuration without bootstrapping', () => {
    const t = registered();
    const saved = t.client.saved!;
    expect(saved.savedAt).toBe(new Date(EPOCH + t.client.eventsOf('persist')[0]!.at).toISOString());
    t.client.act(t.net.now, (c) => c.stop(t.net.now));
    t.runFor(MINUTE, () => t.client.eventsOf('stopped').length > 0);
    // a new process: a fresh store, the saved state
    const again = t.net.add(new SimLwm2mClient({ address: DEVICE_ADDRESS.address, port: 40001 }, { endpoint: ENDPOINT, store: deviceStore().define(TEMPERATURE), persist: true }));
    again.act(t.net.now, (c) => c.start(t.net.now, saved));
    expect(t.runFor(MINUTE, () => t.server.eventsOf('registered').length > 1)).toBe(true);
    expect(again.opened.map((o) => o.uri)).toEqual([`coaps://${DM.address}:${DM.port}`]);
    expect(t.bs!.events.filter((e) => e.type === 'bootstrapped')).toHaveLength(1);
  });
});

describe('LwM2M registration on the virtual clock', () => {
  it('4.04 to an Update: a fresh Register on a new session', () => {
    const t = registered();
    const first = t.server.eventsOf('registered')[0]!.registration;
    t.server.act(t.net.now, (s) => s.forget(ENDPOINT));
    t.client.act(t.net.now, (c) => c.update(t.net.now));
    expect(t.runFor(MINUTE, () => t.client.eventsOf('registered').length > 1)).toBe(true);
    const second = t.server.eventsOf('registered')[1]!.registration;
    expect(second.location).not.toBe(first.location);
    expect(second.channel).not.toBe(first.channel);
    expect(t.client.opened.map((o) => o.uri)).toEqual([`coaps://${BS.address}:${BS.port}`, `coaps://${DM.address}:${DM.port}`, `coaps://${DM.address}:${DM.port}`]);
    expect(t.client.eventsOf('error')).toHaveLength(0);
    expect(t.client.core.location).toBe(second.location);
  });

  it('a lost DTLS session (the server closed it): a fresh Register at once', () => {
    const t = registered();
    const first = t.server.eventsOf('registered')[0]!;
    const closedAt = t.net.now;
    t.server.closeSession(closedAt, first.registration.channel);
    expect(t.runFor(MINUTE, () => t.server.eventsOf('registered').length > 1)).toBe(true);
    const second = t.server.eventsOf('registered')[1]!;
    expect(second.registration.channel).not.toBe(first.registration.channel);
    expect(second.at - closedAt).toBeLessThan(100); // a handshake and a Register, not the next Update
    expect(t.server.core.registrations).toHaveLength(1);
    expect(t.server.eventsOf('expired')).toHaveLength(0);
  });

  it('the server expires a registration 5 s after its lifetime when no Update comes', () => {
    let blocked = false;
    const t = registered({ lifetimeS: 60, filter: (d) => !(blocked && d.from.port === DEVICE_ADDRESS.port), client: { retryMs: 30 * SECOND } });
    const reg = t.server.eventsOf('registered')[0]!;
    blocked = true;
    expect(t.runFor(5 * MINUTE, () => t.server.eventsOf('expired').length > 0)).toBe(true);
    expect(t.server.eventsOf('expired')[0]!.at).toBe(reg.at + 65 * SECOND);
    expect(t.server.core.registration(ENDPOINT)).toBeUndefined();
    // the client's Update (at 54 s) goes unanswered; it tries to register again, and again
    expect(t.runFor(10 * MINUTE, () => t.client.eventsOf('error').length > 0)).toBe(true);
    expect(t.client.core.registered).toBe(false);
    // back online: it registers again
    blocked = false;
    expect(t.runFor(30 * MINUTE, () => t.server.eventsOf('registered').length > 1)).toBe(true);
  });

  it('Updates without loss come lifetime - 10% apart; De-register on stop', () => {
    const t = registered({ lifetimeS: 20 });
    const r = t.server.eventsOf('registered')[0]!.at;
    t.runFor(MINUTE);
    expect(t.server.eventsOf('updated').map((e) => e.at - r)).toEqual([18, 36, 54].map((s) => s * SECOND));
    t.client.act(t.net.now, (c) => c.stop(t.net.now));
    expect(t.runFor(MINUTE, () => t.client.eventsOf('stopped').length > 0)).toBe(true);
    expect(t.server.eventsOf('deregistered')).toHaveLength(1);
    expect(t.client.core.state).toBe('idle');
  });
});

describe('LwM2M server operations on the virtual clock', () => {
  it('a Register larger than a block goes Block1; a large Read comes back Block2', () => {
    const t = simSetup({ client: { blockSize: 256 } });
    for (let i = 1; i < 150; i++) t.store.write([3303, i], [{ path: [3303, i, 5700], value: 20 + i / 10 }, { path: [3303, i, 5701], value: 'Cel' }], 'replace', { ignoreAccess: true, create: true });
    t.client.act(0, (c) => c.start(0));
    expect(t.runFor(5 * MINUTE, () => t.server.eventsOf('registered').length > 0)).toBe(true);
    const reg = t.server.eventsOf('registered')[0]!.registration;
    expect(reg.objects.filter((l) => l.target.startsWith('/3303/'))).toHaveLength(150);
    const id = t.server.act(t.net.now, (s) => s.read(t.net.now, ENDPOINT, '/3303', { contentFormat: ContentFormat.SenmlJson }));
    expect(t.runFor(MINUTE, () => t.server.events.some((e) => e.type === 'result' && e.id === id))).toBe(true);
    const result = t.server.eventsOf('result').find((e) => e.id === id)!.result;
    expect(result.records).toHaveLength(300);
    expect(result.records!.find((r) => r.path.join('/') === '3303/149/5700')?.value).toBeCloseTo(34.9);
  });

  it('Write, Execute, Discover, Create, Delete, and the refusals', () => {
    const t = registered();
    const { server, net } = t;
    const outcome = (id: number) => {
      t.runFor(MINUTE, () => server.events.some((e) => (e.type === 'result' || e.type === 'failed') && e.id === id));
      return server.events.find((e) => (e.type === 'result' || e.type === 'failed') && e.id === id)!;
    };
    const w = outcome(server.act(net.now, (s) => s.write(net.now, ENDPOINT, '/3/0/15', [{ path: [3, 0, 15], value: 'Europe/Paris' }])));
    expect(w).toMatchObject({ type: 'result', result: { code: Code.Changed } });
    expect(t.store.get([3, 0, 15])).toBe('Europe/Paris');
    expect(outcome(server.act(net.now, (s) => s.execute(net.now, ENDPOINT, '/3/0/4')))).toMatchObject({ type: 'result', result: { code: Code.Changed } });
    const d = outcome(server.act(net.now, (s) => s.discover(net.now, ENDPOINT, '/3/0')));
    expect(d.type === 'result' && d.result.links?.map((l) => l.target)).toContain('/3/0/15');
    const c = outcome(server.act(net.now, (s) => s.create(net.now, ENDPOINT, '/3303', [{ path: [3303, 7, 5700], value: 3.5 }])));
    expect(c).toMatchObject({ type: 'result', result: { code: Code.Created, location: '/3303/7' } });
    expect(t.store.get([3303, 7, 5700])).toBe(3.5);
    expect(outcome(server.act(net.now, (s) => s.delete(net.now, ENDPOINT, '/3303/7')))).toMatchObject({ type: 'result', result: { code: Code.Deleted } });
    expect(t.store.instanceIds(3303)).toEqual([0]);
    // no server may read Security: 4.01 arrives as a failure
    const refused = outcome(server.act(net.now, (s) => s.read(net.now, ENDPOINT, '/0/1')));
    expect(refused.type === 'failed' && (refused.error as Lwm2mError).code).toBe(Code.Unauthorized);
    // an endpoint that is not registered: refused at once
    expect(() => server.core.read(net.now, 'urn:dev:nobody', '/3/0')).toThrow(Lwm2mError);
  });

  it('an observation ends when its session is lost, and the client is observed again after it re-registers', () => {
    const t = registered();
    const { server, net, client } = t;
    const first = server.eventsOf('registered')[0]!.registration;
    const obs = server.act(net.now, (s) => s.observe(net.now, ENDPOINT, '/3303/0/5700'));
    t.runFor(MINUTE, () => server.eventsOf('result').some((e) => e.id === obs));
    client.store.set([3303, 0, 5700], 21.5);
    t.runFor(SECOND);
    expect(server.eventsOf('notification').map((e) => e.records[0]?.value)).toEqual([21.5]);
    server.closeSession(net.now, first.channel);
    expect(t.runFor(MINUTE, () => server.eventsOf('registered').length > 1)).toBe(true);
    expect(server.events.some((e) => e.type === 'observation-ended' && e.id === obs)).toBe(true);
    const again = server.act(net.now, (s) => s.observe(net.now, ENDPOINT, '/3303/0/5700'));
    t.runFor(MINUTE, () => server.eventsOf('result').some((e) => e.id === again));
    client.store.set([3303, 0, 5700], 22);
    t.runFor(SECOND);
    expect(server.eventsOf('notification').filter((e) => e.id === again).map((e) => e.records[0]?.value)).toEqual([22]);
  });
});

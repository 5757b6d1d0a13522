/**
 * Queue mode (LwM2M 1.1 §6.5) and the Server object's triggers on the virtual clock, over DTLS:
 * the client registers with Q, stops listening MAX_TRANSMIT_WAIT after its last exchange,
 * hears nothing while it sleeps; the server holds a Read for the sleeping client and delivers
 * it when the client's next Update arrives; a local change the server observes wakes the
 * client; the Registration Update Trigger (/1/x/8) brings an Update, the Bootstrap-Request
 * Trigger (/1/x/9) a De-register, a bootstrap and a new registration.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../lib/coap/codec.js';
import { Code } from '../lib/coap/message.js';
import { Lwm2mServerCore } from '../lib/lwm2m/server-core.js';
import { lwm2mRequest } from './helpers/lwm2m-request.js';
import { ENDPOINT, MINUTE, SECOND, simSetup } from './helpers/lwm2m-sim-setup.js';

const MAX_TRANSMIT_WAIT = 93 * SECOND;

function registered(o: Parameters<typeof simSetup>[0] = {}) {
  const logs: string[] = [];
  const t = simSetup({ ...o, log: (who, l) => logs.push(`${who}: ${l}`) });
  t.client.act(t.net.now, (c) => c.start(t.net.now));
  expect(t.runFor(5 * MINUTE, () => t.client.eventsOf('registered').length > 0)).toBe(true);
  return { ...t, logs };
}

describe('queue mode', () => {
  it('a sleeping client receives the Read the server queued, after its next Update', () => {
    const t = registered({ client: { queueMode: true } });
    const { server, client, net } = t;
    const reg = server.eventsOf('registered')[0]!;
    expect(reg.registration.queueMode).toBe(true);
    // quiet for MAX_TRANSMIT_WAIT after the Register's answer: asleep
    expect(t.runFor(2 * MINUTE, () => client.eventsOf('sleeping').length > 0)).toBe(true);
    const slept = client.eventsOf('sleeping')[0]!.at;
    expect(slept - reg.at).toBeGreaterThanOrEqual(MAX_TRANSMIT_WAIT - 5);
    expect(slept - reg.at).toBeLessThanOrEqual(MAX_TRANSMIT_WAIT + 5);
    expect(t.logs.join('\n')).toMatch(/queue mode: no exchange for 93 s/);
    // the server does not send to a client that does not listen: the Read waits
    const sentBefore = net.log.length;
    const id = server.act(net.now, (s) => s.read(net.now, ENDPOINT, '/3303/0/5700'));
    expect(server.eventsOf('queued')).toMatchObject([{ id, endpoint: ENDPOINT }]);
    t.runFor(10 * SECOND);
    expect(net.log.length).toBe(sentBefore);
    // the Update (270 s after the Register) wakes the client; the Read follows it
    client.store.set([3303, 0, 5700], 23.5);
    expect(t.runFor(5 * MINUTE, () => server.events.some((e) => e.type === 'result' && e.id === id))).toBe(true);
    const updated = server.eventsOf('updated')[0]!;
    const result = server.events.find((e) => e.type === 'result' && e.id === id)!;
    expect(client.eventsOf('awake')[0]!.at).toBe(updated.at - 1);
    expect(updated.at - reg.at).toBe(270 * SECOND);
    expect(result.at).toBeGreaterThan(updated.at);
    expect(result.type === 'result' && result.result.records).toEqual([{ path: [3303, 0, 5700], value: 23.5 }]);
    // and it sleeps again afterwards
    expect(t.runFor(3 * MINUTE, () => client.eventsOf('sleeping').length > 1)).toBe(true);
  });

  it('while it sleeps the client hears nothing: a request sent anyway is lost', () => {
    const t = registered({ client: { queueMode: true } });
    const { server, client, net } = t;
    expect(t.runFor(2 * MINUTE, () => client.eventsOf('sleeping').length > 0)).toBe(true);
    // a server that does not know about queue mode (its registry forgot it) sends at once
    const reg = server.core.registration(ENDPOINT)!;
    reg.queueMode = false;
    const id = server.act(net.now, (s) => s.read(net.now, ENDPOINT, '/3/0/9', { timeoutMs: 60 * SECOND }));
    expect(t.runFor(2 * MINUTE, () => server.events.some((e) => e.type === 'failed' && e.id === id))).toBe(true);
    expect(t.logs.some((l) => l.startsWith('client: server GET /3/0/9'))).toBe(false);
  });

  it('a change the server observes wakes the client, and the notification goes out', () => {
    const t = registered({ client: { queueMode: true } });
    const { server, client, net } = t;
    const obs = server.act(net.now, (s) => s.observe(net.now, ENDPOINT, '/3303/0/5700'));
    expect(t.runFor(MINUTE, () => server.eventsOf('result').some((e) => e.id === obs))).toBe(true);
    expect(t.runFor(2 * MINUTE, () => client.eventsOf('sleeping').length > 0)).toBe(true);
    client.store.set([3303, 0, 5700], 19);
    t.runFor(SECOND);
    expect(client.eventsOf('awake')).toHaveLength(1);
    expect(server.eventsOf('notification').map((e) => e.records[0]!.value)).toEqual([19]);
    expect(t.logs.join('\n')).toMatch(/queue mode: awake \(a notification is due\)/);
  });

  it('the server takes queue mode from Q (1.1) or a UQ binding (1.0)', () => {
    for (const [query, q] of [[['ep=a', 'lwm2m=1.1', 'b=U', 'Q'], true], [['ep=b', 'b=UQ'], true], [['ep=c', 'lwm2m=1.1', 'b=U'], false]] as const) {
      const server = new Lwm2mServerCore<string>();
      server.peerUp('p', { address: { address: '10.0.0.9', port: 1 }, identity: undefined });
      server.handleDatagram(0, 'p', encodeMessage(lwm2mRequest('POST', '/rd', { query: [...query] }).message));
      expect(decodeMessage(server.pollTransmit()!.data).code).toBe(Code.Created);
      expect(server.registrations[0]!.queueMode, query.join('&')).toBe(q);
    }
  });

  it('without queue mode the client never sleeps', () => {
    const t = registered();
    t.runFor(10 * MINUTE);
    expect(t.client.eventsOf('sleeping')).toHaveLength(0);
    expect(t.server.core.registration(ENDPOINT)!.queueMode).toBe(false);
  });
});

describe('Server object triggers', () => {
  it('Registration Update Trigger (/1/0/8): 2.04, then an Update at once', () => {
    const t = registered();
    const { server, net } = t;
    const id = server.act(net.now, (s) => s.execute(net.now, ENDPOINT, '/1/0/8'));
    expect(t.runFor(MINUTE, () => server.eventsOf('updated').length > 0)).toBe(true);
    const result = server.events.find((e) => e.type === 'result' && e.id === id)!;
    expect(result).toMatchObject({ result: { code: Code.Changed } });
    expect(server.eventsOf('updated')[0]!.at - result.at).toBeLessThanOrEqual(2);
    // an unknown Server instance: 4.04
    const bad = server.act(net.now, (s) => s.execute(net.now, ENDPOINT, '/1/5/8'));
    t.runFor(MINUTE, () => server.events.some((e) => e.type === 'failed' && e.id === bad));
    expect(server.events.find((e) => e.type === 'failed' && e.id === bad)).toBeDefined();
  });

  it('Bootstrap-Request Trigger (/1/0/9): De-register, bootstrap again, register again', () => {
    const t = registered();
    const { server, client, net, bs } = t;
    server.act(net.now, (s) => s.execute(net.now, ENDPOINT, '/1/0/9'));
    expect(t.runFor(5 * MINUTE, () => client.eventsOf('registered').length > 1)).toBe(true);
    expect(server.eventsOf('registered')).toHaveLength(2);
    expect(server.eventsOf('deregistered')).toHaveLength(1);
    expect(bs!.events.filter((e) => e.type === 'bootstrapped')).toHaveLength(2);
    expect(client.eventsOf('bootstrapped')).toHaveLength(2);
    expect(client.core.registered).toBe(true);
    const order = client.events.filter((e) => ['deregistered', 'bootstrapped', 'registered'].includes(e.type)).map((e) => e.type);
    expect(order).toEqual(['bootstrapped', 'registered', 'deregistered', 'bootstrapped', 'registered']);
  });
});

/**
 * A day in the life of an LwM2M device, on the virtual clock: the client bootstraps (PSK over
 * the sans-IO DTLS engine), registers with a 300 s lifetime, and for 24 virtual hours sends
 * its Updates while its temperature changes every 5 minutes under the server's observation.
 * The same cores and the same DTLS engine as on Node; only the clock and the network are
 * simulated.
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { ContentFormat } from '../lib/coap/content-format.js';
import { ENDPOINT, HOUR, MINUTE, SECOND, simSetup } from './helpers/lwm2m-sim-setup.js';

const DAY = 24 * HOUR;
const TEMPERATURE_PATH = '/3303/0/5700';
/** The default Update margin is 10% of the lifetime: an Update every 270 s for 300 s. */
const UPDATE_PERIOD = 270 * SECOND;

/** The temperature set at the k-th change (distinct, increasing: order is checkable). */
const temperature = (k: number) => 20 + k / 100;

function runDay(o: { loss?: number; seed?: number; updateMarginMs?: (lifetimeMs: number) => number }) {
  const t = simSetup({ link: { loss: o.loss ?? 0 }, seed: o.seed ?? 1, ...(o.updateMarginMs ? { client: { updateMarginMs: o.updateMarginMs } } : {}) });
  const { net, server, client } = t;
  const started = performance.now();
  const cpu = process.cpuUsage();

  client.act(net.now, (c) => c.start(net.now));
  expect(t.runFor(5 * MINUTE, () => server.eventsOf('registered').length > 0)).toBe(true);
  const dayStart = server.eventsOf('registered')[0]!.at;

  // the server observes the temperature; after a fresh Register (a new session) it observes again
  let observation: { id: number; registration: unknown } | undefined;
  const observe = () => {
    const reg = server.core.registration(ENDPOINT);
    const ended = (id: number) => server.events.some((e) => (e.type === 'observation-ended' || e.type === 'failed') && e.id === id);
    if (!reg || (observation && observation.registration === reg && !ended(observation.id))) return;
    try {
      observation = { id: server.act(net.now, (s) => s.observe(net.now, ENDPOINT, TEMPERATURE_PATH, { contentFormat: ContentFormat.SenmlCbor })), registration: reg };
      observations.push(observation.id);
    } catch {
      // the session is gone and the client has not registered again yet: next time
    }
  };
  const observations: number[] = [];
  observe();

  // a change every 5 minutes, half-way between the 5-minute marks
  const changes: number[] = [];
  for (let k = 1; dayStart + k * 5 * MINUTE - 150 * SECOND <= dayStart + DAY; k++) {
    net.run(dayStart + k * 5 * MINUTE - 150 * SECOND);
    client.store.set([3303, 0, 5700], temperature(k));
    changes.push(temperature(k));
    observe();
  }
  net.run(dayStart + DAY);
  const wallMs = performance.now() - started;
  const cpuUsed = process.cpuUsage(cpu);
  const cpuMs = (cpuUsed.user + cpuUsed.system) / 1000;

  const notified = server
    .eventsOf('notification')
    .filter((e) => observations.includes(e.id))
    .map((e) => e.records[0]?.value as number);
  return { ...t, dayStart, changes, notified, wallMs, cpuMs, observations };
}

describe('LwM2M: 24 virtual hours of a device (bootstrap, register, Updates, notifications) over DTLS', () => {
  it('without loss: an Update every 270 s on the dot, every notification in order, the registration never expires', () => {
    const { server, client, dayStart, changes, notified, wallMs, cpuMs, net } = runDay({});
    console.log(`24 virtual hours (bootstrap, ${server.eventsOf('updated').length} Updates, ${notified.length} notifications, ${net.log.length} datagrams) in ${wallMs.toFixed(0)} ms of wall time (${cpuMs.toFixed(0)} ms of CPU)`);

    // bootstrapped once, over DTLS, and persisted
    expect(client.eventsOf('bootstrapped')).toHaveLength(1);
    expect(client.saved?.endpoint).toBe(ENDPOINT);
    expect(client.saved?.savedAt).toMatch(/^2025-01-01T00:00:0\d/);
    // one registration all day: never expired, never replaced
    expect(server.eventsOf('registered')).toHaveLength(1);
    expect(server.eventsOf('expired')).toHaveLength(0);
    expect(server.eventsOf('deregistered')).toHaveLength(0);
    expect(client.eventsOf('error')).toHaveLength(0);
    expect(server.core.registration(ENDPOINT)?.lifetimeS).toBe(300);
    // the Updates: exactly what the lifetime implies, 86400 / 270 = 320, each at its time
    const updates = server.eventsOf('updated').map((e) => e.at - dayStart);
    expect(updates).toHaveLength(DAY / UPDATE_PERIOD);
    expect(updates).toEqual(Array.from({ length: DAY / UPDATE_PERIOD }, (_, i) => (i + 1) * UPDATE_PERIOD));
    // every change observed, in order
    expect(changes).toHaveLength(288);
    expect(notified).toEqual(changes);
    // one DTLS session to the server all day (and one to the bootstrap server before it)
    expect(client.opened.map((o) => o.uri)).toEqual(['coaps://10.0.0.1:5684', 'coaps://10.0.0.2:5684']);

    // the answer to the last Update (sent as the day ends) arrives, then a De-register
    net.run(net.now + SECOND);
    expect(client.eventsOf('updated')).toHaveLength(DAY / UPDATE_PERIOD);
    client.act(net.now, (c) => c.stop(net.now));
    net.run(net.now + MINUTE, () => client.eventsOf('stopped').length > 0);
    expect(client.eventsOf('deregistered')).toHaveLength(1);
    expect(server.eventsOf('deregistered')).toHaveLength(1);
    expect(server.core.registration(ENDPOINT)).toBeUndefined();
  });

  it('at 20% loss both ways the registration holds all day, and notifications arrive in order', () => {
    // Updates at half the lifetime: room for a failed Update (93 s of CoAP retransmissions)
    // and a fresh Register on a new DTLS session before the server's lifetime runs out
    const { server, client, changes, notified, wallMs, cpuMs, net } = runDay({ loss: 0.2, seed: 7, updateMarginMs: (lt) => lt / 2 });
    const registered = server.eventsOf('registered').length;
    console.log(
      `24 virtual hours at 20% loss: ${server.eventsOf('updated').length} Updates, ${registered - 1} fresh Registers, ${notified.length}/${changes.length} notifications, ${net.log.filter((d) => d.dropped).length}/${net.log.length} datagrams lost, in ${wallMs.toFixed(0)} ms of wall time (${cpuMs.toFixed(0)} ms of CPU)`,
    );
    expect(server.eventsOf('expired')).toHaveLength(0);
    expect(server.core.registration(ENDPOINT)).toBeDefined();
    expect(client.core.registered).toBe(true);
    // a fresh Register replaces the registration at once (deregistered = replaced), never a gap
    expect(server.eventsOf('deregistered')).toHaveLength(registered - 1);
    expect(server.eventsOf('updated').length).toBeGreaterThan(DAY / (150 * SECOND) / 2);
    // what arrives arrives in order (stale notifications are dropped, RFC 7641 §4.4)
    expect(notified.length).toBeGreaterThan(changes.length / 2);
    for (let i = 1; i < notified.length; i++) expect(notified[i]!).toBeGreaterThan(notified[i - 1]!);
    for (const v of notified) expect(changes).toContain(v);
  });
});

/**
 * The LwM2M client keeps its DTLS sessions through what a cellular device lives through, on the
 * virtual clock: a reboot (the resumption blob kept in "flash" gives an abbreviated handshake,
 * then the Register a rebooted client sends) and a NAT rebinding (with a Connection ID the
 * server follows the session to the new address, and the registration and its observation go
 * on; without one, the client's records from the new address are not the session's, and the
 * client recovers with a new handshake and a fresh Register).
 */
import { describe, expect, it } from 'vitest';
import { ContentFormat } from '../lib/coap/content-format.js';
import type { PeerAddress } from '../lib/dtls/keystore.js';
import { decodeClientResumption } from '../lib/dtls/resumption.js';
import { ContentType, HandshakeType } from '../lib/dtls/wire/constants.js';
import { decodeHandshakeFragments } from '../lib/dtls/wire/handshake.js';
import { splitRecords } from '../lib/dtls/wire/record.js';
import { channelSession } from '../lib/lwm2m/client-sessions.js';
import { pskMap } from '../lib/dtls/keystore.js';
import { deviceStore } from '../lib/lwm2m/device.js';
import { DEVICE, SECURITY, SERVER } from '../lib/lwm2m/objects.js';
import type { SimDatagram } from '../transports/sim.js';
import { SimLwm2mClient, SimLwm2mServer, type SimLwm2mClientOptions } from '../transports/sim-lwm2m.js';
import { DEVICE_ADDRESS, DM, DM_PSK, ENDPOINT, EPOCH, MINUTE, SECOND, TEMPERATURE, simSetup } from './helpers/lwm2m-sim-setup.js';

const DM_URI = `coaps://${DM.address}:${DM.port}`;
const TEMPERATURE_PATH = '/3303/0/5700';
const same = (a: PeerAddress, b: PeerAddress) => a.address === b.address && a.port === b.port;

/** The device's flash: the resumption blobs by server URI, and how often each was written. */
function flash() {
  const blobs = new Map<string, Uint8Array>();
  const writes: Array<{ uri: string; blob: Uint8Array | undefined }> = [];
  return {
    blobs,
    writes,
    load: (uri: string) => blobs.get(uri)?.slice(),
    save: (uri: string, blob: Uint8Array | undefined) => {
      writes.push({ uri, blob });
      if (blob) blobs.set(uri, blob.slice());
      else blobs.delete(uri);
    },
  };
}

/** The epoch-0 handshake message types in some datagrams (CID records are never epoch 0). */
function handshakeTypes(log: SimDatagram[]): number[] {
  return log.flatMap((d) => splitRecords(d.data).flatMap((r) => (r.epoch === 0 && r.type === ContentType.handshake ? decodeHandshakeFragments(r.fragment).map((f) => f.msgType) : [])));
}

/** Datagrams between an address and the LwM2M server, either way, from log index `from`. */
function withServer(log: Array<SimDatagram & { dropped: boolean }>, from: number, peer?: PeerAddress) {
  return log.slice(from).filter((d) => !d.dropped && (same(d.to, DM) || same(d.from, DM)) && (!peer || same(d.to, peer) || same(d.from, peer)));
}

/** A set-up registered with the server; the client keeps its blobs in `f`. */
function registered(o: Parameters<typeof simSetup>[0] = {}) {
  const f = flash();
  const t = simSetup({ ...o, client: { sessionResumption: f, ...o.client } });
  t.client.act(t.net.now, (c) => c.start(t.net.now));
  expect(t.runFor(5 * MINUTE, () => t.server.eventsOf('registered').length > 0)).toBe(true);
  t.runFor(SECOND);
  return { ...t, flash: f };
}

/** Powers the client off (no De-register, no close_notify) and boots a new instance with what it persisted. */
function reboot(t: ReturnType<typeof registered>, at: PeerAddress, client: Partial<SimLwm2mClientOptions> = {}) {
  const saved = t.client.saved!;
  expect(saved).toBeDefined();
  t.net.remove(t.client);
  const clock = () => EPOCH + t.net.now;
  const store = deviceStore({ clock }).define(TEMPERATURE);
  store.write([3303, 0], [{ path: [3303, 0, 5700], value: 21 }], 'replace', { ignoreAccess: true, create: true });
  const rebooted = t.net.add(new SimLwm2mClient(at, { endpoint: ENDPOINT, store, persist: true, wallClock: clock, sessionResumption: t.flash, ...client }));
  const mark = t.net.log.length;
  rebooted.act(t.net.now, (c) => c.start(t.net.now, saved));
  return { rebooted, mark };
}

describe('LwM2M client: resumption across a reboot', () => {
  it('keeps a blob per server, written once per full handshake, bound to the account', () => {
    const t = registered();
    expect([...t.flash.blobs.keys()].sort()).toEqual([`coaps://10.0.0.1:5684`, DM_URI]);
    expect(t.flash.writes.length).toBe(2);
    const blob = t.flash.blobs.get(DM_URI)!;
    const r = decodeClientResumption(blob);
    expect(r.session.peer).toEqual({ kind: 'psk', identity: DM_PSK.identity });
    expect(r.session.extendedMasterSecret).toBe(true);
    // offered to the account it was made with, not to another one
    const psk = { mode: 'psk' as const, ...DM_PSK };
    expect(channelSession({}, DM_URI, psk, blob).session.resume).toBe(blob);
    expect(channelSession({}, DM_URI, { ...psk, identity: new TextEncoder().encode('other') }, blob)).toMatchObject({ refused: 'made with other credentials', session: {} });
    expect(channelSession({}, DM_URI, psk, Uint8Array.of(9, 9)).refused).toMatch(/not a resumption blob/);
    expect(channelSession({ connectionId: (u) => (u === DM_URI ? 4 : undefined), sessionTickets: true }, DM_URI, psk, undefined).session).toEqual({ connectionId: 4, sessionTickets: true });
    expect(channelSession({ connectionId: true }, 'coap://10.0.0.2', { mode: 'nosec' }, blob).session).toEqual({});
  });

  for (const move of [false, true]) {
    it(`after a reboot ${move ? 'behind a new address' : 'at the same address'}: an abbreviated handshake, then Register`, () => {
      const t = registered();
      const firstLocation = t.server.eventsOf('registered')[0]!.registration.location;
      t.runFor(MINUTE);
      const at = move ? { address: '10.0.1.9', port: 40123 } : DEVICE_ADDRESS;
      const { rebooted, mark } = reboot(t, at);
      expect(t.runFor(MINUTE, () => rebooted.eventsOf('registered').length > 0)).toBe(true);
      // the wire: ClientHello (twice, the second with the cookie), HelloVerifyRequest and
      // ServerHello, then ChangeCipherSpec and Finished: no ServerHelloDone, no ClientKeyExchange
      const dgs = withServer(t.net.log, mark, at);
      expect(handshakeTypes(dgs.filter((d) => same(d.from, at)))).toEqual([HandshakeType.client_hello, HandshakeType.client_hello]);
      expect(handshakeTypes(dgs.filter((d) => same(d.from, DM)))).toEqual([HandshakeType.hello_verify_request, HandshakeType.server_hello]);
      expect(rebooted.eventsOf('session')).toMatchObject([{ uri: DM_URI, resumed: true, connectionId: false }]);
      // a rebooted client registers anew (its registration did not survive it); the server replaces the old one
      expect(t.server.eventsOf('registered').length).toBe(2);
      expect(t.server.core.registrations.map((r) => r.endpoint)).toEqual([ENDPOINT]);
      expect(t.server.eventsOf('deregistered').map((e) => e.registration.location)).toEqual([firstLocation]);
      // the resumed session keeps the identity of the full handshake
      expect(t.server.core.registration(ENDPOINT)!.identity).toMatchObject({ kind: 'psk', identity: DM_PSK.identity });
      // the blob did not change (the same session): no flash write
      expect(t.flash.writes.length).toBe(2);
      // and the session works: an Update, a Read
      rebooted.act(t.net.now, (c) => c.update(t.net.now));
      expect(t.runFor(MINUTE, () => rebooted.eventsOf('updated').length > 0)).toBe(true);
      const id = t.server.act(t.net.now, (s) => s.read(t.net.now, ENDPOINT, TEMPERATURE_PATH));
      expect(t.runFor(MINUTE, () => t.server.events.some((e) => e.type === 'result' && e.id === id))).toBe(true);
    });
  }

  it('a server that restarted (its cache is gone): a full handshake, the new blob replaces the old one', () => {
    const t = registered();
    const before = t.flash.blobs.get(DM_URI)!;
    // the server restarts: a new process, nothing of the old one
    t.net.remove(t.server);
    const server = t.net.add(new SimLwm2mServer(DM, { objects: [SECURITY, SERVER, DEVICE, TEMPERATURE] }, { psk: pskMap([[DM_PSK.identity, DM_PSK.key]]) }));
    const { rebooted, mark } = reboot(t, DEVICE_ADDRESS);
    expect(t.runFor(MINUTE, () => server.eventsOf('registered').length > 0)).toBe(true);
    expect(rebooted.eventsOf('session')).toMatchObject([{ uri: DM_URI, resumed: false }]);
    expect(handshakeTypes(withServer(t.net.log, mark, DEVICE_ADDRESS).filter((d) => same(d.from, DEVICE_ADDRESS)))).toContain(HandshakeType.client_key_exchange);
    expect(t.flash.writes.map((w) => w.uri)).toEqual([expect.any(String), expect.any(String), DM_URI]);
    expect(t.flash.blobs.get(DM_URI)).not.toEqual(before);
  });

  it('a blob that does not read (torn flash) is forgotten, and a full handshake makes a new one', () => {
    const t = registered();
    t.flash.blobs.set(DM_URI, Uint8Array.of(1, 0, 1));
    const { rebooted } = reboot(t, DEVICE_ADDRESS);
    expect(t.runFor(MINUTE, () => rebooted.eventsOf('registered').length > 0)).toBe(true);
    expect(rebooted.eventsOf('session')).toMatchObject([{ uri: DM_URI, resumed: false }]);
    expect(t.flash.writes.slice(2)).toEqual([{ uri: DM_URI, blob: undefined }, { uri: DM_URI, blob: expect.any(Uint8Array) }]);
    expect(decodeClientResumption(t.flash.blobs.get(DM_URI)!).session.peer).toMatchObject({ kind: 'psk' });
  });
});

describe('LwM2M client: a NAT rebinding mid-session', () => {
  const NEW = { address: '10.0.1.200', port: 61000 };

  /** Registered, with the server observing the temperature (first value in). */
  function observed(o: Parameters<typeof simSetup>[0]) {
    const t = registered(o);
    const id = t.server.act(t.net.now, (s) => s.observe(t.net.now, ENDPOINT, TEMPERATURE_PATH, { contentFormat: ContentFormat.SenmlCbor }));
    expect(t.runFor(MINUTE, () => t.server.events.some((e) => e.type === 'result' && e.id === id))).toBe(true);
    const notified = () => t.server.eventsOf('notification').filter((e) => e.id === id).map((e) => e.records[0]?.value);
    return { ...t, observation: id, notified };
  }

  it('with a Connection ID: the session follows the client, its observation and registration go on, no handshake', () => {
    const t = observed({ client: { connectionId: true }, serverDtls: { connectionId: 4 } });
    expect(t.client.eventsOf('session').find((e) => e.uri === DM_URI)).toMatchObject({ resumed: false, connectionId: true });
    const location = t.client.core.location;
    t.runFor(MINUTE);
    const mark = t.net.log.length;
    t.net.rebind(t.client, NEW);
    // the application changes the value: the notification goes out from the new address
    t.client.store.set([3303, 0, 5700], 25);
    expect(t.runFor(MINUTE, () => t.notified().includes(25))).toBe(true);
    expect(t.server.endpoint!.stats.peersMoved).toBe(1);
    // the server's requests reach the client where it is now
    const read = t.server.act(t.net.now, (s) => s.read(t.net.now, ENDPOINT, TEMPERATURE_PATH));
    expect(t.runFor(MINUTE, () => t.server.events.some((e) => e.type === 'result' && e.id === read))).toBe(true);
    // a later change is notified too, and the next Update is taken in the same session
    t.client.store.set([3303, 0, 5700], 26);
    t.client.act(t.net.now, (c) => c.update(t.net.now));
    expect(t.runFor(MINUTE, () => t.client.eventsOf('updated').length > 0 && t.notified().includes(26))).toBe(true);
    t.runFor(SECOND);
    const after = withServer(t.net.log, mark);
    expect(handshakeTypes(after)).toEqual([]);
    expect(after.filter((d) => same(d.from, DM)).every((d) => same(d.to, NEW))).toBe(true);
    expect(after.filter((d) => same(d.to, DM)).every((d) => same(d.from, NEW) && d.data[0] === ContentType.tls12_cid)).toBe(true);
    expect(t.server.eventsOf('registered').length).toBe(1);
    expect(t.server.eventsOf('updated').length).toBeGreaterThan(0);
    expect(t.server.core.registration(ENDPOINT)!.location).toBe(location);
    expect(t.client.eventsOf('session').length).toBe(2); // the bootstrap server's and the LwM2M server's
  });

  it('without a Connection ID: the server does not follow; the Update fails, the client handshakes again (resumed) and registers anew', () => {
    const t = observed({});
    const oldLocation = t.client.core.location!;
    t.runFor(MINUTE);
    const mark = t.net.log.length;
    const rebindAt = t.net.now;
    t.net.rebind(t.client, NEW);
    t.client.store.set([3303, 0, 5700], 25);
    t.client.act(t.net.now, (c) => c.update(t.net.now));
    expect(t.runFor(10 * MINUTE, () => t.client.eventsOf('registered').length > 1)).toBe(true);
    // the records from the new address were not the session's: dropped, never a move
    const stats = t.server.endpoint!.stats;
    expect(stats.peersMoved).toBe(0);
    expect(stats.datagramsDropped).toBeGreaterThan(0);
    expect(t.notified()).not.toContain(25);
    expect(t.client.eventsOf('updated')).toEqual([]);
    // the Update timed out (CoAP gave up after its 4 retransmissions: at least 2+4+8+16+32 s):
    // the client closed that channel and opened a new one
    const [closed] = t.client.eventsOf('close').filter((e) => e.at > rebindAt);
    const reopened = t.client.opened.filter((o) => o.at > rebindAt);
    expect(reopened).toMatchObject([{ uri: DM_URI }]);
    expect(reopened[0]!.at).toBe(closed!.at);
    expect(closed!.at - rebindAt).toBeGreaterThanOrEqual(62 * SECOND);
    // a new handshake from the new address: abbreviated, the blob kept in flash still holds
    expect(handshakeTypes(withServer(t.net.log, mark, NEW).filter((d) => same(d.from, NEW)))).toEqual([HandshakeType.client_hello, HandshakeType.client_hello]);
    expect(t.client.eventsOf('session').at(-1)).toMatchObject({ uri: DM_URI, resumed: true, connectionId: false });
    // a fresh Register replaced the registration; the server must observe again
    expect(t.server.eventsOf('deregistered').map((e) => e.registration.location)).toEqual([oldLocation]);
    expect(t.server.eventsOf('registered').length).toBe(2);
    const again = t.server.act(t.net.now, (s) => s.observe(t.net.now, ENDPOINT, TEMPERATURE_PATH, { contentFormat: ContentFormat.SenmlCbor }));
    expect(t.runFor(MINUTE, () => t.server.events.some((e) => e.type === 'result' && e.id === again))).toBe(true);
    t.client.store.set([3303, 0, 5700], 27);
    expect(t.runFor(MINUTE, () => t.server.eventsOf('notification').some((e) => e.id === again && e.records[0]?.value === 27))).toBe(true);
  });
});

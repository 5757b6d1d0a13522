/**
 * No secrets in events or logs (a house rule), checked end to end on the virtual clock: a full
 * bootstrap and register, with PSK and with raw public keys, polls every event of the client,
 * the bootstrap server and the server and collects every log line; none may hold a configured
 * key (PSK or private key) in any form it could take (hex once events are JSON-serialised with
 * bytes as hex, base64, base64url, or the key's own text). The driver fetches credentials and
 * the state to persist from the core when it needs them; that state does hold the keys. The
 * LwM2M 1.1 features too: a firmware download on a channel of its own, Send, composite
 * operations, Write-Attributes, queue mode.
 */
import { describe, expect, it } from 'vitest';
import { base64Encode, base64UrlEncode } from '../lib/bytes/base64.js';
import { fromHex, toHex } from '../lib/bytes/util.js';
import { nodeCrypto } from '../lib/crypto/node.js';
import { memoryKeyStore, pskMap } from '../lib/dtls/keystore.js';
import { deviceStore } from '../lib/lwm2m/device.js';
import { DEVICE, SECURITY, SERVER } from '../lib/lwm2m/objects.js';
import { SimNetwork } from '../transports/sim.js';
import { SimBootstrapServer, SimLwm2mClient, SimLwm2mServer } from '../transports/sim-lwm2m.js';
import { BS, BS_PSK, DEVICE_ADDRESS, DM, DM_PSK, ENDPOINT, MINUTE, simSetup } from './helpers/lwm2m-sim-setup.js';

/** JSON with bytes as hex and errors as their name, code and message. */
function serialise(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) => {
    if (v instanceof Uint8Array) return toHex(v);
    if (v instanceof Error) return { name: v.name, code: (v as { code?: unknown }).code, message: v.message };
    if (typeof v === 'bigint') return v.toString();
    return v;
  });
}

/** Every form a key could take in text: hex, base64 (both alphabets), and its own text when printable. */
function forms(key: Uint8Array): string[] {
  const out = [toHex(key), base64Encode(key).replace(/=+$/, ''), base64UrlEncode(key)];
  const text = String.fromCharCode(...key);
  if (/^[\x20-\x7e]{4,}$/.test(text)) out.push(text);
  return out;
}

/** The key forms found in `text`. */
function leaks(text: string, keys: Uint8Array[]): string[] {
  return keys.flatMap(forms).filter((f) => text.includes(f));
}

/** Every byte string of 16 bytes or more reachable from `root` (a DTLS session: its traffic keys, master secret, ...). */
function byteStrings(root: unknown): Uint8Array[] {
  const out: Uint8Array[] = [];
  const seen = new Set<unknown>();
  const walk = (x: unknown): void => {
    if (x === null || typeof x !== 'object' || seen.has(x)) return;
    seen.add(x);
    if (x instanceof Uint8Array) {
      if (x.length >= 16) out.push(x);
      return;
    }
    const values = x instanceof Map ? [...x.values()] : x instanceof Set ? [...x] : Object.values(x);
    for (const v of values) walk(v);
  };
  walk(root);
  return out;
}

interface Observed {
  events: unknown[];
  logs: string[];
}

describe('LwM2M: no key material in any event or log line', () => {
  it('PSK: bootstrap and register; the keys reach the DTLS layer and the persisted state only', () => {
    const logs: string[] = [];
    const t = simSetup({ log: (who, line) => logs.push(`${who}: ${line}`) });
    t.client.act(0, (c) => c.start(0));
    expect(t.runFor(5 * MINUTE, () => t.client.eventsOf('registered').length > 0)).toBe(true);
    // a device-management read and a de-register, for their events and log lines too
    const read = t.server.act(t.net.now, (s) => s.read(t.net.now, ENDPOINT, '/3/0'));
    t.runFor(MINUTE, () => t.server.events.some((e) => e.type === 'result' && e.id === read));
    t.client.act(t.net.now, (c) => c.stop(t.net.now));
    expect(t.runFor(MINUTE, () => t.client.eventsOf('stopped').length > 0)).toBe(true);

    const keys = [BS_PSK.key, DM_PSK.key];
    const seen: Observed = { events: [...t.client.events, ...t.server.events, ...t.bs!.events], logs };
    expect(seen.events.length).toBeGreaterThan(10);
    expect(logs.some((l) => l.startsWith('client: ')) && logs.some((l) => l.startsWith('server: ')) && logs.some((l) => l.startsWith('bootstrap: '))).toBe(true);
    expect(leaks(serialise(seen.events), keys)).toEqual([]);
    expect(leaks(logs.join('\n'), keys)).toEqual([]);
    // a registration names its DTLS session (the driver's handle), which holds the session's
    // keys; serialised from an event, it shows none of them
    const sessions = t.server.eventsOf('registered').map((e) => e.registration.channel);
    expect(sessions.length).toBe(1);
    const sessionBytes = sessions.flatMap(byteStrings);
    expect(sessionBytes.length).toBeGreaterThan(0);
    const serverEvents = serialise(t.server.events);
    expect(sessionBytes.map(toHex).filter((h) => serverEvents.includes(h))).toEqual([]);
    // the events say what to do without the credentials
    expect(t.client.eventsOf('open').map((e) => e.mode)).toEqual(['psk', 'psk']);
    expect(t.client.eventsOf('persist')).toEqual([{ type: 'persist', at: expect.any(Number) }]);
    // the detector works: the persisted state (fetched with persistentState()) holds the provisioned key
    expect(leaks(serialise(t.client.saved), [DM_PSK.key]).length).toBeGreaterThan(0);
    // and a closed channel's credentials are gone
    for (const e of t.client.eventsOf('open')) expect(t.client.core.channelSecurity(e.channel)).toBeUndefined();
  });

  it('the 1.1 features (a firmware download on a DTLS session of its own, Send, composite, queue mode): no key in any event or log line', () => {
    const logs: string[] = [];
    const t = simSetup({ log: (who, line) => logs.push(`${who}: ${line}`), client: { queueMode: true, firmware: { install: () => true } } });
    const pkg = t.net.add(new SimLwm2mServer({ address: '10.0.0.3', port: 5684 }, {}, { psk: pskMap([[DM_PSK.identity, DM_PSK.key]]) }));
    pkg.core.publish('/fw.bin', new Uint8Array(5000).fill(7));
    t.client.act(0, (c) => c.start(0));
    expect(t.runFor(5 * MINUTE, () => t.client.eventsOf('registered').length > 0)).toBe(true);
    const done = (id: number) => () => t.server.events.some((e) => (e.type === 'result' || e.type === 'failed') && e.id === id);
    const run = (f: () => number) => expect(t.runFor(MINUTE, done(t.server.act(t.net.now, f)))).toBe(true);
    run(() => t.server.core.write(t.net.now, ENDPOINT, '/5/0/1', [{ path: [5, 0, 1], value: 'coaps://10.0.0.3:5684/fw.bin' }]));
    expect(t.runFor(MINUTE, () => t.store.get([5, 0, 3]) === 2)).toBe(true);
    run(() => t.server.core.readComposite(t.net.now, ENDPOINT, ['/3/0/9', '/1/0']));
    run(() => t.server.core.writeAttributes(t.net.now, ENDPOINT, '/3/0/9', { pmin: 5 }));
    t.client.act(t.net.now, (c) => c.send(t.net.now, ['/3/0/9']));
    expect(t.runFor(3 * MINUTE, () => t.client.eventsOf('sleeping').length > 0)).toBe(true);

    const keys = [BS_PSK.key, DM_PSK.key];
    const events = [...t.client.events, ...t.server.events, ...t.bs!.events, ...pkg.events];
    expect(events.some((e) => (e as { type: string }).type === 'send')).toBe(true);
    expect(leaks(serialise(events), keys)).toEqual([]);
    expect(leaks(logs.join('\n'), keys)).toEqual([]);
    // three channels (bootstrap, registration, download), each opened with the mode only
    expect(t.client.eventsOf('open').map((e) => [e.uri, e.mode])).toEqual([
      ['coaps://10.0.0.1:5684', 'psk'],
      ['coaps://10.0.0.2:5684', 'psk'],
      ['coaps://10.0.0.3:5684/fw.bin', 'psk'],
    ]);
  });

  it('raw public keys: no private key of the client or the servers in any event or log line', () => {
    const scalar = (h: string) => fromHex(h);
    const clientScalar = scalar('41c1cb6b51247a144321435b7a80e714896a33bbad7294ca401455a194a949fa');
    const bsScalar = scalar('d9e2707a72da6a0504995c86eddbe3efc7f1cd74838f7570c8072d0a76261bd4');
    const dmScalar = scalar('1e99423a4ed27608a15a2616a2b0e9e52ced330ac530edcc32c8ffc6a526aedd');
    const [clientKey, bsKey, dmKey] = [clientScalar, bsScalar, dmScalar].map((d) => nodeCrypto.p256.privateKeyFromScalar(d)) as [ReturnType<typeof nodeCrypto.p256.privateKeyFromScalar>, ReturnType<typeof nodeCrypto.p256.privateKeyFromScalar>, ReturnType<typeof nodeCrypto.p256.privateKeyFromScalar>];
    const clientSpki = clientKey.publicKey.spki;
    const logs: string[] = [];
    const log = (who: string) => (line: string) => logs.push(`${who}: ${line}`);
    const net = new SimNetwork({}, 3);
    const trustClient = () => memoryKeyStore({ rawPublicKeys: [[clientSpki, ENDPOINT]] });
    const server = net.add(
      new SimLwm2mServer(DM, { objects: [SECURITY, SERVER, DEVICE], log: log('server') }, { ecdhe: { key: dmKey, rawPublicKey: true }, clientAuth: 'required', keyStore: trustClient() }),
    );
    const account = { shortServerId: 7, uri: `coaps://${DM.address}:${DM.port}`, lifetimeS: 300, security: { mode: 'rpk' as const, publicKey: clientSpki, privateKey: clientScalar, serverKey: dmKey.publicKey.spki } };
    const bs = net.add(
      new SimBootstrapServer(
        BS,
        { endpoints: { [ENDPOINT]: { rawPublicKey: clientSpki, servers: [account] } }, log: log('bootstrap') },
        { ecdhe: { key: bsKey, rawPublicKey: true }, clientAuth: 'required', keyStore: trustClient() },
      ),
    );
    const client = net.add(
      new SimLwm2mClient(DEVICE_ADDRESS, {
        endpoint: ENDPOINT,
        store: deviceStore(),
        bootstrap: { uri: `coaps://${BS.address}:${BS.port}`, security: { mode: 'rpk', publicKey: clientSpki, privateKey: clientScalar, serverKey: bsKey.publicKey.spki } },
        persist: true,
        log: log('client'),
      }),
    );
    client.act(0, (c) => c.start(0));
    net.run(5 * MINUTE, () => client.eventsOf('registered').length > 0);
    expect(client.eventsOf('registered')).toHaveLength(1);
    expect(server.eventsOf('registered')[0]?.registration.identity).toMatchObject({ kind: 'rpk' });
    client.act(net.now, (c) => c.stop(net.now));
    net.run(net.now + MINUTE, () => client.eventsOf('stopped').length > 0);

    const keys = [clientScalar, bsScalar, dmScalar];
    expect(leaks(serialise([...client.events, ...server.events, ...bs.events]), keys)).toEqual([]);
    expect(leaks(logs.join('\n'), keys)).toEqual([]);
    expect(client.eventsOf('open').map((e) => e.mode)).toEqual(['rpk', 'rpk']);
    expect(leaks(serialise(client.saved), [clientScalar]).length).toBeGreaterThan(0);
  });
});

/**
 * The Node LwM2M client keeps its DTLS session across a process restart, over real UDP on
 * 127.0.0.1: the first run bootstraps and registers (a full handshake with a Connection ID),
 * FileResumptionStorage writes the blob, and a new client instance with the same files (a
 * restarted process) sends one abbreviated handshake, then registers.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pskMap } from '../lib/dtls/keystore.js';
import type { PeerAddress } from '../lib/dtls/keystore.js';
import { decodeClientResumption } from '../lib/dtls/resumption.js';
import { ContentType, HandshakeType } from '../lib/dtls/wire/constants.js';
import { decodeHandshakeFragments } from '../lib/dtls/wire/handshake.js';
import { splitRecords } from '../lib/dtls/wire/record.js';
import { BootstrapServer, deviceStore, FileResumptionStorage, FileStorage, Lwm2mClient, Lwm2mServer, type Lwm2mClientOptions } from '../transports/lwm2m-node.js';

const enc = (s: string) => new TextEncoder().encode(s);
const FAST = { dtls: { retransmission: { initialMs: 150, maxMs: 1200, maxRetransmits: 12 } }, transmission: { ackTimeoutMs: 200, maxRetransmit: 8, emptyAckDelayMs: 100 } };

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

type SessionEvent = { uri: string; resumed: boolean; connectionId: boolean };

/** The epoch-0 handshake message types of a datagram. */
const handshakeTypes = (d: Uint8Array): number[] =>
  splitRecords(d).flatMap((r) => (r.epoch === 0 && r.type === ContentType.handshake ? decodeHandshakeFragments(r.fragment).map((f) => f.msgType) : []));

describe('LwM2M client on Node: a restart resumes the DTLS session (loopback)', () => {
  it('the restarted client sends an abbreviated handshake, with a Connection ID, and registers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coaps-lwm2m-sessions-'));
    closers.push(() => rmSync(dir, { recursive: true, force: true }));
    const endpoint = `urn:test:resume-${Math.random().toString(16).slice(2, 8)}`;
    const bsPsk = { identity: enc(`${endpoint}-bs`), key: enc('bootstrap-secret') };
    const dmPsk = { identity: enc(endpoint), key: enc('dm-secret-123') };
    let registrations = 0;
    const server = new Lwm2mServer({ dtls: { psk: pskMap([[dmPsk.identity, dmPsk.key]]), connectionId: 4, ...FAST.dtls }, transmission: FAST.transmission });
    await server.listen(0);
    closers.push(() => server.close());
    const dmPort = server.address().port;
    const dmUri = `coaps://127.0.0.1:${dmPort}`;
    const bs = new BootstrapServer({
      dtls: { psk: pskMap([[bsPsk.identity, bsPsk.key]]), ...FAST.dtls },
      endpoints: { [endpoint]: { pskIdentity: bsPsk.identity, servers: [{ shortServerId: 101, uri: dmUri, lifetimeS: 60, security: { mode: 'psk', ...dmPsk } }] } },
      transmission: FAST.transmission,
    });
    await bs.listen(0);
    closers.push(() => bs.close());

    const files = { state: join(dir, 'state.json'), sessions: join(dir, 'sessions.json') };
    const boot = (): { client: Lwm2mClient; sessions: SessionEvent[]; wire: { in: number[]; out: number[] } } => {
      const wire = { in: [] as number[], out: [] as number[] };
      const trace = (dir: 'in' | 'out', peer: PeerAddress, d: Uint8Array) => {
        if (peer.port === dmPort) wire[dir].push(...handshakeTypes(d));
      };
      const opts: Lwm2mClientOptions = {
        endpoint,
        store: deviceStore(),
        bootstrap: { uri: `coaps://127.0.0.1:${bs.address().port}`, security: { mode: 'psk', ...bsPsk } },
        storage: new FileStorage(files.state),
        sessionResumption: new FileResumptionStorage(files.sessions),
        connectionId: true,
        ...FAST,
        dtls: { ...FAST.dtls, trace },
      };
      const client = new Lwm2mClient(opts);
      const sessions: SessionEvent[] = [];
      client.on('session', (s: SessionEvent) => sessions.push(s));
      return { client, sessions, wire };
    };
    server.on('registered', () => registrations++);

    const first = boot();
    await first.client.start();
    expect(first.sessions).toEqual([
      { uri: `coaps://127.0.0.1:${bs.address().port}`, resumed: false, connectionId: false },
      { uri: dmUri, resumed: false, connectionId: true },
    ]);
    await first.client.stop(); // the process ends (stop() waits for the blob's write)
    const kept = JSON.parse(readFileSync(files.sessions, 'utf8')) as { version: number; sessions: Record<string, string> };
    expect(kept.version).toBe(1);
    expect(Object.keys(kept.sessions).sort()).toEqual([`coaps://127.0.0.1:${bs.address().port}`, dmUri].sort());
    expect(statSync(files.sessions).mode & 0o777).toBe(0o600);

    // a new process: the configuration from state.json, the session from sessions.json
    const again = boot();
    closers.push(() => again.client.stop());
    const registered = new Promise<void>((r) => server.once('registered', () => r()));
    await again.client.start();
    await registered;
    expect(again.sessions).toEqual([{ uri: dmUri, resumed: true, connectionId: true }]);
    // on the wire: ClientHello twice (the cookie), HelloVerifyRequest, ServerHello; no key exchange
    expect(first.wire.out).toContain(HandshakeType.client_key_exchange);
    expect(again.wire.out).toEqual([HandshakeType.client_hello, HandshakeType.client_hello]);
    expect(again.wire.in).toEqual([HandshakeType.hello_verify_request, HandshakeType.server_hello]);
    expect(server.registration(endpoint)?.identity).toMatchObject({ kind: 'psk', identity: dmPsk.identity });
    // the same session resumed: the blob on disk did not change
    const after = JSON.parse(readFileSync(files.sessions, 'utf8')) as { sessions: Record<string, string> };
    expect(after.sessions[dmUri]).toBe(kept.sessions[dmUri]);
    expect(decodeClientResumption(Uint8Array.from(Buffer.from(after.sessions[dmUri]!, 'hex'))).session.peer).toMatchObject({ kind: 'psk' });
    // and it works
    expect((await server.read(endpoint, '/3/0/0'))[0]?.value).toBe('coaps');
    await again.client.update();
    expect(registrations).toBe(2);
  });
});

describe('FileResumptionStorage', () => {
  it('keeps one blob per server URI, forgets on undefined, and reads a torn or foreign file as empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coaps-resumption-'));
    closers.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'sub', 'sessions.json');
    const a = new FileResumptionStorage(path);
    expect(await a.load('coaps://a')).toBeUndefined();
    await Promise.all([a.save('coaps://a', Uint8Array.of(1, 2)), a.save('coaps://b', Uint8Array.of(3))]);
    await a.save('coaps://a', undefined);
    const b = new FileResumptionStorage(path);
    expect(await b.load('coaps://a')).toBeUndefined();
    expect(await b.load('coaps://b')).toEqual(Uint8Array.of(3));
    for (const text of ['{"version":1,"sessions":{"coaps://b":"0', '{"version":2,"sessions":{"coaps://b":"03"}}', '{"version":1,"sessions":{"coaps://b":"zz"}}']) {
      writeFileSync(path, text);
      expect(await new FileResumptionStorage(path).load('coaps://b')).toBeUndefined();
    }
  });
});

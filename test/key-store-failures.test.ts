/**
 * Key-store failures are visible (issue 9): a lookup that throws or rejects ends that
 * handshake with internal_error (80) and a typed `key-store-error` event carrying the cause and
 * no key material; an unknown identity keeps looking like a wrong key on the wire
 * (bad_record_mac), with no such event. Other sessions go on.
 */
import { describe, expect, it } from 'vitest';
import { toHex } from '../lib/bytes/util.js';
import type { KeyStoreErrorEvent } from '../lib/dtls/endpoint-events.js';
import { connect, createServer } from '../lib/entry/dtls.js';
import type { KeyStoreErrorInfo } from '../transports/node-dgram.js';
import { AlertDescription } from '../lib/dtls/wire/constants.js';
import { fromHex } from '../lib/bytes/util.js';
import { nodeCrypto } from '../lib/crypto/node.js';
import { memoryKeyStore } from '../lib/dtls/keystore.js';
import { enc, IDENTITY, KEY, Pair } from './helpers/harness.js';

const outage = new Error('connection to the key database refused');

function run(p: Pair, port: number, identity = IDENTITY) {
  const c = p.addClient(port, p.opts.client?.ecdhe ? {} : { psk: { identity, key: KEY } });
  c.conn.start(p.net.now);
  return c;
}

const keyStoreErrors = (p: Pair) => p.serverEvents.filter((e): e is KeyStoreErrorEvent => e.type === 'key-store-error');
const clientAlert = (c: ReturnType<typeof run>) => {
  const f = c.events.find((e) => e.type === 'failed');
  return f?.type === 'failed' ? [f.error.code, f.error.alert] : undefined;
};

describe('a PSK lookup that fails', () => {
  for (const how of ['throws', 'rejects'] as const) {
    it(`${how}: internal_error to the client, KEY_STORE_FAILURE and a key-store-error event with the cause`, async () => {
      const p = new Pair({ server: { psk: how === 'throws' ? () => { throw outage; } : () => Promise.reject(outage) } });
      const c = run(p, 40001);
      await p.runAsync(10_000, () => p.settled(c));
      expect(clientAlert(c)).toEqual(['PEER_ALERT', AlertDescription.internal_error]);
      const [ev, ...more] = keyStoreErrors(p);
      expect(more).toEqual([]);
      expect(ev).toMatchObject({ type: 'key-store-error', lookup: 'psk', cause: outage, peer: { port: 40001 } });
      expect(toHex(ev!.identity!)).toBe(toHex(IDENTITY));
      const failed = p.serverEvents.find((e) => e.type === 'failed');
      expect(failed?.type === 'failed' && failed.error.code).toBe('KEY_STORE_FAILURE');
      expect(failed?.type === 'failed' && failed.error.cause).toBe(outage);
      expect(failed?.type === 'failed' && failed.error.message).toContain('connection to the key database refused');
      expect(p.endpoint.handshakesInProgress).toBe(0);
    });
  }

  it('an unknown identity is still a wrong key on the wire (bad_record_mac), with no key-store-error', () => {
    const p = new Pair();
    const c = run(p, 40002, enc('nobody'));
    p.run(10_000, () => p.settled(c));
    expect(clientAlert(c)).toEqual(['PEER_ALERT', AlertDescription.bad_record_mac]);
    expect(keyStoreErrors(p)).toEqual([]);
  });

  it('only the sessions whose lookup failed end; the others connect', async () => {
    const p = new Pair({
      server: {
        psk: async (identity) => {
          if (toHex(identity) === toHex(enc('broken'))) throw outage;
          return KEY;
        },
      },
    });
    const bad = run(p, 40003, enc('broken'));
    const good = run(p, 40004);
    await p.runAsync(10_000, () => p.has(good, 'connected') && p.has(bad, 'failed'));
    expect(p.has(good, 'connected')).toBe(true);
    expect(clientAlert(bad)).toEqual(['PEER_ALERT', AlertDescription.internal_error]);
    expect(keyStoreErrors(p).map((e) => e.peer.port)).toEqual([40003]);
  });

  it('the event and the error carry no key material', async () => {
    const secret = enc('the-psk-of-another-device');
    const p = new Pair({ server: { psk: () => { throw new Error(`lookup failed after reading ${secret.length} bytes`); } } });
    const c = run(p, 40005);
    await p.runAsync(10_000, () => p.settled(c));
    const text = JSON.stringify(p.serverEvents, (_k, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v instanceof Error ? v.message : v));
    expect(text).not.toContain(toHex(KEY));
    expect(text).not.toContain(toHex(secret));
  });
});

describe('a raw public key lookup that fails (ECDHE, client authentication)', () => {
  // the tinydtls example key pairs
  const serverKey = nodeCrypto.p256.privateKeyFromScalar(fromHex('d9e2707a72da6a0504995c86eddbe3efc7f1cd74838f7570c8072d0a76261bd4'));
  const clientKey = nodeCrypto.p256.privateKeyFromScalar(fromHex('41c1cb6b51247a144321435b7a80e714896a33bbad7294ca401455a194a949fa'));
  for (const how of ['throws', 'rejects'] as const) {
    it(`${how}: internal_error to the client and a key-store-error (lookup 'rpk')`, async () => {
      const p = new Pair({
        server: {
          psk: undefined,
          ecdhe: { key: serverKey, rawPublicKey: true },
          clientAuth: 'required',
          keyStore: { rawPublicKey: how === 'throws' ? () => { throw outage; } : () => Promise.reject(outage) },
        },
        client: { psk: undefined, ecdhe: { key: clientKey, rawPublicKey: true }, acceptPeerCertificateTypes: [2] },
        clientStore: memoryKeyStore({ rawPublicKeys: [[serverKey.publicKey.spki, 'server']] }),
      });
      const c = run(p, 40010);
      await p.runAsync(60_000, () => p.settled(c));
      expect(clientAlert(c)).toEqual(['PEER_ALERT', AlertDescription.internal_error]);
      expect(keyStoreErrors(p).map((e) => [e.lookup, e.cause])).toEqual([['rpk', outage]]);
      const failed = p.serverEvents.find((e) => e.type === 'failed');
      expect(failed?.type === 'failed' && failed.error.code).toBe('KEY_STORE_FAILURE');
    });
  }
});

describe('the Node driver', () => {
  it("emits 'keyStoreError' and 'handshakeError', and the client sees internal_error", async () => {
    const server = createServer({ psk: () => Promise.reject(outage) });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const seen: KeyStoreErrorInfo[] = [];
    const handshakeErrors: string[] = [];
    server.on('keyStoreError', (i: KeyStoreErrorInfo) => seen.push(i));
    server.on('handshakeError', (e: { code: string }) => handshakeErrors.push(e.code));
    try {
      const err = await connect({ host: '127.0.0.1', port: server.address().port, psk: { identity: IDENTITY, key: KEY } }).then(
        () => undefined,
        (e: unknown) => e as { code: string; alert: number },
      );
      expect(err?.code).toBe('PEER_ALERT');
      expect(err?.alert).toBe(AlertDescription.internal_error);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ lookup: 'psk', cause: outage });
      expect(handshakeErrors).toEqual(['KEY_STORE_FAILURE']);
    } finally {
      await server.close();
    }
  });
});

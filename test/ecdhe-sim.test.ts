import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../lib/crypto/node.js';
import { memoryKeyStore } from '../lib/dtls/keystore.js';
import { CipherSuite } from '../lib/dtls/wire/constants.js';
import { fromHex } from '../lib/bytes/util.js';
import { dec, enc, handshake, Pair } from './helpers/harness.js';
import { tinydtlsKeys } from './helpers/tinydtls.js';

// The tinydtls example key pairs (test/fixtures/tinydtls/B_*.json).
const TINYDTLS = tinydtlsKeys();
const serverKey = nodeCrypto.p256.privateKeyFromScalar(fromHex(TINYDTLS.server_priv_hex));
const clientKey = nodeCrypto.p256.privateKeyFromScalar(fromHex(TINYDTLS.client_priv_hex));
const strangerKey = nodeCrypto.p256.privateKeyFromScalar(nodeCrypto.random(32));

function rpkPair(o: { clientAuth?: 'none' | 'optional' | 'required'; trustServer?: boolean; trustClient?: boolean; clientKey?: typeof clientKey } = {}) {
  return new Pair({
    server: {
      psk: undefined,
      ecdhe: { key: serverKey, rawPublicKey: true },
      clientAuth: o.clientAuth ?? 'required',
      keyStore: memoryKeyStore({ rawPublicKeys: o.trustClient === false ? [] : [[clientKey.publicKey.spki, 'tinydtls-client']] }),
    },
    client: { psk: undefined, ecdhe: { key: o.clientKey ?? clientKey, rawPublicKey: true }, acceptPeerCertificateTypes: [2] },
    clientStore: memoryKeyStore({ rawPublicKeys: o.trustServer === false ? [] : [[serverKey.publicKey.spki, 'tinydtls-server']] }),
  });
}

describe('ECDHE-ECDSA with raw public keys (RFC 7250) on a virtual clock', () => {
  it('mutual authentication: both identities are exposed', () => {
    const p = rpkPair();
    const c = handshake(p);
    const ce = c.events.find((e) => e.type === 'connected');
    expect(ce?.type === 'connected' && ce.session.cipherSuite).toBe(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
    expect(ce?.type === 'connected' && ce.session.identity).toMatchObject({ kind: 'rpk', name: 'tinydtls-server' });
    const se = p.serverEvents.find((e) => e.type === 'connected');
    expect(se?.type === 'connected' && se.session.identity).toMatchObject({ kind: 'rpk', name: 'tinydtls-client' });
    c.conn.send(p.net.now, enc('hi'));
    p.run(p.net.now + 100, () => p.serverHas('data'));
    const d = p.serverEvents.find((e) => e.type === 'data');
    expect(d?.type === 'data' && dec(d.data)).toBe('hi');
  });

  it('one-way authentication (no CertificateRequest)', () => {
    const p = rpkPair({ clientAuth: 'none' });
    const c = handshake(p);
    expect(p.has(c, 'connected')).toBe(true);
    const se = p.serverEvents.find((e) => e.type === 'connected');
    expect(se?.type === 'connected' && se.session.identity.kind).toBe('anonymous');
  });

  it('an untrusted server key fails the client with certificate_unknown', () => {
    const p = rpkPair({ trustServer: false });
    const c = handshake(p);
    const f = c.events.find((e) => e.type === 'failed');
    expect(f?.type === 'failed' && f.error.code).toBe('CERTIFICATE_UNKNOWN');
    p.run(p.net.now + 100, () => p.serverHas('failed'));
    const sf = p.serverEvents.find((e) => e.type === 'failed');
    expect(sf?.type === 'failed' && sf.error.code).toBe('PEER_ALERT');
    expect(sf?.type === 'failed' && sf.error.alert).toBe(46);
  });

  it('an untrusted client key fails the server with certificate_unknown', () => {
    const p = rpkPair({ clientKey: strangerKey });
    const c = handshake(p);
    const sf = p.serverEvents.find((e) => e.type === 'failed');
    expect(sf?.type === 'failed' && sf.error.code).toBe('CERTIFICATE_UNKNOWN');
    p.run(p.net.now + 100, () => p.has(c, 'failed'));
    const f = c.events.find((e) => e.type === 'failed');
    expect(f?.type === 'failed' && f.error.alert).toBe(46);
  });

  it('survives loss of every flight in turn', () => {
    for (let i = 0; i < 6; i++) {
      const p = new Pair({ ...rpkPair().opts, filter: (d) => d.index !== i });
      const c = handshake(p);
      expect(p.has(c, 'connected'), `flight ${i}`).toBe(true);
    }
  });

  it('the server prefers its own suite order when the client offers both', () => {
    const mk = (suites: number[]) =>
      new Pair({
        server: { ecdhe: { key: serverKey, rawPublicKey: true }, suites },
        client: { ecdhe: { key: clientKey, rawPublicKey: true }, acceptPeerCertificateTypes: [2] },
        clientStore: memoryKeyStore({ rawPublicKeys: [[serverKey.publicKey.spki, 's']] }),
      });
    for (const suites of [[0xc0ae, 0xc0a8], [0xc0a8, 0xc0ae]]) {
      const p = mk(suites);
      const c = handshake(p);
      const ce = c.events.find((e) => e.type === 'connected');
      expect(ce?.type === 'connected' && ce.session.cipherSuite).toBe(suites[0]);
    }
  });
});

/** Finds a handshake message of `type` in an epoch-0 datagram; returns its body offset and length. */
function findMessage(d: Uint8Array, type: number): { at: number; length: number } | undefined {
  let off = 0;
  while (off + 13 <= d.length) {
    const len = (d[off + 11]! << 8) | d[off + 12]!;
    if (d[off] === 22 && d[off + 3] === 0 && d[off + 4] === 0) {
      let h = off + 13;
      while (h + 12 <= off + 13 + len) {
        const fl = (d[h + 9]! << 16) | (d[h + 10]! << 8) | d[h + 11]!;
        if (d[h] === type) return { at: h + 12, length: fl };
        h += 12 + fl;
      }
    }
    off += 13 + len;
  }
  return undefined;
}

function flipLowBit(d: Uint8Array, at: number): void {
  d[at] = d[at]! ^ 0x01;
}

describe('forged signatures fail the handshake with decrypt_error and a typed error', () => {
  it('a forged ServerKeyExchange signature', () => {
    let tampered = 0;
    const base = rpkPair().opts;
    const p = new Pair({
      ...base,
      filter: (d) => {
        const m = findMessage(d.data, 12);
        if (m && d.from.port === 5684) {
          flipLowBit(d.data, m.at + m.length - 5); // inside the DER signature
          tampered++;
        }
        return true;
      },
    });
    const c = handshake(p);
    p.run(p.net.now + 100, () => p.serverHas('failed'));
    expect(tampered).toBeGreaterThan(0);
    const f = c.events.find((e) => e.type === 'failed');
    expect(f?.type === 'failed' && f.error.code).toBe('BAD_SIGNATURE');
    expect(f?.type === 'failed' && f.error.alert).toBe(51);
    const sf = p.serverEvents.find((e) => e.type === 'failed');
    expect(sf?.type === 'failed' && sf.error.code).toBe('PEER_ALERT');
    expect(sf?.type === 'failed' && sf.error.alert).toBe(51);
  });

  it('a forged CertificateVerify, and the server goes on serving other clients', () => {
    const base = rpkPair().opts;
    const p = new Pair({
      ...base,
      filter: (d) => {
        const m = findMessage(d.data, 15);
        if (m && d.from.port === 40000) flipLowBit(d.data, m.at + m.length - 3);
        return true;
      },
    });
    const bad = handshake(p);
    p.run(p.net.now + 100, () => p.has(bad, 'failed'));
    const sf = p.serverEvents.find((e) => e.type === 'failed');
    expect(sf?.type === 'failed' && sf.error.code).toBe('BAD_SIGNATURE');
    const f = bad.events.find((e) => e.type === 'failed');
    expect(f?.type === 'failed' && f.error.alert).toBe(51);
    // another client (untouched port) completes on the same endpoint
    const good = p.addClient(40001);
    good.conn.start(p.net.now);
    p.run(p.net.now + 60_000, () => p.has(good, 'connected'));
    expect(p.has(good, 'connected')).toBe(true);
  });

  it('a ServerKeyExchange signed by another key (a man in the middle) is refused', () => {
    // the client trusts the real server key; the endpoint signs with a stranger key
    const p = new Pair({
      server: { ecdhe: { key: strangerKey, rawPublicKey: true }, psk: undefined },
      client: { psk: undefined, acceptPeerCertificateTypes: [2] },
      clientStore: memoryKeyStore({ rawPublicKeys: [[serverKey.publicKey.spki, 'server']] }),
    });
    const c = handshake(p);
    const f = c.events.find((e) => e.type === 'failed');
    expect(f?.type === 'failed' && f.error.code).toBe('CERTIFICATE_UNKNOWN');
  });
});

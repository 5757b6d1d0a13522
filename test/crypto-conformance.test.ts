/**
 * One suite, run against every CryptoProvider (the node:crypto one and the pure-JS one): the
 * same known answers, the same rejections, and interoperation with node:crypto / OpenSSL.
 *
 * Vectors:
 * - RFC 3610 §8 Packet Vectors #1..#3 (AES-128, M = 8, L = 2: 13-byte nonces).
 * - RFC 4231 §4.2, §4.3, §4.7 HMAC-SHA-256 test cases 1, 2 and 6.
 * - FIPS 180-2 Appendix B SHA-256 examples (one block, two blocks, one million "a"), and "".
 * - P-256: the PKI fixtures made by OpenSSL (test/fixtures/pki), the tinydtls test scalars
 *   (test/fixtures/tinydtls/B_*.json), signatures made by node:crypto (OpenSSL).
 */
import {
  createECDH,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  randomFillSync,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { concat, fromHex, toHex, utf8 } from '../lib/bytes/util.js';
import { nodeCrypto } from '../lib/crypto/node.js';
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { CCM8_TAG_LENGTH } from '../lib/crypto/provider.js';
import { createPureCrypto } from '../lib/crypto/pure.js';
import { memoryKeyStore } from '../lib/dtls/keystore.js';
import { CipherSuite } from '../lib/dtls/wire/constants.js';
import { listFixtures, readFixture } from './helpers/fixtures.js';
import { dec, enc, Pair } from './helpers/harness.js';
import { tinydtlsKeys } from './helpers/tinydtls.js';
import { counting, flipBit } from './helpers/bytes.js';
import { RFC3610_AAD, RFC3610_KEY, RFC3610_VECTORS } from './helpers/rfc3610.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');

const nodeRandom = (n: number): Uint8Array => randomFillSync(new Uint8Array(n));
const pureCrypto = createPureCrypto(nodeRandom);
const PROVIDERS: Array<[string, CryptoProvider]> = [
  ['node', nodeCrypto],
  ['pure', pureCrypto],
];
const other = (c: CryptoProvider): CryptoProvider => (c === nodeCrypto ? pureCrypto : nodeCrypto);

/** secp256r1 group order. */
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

function derInt(x: bigint): Uint8Array {
  let hex = x.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let b = fromHex(hex);
  if (b[0]! & 0x80) b = concat(new Uint8Array([0]), b);
  return concat(new Uint8Array([0x02, b.length]), b);
}

function derSig(r: bigint, s: bigint): Uint8Array {
  const body = concat(derInt(r), derInt(s));
  return concat(new Uint8Array([0x30, body.length]), body);
}

function parseDerSig(sig: Uint8Array): { r: bigint; s: bigint } {
  expect(sig[0]).toBe(0x30);
  const rLen = sig[3]!;
  const r = BigInt('0x' + toHex(sig.subarray(4, 4 + rLen)));
  const sLen = sig[5 + rLen]!;
  const s = BigInt('0x' + toHex(sig.subarray(6 + rLen, 6 + rLen + sLen)));
  return { r, s };
}

/** An OpenSSL-made ECDSA signature (node:crypto) whose S is in the upper half of the order. */
function opensslSignature(pem: string, data: Uint8Array, high: boolean): Uint8Array {
  const sig = new Uint8Array(nodeSign('sha256', data, { key: pem, dsaEncoding: 'der' }));
  const { r, s } = parseDerSig(sig);
  // Either S is valid; OpenSSL makes both (it never normalises S), so take the other if needed.
  return s > N / 2n === high ? sig : derSig(r, N - s);
}

const keyFiles = listFixtures('pki').filter((f) => f.endsWith('.key'));
const ecKeyFiles = keyFiles.filter((f) => !f.startsWith('rsa-'));
const pem = (f: string) => readFixture(`pki/${f}`);
const spkiOfPem = (p: string) => new Uint8Array(createPublicKey(p).export({ type: 'spki', format: 'der' }));

const TINYDTLS_KEYS = tinydtlsKeys();

describe.each(PROVIDERS)('CryptoProvider conformance: %s', (name, c) => {
  it('has its name', () => {
    expect(c.name).toBe(name);
  });

  describe('AES-128-CCM_8: RFC 3610 packet vectors (13-byte nonce, 8-byte tag)', () => {
    for (const v of RFC3610_VECTORS) {
      const sealed = concat(v.ciphertext, v.tag);

      it(`${v.name}: encrypts to the published ciphertext and tag, and decrypts it`, () => {
        expect(toHex(c.ccm8Encrypt(RFC3610_KEY, v.nonce, RFC3610_AAD, v.plaintext))).toBe(toHex(sealed));
        const pt = c.ccm8Decrypt(RFC3610_KEY, v.nonce, RFC3610_AAD, sealed);
        expect(pt && toHex(pt)).toBe(toHex(v.plaintext));
      });

      it(`${v.name}: every flipped bit of ciphertext, tag, AAD, nonce or key is rejected`, () => {
        for (let bit = 0; bit < sealed.length * 8; bit++) {
          expect(c.ccm8Decrypt(RFC3610_KEY, v.nonce, RFC3610_AAD, flipBit(sealed, bit))).toBeUndefined();
        }
        for (let bit = 0; bit < RFC3610_AAD.length * 8; bit++) {
          expect(c.ccm8Decrypt(RFC3610_KEY, v.nonce, flipBit(RFC3610_AAD, bit), sealed)).toBeUndefined();
        }
        for (let bit = 0; bit < v.nonce.length * 8; bit += 7) {
          expect(c.ccm8Decrypt(RFC3610_KEY, flipBit(v.nonce, bit), RFC3610_AAD, sealed)).toBeUndefined();
        }
        for (let bit = 0; bit < 128; bit += 9) {
          expect(c.ccm8Decrypt(flipBit(RFC3610_KEY, bit), v.nonce, RFC3610_AAD, sealed)).toBeUndefined();
        }
        // The AAD is authenticated, not ignored: dropping it is a different message too.
        expect(c.ccm8Decrypt(RFC3610_KEY, v.nonce, new Uint8Array(0), sealed)).toBeUndefined();
      });

      it(`${v.name}: truncated or extended sealed data is rejected`, () => {
        expect(c.ccm8Decrypt(RFC3610_KEY, v.nonce, RFC3610_AAD, sealed.subarray(0, sealed.length - 1))).toBeUndefined();
        expect(c.ccm8Decrypt(RFC3610_KEY, v.nonce, RFC3610_AAD, concat(sealed, new Uint8Array(1)))).toBeUndefined();
        expect(c.ccm8Decrypt(RFC3610_KEY, v.nonce, RFC3610_AAD, v.tag.subarray(0, 7))).toBeUndefined();
        expect(c.ccm8Decrypt(RFC3610_KEY, v.nonce, RFC3610_AAD, new Uint8Array(0))).toBeUndefined();
      });
    }
  });

  describe('AES-128-CCM_8 with the 12-byte DTLS nonce', () => {
    const key = fromHex('000102030405060708090a0b0c0d0e0f');
    const nonce = fromHex('a0a1a2a3a4a5a6a7a8a9aaab');
    const aad = fromHex('00010000000000000017fefd0010');

    it('seals exactly what the other provider seals, at every length 0..64 and across block boundaries', () => {
      for (let n = 0; n <= 64; n++) {
        const pt = counting(0, n - 1).map((x) => x * 7);
        expect(toHex(c.ccm8Encrypt(key, nonce, aad, pt)), `length ${n}`).toBe(toHex(other(c).ccm8Encrypt(key, nonce, aad, pt)));
      }
    });

    it('round-trips, with and without AAD, from and into views of larger buffers', () => {
      const buf = randomFillSync(new Uint8Array(400));
      for (const [off, len] of [[0, 0], [3, 1], [5, 15], [7, 16], [1, 17], [11, 100], [13, 300]] as const) {
        const pt = buf.subarray(off, off + len);
        for (const a of [aad, new Uint8Array(0), buf.subarray(50, 50 + 300)]) {
          const sealed = c.ccm8Encrypt(key, nonce, a, pt);
          expect(sealed.length).toBe(len + CCM8_TAG_LENGTH);
          const frame = concat(fromHex('deadbeef'), sealed, fromHex('cafe'));
          const view = frame.subarray(4, 4 + sealed.length);
          const back = c.ccm8Decrypt(key, nonce, a, view);
          expect(back && toHex(back)).toBe(toHex(pt));
        }
      }
    });

    it('the key can be a view, and a key buffer changed in place is honoured (no stale cached key schedule)', () => {
      const pt = utf8('the same plaintext under two keys');
      const k = randomFillSync(new Uint8Array(16));
      const first = c.ccm8Encrypt(k, nonce, aad, pt);
      expect(toHex(c.ccm8Encrypt(k.slice(), nonce, aad, pt))).toBe(toHex(first));
      const big = concat(new Uint8Array(5), k, new Uint8Array(3));
      expect(toHex(c.ccm8Encrypt(big.subarray(5, 21), nonce, aad, pt))).toBe(toHex(first));
      k[15] = k[15]! ^ 1;
      const second = c.ccm8Encrypt(k, nonce, aad, pt);
      expect(toHex(second)).not.toBe(toHex(first));
      expect(toHex(second)).toBe(toHex(other(c).ccm8Encrypt(k.slice(), nonce, aad, pt)));
      expect(c.ccm8Decrypt(k, nonce, aad, first)).toBeUndefined();
      k.fill(0); // wiped in place
      expect(toHex(c.ccm8Encrypt(k, nonce, aad, pt))).toBe(toHex(other(c).ccm8Encrypt(new Uint8Array(16), nonce, aad, pt)));
    });

    it('refuses keys that are not 16 bytes and nonces outside 7..13 bytes', () => {
      expect(() => c.ccm8Encrypt(new Uint8Array(15), nonce, aad, new Uint8Array(1))).toThrow();
      expect(() => c.ccm8Encrypt(new Uint8Array(32), nonce, aad, new Uint8Array(1))).toThrow();
      expect(() => c.ccm8Encrypt(key, new Uint8Array(6), aad, new Uint8Array(1))).toThrow();
      expect(() => c.ccm8Encrypt(key, new Uint8Array(14), aad, new Uint8Array(1))).toThrow();
    });
  });

  describe('Known trap: an empty ciphertext with a forged tag', () => {
    const key = fromHex('000102030405060708090a0b0c0d0e0f');
    const nonce = fromHex('a0a1a2a3a4a5a6a7a8a9aaab');
    const aad = fromHex('00010000000000000017fefd0000');
    const genuine = nodeCrypto.ccm8Encrypt(key, nonce, aad, new Uint8Array(0));

    it('a genuine empty-plaintext seal is the 8-byte tag, opens to empty, also as a view', () => {
      const sealed = c.ccm8Encrypt(key, nonce, aad, new Uint8Array(0));
      expect(toHex(sealed)).toBe(toHex(genuine));
      expect(c.ccm8Decrypt(key, nonce, aad, sealed)?.length).toBe(0);
      const datagram = concat(fromHex('deadbeef'), genuine, fromHex('cafebabe'));
      expect(c.ccm8Decrypt(key, nonce, aad, datagram.subarray(4, 12))?.length).toBe(0);
      expect(c.ccm8Decrypt(key, nonce, flipBit(aad, 0), genuine)).toBeUndefined();
      expect(c.ccm8Decrypt(key, flipBit(nonce, 0), aad, genuine)).toBeUndefined();
    });

    it('rejects forged tags: pooled Buffers, fresh arrays, all-zero and all-one tags, datagram views', () => {
      const forgeries: Uint8Array[] = [new Uint8Array(8), new Uint8Array(8).fill(0xff), randomBytes(0), Uint8Array.from(randomBytes(8))];
      for (let i = 0; i < 100; i++) forgeries.push(randomBytes(8), randomBytes(64).subarray(21, 29));
      for (let bit = 0; bit < 64; bit++) forgeries.push(flipBit(genuine, bit));
      for (const f of forgeries) {
        if (toHex(f) === toHex(genuine)) continue;
        expect(c.ccm8Decrypt(key, nonce, aad, f)).toBeUndefined();
      }
    });
  });

  describe('SHA-256 (FIPS 180-2 Appendix B) and HMAC-SHA-256 (RFC 4231)', () => {
    it('FIPS 180-2 examples, one-shot and incremental', () => {
      const cases: Array<[Uint8Array, string]> = [
        [utf8(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
        [utf8('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
        [utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
        [new Uint8Array(1_000_000).fill(0x61), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
      ];
      for (const [m, want] of cases) {
        expect(toHex(c.sha256(m))).toBe(want);
        const h = c.createSha256();
        for (let o = 0; o < m.length; o += 333) h.update(m.subarray(o, o + 333));
        expect(toHex(h.digest())).toBe(want);
      }
    });

    it('digest() leaves the state usable and clone() forks it', () => {
      const want = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
      const h = c.createSha256().update(utf8('a')).update(utf8('b'));
      const fork = h.clone();
      expect(toHex(h.digest())).toBe(toHex(c.sha256(utf8('ab'))));
      expect(toHex(h.update(utf8('c')).digest())).toBe(want);
      expect(toHex(fork.digest())).toBe(toHex(c.sha256(utf8('ab'))));
    });

    it('RFC 4231 test cases 1, 2 and 6 (key longer than a block), one-shot, in parts and with a prepared key', () => {
      const cases: Array<[Uint8Array, Uint8Array, string]> = [
        [new Uint8Array(20).fill(0x0b), utf8('Hi There'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
        [utf8('Jefe'), utf8('what do ya want for nothing?'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
        [new Uint8Array(131).fill(0xaa), utf8('Test Using Larger Than Block-Size Key - Hash Key First'), '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'],
      ];
      for (const [key, data, want] of cases) {
        expect(toHex(c.hmacSha256(key, data))).toBe(want);
        expect(toHex(c.hmacSha256(key, data.subarray(0, 3), new Uint8Array(0), data.subarray(3)))).toBe(want);
        const k = c.hmacSha256Key(key);
        expect(toHex(k.mac(data))).toBe(want);
        expect(toHex(k.mac(data))).toBe(want);
      }
    });

    it('random(n) returns n bytes that differ between calls', () => {
      for (const n of [0, 1, 32, 300]) expect(c.random(n).length).toBe(n);
      expect(toHex(c.random(32))).not.toBe(toHex(c.random(32)));
    });
  });

  describe('P-256 ECDSA', () => {
    const data = utf8('ServerKeyExchange params: client_random ‖ server_random ‖ ECParameters ‖ ECPoint');

    it('sign/verify round trip; a changed message, signature or key does not verify', () => {
      const key = c.p256.privateKeyFromScalar(c.random(32));
      const sig = c.p256.sign(key, data);
      expect(sig[0]).toBe(0x30);
      expect(c.p256.verify(key.publicKey, data, sig)).toBe(true);
      expect(c.p256.verify(key.publicKey, flipBit(data, 5), sig)).toBe(false);
      expect(c.p256.verify(key.publicKey, data, flipBit(sig, sig.length * 8 - 3))).toBe(false);
      expect(c.p256.verify(key.publicKey, data, sig.subarray(0, sig.length - 1))).toBe(false);
      expect(c.p256.verify(key.publicKey, data, new Uint8Array(0))).toBe(false);
      expect(c.p256.verify(key.publicKey, data, concat(sig, new Uint8Array([0])))).toBe(false);
      const stranger = c.p256.privateKeyFromScalar(c.random(32));
      expect(c.p256.verify(stranger.publicKey, data, sig)).toBe(false);
    });

    it('its signatures verify under node:crypto (OpenSSL) and under the other provider', () => {
      const key = c.p256.importPrivateKey(pem('server.key'));
      for (let i = 0; i < 10; i++) {
        const msg = c.random(1 + i * 37);
        const sig = c.p256.sign(key, msg);
        expect(nodeVerify('sha256', msg, { key: pem('server.crt'), dsaEncoding: 'der' }, sig)).toBe(true);
        expect(other(c).p256.verify(other(c).p256.importPublicKey(key.publicKey.spki), msg, sig)).toBe(true);
      }
    });

    it('verifies OpenSSL-made DER signatures, low-S and high-S (OpenSSL does not normalise S)', () => {
      const keyPem = pem('client.key');
      const pub = c.p256.importPublicKey(spkiOfPem(keyPem));
      for (const high of [false, true]) {
        for (let i = 0; i < 5; i++) {
          const msg = randomBytes(20 + i);
          const sig = opensslSignature(keyPem, msg, high);
          expect(parseDerSig(sig).s > N / 2n).toBe(high);
          // node:crypto agrees that both forms are valid
          expect(nodeVerify('sha256', msg, { key: createPublicKey(keyPem), dsaEncoding: 'der' }, sig)).toBe(true);
          expect(c.p256.verify(pub, msg, sig)).toBe(true);
          expect(c.p256.verify(pub, flipBit(msg, 0), sig)).toBe(false);
        }
      }
    });

    it('rejects signatures with r or s out of range and non-DER encodings', () => {
      const keyPem = pem('client.key');
      const pub = c.p256.importPublicKey(spkiOfPem(keyPem));
      const msg = utf8('msg');
      const sig = opensslSignature(keyPem, msg, false);
      const { r, s } = parseDerSig(sig);
      expect(c.p256.verify(pub, msg, derSig(r, s))).toBe(true);
      expect(c.p256.verify(pub, msg, derSig(r + N, s))).toBe(false);
      expect(c.p256.verify(pub, msg, derSig(r, s + N))).toBe(false);
      expect(c.p256.verify(pub, msg, derSig(0n, s))).toBe(false);
      expect(c.p256.verify(pub, msg, derSig(r, 0n))).toBe(false);
      // raw r ‖ s (IEEE P1363) is not what TLS carries
      const raw = concat(fromHex(r.toString(16).padStart(64, '0')), fromHex(s.toString(16).padStart(64, '0')));
      expect(c.p256.verify(pub, msg, raw)).toBe(false);
    });
  });

  describe('P-256 ECDH', () => {
    it('agrees with the other provider in both directions (uncompressed points, shared X)', () => {
      for (let i = 0; i < 5; i++) {
        const mine = c.p256.generateEcdh();
        const theirs = other(c).p256.generateEcdh();
        expect(mine.publicKey.length).toBe(65);
        expect(mine.publicKey[0]).toBe(0x04);
        const s1 = mine.deriveSecret(theirs.publicKey);
        const s2 = theirs.deriveSecret(mine.publicKey);
        expect(s1.length).toBe(32);
        expect(toHex(s1)).toBe(toHex(s2));
      }
    });

    it('agrees with node:crypto createECDH directly', () => {
      const mine = c.p256.generateEcdh();
      const ossl = createECDH('prime256v1');
      const osslPub = new Uint8Array(ossl.generateKeys());
      expect(toHex(mine.deriveSecret(osslPub))).toBe(toHex(new Uint8Array(ossl.computeSecret(mine.publicKey))));
    });

    it('fresh key pairs differ', () => {
      expect(toHex(c.p256.generateEcdh().publicKey)).not.toBe(toHex(c.p256.generateEcdh().publicKey));
    });

    it('key pairs made after a derivation (node: on reused objects) are fresh and agree; a pair derives again alike', () => {
      const peer = other(c).p256.generateEcdh();
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const mine = c.p256.generateEcdh();
        expect(seen.has(toHex(mine.publicKey))).toBe(false);
        seen.add(toHex(mine.publicKey));
        const mate = other(c).p256.generateEcdh();
        const secret = toHex(mine.deriveSecret(mate.publicKey));
        expect(secret).toBe(toHex(mate.deriveSecret(mine.publicKey)));
        expect(toHex(c.p256.generateEcdh().deriveSecret(peer.publicKey))).not.toBe(secret);
        expect(toHex(mine.deriveSecret(mate.publicKey))).toBe(secret);
        expect(toHex(mine.deriveSecret(peer.publicKey))).toBe(toHex(peer.deriveSecret(mine.publicKey)));
      }
    });

    it('throws on a peer point that is off the curve, truncated or the encoding of nothing', () => {
      const mine = c.p256.generateEcdh();
      const peer = other(c).p256.generateEcdh().publicKey;
      expect(() => mine.deriveSecret(flipBit(peer, 64 * 8 - 1))).toThrow();
      expect(() => mine.deriveSecret(peer.subarray(0, 64))).toThrow();
      expect(() => mine.deriveSecret(new Uint8Array(0))).toThrow();
      expect(() => mine.deriveSecret(concat(new Uint8Array([4]), new Uint8Array(64)))).toThrow();
    });
  });

  describe('P-256 key import', () => {
    it.each(ecKeyFiles)('PKI fixture %s: PEM PKCS#8, DER PKCS#8, SEC1 DER and SEC1 PEM give the OpenSSL public key', (file) => {
      const p = pem(file);
      const spki = spkiOfPem(p);
      const ko = createPrivateKey(p);
      const forms: Array<Uint8Array | string> = [
        p,
        new Uint8Array(ko.export({ type: 'pkcs8', format: 'der' })),
        new Uint8Array(ko.export({ type: 'sec1', format: 'der' })),
        ko.export({ type: 'sec1', format: 'pem' }) as string,
      ];
      for (const form of forms) {
        const key = c.p256.importPrivateKey(form);
        expect(toHex(key.publicKey.spki)).toBe(toHex(spki));
        expect(toHex(key.publicKey.point)).toBe(toHex(spki.subarray(26)));
      }
      // and the imported key signs for that public key
      const key = c.p256.importPrivateKey(p);
      const sig = c.p256.sign(key, utf8(file));
      expect(nodeVerify('sha256', utf8(file), { key: createPublicKey(p), dsaEncoding: 'der' }, sig)).toBe(true);
    });

    it('the raw public keys server.pub and client.pub (SPKI PEM) import and match their private keys', () => {
      for (const who of ['server', 'client']) {
        const spki = spkiOfPem(pem(`${who}.pub`));
        const pub = c.p256.importPublicKey(spki);
        expect(toHex(pub.spki)).toBe(toHex(spki));
        expect(toHex(c.p256.importPrivateKey(pem(`${who}.key`)).publicKey.spki)).toBe(toHex(spki));
      }
    });

    it('the OpenSSL "ecparam -genkey" layout (EC PARAMETERS block before EC PRIVATE KEY) imports', () => {
      const ko = createPrivateKey(pem('server.key'));
      const text = '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n' + (ko.export({ type: 'sec1', format: 'pem' }) as string);
      expect(toHex(c.p256.importPrivateKey(text).publicKey.spki)).toBe(toHex(spkiOfPem(pem('server.pub'))));
    });

    it('refuses an RSA key, a P-384 key, garbage and truncated DER', () => {
      expect(() => c.p256.importPrivateKey(pem('rsa-server.key'))).toThrow();
      const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
      expect(() => c.p256.importPrivateKey(p384.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string)).toThrow();
      expect(() => c.p256.importPrivateKey(new Uint8Array(p384.privateKey.export({ type: 'sec1', format: 'der' })))).toThrow();
      expect(() => c.p256.importPublicKey(new Uint8Array(p384.publicKey.export({ type: 'spki', format: 'der' })))).toThrow();
      expect(() => c.p256.importPrivateKey('not a key')).toThrow();
      const der = new Uint8Array(createPrivateKey(pem('server.key')).export({ type: 'pkcs8', format: 'der' }));
      expect(() => c.p256.importPrivateKey(der.subarray(0, der.length - 1))).toThrow();
      expect(() => c.p256.importPrivateKey(new Uint8Array(0))).toThrow();
    });

    it('refuses an SPKI whose point is not on the curve', () => {
      const spki = spkiOfPem(pem('server.pub'));
      expect(() => c.p256.importPublicKey(flipBit(spki, spki.length * 8 - 1))).toThrow();
      expect(() => c.p256.importPublicKey(spki.subarray(0, spki.length - 1))).toThrow();
    });

    it('tinydtls test key scalars give the published public points', () => {
      for (const who of ['server', 'client'] as const) {
        const key = c.p256.privateKeyFromScalar(fromHex(TINYDTLS_KEYS[`${who}_priv_hex`]));
        expect(toHex(key.publicKey.point)).toBe('04' + TINYDTLS_KEYS[`${who}_pub_x_hex`] + TINYDTLS_KEYS[`${who}_pub_y_hex`]);
        const sig = c.p256.sign(key, utf8(who));
        expect(other(c).p256.verify(other(c).p256.importPublicKey(key.publicKey.spki), utf8(who), sig)).toBe(true);
      }
    });

    it('refuses scalars that are zero, not below the group order, or not 32 bytes', () => {
      expect(() => c.p256.privateKeyFromScalar(new Uint8Array(32))).toThrow();
      expect(() => c.p256.privateKeyFromScalar(fromHex(N.toString(16)))).toThrow();
      expect(() => c.p256.privateKeyFromScalar(new Uint8Array(32).fill(0xff))).toThrow();
      expect(() => c.p256.privateKeyFromScalar(new Uint8Array(31).fill(1))).toThrow();
    });
  });

  describe('DTLS handshakes with this provider on one side and the other provider on the other', () => {
    const serverKey = (p: CryptoProvider) => p.p256.privateKeyFromScalar(fromHex(TINYDTLS_KEYS.server_priv_hex));
    const clientKey = (p: CryptoProvider) => p.p256.privateKeyFromScalar(fromHex(TINYDTLS_KEYS.client_priv_hex));

    for (const [side, serverC, clientC] of [
      ['server', c, other(c)],
      ['client', other(c), c],
      ['both', c, c],
    ] as const) {
      it(`PSK_WITH_AES_128_CCM_8, this provider as ${side}`, () => {
        const p = new Pair({ server: { crypto: serverC }, client: { crypto: clientC } });
        const conn = p.addClient();
        conn.conn.start(p.net.now);
        p.run(60_000, () => p.has(conn, 'connected'));
        expect(p.has(conn, 'connected')).toBe(true);
        conn.conn.send(p.net.now, enc('psk over ' + name));
        p.run(p.net.now + 100, () => p.serverHas('data'));
        const d = p.serverEvents.find((e) => e.type === 'data');
        expect(d?.type === 'data' && dec(d.data)).toBe('psk over ' + name);
      });

      it(`ECDHE_ECDSA_WITH_AES_128_CCM_8 with raw public keys and client authentication, this provider as ${side}`, () => {
        const sk = serverKey(serverC), ck = clientKey(clientC);
        const p = new Pair({
          server: { crypto: serverC, psk: undefined, ecdhe: { key: sk, rawPublicKey: true }, clientAuth: 'required', keyStore: memoryKeyStore({ rawPublicKeys: [[ck.publicKey.spki, 'client']] }) },
          client: { crypto: clientC, psk: undefined, ecdhe: { key: ck, rawPublicKey: true }, acceptPeerCertificateTypes: [2] },
          clientStore: memoryKeyStore({ rawPublicKeys: [[sk.publicKey.spki, 'server']] }),
        });
        const conn = p.addClient();
        conn.conn.start(p.net.now);
        p.run(60_000, () => p.has(conn, 'connected') || p.has(conn, 'failed') || p.serverHas('failed'));
        const ce = conn.events.find((e) => e.type === 'connected');
        expect(ce?.type === 'connected' && ce.session.cipherSuite).toBe(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
        const se = p.serverEvents.find((e) => e.type === 'connected');
        expect(se?.type === 'connected' && se.session.identity).toMatchObject({ kind: 'rpk', name: 'client' });
        conn.conn.send(p.net.now, enc('ecdhe'));
        p.run(p.net.now + 100, () => p.serverHas('data'));
        const d = p.serverEvents.find((e) => e.type === 'data');
        expect(d?.type === 'data' && dec(d.data)).toBe('ecdhe');
      });
    }
  });
});

describe('the pure provider uses no node APIs', () => {
  /** Follows relative imports from lib/crypto/pure.ts and checks every module reached. */
  it('no node: import, no Buffer, no require, and only @noble packages from outside the repo', () => {
    const seen = new Set<string>();
    const bare = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const src = readFileSync(file, 'utf8');
      const code = src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      expect(code, file).not.toMatch(/\bBuffer\b/);
      expect(code, file).not.toMatch(/\brequire\s*\(/);
      expect(code, file).not.toMatch(/\bprocess\./);
      for (const m of code.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) {
        const spec = (m[1] ?? m[2])!;
        if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
        else bare.add(spec);
      }
    };
    visit(join(ROOT, 'lib', 'crypto', 'pure.ts'));
    expect(seen.size).toBeGreaterThanOrEqual(5);
    for (const spec of bare) expect(spec).toMatch(/^@noble\/(ciphers|curves)\//);
    // and the @noble packages themselves reach for no node module
    for (const pkg of ['ciphers', 'curves', 'hashes']) {
      const dir = join(ROOT, 'node_modules', '@noble', pkg);
      for (const f of readdirSync(dir).filter((x) => x.endsWith('.js'))) {
        expect(readFileSync(join(dir, f), 'utf8'), `@noble/${pkg}/${f}`).not.toMatch(/from ['"]node:|require\(/);
      }
    }
  });
});

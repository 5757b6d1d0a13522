import {
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  randomFillSync,
  sign as nodeSign,
  verify as nodeVerify,
  type ECDH,
  type KeyObject,
} from 'node:crypto';
import { ctEqual, toHex } from '../bytes/util.js';
import { CCM8_TAG_LENGTH, type CertificateSignatureAlgorithm, type CryptoProvider, type P256, type P256PrivateKey, type P256PublicKey } from './provider.js';
import { pointFromSpki, spkiFromPoint } from './p256-spki.js';
import { HmacSha256Key, Sha256, sha256 } from './sha256.js';
import { setDefaultCrypto } from './default.js';
import { expandKeyLE } from './pure/aes.js';
import { ccm8DecryptWith, ccm8EncryptWith } from './pure/ccm.js';


const CCM = 'aes-128-ccm';
/** An empty buffer with backing memory (see the empty-ciphertext trap below). */
const EMPTY = Buffer.alloc(0);
const TAG = { authTagLength: CCM8_TAG_LENGTH } as const;

function view(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Small records go through the JS CCM (lib/crypto/pure/ccm.ts), larger ones through OpenSSL.
 * createCipheriv/createDecipheriv cost about 2.5 us a call whatever the size (a native cipher
 * object and its context per call), the JS CCM about 0.1 us per AES block (two blocks per 16
 * bytes of plaintext, plus three): below about 256 bytes of plaintext the JS one is cheaper
 * (2.7x at 64 B), above it OpenSSL wins (measured figures in the commit that set this). Both give the same bytes: test/crypto-differential.test.ts checks records on both
 * sides of the switch against OpenSSL alone.
 *
 * The cost: the JS AES is table-based, so its memory accesses depend on key and data bytes
 * (the constant-time note in lib/crypto/pure.ts); OpenSSL uses AES-NI where the CPU has it.
 * {@link setJsCcmBelow}(0) sends every record through OpenSSL.
 */
let jsCcmBelow = 256;

/**
 * Records whose plaintext is shorter than `bytes` are sealed and opened by the JS CCM, the
 * others by OpenSSL (default 256; 0: OpenSSL for every record). Process-wide.
 */
export function setJsCcmBelow(bytes: number): void {
  if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError('setJsCcmBelow: a non-negative integer');
  jsCcmBelow = bytes;
}

/**
 * Expanded AES keys of the JS CCM, in a small two-way set-associative table chosen by the
 * key's bytes: each slot holds a key's four words and its schedule. Bounded, so that idle
 * sessions hold none, and it keeps no reference to a caller's key array: the Map keyed by the
 * record layers' key buffers it replaces was churned by every handshake, and a churned Map
 * keeps what it held reachable across young-generation collections (see SessionTable in
 * lib/dtls/endpoint-sessions.ts): ~0.6 KB of promotion per handshake. A hit compares all 16
 * key bytes, so a key buffer wiped or rewritten in place, or another key on the same slot, is
 * expanded again. Schedules of ended sessions stay until their slot is reused (at most 256).
 */
const SLOT_SETS = 128; // x 2 ways: 256 schedules of 176 bytes at most
const slotKeys = new Uint32Array(SLOT_SETS * 2 * 4);
const slotSchedules: Array<Uint32Array | undefined> = new Array<Uint32Array | undefined>(SLOT_SETS * 2).fill(undefined);
/** Per set: the way that was used last (the other one is replaced on a miss). */
const lastWay = new Uint8Array(SLOT_SETS);

function keyWord(k: Uint8Array, o: number): number {
  return (k[o]! | (k[o + 1]! << 8) | (k[o + 2]! << 16) | (k[o + 3]! << 24)) >>> 0;
}

function scheduleOf(key: Uint8Array): Uint32Array {
  const w0 = keyWord(key, 0);
  const w1 = keyWord(key, 4);
  const w2 = keyWord(key, 8);
  const w3 = keyWord(key, 12);
  const set = Math.imul(w0 ^ w1 ^ w2 ^ w3, 0x9e3779b1) >>> 25; // 0..127
  for (let way = 0; way < 2; way++) {
    const slot = set * 2 + way;
    const xk = slotSchedules[slot];
    const o = slot * 4;
    if (xk !== undefined && slotKeys[o] === w0 && slotKeys[o + 1] === w1 && slotKeys[o + 2] === w2 && slotKeys[o + 3] === w3) {
      lastWay[set] = way;
      return xk;
    }
  }
  const way = lastWay[set]! ^ 1;
  const slot = set * 2 + way;
  const xk = expandKeyLE(key, slotSchedules[slot]);
  slotSchedules[slot] = xk;
  const o = slot * 4;
  slotKeys[o] = w0;
  slotKeys[o + 1] = w1;
  slotKeys[o + 2] = w2;
  slotKeys[o + 3] = w3;
  lastWay[set] = way;
  return xk;
}

/** Whether a record of `length` plaintext bytes goes through the JS CCM (AES-128, DTLS's 12-byte nonce). */
function small(key: Uint8Array, nonce: Uint8Array, length: number): boolean {
  return length < jsCcmBelow && key.length === 16 && nonce.length === 12;
}

function ccm8Encrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return small(key, nonce, plaintext.length) ? ccm8EncryptWith(scheduleOf(key), nonce, aad, plaintext) : seal(key, nonce, aad, plaintext);
}

function ccm8Decrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  if (sealed.length < CCM8_TAG_LENGTH) return undefined;
  return small(key, nonce, sealed.length - CCM8_TAG_LENGTH) ? ccm8DecryptWith(scheduleOf(key), nonce, aad, sealed) : open(key, nonce, aad, sealed);
}

/** AES-128-CCM_8 through OpenSSL alone (exported for the differential test). */
export const opensslCcm8 = {
  encrypt: (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array => seal(key, nonce, aad, plaintext),
  decrypt: (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined => open(key, nonce, aad, sealed),
};

function seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const c = createCipheriv(CCM, key, nonce, TAG);
  c.setAAD(aad, { plaintextLength: plaintext.length });
  // update() must run even for an empty plaintext, or final() throws "tag not set".
  const body = c.update(plaintext.length ? plaintext : EMPTY);
  c.final();
  const tag = c.getAuthTag();
  const out = new Uint8Array(plaintext.length + CCM8_TAG_LENGTH);
  out.set(body, 0);
  out.set(tag, plaintext.length);
  return out;
}

function open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  if (sealed.length < CCM8_TAG_LENGTH) return undefined;
  const n = sealed.length - CCM8_TAG_LENGTH;
  const tag = sealed.subarray(n);
  if (n === 0) {
    // Known trap (DESIGN.md): node:crypto accepts a forged tag for an empty ciphertext
    // without backing memory, and also when update() is never called. The tag of an empty
    // message depends only on key, nonce and AAD: recompute it and compare.
    return ctEqual(seal(key, nonce, aad, sealed.subarray(0, 0)), tag) ? new Uint8Array(0) : undefined;
  }
  const d = createDecipheriv(CCM, key, nonce, TAG);
  d.setAuthTag(view(tag));
  d.setAAD(aad, { plaintextLength: n });
  const out = d.update(view(sealed.subarray(0, n)));
  try {
    d.final();
  } catch {
    out.fill(0);
    return undefined;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

interface NodePublicKey extends P256PublicKey {
  readonly key: KeyObject;
}
interface NodePrivateKey extends P256PrivateKey {
  readonly key: KeyObject;
}

function publicFromKeyObject(key: KeyObject): NodePublicKey {
  const spki = new Uint8Array(key.export({ type: 'spki', format: 'der' }));
  return { spki, point: pointFromSpki(spki), key };
}

function privateFromKeyObject(key: KeyObject): NodePrivateKey {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new TypeError('not a P-256 private key');
  return { key, publicKey: publicFromKeyObject(createPublicKey(key)) };
}

const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');

/**
 * ECDH objects for reuse: constructing one (createECDH, EC_KEY_new_by_curve_name) costs about as
 * much as generating a key pair on it (bench/ecdhe-primitives.ts), and generateKeys() on an old
 * object replaces its key pair with a fresh random one. An object comes back here once its
 * exchange has derived its secret (the pair keeps its private key for a rare second derivation);
 * an exchange abandoned before that leaves its object to GC.
 */
const ecdhPool: ECDH[] = [];
const ECDH_POOL_MAX = 64;

/**
 * P-256 over node:crypto. Ephemeral ECDH uses createECDH (about 3x faster than KeyObjects,
 * DESIGN.md), on pooled objects; long-lived keys are KeyObjects parsed once by the caller and cached.
 */
const p256: P256 = {
  generateEcdh() {
    const ecdh = ecdhPool.pop() ?? createECDH('prime256v1');
    const publicKey = new Uint8Array(ecdh.generateKeys());
    /** Once the object is back in the pool: the private key, for a rare second derivation. */
    let privateKey: Buffer | undefined;
    return {
      publicKey,
      deriveSecret(peer) {
        if (privateKey) {
          const again = createECDH('prime256v1');
          again.setPrivateKey(privateKey);
          return new Uint8Array(again.computeSecret(peer));
        }
        const secret = new Uint8Array(ecdh.computeSecret(peer)); // throws on a bad point: still ours
        privateKey = ecdh.getPrivateKey();
        if (ecdhPool.length < ECDH_POOL_MAX) ecdhPool.push(ecdh);
        return secret;
      },
    };
  },
  importPublicKey(spki) {
    pointFromSpki(spki);
    const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    return { spki: spki.slice(), point: pointFromSpki(spki).slice(), key } satisfies NodePublicKey;
  },
  importPrivateKey(input) {
    if (typeof input === 'string') return privateFromKeyObject(createPrivateKey(input));
    const der = Buffer.from(input);
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    } catch {
      key = createPrivateKey({ key: der, format: 'der', type: 'sec1' });
    }
    return privateFromKeyObject(key);
  },
  privateKeyFromScalar(d) {
    if (d.length !== 32) throw new TypeError('a P-256 private scalar is 32 bytes');
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(d);
    const point = new Uint8Array(ecdh.getPublicKey());
    const key = createPrivateKey({
      key: { kty: 'EC', crv: 'P-256', d: b64url(d), x: b64url(point.subarray(1, 33)), y: b64url(point.subarray(33)) },
      format: 'jwk',
    });
    const spki = spkiFromPoint(point);
    return { key, publicKey: { spki, point, key: createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }) } } as NodePrivateKey;
  },
  sign(key, data) {
    return new Uint8Array(nodeSign('sha256', data, { key: (key as NodePrivateKey).key, dsaEncoding: 'der' }));
  },
  verify(key, data, sig) {
    try {
      return nodeVerify('sha256', data, { key: (key as NodePublicKey).key, dsaEncoding: 'der' }, sig);
    } catch {
      return false;
    }
  },
};

/**
 * The X.509 signature algorithms node:crypto verifies for us beyond ecdsa-with-SHA256 on P-256
 * (RFC 5758 §3.2 ECDSA, RFC 4055 §5 RSASSA-PKCS1-v1_5, RFC 8410 §3 EdDSA): the digest, the key
 * type the issuer must have, and whether the parameters must be absent or may be NULL.
 */
const CERT_SIGNATURES: Record<string, { hash: string | null; keyType: string; nullParams: boolean }> = {
  '1.2.840.10045.4.3.2': { hash: 'sha256', keyType: 'ec', nullParams: false },
  '1.2.840.10045.4.3.3': { hash: 'sha384', keyType: 'ec', nullParams: false },
  '1.2.840.10045.4.3.4': { hash: 'sha512', keyType: 'ec', nullParams: false },
  '1.2.840.113549.1.1.11': { hash: 'sha256', keyType: 'rsa', nullParams: true },
  '1.2.840.113549.1.1.12': { hash: 'sha384', keyType: 'rsa', nullParams: true },
  '1.2.840.113549.1.1.13': { hash: 'sha512', keyType: 'rsa', nullParams: true },
  '1.3.101.112': { hash: null, keyType: 'ed25519', nullParams: false },
  '1.3.101.113': { hash: null, keyType: 'ed448', nullParams: false },
};

/** Issuer keys parsed once (a CA key verifies every handshake's leaf); a few dozen at most. */
const issuerKeys = new Map<string, KeyObject | null>();
const MAX_ISSUER_KEYS = 32;

function issuerKey(spki: Uint8Array): KeyObject | null {
  const id = toHex(spki);
  let key = issuerKeys.get(id);
  if (key === undefined) {
    try {
      key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    } catch {
      key = null;
    }
    if (issuerKeys.size >= MAX_ISSUER_KEYS) issuerKeys.delete(issuerKeys.keys().next().value!);
    issuerKeys.set(id, key);
  }
  return key;
}

function verifyCertificateSignature(alg: CertificateSignatureAlgorithm, issuerSpki: Uint8Array, tbs: Uint8Array, signature: Uint8Array): boolean | undefined {
  const a = CERT_SIGNATURES[alg.oid];
  if (!a) return undefined;
  const p = alg.parameters;
  if (p !== undefined && !(a.nullParams && p.length === 2 && p[0] === 0x05 && p[1] === 0x00)) return false;
  const key = issuerKey(issuerSpki);
  if (!key || key.asymmetricKeyType !== a.keyType) return false;
  try {
    return nodeVerify(a.hash, tbs, a.keyType === 'ec' ? { key, dsaEncoding: 'der' } : key, signature);
  } catch {
    return false;
  }
}

const POOL_SIZE = 4096;
const pool = new Uint8Array(POOL_SIZE);
let poolAt = POOL_SIZE;

/** The AES-128-CCM_8 / SHA-256 / P-256 provider over node:crypto. */
export const nodeCrypto: CryptoProvider = {
  name: 'node',
  random(n) {
    // Small requests come from a pool refilled 4 KB at a time (randomFillSync costs 2-5 us
    // per call); each result is a copy, and pool bytes are handed out once.
    if (n > 256) return randomFillSync(new Uint8Array(n));
    if (poolAt + n > POOL_SIZE) {
      randomFillSync(pool);
      poolAt = 0;
    }
    const out = pool.slice(poolAt, poolAt + n);
    pool.fill(0, poolAt, poolAt + n);
    poolAt += n;
    return out;
  },
  sha256(data) {
    // node:crypto for bulk data, JS for the short inputs of a handshake
    return data.length > 512 ? new Uint8Array(createHash('sha256').update(data).digest()) : sha256(data);
  },
  createSha256() {
    return new Sha256();
  },
  // SHA-256 and HMAC in JS (lib/crypto/sha256.ts): for a handshake's small inputs they beat
  // node:crypto, which pays for a native object per call.
  hmacSha256(key, ...data) {
    return new HmacSha256Key(key).mac(...data);
  },
  hmacSha256Key(key) {
    return new HmacSha256Key(key);
  },
  ccm8Encrypt,
  p256,
  verifyCertificateSignature,
  ccm8Decrypt,
};

// Importing the Node provider makes it the default for options without `crypto`.
setDefaultCrypto(nodeCrypto);

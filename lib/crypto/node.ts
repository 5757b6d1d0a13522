import { createCipheriv, createDecipheriv, createHash, createHmac, randomFillSync, type Hash } from 'node:crypto';
import { ctEqual } from '../bytes/util.js';
import { CCM8_TAG_LENGTH, type CryptoProvider, type HashState } from './provider.js';

class NodeSha256 implements HashState {
  constructor(private readonly h: Hash = createHash('sha256')) {}
  update(data: Uint8Array): this {
    this.h.update(data);
    return this;
  }
  digest(): Uint8Array {
    return new Uint8Array(this.h.copy().digest());
  }
  clone(): HashState {
    return new NodeSha256(this.h.copy());
  }
}

const CCM = 'aes-128-ccm';
/** An empty buffer with backing memory (see the empty-ciphertext trap below). */
const EMPTY = Buffer.alloc(0);
const TAG = { authTagLength: CCM8_TAG_LENGTH } as const;

function view(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

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

/** The AES-128-CCM_8 / SHA-256 provider over node:crypto. */
export const nodeCrypto: CryptoProvider = {
  name: 'node',
  random(n) {
    const b = new Uint8Array(n);
    randomFillSync(b);
    return b;
  },
  sha256(data) {
    return new Uint8Array(createHash('sha256').update(data).digest());
  },
  createSha256() {
    return new NodeSha256();
  },
  hmacSha256(key, ...data) {
    const h = createHmac('sha256', key);
    for (const d of data) h.update(d);
    return new Uint8Array(h.digest());
  },
  ccm8Encrypt: seal,
  ccm8Decrypt(key, nonce, aad, sealed) {
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
  },
};

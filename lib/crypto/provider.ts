/**
 * The one record of crypto capabilities the engine uses. Synchronous by design
 * (DESIGN.md: node:crypto does AES-128-CCM_8 synchronously), so the handshake state
 * machine stays synchronous. Implementations: `node.ts` (node:crypto) and, later, a pure-JS
 * provider for embedded runtimes. Keys are passed as raw bytes; providers must not retain them.
 */
export interface HashState {
  update(data: Uint8Array): this;
  /** Digest of everything so far; the state stays usable. */
  digest(): Uint8Array;
  clone(): HashState;
}

export interface CryptoProvider {
  readonly name: string;
  /** Cryptographically secure random bytes. */
  random(n: number): Uint8Array;
  sha256(data: Uint8Array): Uint8Array;
  createSha256(): HashState;
  hmacSha256(key: Uint8Array, ...data: Uint8Array[]): Uint8Array;
  /** AES-128-CCM with an 8-byte tag (RFC 3610, M=8, L=3 for a 12-byte nonce). Returns ciphertext || tag. */
  ccm8Encrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** Returns the plaintext, or undefined when authentication fails. `sealed` is ciphertext || tag. */
  ccm8Decrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined;
}

export const CCM8_TAG_LENGTH = 8;

/**
 * The one record of crypto capabilities the engine uses. Synchronous by design
 * (DESIGN.md: node:crypto does AES-128-CCM_8 synchronously), so the handshake state
 * machine stays synchronous. Implementations: `node.ts` (node:crypto) and, later, a pure-JS
 * provider for embedded runtimes. Keys are passed as raw bytes; providers must not retain them.
 */
export interface HashState {
  /** Absorbs `data`, which the caller may overwrite once this returns (it is not kept). */
  update(data: Uint8Array): this;
  /** Digest of everything so far; the state stays usable. */
  digest(): Uint8Array;
  clone(): HashState;
}

/** An ephemeral P-256 key pair for one ECDHE exchange. */
export interface EcdhKeyPair {
  /** Uncompressed point (0x04 ‖ X ‖ Y), 65 bytes. */
  readonly publicKey: Uint8Array;
  /** The shared secret (the X coordinate, 32 bytes); throws on an invalid peer point. */
  deriveSecret(peerPublicKey: Uint8Array): Uint8Array;
}

/** A parsed P-256 public key, ready to verify (parse once, cache: parsing costs more than a verify). */
export interface P256PublicKey {
  /** The DER SubjectPublicKeyInfo it was made from. */
  readonly spki: Uint8Array;
  /** Uncompressed point, 65 bytes. */
  readonly point: Uint8Array;
}

/** A P-256 private key, ready to sign. Opaque: providers keep their own representation. */
export interface P256PrivateKey {
  readonly publicKey: P256PublicKey;
}

/** P-256 (secp256r1) ECDH and ECDSA with SHA-256; signatures are DER-encoded ECDSA-Sig-Value. */
export interface P256 {
  generateEcdh(): EcdhKeyPair;
  /** From DER SubjectPublicKeyInfo; throws unless it is a valid P-256 key. */
  importPublicKey(spki: Uint8Array): P256PublicKey;
  /** From DER PKCS#8, SEC1 ("EC PRIVATE KEY") or PEM of either; throws unless it is P-256. */
  importPrivateKey(key: Uint8Array | string): P256PrivateKey;
  /** From the 32-byte private scalar. */
  privateKeyFromScalar(d: Uint8Array): P256PrivateKey;
  sign(key: P256PrivateKey, data: Uint8Array): Uint8Array;
  verify(key: P256PublicKey, data: Uint8Array, derSignature: Uint8Array): boolean;
}

/**
 * An X.509 signature algorithm as a certificate names it (RFC 5280 §4.1.1.2 AlgorithmIdentifier):
 * the OID, dotted, and the DER of its parameters when present.
 */
export interface CertificateSignatureAlgorithm {
  readonly oid: string;
  readonly parameters: Uint8Array | undefined;
}

export interface CryptoProvider {
  readonly name: string;
  /** Cryptographically secure random bytes. */
  random(n: number): Uint8Array;
  sha256(data: Uint8Array): Uint8Array;
  createSha256(): HashState;
  hmacSha256(key: Uint8Array, ...data: Uint8Array[]): Uint8Array;
  /** An HMAC-SHA256 key prepared once for many MACs (the PRF uses each secret several times). */
  hmacSha256Key(key: Uint8Array): { mac(...data: Uint8Array[]): Uint8Array };
  /** AES-128-CCM with an 8-byte tag (RFC 3610, M=8, L=3 for a 12-byte nonce). Returns ciphertext || tag. */
  ccm8Encrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** Returns the plaintext, or undefined when authentication fails. `sealed` is ciphertext || tag. */
  ccm8Decrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined;
  p256: P256;
  /**
   * Optional: verifies a certificate signature made with an algorithm other than
   * ecdsa-with-SHA256 over a P-256 issuer key (that one always goes through `p256.verify`), for
   * the CAs that use ecdsa-with-SHA384 on P-384, sha256WithRSAEncryption, Ed25519, ...
   * Returns whether the signature over `tbs` verifies with the issuer's DER SubjectPublicKeyInfo,
   * or undefined when the algorithm or key type is not supported here: such a certificate is
   * refused as unsupported, never accepted. The pure provider leaves this out.
   */
  verifyCertificateSignature?(algorithm: CertificateSignatureAlgorithm, issuerSpki: Uint8Array, tbs: Uint8Array, signature: Uint8Array): boolean | undefined;
}

export const CCM8_TAG_LENGTH = 8;

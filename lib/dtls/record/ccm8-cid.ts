import type { CryptoProvider } from '../../crypto/provider.js';
import { equal, wipe } from '../../bytes/util.js';
import { DTLS_1_2 } from '../wire/constants.js';
import { RECORD_HEADER_LENGTH, TLS12_CID, type RawRecord } from '../wire/record.js';
import { CCM8_RECORD_OVERHEAD, EXPLICIT_NONCE_LENGTH, type TrafficKeys } from './ccm8-cipher.js';
import type { EpochProtection } from './protection.js';
import { wireBuffer } from '../../bytes/wire-chunks.js';

/**
 * AES-128-CCM_8 records with a connection ID (RFC 9146 §4 and §5):
 * ```
 * struct {
 *     ContentType outer_type = tls12_cid;
 *     ProtocolVersion version;
 *     uint16 epoch;
 *     uint48 sequence_number;
 *     opaque cid[cid_length];               // New field
 *     uint16 length;
 *     opaque enc_content[DTLSCiphertext.length];
 * } DTLSCiphertext;
 *
 * struct {
 *     opaque content[DTLSPlaintext.length];
 *     ContentType real_type;
 *     uint8 zeros[length_of_padding];
 * } DTLSInnerPlaintext;
 *
 * additional_data = seq_num_placeholder (8 bytes of 0xff) + tls12_cid + cid_length +
 *                   tls12_cid + DTLSCiphertext.version + epoch + sequence_number + cid +
 *                   length_of_DTLSInnerPlaintext;
 * ```
 * enc_content is the AEAD output as without a CID (8-byte explicit nonce ‖ ciphertext ‖ tag;
 * nonce = IV ‖ epoch ‖ sequence_number). One instance protects one direction with one CID:
 * the CID our peer asked to receive when we write, ours when we read.
 */
export class Ccm8CidProtection implements EpochProtection {
  readonly overhead: number;
  /** Bytes of CID in the records this protection reads (for splitting datagrams). */
  readonly cidLength: number;
  private readonly aad: Uint8Array;
  private readonly nonce = new Uint8Array(12);

  constructor(
    private readonly crypto: CryptoProvider,
    /** The traffic keys (for a session store's snapshot: secret). */
    readonly keys: TrafficKeys,
    readonly cid: Uint8Array,
    /** Pad DTLSInnerPlaintext to a multiple of this many bytes (0 or 1: no padding). */
    private readonly padding = 0,
  ) {
    this.cidLength = cid.length;
    this.overhead = RECORD_HEADER_LENGTH + cid.length + CCM8_RECORD_OVERHEAD + 1 + (padding > 1 ? padding - 1 : 0);
    this.aad = new Uint8Array(23 + cid.length);
  }

  accepts(r: RawRecord): boolean {
    return r.type === TLS12_CID && r.cid !== undefined && equal(r.cid, this.cid);
  }

  seal(type: number, epoch: number, sequence: number, plaintext: Uint8Array): Uint8Array {
    const n = plaintext.length + 1;
    const pad = this.padding > 1 ? (this.padding - (n % this.padding)) % this.padding : 0;
    const inner = new Uint8Array(n + pad);
    inner.set(plaintext, 0);
    inner[plaintext.length] = type;
    this.prepare(epoch, sequence, inner.length);
    const sealed = this.crypto.ccm8Encrypt(this.keys.key, this.nonce, this.aad, inner);
    const cidLen = this.cid.length;
    const length = EXPLICIT_NONCE_LENGTH + sealed.length;
    const out = wireBuffer(RECORD_HEADER_LENGTH + cidLen + length);
    out[0] = TLS12_CID;
    out[1] = DTLS_1_2 >>> 8;
    out[2] = DTLS_1_2 & 0xff;
    out.set(this.aad.subarray(13, 21), 3); // epoch ‖ sequence_number
    out.set(this.cid, 11);
    out[11 + cidLen] = length >>> 8;
    out[12 + cidLen] = length & 0xff;
    out.set(this.nonce.subarray(4), 13 + cidLen); // explicit nonce = epoch ‖ sequence_number
    out.set(sealed, 13 + cidLen + EXPLICIT_NONCE_LENGTH);
    return out;
  }

  open(r: RawRecord): Uint8Array | undefined {
    const f = r.fragment;
    if (!this.accepts(r) || f.length < CCM8_RECORD_OVERHEAD + 1) return undefined;
    const innerLength = f.length - CCM8_RECORD_OVERHEAD;
    this.prepare(r.epoch, r.sequence, innerLength, r.version);
    // the nonce's explicit part comes from the record
    for (let i = 0; i < EXPLICIT_NONCE_LENGTH; i++) this.nonce[4 + i] = f[i]!;
    let inner: Uint8Array | undefined;
    try {
      inner = this.crypto.ccm8Decrypt(this.keys.key, this.nonce, this.aad, f.subarray(EXPLICIT_NONCE_LENGTH));
    } catch {
      return undefined;
    }
    if (!inner || inner.length !== innerLength) return undefined;
    // the real content type is the last non-zero byte; zeros after it are padding
    let i = inner.length - 1;
    while (i >= 0 && inner[i] === 0) i--;
    if (i < 0) return undefined; // no content type: not a valid DTLSInnerPlaintext
    r.type = inner[i]!;
    return inner.subarray(0, i);
  }

  wipe(): void {
    wipe(this.keys.key);
    wipe(this.keys.iv);
  }

  /** Writes the nonce (IV ‖ epoch ‖ sequence) and the RFC 9146 §5 additional data. */
  private prepare(epoch: number, seq: number, innerLength: number, version = DTLS_1_2): void {
    const a = this.aad;
    const cidLen = this.cid.length;
    a.fill(0xff, 0, 8); // seq_num_placeholder
    a[8] = TLS12_CID;
    a[9] = cidLen;
    a[10] = TLS12_CID;
    a[11] = version >>> 8;
    a[12] = version & 0xff;
    a[13] = epoch >>> 8;
    a[14] = epoch & 0xff;
    const hi = Math.floor(seq / 0x1_0000_0000);
    const lo = seq >>> 0;
    a[15] = hi >>> 8;
    a[16] = hi & 0xff;
    a[17] = lo >>> 24;
    a[18] = (lo >>> 16) & 0xff;
    a[19] = (lo >>> 8) & 0xff;
    a[20] = lo & 0xff;
    a.set(this.cid, 21);
    a[21 + cidLen] = innerLength >>> 8;
    a[22 + cidLen] = innerLength & 0xff;
    const n = this.nonce;
    const iv = this.keys.iv;
    n[0] = iv[0]!;
    n[1] = iv[1]!;
    n[2] = iv[2]!;
    n[3] = iv[3]!;
    for (let k = 0; k < 8; k++) n[4 + k] = a[13 + k]!;
  }
}

/** The tls12_cid protection as a factory (NegotiatedCid.protection, handshake/state.ts). */
export const ccm8CidProtection = (crypto: CryptoProvider, keys: TrafficKeys, cid: Uint8Array, padding?: number): Ccm8CidProtection => new Ccm8CidProtection(crypto, keys, cid, padding);

import type { CryptoProvider } from '../../crypto/provider.js';
import { CCM8_TAG_LENGTH } from '../../crypto/provider.js';
import { RECORD_HEADER_LENGTH, writeHeader, type RecordHeader } from '../wire/record.js';
import { wireBuffer } from '../../bytes/wire-chunks.js';

/**
 * AES-128-CCM_8 record protection for DTLS 1.2 (RFC 6655 §3, RFC 7251, RFC 5246 §6.2.3.3):
 * ```
 * struct {
 *   opaque nonce_explicit[8];             // = epoch ‖ sequence_number (RFC 6655 §3)
 *   aead-ciphered struct { opaque content[DTLSPlaintext.length]; };
 * } GenericAEADCipher;
 *
 * nonce = client/server_write_IV (4 bytes) ‖ nonce_explicit (8 bytes)
 * additional_data = seq_num (epoch ‖ sequence, 8 bytes) ‖ type ‖ version ‖ length(plaintext)
 * ```
 */
export const EXPLICIT_NONCE_LENGTH = 8;
export const CCM8_RECORD_OVERHEAD = EXPLICIT_NONCE_LENGTH + CCM8_TAG_LENGTH;

export interface TrafficKeys {
  key: Uint8Array;
  /** The 4-byte implicit part of the nonce (client_write_IV / server_write_IV). */
  iv: Uint8Array;
}

/**
 * Scratch nonce and additional data, rewritten for every record: the provider's CCM calls are
 * synchronous and providers do not keep their arguments, so two buffers serve every record
 * instead of two allocations per record.
 */
const NONCE = new Uint8Array(12);
const AAD = new Uint8Array(13);

/** Writes nonce = iv ‖ epoch ‖ seq and aad = epoch ‖ seq ‖ type ‖ version ‖ length into the scratch buffers. */
function prepare(iv: Uint8Array, type: number, version: number, epoch: number, seq: number, length: number): void {
  const aad = AAD;
  const hi = Math.floor(seq / 0x1_0000_0000);
  const lo = seq >>> 0;
  aad[0] = epoch >>> 8;
  aad[1] = epoch & 0xff;
  aad[2] = hi >>> 8;
  aad[3] = hi & 0xff;
  aad[4] = lo >>> 24;
  aad[5] = (lo >>> 16) & 0xff;
  aad[6] = (lo >>> 8) & 0xff;
  aad[7] = lo & 0xff;
  aad[8] = type;
  aad[9] = version >>> 8;
  aad[10] = version & 0xff;
  aad[11] = length >>> 8;
  aad[12] = length & 0xff;
  const n = NONCE;
  n[0] = iv[0]!;
  n[1] = iv[1]!;
  n[2] = iv[2]!;
  n[3] = iv[3]!;
  for (let i = 0; i < 8; i++) n[4 + i] = aad[i]!;
}

/** Encrypts one record; returns the whole record (header ‖ explicit nonce ‖ ciphertext ‖ tag). */
export function sealRecord(
  c: CryptoProvider,
  keys: TrafficKeys,
  h: Omit<RecordHeader, 'length'>,
  plaintext: Uint8Array,
): Uint8Array {
  return sealRecordWith(c, keys, h.type, h.version, h.epoch, h.sequence, plaintext);
}

/** sealRecord with the header fields as arguments (no header object per record). */
export function sealRecordWith(
  c: CryptoProvider,
  keys: TrafficKeys,
  type: number,
  version: number,
  epoch: number,
  sequence: number,
  plaintext: Uint8Array,
): Uint8Array {
  prepare(keys.iv, type, version, epoch, sequence, plaintext.length);
  const sealed = c.ccm8Encrypt(keys.key, NONCE, AAD, plaintext);
  // header ‖ explicit nonce (= the AAD's first 8 bytes) ‖ sealed, in one buffer
  const out = wireBuffer(RECORD_HEADER_LENGTH + EXPLICIT_NONCE_LENGTH + sealed.length);
  writeHeader(out, 0, type, version, epoch, sequence, EXPLICIT_NONCE_LENGTH + sealed.length);
  const aad = AAD;
  for (let i = 0; i < EXPLICIT_NONCE_LENGTH; i++) out[RECORD_HEADER_LENGTH + i] = aad[i]!;
  out.set(sealed, RECORD_HEADER_LENGTH + EXPLICIT_NONCE_LENGTH);
  return out;
}

/**
 * Decrypts a record fragment (a view of the datagram). Returns undefined when the record is
 * too short or fails authentication; the caller discards it silently (RFC 6347 §4.1.2.7).
 */
export function openRecord(
  c: CryptoProvider,
  keys: TrafficKeys,
  h: RecordHeader,
  fragment: Uint8Array,
): Uint8Array | undefined {
  if (fragment.length < CCM8_RECORD_OVERHEAD) return undefined;
  const sealedLength = fragment.length - EXPLICIT_NONCE_LENGTH;
  prepare(keys.iv, h.type, h.version, h.epoch, h.sequence, sealedLength - CCM8_TAG_LENGTH);
  // the nonce's explicit part comes from the record, not from the header's epoch/sequence
  const n = NONCE;
  for (let i = 0; i < EXPLICIT_NONCE_LENGTH; i++) n[4 + i] = fragment[i]!;
  return c.ccm8Decrypt(keys.key, n, AAD, fragment.subarray(EXPLICIT_NONCE_LENGTH));
}

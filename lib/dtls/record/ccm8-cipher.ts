import type { CryptoProvider } from '../../crypto/provider.js';
import { CCM8_TAG_LENGTH } from '../../crypto/provider.js';
import { RECORD_HEADER_LENGTH, writeHeader, type RecordHeader } from '../wire/record.js';

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

function additionalData(type: number, version: number, epoch: number, seq: number, length: number): Uint8Array {
  const aad = new Uint8Array(13);
  aad[0] = epoch >>> 8;
  aad[1] = epoch & 0xff;
  const hi = Math.floor(seq / 0x1_0000_0000);
  const lo = seq >>> 0;
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
  return aad;
}

/** Encrypts one record; returns the whole record (header ‖ explicit nonce ‖ ciphertext ‖ tag). */
export function sealRecord(
  c: CryptoProvider,
  keys: TrafficKeys,
  h: Omit<RecordHeader, 'length'>,
  plaintext: Uint8Array,
): Uint8Array {
  const nonce = new Uint8Array(12);
  nonce.set(keys.iv, 0);
  const aad = additionalData(h.type, h.version, h.epoch, h.sequence, plaintext.length);
  nonce.set(aad.subarray(0, 8), 4);
  const sealed = c.ccm8Encrypt(keys.key, nonce, aad, plaintext);
  const out = new Uint8Array(RECORD_HEADER_LENGTH + EXPLICIT_NONCE_LENGTH + sealed.length);
  writeHeader(out, 0, h.type, h.version, h.epoch, h.sequence, EXPLICIT_NONCE_LENGTH + sealed.length);
  out.set(aad.subarray(0, 8), RECORD_HEADER_LENGTH);
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
  const nonce = new Uint8Array(12);
  nonce.set(keys.iv, 0);
  nonce.set(fragment.subarray(0, EXPLICIT_NONCE_LENGTH), 4);
  const sealed = fragment.subarray(EXPLICIT_NONCE_LENGTH);
  const aad = additionalData(h.type, h.version, h.epoch, h.sequence, sealed.length - CCM8_TAG_LENGTH);
  return c.ccm8Decrypt(keys.key, nonce, aad, sealed);
}

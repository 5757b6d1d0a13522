import { Reader } from '../../bytes/reader.js';
import { Writer } from '../../bytes/writer.js';

/**
 * RFC 4279 §2:
 * ```
 * struct {
 *   select (KeyExchangeAlgorithm) {
 *     case psk:  opaque psk_identity_hint<0..2^16-1>;
 *   };
 * } ServerKeyExchange;
 *
 * struct {
 *   select (KeyExchangeAlgorithm) {
 *     case psk:  opaque psk_identity<0..2^16-1>;
 *   } exchange_keys;
 * } ClientKeyExchange;
 * ```
 * Both carry one opaque vector; the identity is capped by configuration (128 bytes by default,
 * RFC 4279 §5.3 requires at least 128).
 */
export function decodePskIdentity(body: Uint8Array, max: number, what: string): Uint8Array {
  const r = new Reader(body);
  const v = r.vec16(what, 0, max);
  r.end(what);
  return v;
}

export function encodePskIdentity(identity: Uint8Array): Uint8Array {
  return new Writer(2 + identity.length).vec16((w) => w.bytes(identity)).finish();
}

/**
 * RFC 4279 §2: the premaster secret for plain PSK is
 * `uint16 N ‖ N zero bytes ‖ uint16 N ‖ psk` where N is the PSK's length.
 */
export function pskPremasterSecret(psk: Uint8Array): Uint8Array {
  const n = psk.length;
  const out = new Uint8Array(4 + 2 * n);
  out[0] = n >>> 8;
  out[1] = n & 0xff;
  out[2 + n] = n >>> 8;
  out[3 + n] = n & 0xff;
  out.set(psk, 4 + n);
  return out;
}

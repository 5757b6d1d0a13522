import { DecodeError, Reader } from '../../bytes/reader.js';
import { Writer } from '../../bytes/writer.js';
import { NamedCurve } from './ec-extensions.js';

/** RFC 8422 §5.4: ECCurveType named_curve(3). */
export const EC_CURVE_TYPE_NAMED = 3;

/**
 * RFC 8422 §5.4 and RFC 5246 §4.7:
 * ```
 * struct {
 *   ECCurveType curve_type;            // named_curve
 *   NamedCurve  namedcurve;            // secp256r1
 * } ECParameters;
 * struct { opaque point <1..2^8-1>; } ECPoint;
 * struct { ECParameters curve_params; ECPoint public; } ServerECDHParams;
 *
 * struct {
 *   select (KeyExchangeAlgorithm) {
 *     case ec_diffie_hellman:
 *       ServerECDHParams params;
 *       Signature signed_params;     // digitally-signed struct { client_random, server_random, params }
 *   };
 * } ServerKeyExchange;
 *
 * struct {
 *   SignatureAndHashAlgorithm algorithm;
 *   opaque signature<0..2^16-1>;
 * } DigitallySigned;
 * ```
 */
export interface ServerEcdhKeyExchange {
  namedCurve: number;
  publicKey: Uint8Array;
  /** The encoded ServerECDHParams, as covered by the signature. */
  params: Uint8Array;
  signature: DigitallySigned;
}

export interface DigitallySigned {
  algorithm: number;
  signature: Uint8Array;
}

export function decodeServerEcdhKeyExchange(body: Uint8Array): ServerEcdhKeyExchange {
  const r = new Reader(body);
  const curveType = r.u8('curve_type');
  if (curveType !== EC_CURVE_TYPE_NAMED) throw new DecodeError(`curve_type ${curveType} is not named_curve`);
  const namedCurve = r.u16('namedcurve');
  const publicKey = r.vec8('ECPoint', 1);
  const params = body.subarray(0, r.offset);
  const signature = readDigitallySigned(r);
  r.end('ServerKeyExchange');
  return { namedCurve, publicKey, params, signature };
}

export function encodeServerEcdhParams(publicKey: Uint8Array, namedCurve: number = NamedCurve.secp256r1): Uint8Array {
  return new Writer(4 + publicKey.length)
    .u8(EC_CURVE_TYPE_NAMED)
    .u16(namedCurve)
    .vec8((w) => w.bytes(publicKey))
    .finish();
}

export function encodeServerEcdhKeyExchange(params: Uint8Array, sig: DigitallySigned): Uint8Array {
  const w = new Writer(params.length + 4 + sig.signature.length).bytes(params);
  writeDigitallySigned(w, sig);
  return w.finish();
}

export function readDigitallySigned(r: Reader): DigitallySigned {
  const algorithm = r.u16('SignatureAndHashAlgorithm');
  const signature = r.vec16('signature');
  return { algorithm, signature };
}

export function writeDigitallySigned(w: Writer, sig: DigitallySigned): void {
  w.u16(sig.algorithm).vec16((w) => w.bytes(sig.signature));
}

/**
 * RFC 8422 §5.7: `struct { select (KeyExchangeAlgorithm) { case ec_diffie_hellman: ECPoint ecdh_Yc; } exchange_keys; } ClientKeyExchange;`
 */
export function decodeClientEcdhKeyExchange(body: Uint8Array): Uint8Array {
  const r = new Reader(body);
  const point = r.vec8('ecdh_Yc', 1);
  r.end('ClientKeyExchange');
  return point;
}

export function encodeClientEcdhKeyExchange(point: Uint8Array): Uint8Array {
  return new Writer(1 + point.length).vec8((w) => w.bytes(point)).finish();
}

/**
 * RFC 5246 §7.4.8: `struct { digitally-signed struct { opaque handshake_messages[handshake_messages_length]; } } CertificateVerify;`
 */
export function decodeCertificateVerify(body: Uint8Array): DigitallySigned {
  const r = new Reader(body);
  const s = readDigitallySigned(r);
  r.end('CertificateVerify');
  return s;
}

export function encodeCertificateVerify(sig: DigitallySigned): Uint8Array {
  const w = new Writer(4 + sig.signature.length);
  writeDigitallySigned(w, sig);
  return w.finish();
}

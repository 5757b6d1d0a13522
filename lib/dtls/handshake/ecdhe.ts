import { concat, toHex } from '../../bytes/util.js';
import type { CryptoProvider, EcdhKeyPair, P256PrivateKey, P256PublicKey } from '../../crypto/provider.js';
import { DtlsError } from '../errors.js';
import type { ConnectionConfig } from '../config.js';
import { ECDSA_SECP256R1_SHA256, NamedCurve } from '../wire/ec-extensions.js';
import {
  decodeServerEcdhKeyExchange,
  encodeServerEcdhKeyExchange,
  encodeServerEcdhParams,
  type DigitallySigned,
} from '../wire/ecdh-key-exchange.js';

/**
 * The ECDHE_ECDSA key exchange (RFC 8422 §5.4): the server signs
 * `ClientHello.random ‖ ServerHello.random ‖ ServerECDHParams` with its certificate key.
 */
export function makeServerKeyExchange(
  c: CryptoProvider,
  key: P256PrivateKey,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
): { body: Uint8Array; ephemeral: EcdhKeyPair } {
  const ephemeral = c.p256.generateEcdh();
  const params = encodeServerEcdhParams(ephemeral.publicKey, NamedCurve.secp256r1);
  const signature = c.p256.sign(key, concat(clientRandom, serverRandom, params));
  return { body: encodeServerEcdhKeyExchange(params, { algorithm: ECDSA_SECP256R1_SHA256, signature }), ephemeral };
}

/** Client side: checks the curve and the signature; returns the server's ephemeral point. */
export function readServerKeyExchange(
  c: CryptoProvider,
  serverKey: P256PublicKey,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  body: Uint8Array,
): Uint8Array {
  const ske = decodeServerEcdhKeyExchange(body);
  if (ske.namedCurve !== NamedCurve.secp256r1) throw new DtlsError('ILLEGAL_PARAMETER', `server chose curve ${ske.namedCurve}`);
  checkAlgorithm(ske.signature);
  if (!c.p256.verify(serverKey, concat(clientRandom, serverRandom, ske.params), ske.signature.signature)) {
    throw new DtlsError('BAD_SIGNATURE', 'ServerKeyExchange signature does not verify');
  }
  checkPoint(ske.publicKey);
  return ske.publicKey;
}

export function checkAlgorithm(s: DigitallySigned): void {
  if (s.algorithm !== ECDSA_SECP256R1_SHA256) throw new DtlsError('ILLEGAL_PARAMETER', `signature algorithm 0x${s.algorithm.toString(16)} not offered`);
}

export function checkPoint(p: Uint8Array): void {
  if (p.length !== 65 || p[0] !== 0x04) throw new DtlsError('ILLEGAL_PARAMETER', 'ECDH point is not an uncompressed P-256 point');
}

/** The ECDH premaster secret: the shared X coordinate (RFC 8422 §5.10). */
export function ecdhPremaster(ephemeral: EcdhKeyPair, peerPoint: Uint8Array): Uint8Array {
  checkPoint(peerPoint);
  try {
    return ephemeral.deriveSecret(peerPoint);
  } catch {
    throw new DtlsError('ILLEGAL_PARAMETER', 'the peer\'s ECDH point is not on P-256');
  }
}

/** Parses (once, through the shared cache) the peer's public key. */
export function peerPublicKey(cfg: ConnectionConfig, spki: Uint8Array): P256PublicKey {
  const k = toHex(spki);
  let key = cfg.publicKeyCache.get(k);
  if (!key) {
    try {
      key = cfg.crypto.p256.importPublicKey(spki);
    } catch {
      throw new DtlsError('UNSUPPORTED_CERTIFICATE', 'the peer\'s key is not a P-256 public key');
    }
    if (cfg.publicKeyCache.size >= 1024) cfg.publicKeyCache.delete(cfg.publicKeyCache.keys().next().value!);
    cfg.publicKeyCache.set(k, key);
  }
  return key;
}

/**
 * Key material for the ECDHE_ECDSA benchmarks: the public tinydtls test keys (tests/dtls-server.c,
 * tests/dtls-client.c; also in test/fixtures/tinydtls/B_*.json `ecdsa_keys`). P-256 private
 * scalars; the public halves are derived. Test keys only: never use them for anything real.
 */
import type { CryptoProvider, P256PrivateKey } from '../../lib/crypto/provider.js';

export const SERVER_SCALAR_HEX = 'd9e2707a72da6a0504995c86eddbe3efc7f1cd74838f7570c8072d0a76261bd4';
export const CLIENT_SCALAR_HEX = '41c1cb6b51247a144321435b7a80e714896a33bbad7294ca401455a194a949fa';

const fromHex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));

/** The server's key (its SPKI is the raw public key clients trust). */
export function serverKey(c: CryptoProvider): P256PrivateKey {
  return c.p256.privateKeyFromScalar(fromHex(SERVER_SCALAR_HEX));
}

/** The client's key (its SPKI is the one raw public key the server trusts). */
export function clientKey(c: CryptoProvider): P256PrivateKey {
  return c.p256.privateKeyFromScalar(fromHex(CLIENT_SCALAR_HEX));
}

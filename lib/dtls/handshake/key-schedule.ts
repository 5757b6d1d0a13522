import type { CryptoProvider } from '../../crypto/provider.js';
import { prf, type PrfSecret } from '../../crypto/prf.js';
import { toHex } from '../../bytes/util.js';
import type { TrafficKeys } from '../record/ccm8-cipher.js';
import { VERIFY_DATA_LENGTH } from '../wire/finished.js';

/**
 * RFC 5246 §8.1 and RFC 7627 §4:
 * ```
 * master_secret = PRF(pre_master_secret, "master secret",
 *                     ClientHello.random + ServerHello.random)[0..47];
 * master_secret = PRF(pre_master_secret, "extended master secret",
 *                     session_hash)[0..47];          // with extended_master_secret
 * ```
 */
export function deriveMasterSecret(
  c: CryptoProvider,
  preMaster: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  sessionHash: Uint8Array | undefined,
): Uint8Array {
  return sessionHash
    ? prf(c, preMaster, 'extended master secret', sessionHash, 48)
    : prf(c, preMaster, 'master secret', clientRandom, 48, serverRandom);
}

/** The key block before it is cut into keys: one for every derivation, wiped after each. */
const KEY_BLOCK = new Uint8Array(40);

export interface KeyBlock {
  client: TrafficKeys;
  server: TrafficKeys;
}

/**
 * RFC 5246 §6.3: key_block = PRF(master, "key expansion", server_random + client_random),
 * partitioned as client_write_MAC_key, server_write_MAC_key (empty for AEAD),
 * client_write_key[16], server_write_key[16], client_write_IV[4], server_write_IV[4] (RFC 6655).
 */
export function deriveKeyBlock(c: CryptoProvider, master: PrfSecret, clientRandom: Uint8Array, serverRandom: Uint8Array): KeyBlock {
  const kb = prf(c, master, 'key expansion', serverRandom, 40, clientRandom, KEY_BLOCK);
  const keys = {
    client: { key: kb.slice(0, 16), iv: kb.slice(32, 36) },
    server: { key: kb.slice(16, 32), iv: kb.slice(36, 40) },
  };
  kb.fill(0);
  return keys;
}

/** RFC 5246 §7.4.9: verify_data = PRF(master_secret, finished_label, Hash(handshake_messages))[0..11]. */
export function computeVerifyData(c: CryptoProvider, master: PrfSecret, role: 'client' | 'server', handshakeHash: Uint8Array): Uint8Array {
  return prf(c, master, role === 'client' ? 'client finished' : 'server finished', handshakeHash, VERIFY_DATA_LENGTH);
}

/** One NSS key log line: `CLIENT_RANDOM <64 hex> <96 hex>`. */
export function keyLogLine(clientRandom: Uint8Array, master: Uint8Array): string {
  return `CLIENT_RANDOM ${toHex(clientRandom)} ${toHex(master)}`;
}

/**
 * The pure-JS crypto provider, for runtimes without node:crypto (the bare-metal / embedded
 * transport). No `node:` import and no `Buffer` anywhere below this file; randomness is
 * injected, because only the host knows where its entropy comes from.
 *
 * - AES-128-CCM_8: lib/crypto/pure/ccm.ts, RFC 3610 on the AES block function of
 *   `@noble/ciphers` (which has no CCM), expanded keys cached per key buffer.
 * - SHA-256 / HMAC-SHA256: lib/crypto/sha256.ts (the node provider uses it too).
 * - P-256 ECDH / ECDSA: lib/crypto/pure/p256.ts over `@noble/curves`.
 *
 * On "constant time" in JavaScript (read before relying on it): nothing a JIT compiles can be
 * promised to run in constant time. What this provider does: the CCM tag and key checks
 * accumulate differences without an early exit; `@noble/curves` uses fixed-window
 * multiplication with fake additions for secret scalars; SHA-256 and HMAC have no
 * data-dependent branches. What it does not do: AES here is table-based (as is every fast
 * software AES without AES-NI), so its memory accesses depend on key and data bytes and a
 * co-located attacker who can observe cache timing may learn key bits; BigInt arithmetic in
 * the curve code is not constant time at the engine level; secrets in garbage-collected
 * memory may be copied and cannot be reliably wiped. Use node:crypto where it exists.
 */
import type { CryptoProvider } from './provider.js';
import { createPureP256 } from './pure/p256.js';
import { createPurePskCrypto } from './pure-psk.js';

/**
 * A provider with no dependency on node:crypto. `random(n)` must return `n` bytes from a
 * cryptographically secure source (e.g. `crypto.getRandomValues`, a hardware TRNG).
 */
/** Every capability of the pure provider (ECDH/ECDSA on P-256 via @noble/curves). */
export function createPureCrypto(random: (n: number) => Uint8Array): CryptoProvider {
  const base = createPurePskCrypto(random);
  return { ...base, p256: createPureP256(base.random) };
}

import type { CryptoProvider } from './provider.js';

/**
 * The provider used when options name none. Nothing is registered by the engine itself, so a
 * build for an embedded runtime pulls in no node: module: the Node provider registers itself
 * when imported (lib/crypto/node.ts), an embedded host passes or registers the pure one.
 */
let fallback: CryptoProvider | undefined;

export function setDefaultCrypto(c: CryptoProvider): void {
  fallback = c;
}

export function defaultCrypto(): CryptoProvider {
  if (!fallback) throw new TypeError('no crypto provider: pass options.crypto (e.g. createPureCrypto(random)) or import coaps/crypto');
  return fallback;
}

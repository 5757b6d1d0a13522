export type { CryptoProvider, HashState } from './provider.js';
export { nodeCrypto } from './node.js';
export { prf } from './prf.js';

export type { CertificateSignatureAlgorithm, CryptoProvider, HashState } from './provider.js';
export { nodeCrypto, setJsCcmBelow } from './node.js';
export { prf } from './prf.js';
export { createPureCrypto } from './pure.js';
export { createPurePskCrypto } from './pure-psk.js';
export { setDefaultCrypto } from './default.js';

/** `coaps/dtls`: the DTLS 1.2 engine with its Node driver (node:dgram) and the node:crypto provider. */
import { keyStore as engineKeyStore, type TrustOptions } from '../dtls/credentials.js';
import { memoryKeyStore as engineMemoryKeyStore, type KeyStore } from '../dtls/keystore.js';
import { systemClock } from '../../transports/node-dgram.js';

export * from '../dtls/index.js';
export { createServer, connect, DtlsServer, DtlsSession, type ServerOptions, type ConnectOptions, type DatagramTrace, type KeyStoreErrorInfo } from '../../transports/node-dgram.js';
export { nodeCrypto } from '../crypto/node.js';

/** `keyStore` for Node: X.509 validity defaults to the system clock (pass `clock` to inject one, or 'none'). */
export function keyStore(o: TrustOptions): KeyStore {
  return engineKeyStore(o.ca !== undefined && o.clock === undefined ? { ...o, clock: systemClock } : o);
}

/** `memoryKeyStore` for Node: X.509 validity defaults to the system clock. */
export function memoryKeyStore(o: Parameters<typeof engineMemoryKeyStore>[0]): KeyStore {
  return engineMemoryKeyStore(o.anchors && o.clock === undefined ? { ...o, clock: systemClock } : o);
}

/** `coaps/dtls`: the DTLS 1.2 engine with its Node driver (node:dgram) and the node:crypto provider. */
export * from '../dtls/index.js';
export { createServer, connect, DtlsServer, DtlsSession, type ServerOptions, type ConnectOptions, type DatagramTrace, type KeyStoreErrorInfo } from '../../transports/node-dgram.js';
export { nodeCrypto } from '../crypto/node.js';

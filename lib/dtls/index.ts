/** The DTLS 1.2 engine, sans-IO: no socket, no timer, no node: module. The Node driver is added by lib/entry/dtls.ts (`coaps/dtls`). */
export { DtlsEndpoint, type EndpointOptions, type EndpointEvent, type KeyStoreErrorEvent } from './endpoint.js';
export { ClientConnection } from './handshake/client.js';
export { ServerConnection } from './handshake/server.js';
export { DtlsConnection } from './connection.js';
export { DtlsError, DtlsErrorCode } from './errors.js';
export type { DtlsEvent, SessionInfo } from './events.js';
export { pskMap, type PskLookup, type PeerAddress } from './keystore.js';
export { RETRANSMISSION_PRESETS, DEFAULT_MTU, resolveConfig, type ConnectionOptions, type ClientPsk, type RetransmissionConfig } from './config.js';
export { CipherSuite, AlertDescription } from './wire/constants.js';
export { describeDatagram } from './describe.js';
export { ecdheCredentials, keyStore, spkiFrom, type EcdheCredentialOptions, type TrustOptions } from './credentials.js';
export { memoryKeyStore, type KeyStore, type PeerIdentity } from './keystore.js';
export { verifyPeer, type PeerCredential, type PeerVerdict } from './trust.js';
export { parseCertificates, type Certificate } from '../x509/certificate.js';
export { X509Error, type X509ErrorCode } from '../x509/errors.js';
export type { Clock, VerifiedChain } from '../x509/verify.js';

/**
 * The smallest build: a PSK-only DTLS client with a CoAP client, for a small JS runtime
 * through the bare-metal shim. Leaves out ECDHE, X.509, the server (DTLS and CoAP), LwM2M,
 * Connection ID, session resumption and export, and every node: module
 * (BasicPskClientConnection, resolveBasicConfig, CoapClientEndpoint).
 */
export { BasicPskClientConnection } from '../dtls/handshake/client-psk-basic.js';
export { resolveBasicConfig } from '../dtls/basic-config.js';
export { DtlsError } from '../dtls/errors.js';
export { createPurePskCrypto } from '../crypto/pure-psk.js';
export { BaremetalDtlsClient, BaremetalCoapsClient, type UdpShim } from '../../transports/baremetal.js';
export { Code, OptionNumber, MessageType, codeText } from '../coap/message.js';

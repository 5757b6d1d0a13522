/**
 * The smallest build: a PSK-only DTLS client with a CoAP client, for a small JS runtime
 * through the bare-metal shim. Leaves out ECDHE, X.509, the server, LwM2M and every node: module.
 */
export { PskClientConnection } from '../dtls/handshake/client-psk.js';
export { resolveConfig } from '../dtls/config.js';
export { DtlsError } from '../dtls/errors.js';
export { createPurePskCrypto } from '../crypto/pure-psk.js';
export { BaremetalDtlsClient, BaremetalCoapsClient, type UdpShim } from '../../transports/baremetal.js';
export { Code, OptionNumber, MessageType, codeText } from '../coap/message.js';

/** A DTLS client with both suites (PSK and ECDHE-ECDSA with raw public keys), pure-JS crypto, over the bare-metal shim. */
export { ClientConnection } from '../dtls/handshake/client.js';
export { resolveConfig } from '../dtls/config.js';
export { DtlsError } from '../dtls/errors.js';
export { createPureCrypto } from '../crypto/pure.js';
export { BaremetalDtlsClient, BaremetalCoapsClient, type UdpShim } from '../../transports/baremetal.js';
export { Code, OptionNumber, MessageType, codeText } from '../coap/message.js';

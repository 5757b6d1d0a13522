/** CoAP (RFC 7252, 7959, 7641, 6690), sans-IO. The Node client and server are added by lib/entry/coap.ts (`coaps/coap`). */
export { CoapResponse, type IncomingRequest, type Method } from './api-types.js';
export { Router, type ResourceDescription } from './router.js';
export { CoapClientEndpoint } from './client-endpoint.js';
export { CoapEndpoint, type CoapEvent, type OutgoingRequest, type OutgoingResponse } from './endpoint.js';
export { CoapServerCore } from './server-core.js';
export { MessageLayer } from './message-layer.js';
export { ClientMessageLayer } from './client-message-layer.js';
export { CoapError, CoapErrorCode } from './errors.js';
export { CoapFormatError, decodeMessage, encodeMessage } from './codec.js';
export { Code, MessageType, OptionNumber, codeText, type CoapMessage, type CoapOption } from './message.js';
export { ContentFormat } from './content-format.js';
export { formatLinks, parseLinks, filterLinks, LinkFormatError, type Link } from './link-format.js';
export { DEFAULT_TRANSMISSION, type TransmissionParameters } from './config.js';
export { coapUriAuthority, COAP_DEFAULT_PORT, COAPS_DEFAULT_PORT, type CoapUriAuthority } from './uri.js';

/** `coaps/coap`: CoAP over UDP and DTLS, the sans-IO layers with the Node client and server. */
export * from '../coap/index.js';
export { createServer, request, CoapClient, CoapServer, ServerResponse, Observation, type Handler, type RequestOptions, type CoapClientOptions, type CoapServerOptions } from '../../transports/coap-node.js';

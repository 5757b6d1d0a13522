/** Everything (Node): DTLS, CoAP and LwM2M with their Node drivers. */
export * as dtls from '../dtls/index.js';
export * as coap from '../coap/index.js';
export * as lwm2m from '../lwm2m/index.js';

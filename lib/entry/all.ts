/** Everything (Node): DTLS, CoAP and LwM2M with their Node drivers. */
export * as dtls from './dtls.js';
export * as coap from './coap.js';
export * as lwm2m from './lwm2m.js';

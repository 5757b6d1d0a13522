/** `coaps/lwm2m`: the LwM2M client and servers with their Node drivers. */
export * from '../lwm2m/index.js';

/** `coaps/lwm2m`: an LwM2M 1.1 client (bootstrap over DTLS, registration), and test servers. */
export { Lwm2mClient, type Lwm2mClientOptions } from './client.js';
export { BootstrapServer, type BootstrapServerOptions, type BootstrapEndpointConfig, type ServerAccount } from './bootstrap-server.js';
export { Lwm2mServer, type Lwm2mServerOptions, type Registration } from './server.js';
export { ObjectStore, type ObjectBehaviour } from './object-store.js';
export { SECURITY, SERVER, DEVICE, STANDARD_OBJECTS, SecurityMode, resolverFor } from './objects.js';
export { FileStorage, MemoryStorage, type Storage, type ClientState } from './storage.js';
export { Lwm2mError } from './errors.js';
export { decodeContent, encodeContent, codecFor, SUPPORTED_FORMATS } from './codec/index.js';
export type { SecurityConfig } from './security.js';
export * from './types.js';

/**
 * LwM2M 1.1, sans-IO: the client, bootstrap server and server cores (time as an input, the
 * driver opens channels and moves datagrams), the object model and the codecs. The Node
 * drivers are added by lib/entry/lwm2m.ts (`coaps/lwm2m`); transports/sim-lwm2m.ts runs the
 * same cores on the virtual clock.
 */
export { Lwm2mClientCore, type Lwm2mClientCoreOptions, type Lwm2mClientEvent } from './client-core.js';
export { BootstrapServerCore, securityRecords, serverRecords, type BootstrapServerCoreOptions, type BootstrapServerEvent, type BootstrapEndpointConfig, type ServerAccount } from './bootstrap-server-core.js';
export { Lwm2mServerCore, type Lwm2mServerCoreOptions, type Lwm2mServerEvent, type Registration, type OperationOptions, type OperationResult } from './server-core.js';
export { AttributeStore, NOTIFICATION_ATTRIBUTES, type AttributeName, type AttributeSet } from './attributes.js';
export { FirmwareState, UpdateResult, type FirmwareOptions } from './client-firmware.js';
export { checkRegistrationLinks, checkDiscoverLinks, Lwm2mLinkError } from './link-check.js';
export type { SendOptions } from './client-send.js';
export type { ChannelSession, ConnectionIdOption, ResumptionStorage } from './client-sessions.js';
export type { TimedRecord } from './codec/senml.js';
export { CoapAgent, type PeerInfo, type CoapAnswer, type AgentEvent } from './coap-agent.js';
export { registrationLinks, type FactoryBootstrap, type ServerAccountInfo } from './client-accounts.js';
export { serveBootstrapRequest, serveServerRequest, type Lwm2mAnswer, type BootstrapSession } from './client-requests.js';
export { ObjectStore, type ObjectBehaviour, type SnapshotObject } from './object-store.js';
export { SECURITY, SERVER, DEVICE, FIRMWARE_UPDATE, STANDARD_OBJECTS, SecurityMode, resolverFor } from './objects.js';
export { deviceStore, type WallClock } from './device.js';
export { encodeClientState, decodeClientState, type ClientState } from './storage.js';
export { Lwm2mError } from './errors.js';
export { decodeContent, encodeContent, codecFor, SUPPORTED_FORMATS, decodeComposite, encodeComposite, decodePathList, encodePathList } from './codec/index.js';
export { checkSecurity, dtlsCredentials, type SecurityConfig, type DtlsCredentials } from './security.js';
export * from './types.js';

/**
 * `coaps/lwm2m`: the sans-IO LwM2M cores, object model and codecs, with their Node drivers:
 * Lwm2mClient, BootstrapServer and Lwm2mServer on node:dgram DTLS sessions, FileStorage and
 * MemoryStorage, and a deviceStore whose Device object reads Date.now().
 */
export * from '../lwm2m/index.js';
export {
  Lwm2mClient,
  Lwm2mServer,
  BootstrapServer,
  FileStorage,
  MemoryStorage,
  FileResumptionStorage,
  MemoryResumptionStorage,
  deviceStore,
  type Lwm2mClientOptions,
  type Lwm2mServerOptions,
  type BootstrapServerOptions,
  type Storage,
  type ResumptionStorage,
} from '../../transports/lwm2m-node.js';

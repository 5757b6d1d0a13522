/**
 * An LwM2M deployment on the virtual clock (transports/sim-lwm2m.ts): a bootstrap server, an
 * LwM2M server and one client, all PSK over the sans-IO DTLS engine, on a SimNetwork.
 */
import '../../lib/crypto/node.js';
import type { EndpointOptions } from '../../lib/dtls/endpoint-options.js';
import { pskMap } from '../../lib/dtls/keystore.js';
import { deviceStore } from '../../lib/lwm2m/device.js';
import { DEVICE, FIRMWARE_UPDATE, SECURITY, SERVER } from '../../lib/lwm2m/objects.js';
import type { ObjectDefinition } from '../../lib/lwm2m/types.js';
import { SimNetwork, type LinkConditions, type SimDatagram } from '../../transports/sim.js';
import { SimBootstrapServer, SimLwm2mClient, SimLwm2mServer, type SimLwm2mClientOptions } from '../../transports/sim-lwm2m.js';

export const enc = (s: string) => new TextEncoder().encode(s);
export const BS = { address: '10.0.0.1', port: 5684 };
export const DM = { address: '10.0.0.2', port: 5684 };
export const DEVICE_ADDRESS = { address: '10.0.1.1', port: 56830 };
export const ENDPOINT = 'urn:dev:sim-0001';
/** The wall clock of the simulation starts here (2025-01-01T00:00:00Z). */
export const EPOCH = Date.UTC(2025, 0, 1);
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

/** IPSO Temperature (3303) with its Sensor Value (5700): what the device reports. */
export const TEMPERATURE: ObjectDefinition = {
  id: 3303,
  name: 'Temperature',
  multiple: true,
  mandatory: false,
  resources: [
    { id: 5700, name: 'Sensor Value', type: 'float', multiple: false, operations: 'R', mandatory: true },
    { id: 5701, name: 'Sensor Units', type: 'string', multiple: false, operations: 'R', mandatory: false },
  ],
};

export const BS_PSK = { identity: enc('sim-0001-bs'), key: enc('factory-secret') };
export const DM_PSK = { identity: enc('sim-0001'), key: enc('provisioned-secret') };

export interface SimSetupOptions {
  link?: LinkConditions;
  seed?: number;
  filter?: (d: SimDatagram) => boolean;
  lifetimeS?: number;
  /** Leave the bootstrap server out (nobody answers at BS). */
  noBootstrapServer?: boolean;
  client?: Partial<SimLwm2mClientOptions>;
  /** More options of the LwM2M server's DTLS endpoint (a Connection ID, the session cache, ...). */
  serverDtls?: Omit<EndpointOptions, 'wake' | 'psk'>;
  /** Every core's log lines. */
  log?: (who: 'client' | 'server' | 'bootstrap', line: string) => void;
}

export function simSetup(o: SimSetupOptions = {}) {
  const net = new SimNetwork(o.link ?? {}, o.seed ?? 1, o.filter);
  const clock = () => EPOCH + net.now;
  const log = o.log;
  const logTo = (who: 'client' | 'server' | 'bootstrap') => (log ? { log: (line: string) => log(who, line) } : {});
  const server = net.add(new SimLwm2mServer(DM, { objects: [SECURITY, SERVER, DEVICE, FIRMWARE_UPDATE, TEMPERATURE], wallClock: clock, ...logTo('server') }, { ...o.serverDtls, psk: pskMap([[DM_PSK.identity, DM_PSK.key]]) }));
  const account = { shortServerId: 101, uri: `coaps://${DM.address}:${DM.port}`, lifetimeS: o.lifetimeS ?? 300, security: { mode: 'psk' as const, ...DM_PSK } };
  const bs = o.noBootstrapServer
    ? undefined
    : net.add(new SimBootstrapServer(BS, { endpoints: { [ENDPOINT]: { pskIdentity: BS_PSK.identity, servers: [account] } }, ...logTo('bootstrap') }, { psk: pskMap([[BS_PSK.identity, BS_PSK.key]]) }));
  const store = deviceStore({ clock }).define(TEMPERATURE);
  store.write([3303, 0], [{ path: [3303, 0, 5700], value: 20 }, { path: [3303, 0, 5701], value: 'Cel' }], 'replace', { ignoreAccess: true, create: true });
  const client = net.add(
    new SimLwm2mClient(DEVICE_ADDRESS, {
      endpoint: ENDPOINT,
      store,
      bootstrap: { uri: `coaps://${BS.address}:${BS.port}`, security: { mode: 'psk', ...BS_PSK } },
      persist: true,
      wallClock: clock,
      ...logTo('client'),
      ...o.client,
    }),
  );
  /** Runs until `done` or `ms` more of virtual time; returns whether `done` held. */
  const runFor = (ms: number, done: () => boolean = () => false): boolean => {
    net.run(net.now + ms, done);
    return done();
  };
  return { net, server, bs, client, account, store, runFor };
}

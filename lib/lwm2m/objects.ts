import type { ObjectDefinition, ResourceDefinition, ResourceType, TypeResolver } from './types.js';

type R = [id: number, name: string, type: ResourceType, multiple: boolean, operations: ResourceDefinition['operations'], mandatory: boolean];
const defs = (rows: R[]): ResourceDefinition[] => rows.map(([id, name, type, multiple, operations, mandatory]) => ({ id, name, type, multiple, operations, mandatory }));

/** LwM2M Security object (OMA 0, LwM2M 1.1/1.2). Only bootstrap servers may touch it. */
export const SECURITY: ObjectDefinition = {
  id: 0,
  name: 'LWM2M Security',
  multiple: true,
  mandatory: true,
  resources: defs([
    [0, 'LWM2M Server URI', 'string', false, '', true],
    [1, 'Bootstrap-Server', 'boolean', false, '', true],
    [2, 'Security Mode', 'integer', false, '', true],
    [3, 'Public Key or Identity', 'opaque', false, '', true],
    [4, 'Server Public Key', 'opaque', false, '', true],
    [5, 'Secret Key', 'opaque', false, '', true],
    [6, 'SMS Security Mode', 'integer', false, '', false],
    [7, 'SMS Binding Key Parameters', 'opaque', false, '', false],
    [8, 'SMS Binding Secret Key(s)', 'opaque', false, '', false],
    [9, 'LwM2M Server SMS Number', 'string', false, '', false],
    [10, 'Short Server ID', 'integer', false, '', false],
    [11, 'Client Hold Off Time', 'integer', false, '', false],
    [12, 'Bootstrap-Server Account Timeout', 'integer', false, '', false],
    [13, 'Matching Type', 'unsigned', false, '', false],
    [14, 'SNI', 'string', false, '', false],
    [15, 'Certificate Usage', 'unsigned', false, '', false],
    [16, 'DTLS/TLS Ciphersuite', 'unsigned', true, '', false],
    [17, 'OSCORE Security Mode', 'objlnk', false, '', false],
  ]),
};

/** LwM2M Server object (OMA 1). */
export const SERVER: ObjectDefinition = {
  id: 1,
  name: 'LwM2M Server',
  multiple: true,
  mandatory: true,
  resources: defs([
    [0, 'Short Server ID', 'integer', false, 'R', true],
    [1, 'Lifetime', 'integer', false, 'RW', true],
    [2, 'Default Minimum Period', 'integer', false, 'RW', false],
    [3, 'Default Maximum Period', 'integer', false, 'RW', false],
    [4, 'Disable', 'none', false, 'E', false],
    [5, 'Disable Timeout', 'integer', false, 'RW', false],
    [6, 'Notification Storing When Disabled or Offline', 'boolean', false, 'RW', true],
    [7, 'Binding', 'string', false, 'RW', true],
    [8, 'Registration Update Trigger', 'none', false, 'E', true],
    [9, 'Bootstrap-Request Trigger', 'none', false, 'E', false],
    [10, 'APN Link', 'objlnk', false, 'RW', false],
    [11, 'TLS-DTLS Alert Code', 'unsigned', false, 'R', false],
    [12, 'Last Bootstrapped', 'time', false, 'R', false],
    [13, 'Registration Priority Order', 'unsigned', false, 'RW', false],
    [14, 'Initial Registration Delay Timer', 'unsigned', false, 'RW', false],
    [15, 'Registration Failure Block', 'boolean', false, 'RW', false],
    [16, 'Bootstrap on Registration Failure', 'boolean', false, 'RW', false],
    [17, 'Communication Retry Count', 'unsigned', false, 'RW', false],
    [18, 'Communication Retry Timer', 'unsigned', false, 'RW', false],
    [19, 'Communication Sequence Delay Timer', 'unsigned', false, 'RW', false],
    [20, 'Communication Sequence Retry Count', 'unsigned', false, 'RW', false],
    [21, 'Trigger', 'boolean', false, 'RW', false],
    [22, 'Preferred Transport', 'string', false, 'RW', false],
    [23, 'Mute Send', 'boolean', false, 'RW', false],
  ]),
};

/** Device object (OMA 3). */
export const DEVICE: ObjectDefinition = {
  id: 3,
  name: 'Device',
  multiple: false,
  mandatory: true,
  resources: defs([
    [0, 'Manufacturer', 'string', false, 'R', false],
    [1, 'Model Number', 'string', false, 'R', false],
    [2, 'Serial Number', 'string', false, 'R', false],
    [3, 'Firmware Version', 'string', false, 'R', false],
    [4, 'Reboot', 'none', false, 'E', true],
    [5, 'Factory Reset', 'none', false, 'E', false],
    [6, 'Available Power Sources', 'integer', true, 'R', false],
    [7, 'Power Source Voltage', 'integer', true, 'R', false],
    [8, 'Power Source Current', 'integer', true, 'R', false],
    [9, 'Battery Level', 'integer', false, 'R', false],
    [10, 'Memory Free', 'integer', false, 'R', false],
    [11, 'Error Code', 'integer', true, 'R', true],
    [12, 'Reset Error Code', 'none', false, 'E', false],
    [13, 'Current Time', 'time', false, 'RW', false],
    [14, 'UTC Offset', 'string', false, 'RW', false],
    [15, 'Timezone', 'string', false, 'RW', false],
    [16, 'Supported Binding and Modes', 'string', false, 'R', true],
    [17, 'Device Type', 'string', false, 'R', false],
    [18, 'Hardware Version', 'string', false, 'R', false],
    [19, 'Software Version', 'string', false, 'R', false],
    [20, 'Battery Status', 'integer', false, 'R', false],
    [21, 'Memory Total', 'integer', false, 'R', false],
    [22, 'ExtDevInfo', 'objlnk', true, 'R', false],
  ]),
};

/** Firmware Update object (OMA 5, version 1.0 with the 1.1 Cancel resource). */
export const FIRMWARE_UPDATE: ObjectDefinition = {
  id: 5,
  name: 'Firmware Update',
  multiple: false,
  mandatory: false,
  resources: defs([
    [0, 'Package', 'opaque', false, 'W', true],
    [1, 'Package URI', 'string', false, 'RW', true],
    [2, 'Update', 'none', false, 'E', true],
    [3, 'State', 'integer', false, 'R', true],
    [5, 'Update Result', 'integer', false, 'R', true],
    [6, 'PkgName', 'string', false, 'R', false],
    [7, 'PkgVersion', 'string', false, 'R', false],
    [8, 'Firmware Update Protocol Support', 'integer', true, 'R', false],
    [9, 'Firmware Update Delivery Method', 'integer', false, 'R', true],
    [10, 'Cancel', 'none', false, 'E', false],
  ]),
};

export const STANDARD_OBJECTS: readonly ObjectDefinition[] = [SECURITY, SERVER, DEVICE, FIRMWARE_UPDATE];

/** A type resolver over a set of object definitions. */
export function resolverFor(objects: Iterable<ObjectDefinition>): TypeResolver {
  const map = new Map<number, Map<number, ResourceDefinition>>();
  for (const o of objects) map.set(o.id, new Map(o.resources.map((r) => [r.id, r])));
  return (objectId, resourceId) => map.get(objectId)?.get(resourceId);
}

/** Security modes of /0/x/2. */
export const SecurityMode = { PSK: 0, RPK: 1, CERTIFICATE: 2, NO_SEC: 3, CERTIFICATE_EST: 4 } as const;

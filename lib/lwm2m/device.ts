import { DEVICE, SECURITY, SERVER } from './objects.js';
import { ObjectStore } from './object-store.js';

/** A store with Security, Server and a Device instance that a demo or test client can use. */
export function deviceStore(o: { manufacturer?: string; model?: string; serial?: string } = {}): ObjectStore {
  const started = Date.now();
  const store = new ObjectStore()
    .define(SECURITY)
    .define(SERVER)
    .define(DEVICE, {
      dynamic: { 13: () => Math.floor(Date.now() / 1000), 10: () => 1024 - Math.floor((Date.now() - started) / 1000) % 64 },
      execute: { 4: () => undefined },
    });
  store.write(
    [3, 0],
    [
      { path: [3, 0, 0], value: o.manufacturer ?? 'coaps' },
      { path: [3, 0, 1], value: o.model ?? 'demo-device' },
      { path: [3, 0, 2], value: o.serial ?? '0001' },
      { path: [3, 0, 3], value: '0.1.0' },
      { path: [3, 0, 9], value: 87 },
      { path: [3, 0, 11, 0], value: 0 },
      { path: [3, 0, 16], value: 'U' },
    ],
    'replace',
    { ignoreAccess: true, create: true },
  );
  return store;
}

import { DEVICE, SECURITY, SERVER } from './objects.js';
import { ObjectStore } from './object-store.js';

/** Milliseconds since the Unix epoch: the wall clock, injected (lib/ never reads the clock). */
export type WallClock = () => number;

/**
 * A store with Security, Server and a Device instance that a demo or test client can use.
 * With a `clock`, the Device object tells its Current Time (/3/0/13) from it; without one it
 * has no Current Time.
 */
export function deviceStore(o: { manufacturer?: string; model?: string; serial?: string; clock?: WallClock } = {}): ObjectStore {
  const clock = o.clock;
  const started = clock?.() ?? 0;
  const dynamic: Record<number, () => number> = { 10: () => 1024 - (clock ? Math.floor((clock() - started) / 1000) % 64 : 0) };
  if (clock) dynamic[13] = () => Math.floor(clock() / 1000);
  const store = new ObjectStore()
    .define(SECURITY)
    .define(SERVER)
    .define(DEVICE, { dynamic, execute: { 4: () => undefined } });
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

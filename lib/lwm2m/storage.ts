import type { SnapshotObject } from './object-store.js';

/**
 * What an LwM2M client persists: the bootstrapped Security and Server objects. The client core
 * hands it to its driver in a 'persist' event; the driver writes it (transports/lwm2m-storage.ts
 * has an atomic file) and gives it back to start() after a restart.
 */
export interface ClientState {
  version: 1;
  endpoint: string;
  /** When it was saved (ISO 8601, from the client's wall clock; absent without one). */
  savedAt?: string;
  objects: SnapshotObject[];
}

/** The state as JSON text. */
export function encodeClientState(state: ClientState): string {
  return JSON.stringify(state, null, 1);
}

/** Parses persisted JSON; anything that is not a version-1 state (torn, foreign) is undefined. */
export function decodeClientState(text: string): ClientState | undefined {
  try {
    const s = JSON.parse(text) as ClientState;
    return s && typeof s === 'object' && s.version === 1 && typeof s.endpoint === 'string' && Array.isArray(s.objects) ? s : undefined;
  } catch {
    return undefined;
  }
}

import type { DtlsError } from './errors.js';

/** What a connection reports to its driver. Events never carry secrets. */
export type DtlsEvent =
  | { type: 'connected'; session: SessionInfo }
  | { type: 'data'; data: Uint8Array }
  /** close_notify received, or close() completed. */
  | { type: 'closed'; reason: 'local' | 'peer' }
  | { type: 'failed'; error: DtlsError }
  /** Server: the client named this PSK identity; answer with providePsk(). */
  | { type: 'psk-request'; identity: Uint8Array };

export interface SessionInfo {
  cipherSuite: number;
  /** The authenticated peer identity: for PSK, the client's PSK identity. */
  peerIdentity: Uint8Array;
  extendedMasterSecret: boolean;
}

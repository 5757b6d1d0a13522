import { utf8 } from '../bytes/util.js';
import type { DtlsError } from './errors.js';
import type { PeerIdentity } from './keystore.js';
import type { PeerCredential } from './trust.js';

/** What a connection reports to its driver. Events never carry secrets. */
export type DtlsEvent =
  | { type: 'connected'; session: SessionInfo }
  | { type: 'data'; data: Uint8Array }
  /** close_notify received, or close() completed. */
  | { type: 'closed'; reason: 'local' | 'peer' }
  | { type: 'failed'; error: DtlsError }
  /** Server: the client named this PSK identity; answer with providePsk(). */
  | { type: 'psk-request'; identity: Uint8Array }
  /** The peer presented a raw public key or a certificate chain; answer with resolvePeer(). */
  | { type: 'verify-peer'; credential: PeerCredential };

export interface SessionInfo {
  cipherSuite: number;
  /** The authenticated peer identity (PSK identity, raw public key, certificate subject). */
  identity: PeerIdentity;
  /** The same as bytes: the PSK identity, the raw public key's SPKI, or the certificate subject (UTF-8). */
  peerIdentity: Uint8Array;
  extendedMasterSecret: boolean;
  /** An abbreviated handshake resumed an earlier session (RFC 5246 §7.3): `identity` is that session's. */
  resumed?: boolean;
  /** The session was restored from a session store (another process established it). */
  restored?: boolean;
  /**
   * RFC 9146: the connection IDs in use: `read` is ours (in the peer's records), `write` the
   * peer's (in ours); empty in a direction without one. Absent when not negotiated.
   */
  connectionId?: { read: Uint8Array; write: Uint8Array };
}

export function identityBytes(id: PeerIdentity): Uint8Array {
  switch (id.kind) {
    case 'psk':
      return id.identity;
    case 'rpk':
      return id.spki;
    case 'x509':
      return utf8(id.subject);
    default:
      return new Uint8Array(0);
  }
}

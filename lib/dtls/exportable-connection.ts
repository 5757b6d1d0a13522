import { DtlsConnection } from './connection.js';
import { encodeClientResumption } from './resumption.js';
import { exportSession, restoreRecordLayer, restoredSessionInfo } from './session-export.js';
import type { SessionSnapshot } from './session-snapshot.js';

/**
 * A connection that gives its session out: the client's resumption blob (RFC 5246 §7.3, RFC
 * 5077) and a session store's snapshot (session-export.ts), and takes a snapshot back. The
 * connections of the full build (ClientConnection, PskClientConnection, ServerConnection) are
 * these; BasicPskClientConnection, for a small device, is a plain DtlsConnection and leaves the
 * codecs out.
 */
export class ExportableConnection extends DtlsConnection {
  /**
   * Client, once connected: what it needs to resume this session later with an abbreviated
   * handshake (give it back as the `resume` option), as a small blob, if the server allowed
   * resumption (a session_id or a ticket, and extended master secret). **It holds the master
   * secret**: store it as you store the key, never log it.
   */
  get resumption(): Uint8Array | undefined {
    const r = this.clientResumption;
    return r && encodeClientResumption(r);
  }

  /**
   * The established session as a session store keeps it (lib/dtls/session-snapshot.ts), with
   * `writeSequenceLease` the first write sequence number not reserved. Holds secrets (keys,
   * master secret). Undefined unless connected with `exportable` set.
   */
  snapshot(role: 'client' | 'server', writeSequenceLease: number): SessionSnapshot | undefined {
    const e = this.exportable;
    return e && exportSession(e.records, e.session, e.master, role, writeSequenceLease);
  }

  /**
   * Continues an established session from a store's snapshot (another process, a restart):
   * writing at its lease, with its keys, window and CIDs. The caller saves a higher lease before
   * it lets records out (setWriteLimit): the snapshot's own range may have been used.
   */
  protected restoreFrom(now: number, snap: SessionSnapshot): void {
    this.restoreConnected(now, restoreRecordLayer(this.cfg, snap), restoredSessionInfo(snap), snap.masterSecret, snap.writeSequenceLease);
  }
}

import { DtlsConnection } from './connection.js';
import { DtlsError } from './errors.js';
import { ContentType } from './wire/constants.js';
import { encodeClientResumption } from './resumption.js';
import { exportSession, restoreRecordLayer, restoredSessionInfo } from './session-export.js';
import type { SessionSnapshot } from './session-snapshot.js';

/** Application records that may wait for a session store's nonce lease. */
const MAX_HELD_RECORDS = 256;

/**
 * A connection that gives its session out: the client's resumption blob (RFC 5246 §7.3, RFC
 * 5077) and a session store's snapshot (session-export.ts), and takes a snapshot back. The
 * connections of the full build (ClientConnection, PskClientConnection, ServerConnection) are
 * these; BasicPskClientConnection, for a small device, is a plain DtlsConnection and leaves the
 * codecs out.
 */
export class ExportableConnection extends DtlsConnection {
  /**
   * A session store's nonce lease (lib/dtls/sequence-lease.ts): application records at or past
   * this write sequence number wait (in `held`) until the store has saved a higher lease.
   */
  private writeLimit = Infinity;
  private held: Uint8Array[] | undefined;

  /** The sequence number of the next record we send in the current epoch (for a nonce lease). */
  get nextWriteSequence(): number {
    return this.records.nextSequence(this.records.writeEpoch);
  }

  /**
   * A session store's nonce lease: records numbered at or past `limit` wait; raising it sends
   * what waited. Infinity (the default) without a store.
   */
  setWriteLimit(_now: number, limit: number): void {
    this.writeLimit = limit;
    const held = this.held;
    if (!held || this.state !== 'connected') return;
    while (held.length > 0 && this.nextWriteSequence < limit) this.out.push(this.records.protect(ContentType.application_data, held.shift()!));
    if (held.length === 0) this.held = undefined;
  }

  protected override leaseSpent(): boolean {
    return this.nextWriteSequence >= this.writeLimit;
  }

  protected override sendData(data: Uint8Array): void {
    if (!this.leaseSpent()) return super.sendData(data);
    const held = (this.held ??= []);
    if (held.length >= MAX_HELD_RECORDS) throw new DtlsError('RESOURCE_LIMIT', `the session store has not saved a sequence lease yet: ${held.length} records wait`);
    held.push(data.slice());
  }

  protected override ending(): void {
    this.held = undefined;
  }

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
    this.writeLimit = snap.writeSequenceLease;
    this.restoreConnected(now, restoreRecordLayer(this.cfg, snap), restoredSessionInfo(snap), snap.masterSecret);
  }
}

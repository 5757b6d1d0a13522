import { DtlsConnection } from './connection.js';
import { DtlsError } from './errors.js';
import type { SessionInfo } from './events.js';
import { ExportableRecordLayer } from './record/exportable-record-layer.js';
import type { PeerVerdict } from './trust.js';
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

  /** Answer to a `psk-request` event: the key, or undefined for an unknown identity. */
  providePsk(now: number, key: Uint8Array | undefined): void {
    this.answerStep(now, (step) => {
      const provide = step.providePsk;
      return provide && ((hs) => provide.call(step, hs, key));
    });
  }

  /** Answer to a `verify-peer` event: whether the peer's raw public key or certificate is trusted. */
  resolvePeer(now: number, verdict: PeerVerdict): void {
    this.answerStep(now, (step) => {
      const resolve = step.resolvePeer;
      return resolve && ((hs) => resolve.call(step, hs, verdict));
    });
  }

  /** The established session's record layer and master secret (kept only with `exportable`), for a session store. */
  protected get exportable(): { records: ExportableRecordLayer; session: SessionInfo; master: Uint8Array } | undefined {
    const st = this.st;
    return st.phase === 'connected' && st.master ? { records: this.records as ExportableRecordLayer, session: st.session, master: st.master } : undefined;
  }

  protected override newRecordLayer(maxEarlyRecords: number): ExportableRecordLayer {
    return new ExportableRecordLayer(maxEarlyRecords);
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
    const r = this.resumable;
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
    // connected at once with the snapshot's record layer; nothing is sent at or past its lease until it is raised
    this.now = now;
    this.writeLimit = snap.writeSequenceLease;
    this.records = restoreRecordLayer(this.cfg, snap);
    this.st = { phase: 'connected', session: restoredSessionInfo(snap), master: this.cfg.exportable ? snap.masterSecret.slice() : undefined };
    this.flight.release();
    this.touch();
  }
}

import { wipe } from '../bytes/util.js';
import { DtlsConnection, SLEEPING } from './connection.js';
import { DtlsError } from './errors.js';
import type { DtlsEvent, SessionInfo } from './events.js';
import { LastFlight } from './handshake/flights.js';
import { decodeSleeping, encodeSleeping, wipeScratch, type SleepingConnection } from './hibernation.js';
import type { PeerIdentity } from './keystore.js';
import { Ccm8CidProtection } from './record/ccm8-cid.js';
import { Ccm8Protection } from './record/protection.js';
import type { Hibernation } from './config.js';
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
   * Where this connection may hibernate when idle (the endpoint's slab, shared by its sessions),
   * and after how long without a record from the peer (cfg.hibernation). Undefined: it never does.
   */
  get hibernation(): Hibernation | undefined {
    return this.cfg.hibernation;
  }
  /**
   * While hibernated (st is SLEEPING): its slot in the slab. Otherwise, once connected: when to
   * check whether it has been idle long enough to hibernate (undefined: not computed yet).
   */
  private sleepMark: number | undefined = undefined;

  /** The sequence number of the next record we send in the current epoch (for a nonce lease). */
  get nextWriteSequence(): number {
    return this.records.nextSequence(this.records.writeEpoch);
  }

  /**
   * A session store's nonce lease: records numbered at or past `limit` wait; raising it sends
   * what waited. Infinity (the default) without a store.
   */
  setWriteLimit(_now: number, limit: number): void {
    // the lease lives in this.extra (leaseLimit, held): without a store there is none
    const x = this.extra;
    const held = x?.held;
    if (limit !== Infinity) (this.extra ??= {}).leaseLimit = limit;
    else if (x) x.leaseLimit = undefined;
    if (!held || this.state !== 'connected') return;
    while (held.length > 0 && !this.leaseSpent()) this.out.push(this.records.protect(ContentType.application_data, held.shift()!));
    if (held.length === 0) this.extra!.held = undefined;
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
    const limit = this.extra?.leaseLimit;
    return limit !== undefined && this.nextWriteSequence >= limit;
  }

  protected override sendData(data: Uint8Array): void {
    if (!this.leaseSpent()) return super.sendData(data);
    const held = ((this.extra ??= {}).held ??= []);
    if (held.length >= MAX_HELD_RECORDS) throw new DtlsError('RESOURCE_LIMIT', `the session store has not saved a sequence lease yet: ${held.length} records wait`);
    held.push(data.slice());
  }

  protected override ending(): void {
    if (this.extra) this.extra.held = undefined;
  }

  /** Whether the connection is hibernated (kept as a compact record in its slab). */
  get sleeping(): boolean {
    return this.st === SLEEPING && this.sleepMark !== undefined;
  }

  /** The slab slot of a hibernated connection, -1 when awake. */
  private get slot(): number {
    return this.st === SLEEPING && this.sleepMark !== undefined ? this.sleepMark : -1;
  }

  override pollTimeout(): number | undefined {
    const t = super.pollTimeout();
    const h = this.hibernation;
    if (!h || this.st.phase !== 'connected') return t;
    const at = (this.sleepMark ??= this.lastActivity + h.afterMs);
    return t === undefined || at < t ? at : t;
  }

  /**
   * Hibernates a connection idle for `afterMs` (no record from the peer) when nothing is in
   * flight: no handshake flight with a timer (a lingering last flight is kept), no output or
   * event waiting, no nonce lease, no session store (its snapshots read the live state).
   */
  protected override afterTimeout(): void {
    const h = this.hibernation;
    if (!h || this.st.phase !== 'connected') return;
    const at = (this.sleepMark ??= this.lastActivity + h.afterMs);
    if (this.now < at) return;
    const due = this.lastActivity + h.afterMs;
    if (due > this.now) this.sleepMark = due;
    else if (!this.hibernate(h)) this.sleepMark = this.now + h.afterMs;
  }

  /** Puts the connection into its compact form in `h.slab` (cfg.hibernation); false when it cannot sleep now. */
  private hibernate(h: Hibernation): boolean {
    const st = this.st;
    const x = this.extra;
    if (st.phase !== 'connected' || st.master || x?.held || x?.leaseLimit !== undefined || this.out.length > 0 || this.events.length > 0) return false;
    const flight = this.flight.lingering;
    if (!flight && !this.flight.empty) return false;
    const records = (this.records as ExportableRecordLayer).compact();
    if (!records) return false;
    const enc = encodeSleeping({ session: st.session, records, flight, lastActivity: this.lastActivity, idleDeadline: this.idleDeadline, nextMessageSeq: this.nextMessageSeq });
    if (!enc) return false;
    let slot: number;
    try {
      slot = h.slab.put(this, enc.bytes, enc.beside);
    } finally {
      wipeScratch(enc.bytes.length);
    }
    this.records.wipe();
    this.records = DORMANT_RECORDS;
    this.flight = DORMANT_FLIGHT;
    this.out = DORMANT_OUT;
    this.events = DORMANT_EVENTS;
    this.st = SLEEPING;
    this.sleepMark = slot;
    // what pollTimeout() gives while asleep: the idle deadline or the end of the lingering flight
    if (flight && (this.idleDeadline === undefined || flight.until < this.idleDeadline)) this.idleDeadline = flight.until;
    return true;
  }

  /** Takes up the full form again, exactly where hibernate() left it; the slot is freed (zeroed). */
  protected override wake(): void {
    const s = this.takeSleeping();
    const cfg = this.cfg;
    const c = cfg.crypto;
    const r = s.records;
    const cid = s.session.connectionId;
    const write = r.writeCid && cid ? new Ccm8CidProtection(c, r.writeKeys, cid.write, cfg.cidPadding) : new Ccm8Protection(c, r.writeKeys);
    const read = r.readCid && cid ? new Ccm8CidProtection(c, r.readKeys, cid.read) : new Ccm8Protection(c, r.readKeys);
    const records = this.newRecordLayer(cfg.maxEarlyRecords);
    records.restoreCompact(r, write, read);
    this.records = records;
    this.out = [];
    this.events = [];
    this.flight = new LastFlight(cfg.retransmission);
    if (s.flight) this.flight.linger([...s.flight.items], s.flight.until);
    this.st = { phase: 'connected', session: s.session, master: undefined };
    this.lastActivity = s.lastActivity;
    this.idleDeadline = s.idleDeadline;
    this.nextMessageSeq = s.nextMessageSeq;
  }

  /** The hibernated record, decoded; its slot freed and zeroed. A damaged record fails the connection. */
  private takeSleeping(): SleepingConnection {
    const h = this.hibernation!;
    const slot = this.slot;
    this.sleepMark = undefined;
    try {
      const { bytes, attached } = h.slab.read(this, slot);
      return decodeSleeping(bytes, attached as PeerIdentity | undefined);
    } catch (e) {
      this.st = { phase: 'failed', error: e instanceof DtlsError ? e : new DtlsError('INTERNAL', String(e)) };
      throw e;
    } finally {
      h.slab.free(this, slot);
    }
  }

  protected override sleepingSession(): SessionInfo | undefined {
    const h = this.hibernation;
    if (!h || this.slot < 0) return undefined;
    const { bytes, attached } = h.slab.read(this, this.slot);
    const s = decodeSleeping(bytes, attached as PeerIdentity | undefined);
    for (const k of [s.records.writeKeys, s.records.readKeys]) {
      wipe(k.key);
      wipe(k.iv);
    }
    return s.session;
  }

  /**
   * The endpoint let go of this connection without ending it (another handshake replaced it):
   * a hibernated record is freed (its slot zeroed) and the connection is closed.
   */
  discard(): void {
    const slot = this.slot;
    if (slot < 0) return;
    const h = this.hibernation!;
    h.slab.free(this, slot);
    this.sleepMark = undefined;
    this.st = { phase: 'closed' };
    this.idleDeadline = undefined;
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
    (this.extra ??= {}).leaseLimit = snap.writeSequenceLease;
    this.records = restoreRecordLayer(this.cfg, snap);
    this.st = { phase: 'connected', session: restoredSessionInfo(snap), master: this.cfg.exportable ? snap.masterSecret.slice() : undefined };
    this.flight.release();
    this.touch();
  }
}

export type { Hibernation };

/** The record layer and flight of every hibernated connection: shared, holding nothing (never used: every call wakes the connection first). */
const DORMANT_RECORDS = new ExportableRecordLayer(0);
const DORMANT_OUT: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];
const DORMANT_EVENTS: DtlsEvent[] = Object.freeze([]) as unknown as DtlsEvent[];
const DORMANT_FLIGHT = new LastFlight({ initialMs: 1000, maxMs: 1000, maxRetransmits: 0, restartAfter: 0 });

import { DecodeError } from '../bytes/reader.js';
import type { ConnectionConfig } from './config.js';
import { DtlsError, alertFor } from './errors.js';
import type { DtlsEvent, SessionInfo } from './events.js';
import { LastFlight, packFlight, type FlightItem, type HandshakeItem } from './handshake/flights.js';
import { Reassembler, type HandshakeMessage } from './handshake/reassembler.js';
import { DONE, STALE, type Done, type Handshake, type HandshakeState, type Stale } from './handshake/state.js';
import { copyRecord, RecordDrop, RecordLayer } from './record/record-layer.js';
import type { ClientResumption } from './resumption.js';
import { decodeAlert, encodeAlert } from './wire/alert.js';
import { isChangeCipherSpec } from './wire/change-cipher-spec.js';
import { AlertDescription, AlertLevel, ContentType, HandshakeType } from './wire/constants.js';
import { readFragment, type FragmentAt } from './wire/handshake.js';
import type { RawRecord } from './wire/record.js';

/**
 * Where a record's handshake fragments are read into (nothing re-enters handleHandshakeRecord
 * while it reads); readFragment() sets every field before any is read.
 */
const FRAGMENT = {} as FragmentAt;

/**
 * RFC 6347 §4.2.4: "for at least twice the default MSL defined for [TCP], when in the
 * FINISHED state, the node that transmits the last flight ... MUST respond to a
 * retransmission of the peer's last flight with a retransmit of the last flight."
 * MSL is 2 minutes; the flight is dropped sooner once the peer sends application data.
 */
export const LAST_FLIGHT_LINGER_MS = 240_000;

export type Phase = 'handshake' | 'connected' | 'closed' | 'failed';

/** Where a connection is: each phase holds only what is valid in it. */
export type ConnectionState =
  | {
      readonly phase: 'handshake';
      step: HandshakeState;
      readonly reassembler: Reassembler;
      /** What the states may do to this connection. */
      readonly hs: Handshake;
      /** Records held while the handshake waits for the application (a key lookup). */
      deferred?: RawRecord[] | undefined;
    }
  | { readonly phase: 'connected'; readonly session: SessionInfo; /** Kept only for a session store's snapshot. */ readonly master: Uint8Array | undefined }
  | { readonly phase: 'closed' }
  | { readonly phase: 'failed'; readonly error: DtlsError }
  /** Connected, kept in compact form while idle (ExportableConnection.hibernate()); wakes on the next call. */
  | { readonly phase: 'sleeping' };

/**
 * What few connections keep (DtlsConnection.extra), in one object: a server's idle session has
 * none (every field of a connection costs each idle session 8 bytes).
 */
export interface ConnectionExtras {
  /** Client: its first state again, for starting over (a fresh ClientHello) once; given the abandoned handshake's server random. */
  restart?: ((staleServerRandom: Uint8Array) => HandshakeState) | undefined;
  /** Client: whether it started over. */
  restarted?: boolean | undefined;
  /** Client, once connected: what it keeps to resume this session (ExportableConnection encodes it). */
  resumable?: ClientResumption | undefined;
  /**
   * A session store's nonce lease (ExportableConnection, lib/dtls/sequence-lease.ts): application
   * records at or past this write sequence number wait in `held` until the store has saved a higher lease.
   */
  leaseLimit?: number | undefined;
  held?: Uint8Array[] | undefined;
}

/** DtlsConnection.flags. */
const RETRANSMITTED = 1, ADVANCED = 2;

/** The state of every hibernated connection (it holds nothing). */
export const SLEEPING: ConnectionState = Object.freeze({ phase: 'sleeping' });

/**
 * The sans-IO DTLS 1.2 connection (DESIGN.md): bytes and `now` go in; datagrams, one
 * deadline and events come out. It joins the record layer (record/record-layer.ts), the
 * handshake's states (handshake/, one type per state, each returning the next), the last
 * flight and its retransmission timer, alerts, the idle timer and application data. A
 * failed or closed connection stays so. ClientConnection, PskClientConnection,
 * BasicPskClientConnection and ServerConnection give it its first handshake state; a session
 * store's snapshot and the client's resumption blob are ExportableConnection's.
 */
export class DtlsConnection {
  protected st: ConnectionState;
  protected now = 0;
  protected records: RecordLayer;
  /** What few connections keep: a client's restart and resumable session, a session store's lease. */
  protected extra: ConnectionExtras | undefined;
  protected flight: LastFlight;
  protected nextMessageSeq: number;
  /** Per datagram: RETRANSMITTED (our flight went out again for it), ADVANCED (lastDatagramAdvanced). */
  private flags = 0;
  /**
   * The idle timer. It is not moved on every record (that would reschedule the driver's timer
   * per packet); it fires at its old deadline and re-arms from `lastActivity` if there was any.
   */
  protected idleDeadline: number | undefined;
  protected lastActivity = 0;
  /** Output and events waiting for the driver (while hibernated: shared frozen empty arrays). */
  protected out: Uint8Array[] = [];
  protected events: DtlsEvent[] = [];

  /**
   * The handshake's view of its connection (handshake/state.ts), one per handshake. A class
   * on purpose, not an object literal with getters: V8 gives each such literal a hidden class
   * of its own, kept in the old generation, whose getters held the connection across
   * young-generation collections. Every finished handshake was promoted and freed only by a
   * full collection (~1.5 KB of old space per handshake, client and server, in an in-process
   * loop: one of the causes of 2-4 ms scavenges, issue 13's p99). A class's prototype is shared.
   */
  private static readonly HandshakeView = class implements Handshake {
    constructor(
      private readonly conn: DtlsConnection,
      readonly cfg: ConnectionConfig,
    ) {}
    get records(): RecordLayer {
      return this.conn.records;
    }
    get now(): number {
      return this.conn.now;
    }
    message(msgType: number, body: Uint8Array, epoch?: number): HandshakeItem {
      const c = this.conn;
      return { kind: 'handshake', msgType, messageSeq: c.nextMessageSeq++, body, epoch: epoch ?? c.records.writeEpoch };
    }
    sendFlight(items: FlightItem[], expectReply: boolean): void {
      this.conn.sendFlight(items, expectReply);
    }
    emit(e: DtlsEvent): void {
      this.conn.events.push(e);
    }
    established(session: SessionInfo, keepLastFlight: boolean, resumption: ClientResumption | undefined, master: Uint8Array): void {
      this.conn.established(session, keepLastFlight, resumption, master);
    }
  };

  constructor(
    protected readonly cfg: ConnectionConfig,
    initial: HandshakeState,
    o: { messageSeq?: number; recordSeq?: number; restart?: (staleServerRandom: Uint8Array) => HandshakeState } = {},
  ) {
    this.records = this.newRecordLayer(cfg.maxEarlyRecords);
    this.flight = new LastFlight(cfg.retransmission);
    this.nextMessageSeq = o.messageSeq ?? 0;
    if (o.restart) this.extra = { restart: o.restart };
    if (o.recordSeq !== undefined) this.records.startSequence(o.recordSeq);
    const hs = new DtlsConnection.HandshakeView(this, cfg);
    // the handshake's view of the connection lives in the handshake phase only (gone once connected)
    this.st = { phase: 'handshake', step: initial, reassembler: new Reassembler(this.nextMessageSeq, cfg.maxHandshakeBytes), hs };
  }

  /** A new record layer (the constructor's, a restart's); ExportableConnection's can be exported. */
  protected newRecordLayer(maxEarlyRecords: number): RecordLayer {
    return new RecordLayer(maxEarlyRecords);
  }

  /** Client, once connected: what it keeps to resume this session (ExportableConnection encodes it). */
  protected get resumable(): ClientResumption | undefined {
    return this.extra?.resumable;
  }

  get state(): Phase {
    const p = this.st.phase;
    return p === 'sleeping' ? 'connected' : p;
  }
  /** Closed or failed: nothing more will happen. */
  ended(): boolean {
    return this.st.phase === 'closed' || this.st.phase === 'failed';
  }
  get isHandshaking(): boolean {
    return this.st.phase === 'handshake';
  }
  /** The established session (undefined before the handshake ends and after close). */
  get session(): SessionInfo | undefined {
    const st = this.st;
    return st.phase === 'connected' ? st.session : st.phase === 'sleeping' ? this.sleepingSession() : undefined;
  }
  /**
   * How often this connection started over with a fresh ClientHello (0 or 1): a driver that
   * can, sends the new handshake from a new local port, a new association for the server.
   */
  get restarts(): number {
    return this.extra?.restarted ? 1 : 0;
  }

  /** The handshake state's name (diagnostics), or the phase after the handshake. */
  get stateName(): string {
    return this.st.phase === 'handshake' ? this.st.step.name : this.state;
  }

  /** A hibernated connection takes up its full form again (ExportableConnection); the base class never sleeps. */
  protected wake(): void {
    throw new DtlsError('INTERNAL', 'this connection cannot hibernate');
  }

  /** The session of a hibernated connection, without waking it. */
  protected sleepingSession(): SessionInfo | undefined {
    return undefined;
  }

  /** After handleTimeout(): ExportableConnection may hibernate an idle connection here. */
  protected afterTimeout(): void {}

  // === driver interface =================================================================

  /** Sends the first flight when this side speaks first (a client's ClientHello); otherwise nothing. */
  start(now: number): void {
    this.now = now;
    const st = this.st;
    if (st.phase !== 'handshake') return;
    const step = st.step;
    const start = step.start;
    if (start) this.advance(st, () => start.call(step, st.hs));
  }

  /**
   * Whether the last datagram held an authenticated record newer than any before (it moved the
   * read window): RFC 9146 §6 lets only such a record move a session to a new address.
   */
  get lastDatagramAdvanced(): boolean {
    return (this.flags & ADVANCED) !== 0;
  }

  handleDatagram(now: number, datagram: Uint8Array): void {
    this.flags &= ~ADVANCED;
    if (this.st.phase === 'sleeping') this.wake();
    if (this.ended()) return;
    this.now = now;
    let records: RawRecord[];
    try {
      records = this.records.split(datagram);
    } catch {
      return; // not even one record header: silently dropped
    }
    this.flags &= ~RETRANSMITTED;
    for (const r of records) {
      this.handleRecord(r, false);
      if (this.ended()) break;
    }
  }

  /** Fires whatever is due at `now`. Spurious calls are harmless. */
  handleTimeout(now: number): void {
    this.now = now;
    if (this.st.phase === 'sleeping') this.wake();
    if (this.ended()) return;
    const tries = this.flight.tries;
    const due = this.flight.due(now);
    const st = this.st;
    if (due !== undefined && st.phase === 'handshake') {
      const r = this.cfg.retransmission.restartAfter;
      const last = st.step.afterLastFlight;
      const x = this.extra;
      if (last && x?.restart && !x.restarted && r > 0 && tries >= r) {
        x.restarted = true;
        this.startOver(st.hs, x.restart(last.serverRandom));
        return;
      }
      // the peer's answer will come again whole: what was buffered of it (perhaps of an old
      // flight) goes, unless a state waiting for the application holds the rest of the flight
      if (!st.step.waiting) st.reassembler.discardPending();
    }
    switch (due) {
      case 'resend':
        this.transmitFlight();
        break;
      case 'give-up':
        this.fail(new DtlsError('HANDSHAKE_TIMEOUT', `no answer after ${tries} retransmission(s)`), false);
        return;
    }
    if (this.idleDeadline !== undefined && now >= this.idleDeadline) {
      const due = this.lastActivity + this.cfg.idleTimeoutMs;
      if (due > now) {
        this.idleDeadline = due;
        this.afterTimeout();
        return;
      }
      this.fail(new DtlsError('IDLE_TIMEOUT', `no traffic from the peer for ${this.cfg.idleTimeoutMs} ms`), false);
      return;
    }
    this.afterTimeout();
  }

  /**
   * The largest application record this connection can send now: what fits one datagram of
   * the MTU (RFC 6347 §4.1.1.1) and the peer's record size limit (RFC 8449 / RFC 6066).
   * 0 unless connected.
   */
  get maxRecordPayload(): number {
    if (this.st.phase === 'sleeping') this.wake();
    if (this.st.phase !== 'connected') return 0;
    return Math.min(this.cfg.mtu - this.records.overhead(), this.records.sendLimit, 16384);
  }

  /**
   * Sends one application record. Throws DtlsError CLOSED unless connected, and
   * RECORD_TOO_LARGE when `data` exceeds maxRecordPayload (larger writes are an error, not
   * IP fragments: RFC 6347 §4.1.1.1); nothing is sent then.
   */
  send(now: number, data: Uint8Array): void {
    this.now = now;
    if (this.st.phase === 'sleeping') this.wake();
    if (this.st.phase !== 'connected') throw new DtlsError('CLOSED', `cannot send in state ${this.st.phase}`);
    const max = this.maxRecordPayload;
    if (data.length > max) {
      const why = data.length > this.records.sendLimit ? `the peer's record size limit of ${this.records.sendLimit}` : `the ${this.cfg.mtu}-byte MTU (at most ${max} bytes a record)`;
      throw new DtlsError('RECORD_TOO_LARGE', `a ${data.length}-byte record exceeds ${why}`);
    }
    this.sendData(data);
  }

  /** One application record of a connected session goes out (ExportableConnection may hold it for a nonce lease). */
  protected sendData(data: Uint8Array): void {
    this.out.push(this.records.protect(ContentType.application_data, data));
  }

  /** Whether a session store's nonce lease forbids the next record of the current epoch (ExportableConnection). */
  protected leaseSpent(): boolean {
    return false;
  }

  /** The connection closed or failed (ExportableConnection drops what waited for a lease). */
  protected ending(): void {}

  /** Sends close_notify and closes. Idempotent. */
  close(now: number): void {
    this.now = now;
    if (this.st.phase === 'sleeping') this.wake();
    if (this.ended()) return;
    if (this.st.phase === 'connected') {
      this.sendAlert(AlertLevel.warning, AlertDescription.close_notify);
    } else {
      this.sendAlert(AlertLevel.fatal, AlertDescription.user_canceled);
    }
    this.finish({ phase: 'closed' });
    this.events.push({ type: 'closed', reason: 'local' });
  }

  /** Fails the connection from outside (a key store that failed): sends the error's alert. */
  abort(now: number, error: DtlsError): void {
    this.now = now;
    if (this.st.phase === 'sleeping') this.wake();
    this.fail(error);
  }

  /**
   * The application's answer to a handshake state waiting for it (ExportableConnection's
   * providePsk and resolvePeer): `pick` gives the state's step for it, if the state takes one.
   */
  protected answerStep(now: number, pick: (step: HandshakeState) => ((hs: Handshake) => HandshakeState | Done | Stale) | undefined): void {
    const st = this.st;
    if (st.phase !== 'handshake') return;
    const run = pick(st.step);
    if (!run) return;
    this.now = now;
    this.advance(st, () => run(st.hs));
    this.resume(st);
  }

  pollTransmit(): Uint8Array | undefined {
    return this.out.length > 0 ? this.out.shift() : undefined;
  }

  pollTimeout(): number | undefined {
    const t = this.flight.deadline();
    const i = this.idleDeadline;
    if (t === undefined) return i;
    return i === undefined || t < i ? t : i;
  }

  pollEvent(): DtlsEvent | undefined {
    return this.events.length > 0 ? this.events.shift() : undefined;
  }

  // === the handshake ======================================================================

  /**
   * Runs one step of the handshake: `step`, or without one the current state's handling of `m`
   * (no closure per message); the state it returns becomes current, an error fails the connection.
   */
  private advance(st: Extract<ConnectionState, { phase: 'handshake' }>, step: (() => HandshakeState | Done | Stale) | undefined, m?: HandshakeMessage): void {
    try {
      const next = step ? step() : st.step.handle(st.hs, m!);
      if (next === STALE) {
        if (m) st.reassembler.rewind(m.messageSeq);
        return;
      }
      if (next !== DONE && this.st === st) st.step = next;
    } catch (e) {
      if (e instanceof DtlsError) this.fail(e);
      else if (e instanceof DecodeError) this.fail(new DtlsError('DECODE_ERROR', e.message));
      else this.fail(new DtlsError('INTERNAL', e instanceof Error ? e.message : String(e)));
    }
  }

  /**
   * A client whose last flight went unanswered starts over, once, with a fresh ClientHello: a
   * new record layer (epoch 0, its sequence numbers continuing), message_seq from 0, a new
   * random. A server that lost our Finished, or never re-sends its own (tinydtls), takes it as a
   * new handshake after its cookie exchange.
   */
  private startOver(hs: Handshake, step: HandshakeState): void {
    const next0 = this.records.nextSequence(0);
    this.records.wipe();
    this.records = this.newRecordLayer(this.cfg.maxEarlyRecords);
    this.records.startSequence(next0);
    this.flight.release();
    this.nextMessageSeq = 0;
    const st: Extract<ConnectionState, { phase: 'handshake' }> = { phase: 'handshake', step, reassembler: new Reassembler(0, this.cfg.maxHandshakeBytes), hs };
    this.st = st;
    const start = step.start;
    if (start) this.advance(st, () => start.call(step, st.hs));
  }

  /** Feeds complete handshake messages to the current state, in order, until it waits or the handshake ends. */
  private drainMessages(): void {
    for (;;) {
      const st = this.st;
      if (st.phase !== 'handshake' || st.step.waiting) return;
      const m = st.reassembler.poll();
      if (!m) return;
      this.advance(st, undefined, m);
    }
  }

  /** After the application's answer: the messages and records held meanwhile (in `st`, the handshake's phase) go on. */
  private resume(st: Extract<ConnectionState, { phase: 'handshake' }>): void {
    this.drainMessages();
    const held = st.deferred;
    st.deferred = undefined;
    if (!held || this.ended()) return;
    for (const r of held) {
      this.handleRecord(r, false);
      if (this.ended()) return;
    }
  }

  private sendFlight(items: FlightItem[], expectReply: boolean): void {
    const st = this.st;
    this.flight.replace(this.now, items, expectReply, st.phase === 'handshake' ? st.reassembler.nextSeq : 0);
    this.transmitFlight();
    if (items.some((it) => it.kind === 'change_cipher_spec')) this.records.activateWrite();
  }

  private transmitFlight(): void {
    const items = this.flight.items;
    if (!items) return;
    for (const d of packFlight(items, this.cfg.mtu, this.records, this.records.sendLimit)) this.out.push(d);
  }

  /** Switches to connected: the timer stops; the last flight lingers only if we sent it last. */
  private established(session: SessionInfo, keepLastFlight: boolean, resumption: ClientResumption | undefined, master: Uint8Array): void {
    this.st = { phase: 'connected', session, master: this.cfg.exportable ? master.slice() : undefined };
    if (resumption) (this.extra ??= {}).resumable = resumption;
    this.flight.settle(this.now, keepLastFlight ? LAST_FLIGHT_LINGER_MS : undefined);
    this.records.stopHolding();
    this.touch();
    this.events.push({ type: 'connected', session });
  }

  /** The peer's ChangeCipherSpec: taken only by the state that waits for it. */
  private changeCipherSpec(): void {
    const st = this.st;
    if (st.phase !== 'handshake') return;
    const step = st.step;
    const ccs = step.changeCipherSpec;
    if (!ccs) return; // duplicate or early: the flight will come again
    this.advance(st, () => ccs.call(step, st.hs));
    if (this.ended()) return;
    // the peer's next epoch becomes readable: the records of it held so far go on now
    for (const r of this.records.activateRead()) {
      this.handleRecord(r, true);
      if (this.ended()) return;
    }
  }

  /** Fails the connection, sending the error's fatal alert (errors.ts) when `alert` is true. */
  private fail(e: DtlsError, alert = true): void {
    if (this.ended()) return;
    const desc = alert ? alertFor(e) : undefined;
    if (desc !== undefined) this.sendAlert(AlertLevel.fatal, desc);
    this.finish({ phase: 'failed', error: e });
    this.events.push({ type: 'failed', error: e });
  }

  // === records ============================================================================

  private sendAlert(level: number, description: number): void {
    // past a nonce lease nothing goes out (another process may own those numbers)
    if (this.records.writeEpoch > 0 && this.leaseSpent()) return;
    try {
      this.out.push(this.records.protect(ContentType.alert, encodeAlert({ level, description })));
    } catch {
      /* no keys: nothing we can send */
    }
  }

  private finish(st: Extract<ConnectionState, { phase: 'closed' | 'failed' }>): void {
    this.st = st;
    this.flight.release();
    this.idleDeadline = undefined;
    this.ending();
    this.records.wipe();
  }

  protected touch(): void {
    this.lastActivity = this.now;
    if (this.cfg.idleTimeoutMs > 0 && this.st.phase === 'connected' && this.idleDeadline === undefined) this.idleDeadline = this.now + this.cfg.idleTimeoutMs;
  }

  /** One record. `held`: it was held for its epoch's keys and is processed now. */
  private handleRecord(r: RawRecord, held: boolean): void {
    const st = this.st;
    if (st.phase === 'handshake' && st.step.waiting) {
      const held = (st.deferred ??= []);
      if (held.length < this.cfg.maxEarlyRecords) held.push(copyRecord(r));
      return;
    }
    const plaintext = this.records.open(r);
    if (this.records.advanced) this.flags |= ADVANCED;
    if (typeof plaintext === 'number') {
      // RFC 6347 §4.1.2.7: discard silently. The one exception is what a wrong key looks
      // like: the peer's Finished (a handshake record, arriving after its ChangeCipherSpec,
      // not held from before it) fails authentication; that fails the handshake with a fatal
      // alert. A stray or spoofed alert, data or early record changes nothing.
      if (plaintext === RecordDrop.BAD_MAC && st.phase === 'handshake' && r.type === ContentType.handshake && !held) {
        this.fail(new DtlsError('BAD_RECORD_MAC', 'the peer\'s Finished failed authentication (wrong key?)'));
      }
      return;
    }
    // After the handshake only handshake records (the peer re-sending its last flight) are
    // taken from the unauthenticated epoch 0: a spoofed alert cannot close a session.
    if (r.epoch === 0 && st.phase === 'connected' && r.type !== ContentType.handshake) return;
    this.touch();

    switch (r.type) {
      case ContentType.handshake:
        this.handleHandshakeRecord(plaintext, r.epoch);
        return;
      case ContentType.change_cipher_spec:
        if (r.epoch === 0 && isChangeCipherSpec(plaintext)) this.changeCipherSpec();
        return;
      case ContentType.alert:
        this.handleAlert(plaintext);
        return;
      case ContentType.application_data:
        if (st.phase !== 'connected' || r.epoch === 0) return;
        this.flight.release(); // the peer has our last flight: it is talking in the new epoch
        this.events.push({ type: 'data', data: plaintext });
        return;
      default:
        return;
    }
  }

  private handleAlert(body: Uint8Array): void {
    let a;
    try {
      a = decodeAlert(body);
    } catch {
      return;
    }
    if (a.description === AlertDescription.close_notify) {
      // RFC 5246 §7.2.1: answer close_notify with close_notify.
      if (this.st.phase === 'handshake') {
        const error = DtlsError.peerAlert(a.description);
        this.finish({ phase: 'failed', error });
        this.events.push({ type: 'failed', error });
        return;
      }
      this.sendAlert(AlertLevel.warning, AlertDescription.close_notify);
      this.finish({ phase: 'closed' });
      this.events.push({ type: 'closed', reason: 'peer' });
      return;
    }
    if (a.level === AlertLevel.fatal) {
      const error = DtlsError.peerAlert(a.description);
      this.finish({ phase: 'failed', error });
      this.events.push({ type: 'failed', error });
    }
    // warnings (no_renegotiation, ...) are ignored
  }

  private handleHandshakeRecord(plaintext: Uint8Array, epoch: number): void {
    const st = this.st;
    if (st.phase !== 'connected' && st.phase !== 'handshake') return;
    const f = FRAGMENT;
    try {
      for (let at = 0; at < plaintext.length; ) {
        at = readFragment(plaintext, at, f); // in place: no object per fragment
        if (st.phase === 'handshake') {
          if (st.reassembler.add(f, epoch) === 'old') this.resendOnRepeat(f.messageSeq, false);
        } else if (epoch > 0 && f.fragmentOffset === 0 && (f.msgType === HandshakeType.client_hello || f.msgType === HandshakeType.hello_request)) {
          // RFC 5746 / RFC 5246 §7.2.2: renegotiation is refused with a warning.
          this.sendAlert(AlertLevel.warning, AlertDescription.no_renegotiation);
        } else {
          this.resendOnRepeat(f.messageSeq, true);
        }
      }
    } catch (e) {
      // a malformed fragment ends the record (and a handshake: decode_error)
      if (!(e instanceof DecodeError)) throw e;
      if (st.phase === 'handshake') this.fail(new DtlsError('DECODE_ERROR', e.message));
      return;
    }
    if (st.phase === 'handshake') this.drainMessages();
  }

  /**
   * RFC 6347 §4.2.4: when the peer re-sends the flight we answered, our answer was lost:
   * send it again (at most once per datagram).
   */
  private resendOnRepeat(seq: number, established: boolean): void {
    if (this.flags & RETRANSMITTED || !this.flight.peerRepeats(seq, established)) return;
    this.flags |= RETRANSMITTED;
    this.transmitFlight();
  }
}

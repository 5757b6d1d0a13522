import { DecodeError } from '../bytes/reader.js';
import { wipe } from '../bytes/util.js';
import type { ConnectionConfig } from './config.js';
import { DtlsError, alertFor } from './errors.js';
import type { DtlsEvent } from './events.js';
import { CCM8_RECORD_OVERHEAD, openRecord, sealRecordWith, type TrafficKeys } from './record/ccm8-cipher.js';
import { Reassembler, type HandshakeMessage } from './record/reassembler.js';
import { ReplayWindow } from './record/replay-window.js';
import { packFlight, type FlightItem } from './handshake/flights.js';
import { AlertDescription, AlertLevel, ContentType, DTLS_1_2, HandshakeType } from './wire/constants.js';
import { decodeAlert, encodeAlert } from './wire/alert.js';
import { isChangeCipherSpec } from './wire/change-cipher-spec.js';
import { decodeHandshakeFragments } from './wire/handshake.js';
import { RECORD_HEADER_LENGTH, splitRecords, writeHeader, type RawRecord } from './wire/record.js';

/**
 * RFC 6347 §4.2.4: "for at least twice the default MSL defined for [TCP], when in the
 * FINISHED state, the node that transmits the last flight ... MUST respond to a
 * retransmission of the peer's last flight with a retransmit of the last flight."
 * MSL is 2 minutes; the flight is dropped sooner once the peer sends application data.
 */
export const LAST_FLIGHT_LINGER_MS = 240_000;

export type Phase = 'handshake' | 'connected' | 'closed' | 'failed';

/**
 * The sans-IO DTLS 1.2 connection (DESIGN.md): bytes and `now` go in; datagrams, one
 * deadline and events come out. This base class owns the record layer (epochs, sequence
 * numbers, replay windows, early records), flights and their retransmission timer, alerts
 * and application data. The role-specific handshakes live in handshake/client.ts and
 * handshake/server.ts.
 */
export abstract class DtlsConnection {
  protected phase: Phase = 'handshake';
  protected now = 0;

  // --- record layer -------------------------------------------------------------------
  /** Epoch of records we send now (0 until our ChangeCipherSpec). */
  protected writeEpoch = 0;
  private readonly writeSeq = [0, 0];
  protected writeKeys: TrafficKeys | undefined;
  /** Highest epoch whose records we process (1 after the peer's ChangeCipherSpec). */
  protected readEpoch = 0;
  protected readKeys: TrafficKeys | undefined;
  /** Largest record plaintext the peer accepts (RFC 8449 record_size_limit / RFC 6066), 2^14 by default. */
  protected sendLimit = 16384;
  /** Largest record plaintext we accept: our announced limit, once the peer acknowledged it. */
  protected receiveLimit = 16384;
  /** The epoch-1 anti-replay window (RFC 6347 §4.1.2.6). */
  private readonly window = new ReplayWindow();
  /** Records of epoch 1 that arrived before the peer's ChangeCipherSpec. */
  private early: RawRecord[] = [];
  private replayingEarly = false;
  /** Records held while an asynchronous key lookup runs. */
  private deferred: RawRecord[] = [];
  protected paused = false;

  // --- handshake ------------------------------------------------------------------------
  protected reassembler: Reassembler | undefined;
  protected nextSendSeq = 0;
  private lastFlight: FlightItem[] | undefined;
  /** Old messages with message_seq >= this are the peer re-sending the flight we answered. */
  private retransmitFromSeq = 0;
  private peerFlightStart = 0;
  private retransmittedThisDatagram = false;
  private timer: { deadline: number; timeoutMs: number; tries: number } | undefined;
  private lingerDeadline: number | undefined;
  /**
   * The idle timer. It is not moved on every record (that would reschedule the driver's timer
   * per packet); it fires at its old deadline and re-arms from `lastActivity` if there was any.
   */
  private idleDeadline: number | undefined;
  private lastActivity = 0;

  private readonly out: Uint8Array[] = [];
  private readonly events: DtlsEvent[] = [];

  constructor(protected readonly cfg: ConnectionConfig) {}

  get state(): Phase {
    return this.phase;
  }
  /** Closed or failed: nothing more will happen. */
  ended(): boolean {
    return this.phase === 'closed' || this.phase === 'failed';
  }
  get isHandshaking(): boolean {
    return this.phase === 'handshake';
  }

  // === driver interface =================================================================

  handleDatagram(now: number, datagram: Uint8Array): void {
    if (this.phase === 'closed' || this.phase === 'failed') return;
    this.now = now;
    let records: RawRecord[];
    try {
      records = splitRecords(datagram);
    } catch {
      return; // not even one record header: silently dropped
    }
    this.retransmittedThisDatagram = false;
    for (const r of records) {
      this.handleRecord(r);
      if (this.ended()) break;
    }
  }

  /** Fires whatever is due at `now`. Spurious calls are harmless. */
  handleTimeout(now: number): void {
    this.now = now;
    if (this.phase === 'closed' || this.phase === 'failed') return;
    if (this.timer && now >= this.timer.deadline) {
      const t = this.timer;
      if (t.tries >= this.cfg.retransmission.maxRetransmits) {
        this.timer = undefined;
        this.fail(new DtlsError('HANDSHAKE_TIMEOUT', `no answer after ${t.tries} retransmission(s)`), false);
        return;
      }
      t.tries++;
      t.timeoutMs = Math.min(t.timeoutMs * 2, this.cfg.retransmission.maxMs);
      t.deadline = now + t.timeoutMs;
      this.transmitFlight();
    }
    if (this.lingerDeadline !== undefined && now >= this.lingerDeadline) this.releaseLastFlight();
    if (this.idleDeadline !== undefined && now >= this.idleDeadline) {
      const due = this.lastActivity + this.cfg.idleTimeoutMs;
      if (due > now) {
        this.idleDeadline = due;
        return;
      }
      this.fail(new DtlsError('IDLE_TIMEOUT', `no traffic from the peer for ${this.cfg.idleTimeoutMs} ms`), false);
    }
  }

  /** Sends one application record. Throws DtlsError CLOSED unless connected. */
  send(now: number, data: Uint8Array): void {
    this.now = now;
    if (this.phase !== 'connected') throw new DtlsError('CLOSED', `cannot send in state ${this.phase}`);
    if (data.length > 16384) throw new DtlsError('INVALID_ARGUMENT', 'application record larger than 2^14 bytes');
    // RFC 6347 §4.1.1.1: a record must fit one datagram; larger writes are an error, not IP fragments.
    const size = RECORD_HEADER_LENGTH + CCM8_RECORD_OVERHEAD + data.length;
    if (size > this.cfg.mtu) throw new DtlsError('INVALID_ARGUMENT', `a ${data.length}-byte record does not fit the ${this.cfg.mtu}-byte MTU`);
    if (data.length > this.sendLimit) throw new DtlsError('INVALID_ARGUMENT', `a ${data.length}-byte record exceeds the peer's record size limit of ${this.sendLimit}`);
    this.out.push(this.sealRecord(ContentType.application_data, this.writeEpoch, data));
  }

  /** Sends close_notify and closes. Idempotent. */
  close(now: number): void {
    this.now = now;
    if (this.phase === 'closed' || this.phase === 'failed') return;
    if (this.phase === 'connected') {
      this.sendAlert(AlertLevel.warning, AlertDescription.close_notify);
    } else {
      this.sendAlert(AlertLevel.fatal, AlertDescription.user_canceled);
    }
    this.finish('closed');
    this.events.push({ type: 'closed', reason: 'local' });
  }

  pollTransmit(): Uint8Array | undefined {
    return this.out.shift();
  }

  pollTimeout(): number | undefined {
    let t = this.timer?.deadline;
    if (this.lingerDeadline !== undefined && (t === undefined || this.lingerDeadline < t)) t = this.lingerDeadline;
    if (this.idleDeadline !== undefined && (t === undefined || this.idleDeadline < t)) t = this.idleDeadline;
    return t;
  }

  pollEvent(): DtlsEvent | undefined {
    return this.events.shift();
  }

  // === for the role handshakes ==========================================================

  protected abstract handleMessage(m: HandshakeMessage): void;
  /** The peer's ChangeCipherSpec arrived; returns true when it was expected. */
  protected abstract handleChangeCipherSpec(): boolean;

  protected emit(e: DtlsEvent): void {
    this.events.push(e);
  }

  /** Sends a new flight, replacing the last one. With `expectReply` the retransmission timer runs. */
  protected sendFlight(items: FlightItem[], expectReply: boolean): void {
    this.lastFlight = items;
    this.retransmitFromSeq = this.peerFlightStart;
    this.peerFlightStart = this.reassembler?.nextSeq ?? this.peerFlightStart;
    const r = this.cfg.retransmission;
    this.timer = expectReply ? { deadline: this.now + r.initialMs, timeoutMs: r.initialMs, tries: 0 } : undefined;
    this.transmitFlight();
    for (const it of items) if (it.kind === 'change_cipher_spec') this.writeEpoch = it.epoch + 1;
  }

  /** RFC 6347 §4.2.1: a stateless server's first records continue the ClientHello's sequence numbers. */
  protected startWriteSequence(seq: number): void {
    this.writeSeq[0] = seq;
  }

  protected handshakeItem(msgType: number, body: Uint8Array, epoch = this.writeEpoch): FlightItem {
    return { kind: 'handshake', msgType, messageSeq: this.nextSendSeq++, body, epoch };
  }

  /** Switches to connected: stops the timer, keeps the last flight only if we sent it last. */
  protected becomeConnected(info: Extract<DtlsEvent, { type: 'connected' }>['session'], keepLastFlight: boolean): void {
    this.phase = 'connected';
    this.timer = undefined;
    this.reassembler = undefined;
    this.early = [];
    if (keepLastFlight) this.lingerDeadline = this.now + LAST_FLIGHT_LINGER_MS;
    else this.releaseLastFlight();
    this.touch();
    this.events.push({ type: 'connected', session: info });
  }

  /** The peer's epoch-1 records become readable (after its ChangeCipherSpec). */
  protected activateReadEpoch(): void {
    this.readEpoch = 1;
    const held = this.early;
    this.early = [];
    this.replayingEarly = true;
    try {
      for (const r of held) {
        this.handleRecord(r);
        if (this.ended()) return;
      }
    } finally {
      this.replayingEarly = false;
    }
  }

  /** Resumes after an asynchronous step (key lookup): replays the records held meanwhile. */
  protected resume(): void {
    this.paused = false;
    this.drainMessages();
    const held = this.deferred;
    this.deferred = [];
    for (const r of held) {
      if (this.paused) {
        this.deferred.push(r);
        continue;
      }
      this.handleRecord(r);
      if (this.ended()) return;
    }
  }

  /** Fails the connection, sending the mapped fatal alert when `alert` is true. */
  protected fail(e: DtlsError, alert = true): void {
    if (this.phase === 'closed' || this.phase === 'failed') return;
    const desc = alert ? alertFor(e) : undefined;
    if (desc !== undefined) this.sendAlert(AlertLevel.fatal, desc);
    this.finish('failed');
    this.events.push({ type: 'failed', error: e });
  }

  // === record layer =====================================================================

  private sealRecord(type: number, epoch: number, payload: Uint8Array): Uint8Array {
    const sequence = this.writeSeq[epoch]!++;
    if (sequence >= 2 ** 48 - 1) throw new DtlsError('INTERNAL', 'sequence number space exhausted');
    if (epoch === 0) {
      const out = new Uint8Array(RECORD_HEADER_LENGTH + payload.length);
      writeHeader(out, 0, type, DTLS_1_2, 0, sequence, payload.length);
      out.set(payload, RECORD_HEADER_LENGTH);
      return out;
    }
    if (!this.writeKeys) throw new DtlsError('INTERNAL', 'no write keys for epoch 1');
    return sealRecordWith(this.cfg.crypto, this.writeKeys, type, DTLS_1_2, epoch, sequence, payload);
  }

  private transmitFlight(): void {
    if (!this.lastFlight) return;
    for (const d of packFlight(this.lastFlight, this.cfg.mtu, (t, e, p) => this.sealRecord(t, e, p), this.sendLimit)) this.out.push(d);
  }

  private releaseLastFlight(): void {
    this.lastFlight = undefined;
    this.lingerDeadline = undefined;
  }

  private sendAlert(level: number, description: number): void {
    try {
      this.out.push(this.sealRecord(ContentType.alert, this.writeEpoch, encodeAlert({ level, description })));
    } catch {
      /* no keys: nothing we can send */
    }
  }

  private finish(phase: 'closed' | 'failed'): void {
    this.phase = phase;
    this.timer = undefined;
    this.lingerDeadline = undefined;
    this.idleDeadline = undefined;
    this.lastFlight = undefined;
    this.reassembler = undefined;
    this.early = [];
    this.deferred = [];
    if (this.writeKeys) wipe(this.writeKeys.key);
    if (this.readKeys) wipe(this.readKeys.key);
    this.writeKeys = undefined;
    this.readKeys = undefined;
  }

  private touch(): void {
    this.lastActivity = this.now;
    if (this.cfg.idleTimeoutMs > 0 && this.phase === 'connected' && this.idleDeadline === undefined) this.idleDeadline = this.now + this.cfg.idleTimeoutMs;
  }

  private handleRecord(r: RawRecord): void {
    if (this.paused) {
      if (this.deferred.length < this.cfg.maxEarlyRecords) this.deferred.push(copyRecord(r));
      return;
    }
    let plaintext: Uint8Array;
    if (r.epoch === 0) {
      // After the handshake only handshake records (the peer re-sending its last flight)
      // are taken from the unauthenticated epoch: a spoofed alert cannot close a session.
      // No replay window in epoch 0: its records are unauthenticated, so anyone could push
      // the window forward with one forged high sequence number and make the peer's real
      // records look old. Duplicates are harmless here: the reassembler drops old messages
      // and ChangeCipherSpec and alerts are gated by the handshake state.
      if (this.phase === 'connected' && r.type !== ContentType.handshake) return;
      plaintext = r.fragment;
    } else if (r.epoch === 1) {
      if (this.readEpoch < 1 || !this.readKeys) {
        if (this.phase === 'handshake' && this.early.length < this.cfg.maxEarlyRecords) this.early.push(copyRecord(r));
        return;
      }
      if (!this.window.check(r.sequence)) return;
      let pt: Uint8Array | undefined;
      try {
        pt = openRecord(this.cfg.crypto, this.readKeys, r, r.fragment);
      } catch {
        pt = undefined; // a provider error on hostile input is a failed record, nothing more
      }
      if (!pt) {
        // RFC 6347 §4.1.2.7: discard silently. The one exception is what a wrong key looks
        // like: the peer's Finished (a handshake record, arriving after its ChangeCipherSpec,
        // not replayed from the early buffer) fails authentication; that fails the handshake
        // with a fatal alert. A stray or spoofed alert, data or early record changes nothing.
        if (this.phase === 'handshake' && r.type === ContentType.handshake && !this.replayingEarly) {
          this.fail(new DtlsError('BAD_RECORD_MAC', 'the peer\'s Finished failed authentication (wrong key?)'));
        }
        return;
      }
      this.window.mark(r.sequence);
      // RFC 8449 §4: a record above the limit we announced (and the peer acknowledged) is an
      // overflow; dropped here
      if (pt.length > this.receiveLimit) return;
      plaintext = pt;
    } else {
      return;
    }
    this.touch();

    switch (r.type) {
      case ContentType.handshake:
        this.handleHandshakeRecord(plaintext, r.epoch);
        return;
      case ContentType.change_cipher_spec:
        if (r.epoch !== 0 || !isChangeCipherSpec(plaintext)) return;
        if (this.phase === 'handshake' && !this.handleChangeCipherSpec()) {
          /* a duplicate or early CCS: ignored, the flight will be re-sent whole */
        }
        return;
      case ContentType.alert:
        this.handleAlert(plaintext);
        return;
      case ContentType.application_data:
        if (this.phase !== 'connected' || r.epoch !== 1) return;
        this.releaseLastFlight(); // the peer has our last flight: it is talking in the new epoch
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
      if (this.phase === 'connected') this.sendAlert(AlertLevel.warning, AlertDescription.close_notify);
      const wasHandshake = this.phase === 'handshake';
      this.finish('closed');
      if (wasHandshake) this.events.push({ type: 'failed', error: DtlsError.peerAlert(a.description) });
      else this.events.push({ type: 'closed', reason: 'peer' });
      return;
    }
    if (a.level === AlertLevel.fatal) {
      this.finish('failed');
      this.events.push({ type: 'failed', error: DtlsError.peerAlert(a.description) });
    }
    // warnings (no_renegotiation, ...) are ignored
  }

  private handleHandshakeRecord(plaintext: Uint8Array, epoch: number): void {
    let frags;
    try {
      frags = decodeHandshakeFragments(plaintext);
    } catch (e) {
      if (this.phase === 'handshake' && e instanceof DecodeError) this.fail(new DtlsError('DECODE_ERROR', e.message));
      return;
    }
    if (this.phase === 'connected') {
      for (const f of frags) {
        if (epoch === 1 && f.fragmentOffset === 0 && (f.msgType === HandshakeType.client_hello || f.msgType === HandshakeType.hello_request)) {
          // RFC 5746 / RFC 5246 §7.2.2: renegotiation is refused with a warning.
          this.sendAlert(AlertLevel.warning, AlertDescription.no_renegotiation);
        } else {
          this.retransmitLastFlight(f.messageSeq, true);
        }
      }
      return;
    }
    const ra = this.reassembler;
    if (!ra) return;
    for (const f of frags) {
      const verdict = ra.add(f, epoch);
      if (verdict === 'old') this.retransmitLastFlight(f.messageSeq, false);
    }
    this.drainMessages();
  }

  private drainMessages(): void {
    const ra = this.reassembler;
    if (!ra) return;
    while (!this.paused && this.phase === 'handshake' && this.reassembler === ra) {
      const m = ra.poll();
      if (!m) return;
      try {
        this.handleMessage(m);
      } catch (e) {
        if (e instanceof DtlsError) this.fail(e);
        else if (e instanceof DecodeError) this.fail(new DtlsError('DECODE_ERROR', e.message));
        else this.fail(new DtlsError('INTERNAL', e instanceof Error ? e.message : String(e)));
      }
    }
  }

  /**
   * RFC 6347 §4.2.4: when the peer re-sends the flight we answered, our answer was lost:
   * send it again (at most once per datagram). Older flights are ignored.
   */
  private retransmitLastFlight(seq: number, connected: boolean): void {
    if (!this.lastFlight || this.retransmittedThisDatagram) return;
    if (!connected && seq < this.retransmitFromSeq) return;
    this.retransmittedThisDatagram = true;
    this.transmitFlight();
  }
}

/** Throws UNEXPECTED_MESSAGE unless `m` is the handshake message (and epoch) a state waits for. */
export function expectMessage(m: HandshakeMessage, type: number, epoch = 0): void {
  if (m.msgType !== type || m.epoch !== epoch) {
    throw new DtlsError('UNEXPECTED_MESSAGE', `expected handshake message ${type} in epoch ${epoch}, got ${m.msgType} in epoch ${m.epoch}`);
  }
}

function copyRecord(r: RawRecord): RawRecord {
  return { type: r.type, version: r.version, epoch: r.epoch, sequence: r.sequence, length: r.length, fragment: r.fragment.slice() };
}

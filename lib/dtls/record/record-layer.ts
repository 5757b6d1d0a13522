import { wireBuffer } from '../../bytes/wire-chunks.js';
import { DtlsError } from '../errors.js';
import { splitRecords, TLS12_CID, type RawRecord } from '../wire/record.js';
import { NULL_PROTECTION, type EpochProtection } from './protection.js';
import { ReplayWindow } from './replay-window.js';

/** Largest sequence number (RFC 6347 §4.1: uint48; a sender must not wrap it). */
const MAX_SEQUENCE = 2 ** 48 - 1;
/** The plaintext limit of TLS 1.2 records (RFC 5246 §6.2.1). */
export const MAX_PLAINTEXT = 16384;

/** Why {@link RecordLayer.open} returned no plaintext. */
export const RecordDrop = {
  /** Silently discarded (RFC 6347 §4.1.2.7): a replay, an epoch we cannot read, an overflow. */
  DISCARDED: 0,
  /** A record of the next epoch, arrived before the peer's ChangeCipherSpec: kept for later. */
  HELD: 1,
  /** A record of the current epoch that failed authentication. */
  BAD_MAC: 2,
} as const;
export type RecordDrop = (typeof RecordDrop)[keyof typeof RecordDrop];

/**
 * The DTLS 1.2 record layer of one connection (RFC 6347 §4.1): epochs and their protection
 * in each direction, 48-bit sequence numbers (owned here, not by a cipher), the anti-replay
 * window of the epoch being read (§4.1.2.6), and the records of the next epoch that arrive
 * before the peer's ChangeCipherSpec (§4.1: "a DTLS implementation MAY buffer them").
 * It knows nothing of handshake messages: it frames, seals, opens and orders bytes.
 */
export class RecordLayer {
  protected writeEpochNow = 0;
  /** Protection per epoch we may write: 0 (null) and the current one; a flight may mix them. */
  protected readonly writers: Array<EpochProtection | undefined> = [NULL_PROTECTION];
  protected readonly writeSeq: number[] = [0];

  protected readEpochNow = 0;
  protected reader: EpochProtection = NULL_PROTECTION;
  protected pendingReader: EpochProtection | undefined;
  protected window = new ReplayWindow();
  private advancedNow = false;
  protected early: RawRecord[] | undefined;
  protected holdingEarly = true;

  /**
   * RFC 9146: the length of the CID we asked our peer to put in its records, set as soon as the
   * hellos agreed on one (its records may arrive before our keys for them).
   */
  readCidLength = 0;
  /** Largest record plaintext the peer accepts (RFC 8449 record_size_limit / RFC 6066). */
  sendLimit = MAX_PLAINTEXT;
  /** Largest record plaintext we accept: our announced limit, once the peer acknowledged it. */
  receiveLimit = MAX_PLAINTEXT;

  constructor(private readonly maxEarlyRecords: number) {}

  /** The epoch of the records we send now (0 until our ChangeCipherSpec). */
  get writeEpoch(): number {
    return this.writeEpochNow;
  }
  /** The epoch whose records we read now (0 until the peer's ChangeCipherSpec). */
  get readEpoch(): number {
    return this.readEpochNow;
  }

  /**
   * The records of one datagram (RFC 6347 §4.1.1: a datagram may carry several); tls12_cid
   * records with the CID length we asked for (RFC 9146), once we read (or are about to) with one.
   */
  split(datagram: Uint8Array): RawRecord[] {
    return splitRecords(datagram, this.readCidLength);
  }

  /** Whether the last open() moved the read window forward (an authenticated record newer than any before). */
  get advanced(): boolean {
    return this.advancedNow;
  }

  // --- write ------------------------------------------------------------------------------

  /** The sequence number the next record of `epoch` gets. */
  nextSequence(epoch: number): number {
    return this.writeSeq[epoch] ?? 0;
  }

  /** RFC 6347 §4.2.1: a stateless server's first records continue the ClientHello's sequence numbers. */
  startSequence(sequence: number): void {
    this.writeSeq[0] = sequence;
  }

  /** Installs the protection of the next write epoch (keys derived, our ChangeCipherSpec not yet sent). */
  installWrite(p: EpochProtection): void {
    const next = this.writeEpochNow + 1;
    this.writers[next]?.wipe();
    this.writers[next] = p;
    this.writeSeq[next] = 0;
  }

  /** Our ChangeCipherSpec went out: later records use the next epoch. */
  activateWrite(): void {
    if (!this.writers[this.writeEpochNow + 1]) throw new DtlsError('INTERNAL', `no keys for write epoch ${this.writeEpochNow + 1}`);
    this.writeEpochNow++;
  }

  /** Bytes a record of `epoch` adds to its plaintext. */
  overhead(epoch = this.writeEpochNow): number {
    const w = this.writers[epoch];
    if (!w) throw new DtlsError('INTERNAL', `no keys for write epoch ${epoch}`);
    return w.overhead;
  }

  /** One record of `type` in `epoch` (default: the current one), with the next sequence number. */
  protect(type: number, payload: Uint8Array, epoch = this.writeEpochNow): Uint8Array {
    const w = this.writers[epoch];
    if (!w) throw new DtlsError('INTERNAL', `no keys for write epoch ${epoch}`);
    const sequence = this.writeSeq[epoch]!;
    if (sequence >= MAX_SEQUENCE) throw new DtlsError('INTERNAL', 'sequence number space exhausted');
    this.writeSeq[epoch] = sequence + 1;
    return w.seal(type, epoch, sequence, payload);
  }

  // --- read -------------------------------------------------------------------------------

  /** Installs the protection of the next read epoch (keys derived, the peer's ChangeCipherSpec not yet seen). */
  installRead(p: EpochProtection): void {
    this.pendingReader?.wipe();
    this.pendingReader = p;
  }

  /**
   * The peer's ChangeCipherSpec: its next epoch becomes readable. Returns the records of that
   * epoch held so far, in arrival order, for the caller to process now.
   */
  activateRead(): RawRecord[] {
    if (!this.pendingReader) throw new DtlsError('INTERNAL', `no keys for read epoch ${this.readEpochNow + 1}`);
    if (this.readEpochNow > 0) this.reader.wipe();
    this.reader = this.pendingReader;
    this.pendingReader = undefined;
    this.readEpochNow++;
    this.window = new ReplayWindow();
    const held = this.early ?? [];
    this.early = undefined;
    return held;
  }

  /** The handshake is over: no next epoch is coming, so nothing more is held. */
  stopHolding(): void {
    this.holdingEarly = false;
    this.early = undefined;
  }

  /**
   * The plaintext of a record, or why there is none. Epoch 0 is returned as it is (its
   * records are unauthenticated: the caller decides which it may take). No replay window
   * in epoch 0: anyone could push it forward with one forged high sequence number and make
   * the peer's real records look old.
   */
  open(r: RawRecord): Uint8Array | RecordDrop {
    this.advancedNow = false;
    const epoch = r.epoch;
    if (epoch === 0) return r.type === TLS12_CID ? RecordDrop.DISCARDED : r.fragment;
    if (epoch === this.readEpochNow) {
      if (!this.reader.accepts(r)) return RecordDrop.DISCARDED; // another record format than this epoch's
      const w = this.window;
      if (!w.check(r.sequence)) return RecordDrop.DISCARDED;
      const pt = this.reader.open(r);
      if (!pt) return RecordDrop.BAD_MAC;
      this.advancedNow = r.sequence > w.highest;
      w.mark(r.sequence);
      // RFC 8449 §4: a record above the limit we announced (and the peer acknowledged) is an overflow
      if (pt.length > this.receiveLimit) return RecordDrop.DISCARDED;
      return pt;
    }
    if (epoch === this.readEpochNow + 1 && this.holdingEarly) {
      const early = (this.early ??= []);
      if (early.length >= this.maxEarlyRecords) return RecordDrop.DISCARDED;
      early.push(copyRecord(r));
      return RecordDrop.HELD;
    }
    return RecordDrop.DISCARDED;
  }

  /** Forgets every key. */
  wipe(): void {
    for (const w of this.writers) w?.wipe();
    this.writers.length = 1;
    this.reader.wipe();
    this.reader = NULL_PROTECTION;
    this.pendingReader?.wipe();
    this.pendingReader = undefined;
    this.early = undefined;
  }
}

/**
 * A record taken out of its datagram (the datagram's buffer may be reused by the driver). The
 * fragment goes to a wire chunk: a small copy of its own would be moved off the V8 heap by the
 * first view of it (its ciphertext, when it is opened).
 */
export function copyRecord(r: RawRecord): RawRecord {
  const fragment = wireBuffer(r.fragment.length);
  fragment.set(r.fragment);
  const c: RawRecord = { type: r.type, version: r.version, epoch: r.epoch, sequence: r.sequence, length: r.length, fragment };
  if (r.cid) c.cid = r.cid.slice();
  return c;
}

import { DtlsError } from './errors.js';
import { identityBytes, type SessionInfo } from './events.js';
import type { FlightItem } from './handshake/flights.js';
import type { PeerIdentity } from './keystore.js';
import type { TrafficKeys } from './record/ccm8-cipher.js';

/**
 * An idle established connection in compact form (DtlsConnection.hibernate()): everything it
 * needs to go on exactly where it stopped, as plain values: the same keys, sequence numbers,
 * replay window, idle deadline and lingering last flight. The endpoint keeps it as bytes in a
 * slab slot (session-slab.ts) while the session sleeps; the connection wakes on its next
 * datagram or call. Nothing here leaves the process (unlike a session store's snapshot): the
 * sequence numbers are exact, no lease is needed. Holds the traffic keys.
 */
export interface SleepingConnection {
  readonly session: SessionInfo;
  /** The record layer (ExportableRecordLayer.compact()): one epoch both ways. */
  readonly records: CompactRecords;
  /** The last flight we keep for the peer's repeats (RFC 6347 §4.2.4), until `until`. */
  readonly flight: { readonly items: readonly FlightItem[]; readonly until: number } | undefined;
  readonly lastActivity: number;
  readonly idleDeadline: number | undefined;
  readonly nextMessageSeq: number;
}

/** An established record layer as plain values (ExportableRecordLayer.compact()). Holds the traffic keys. */
export interface CompactRecords {
  readonly epoch: number;
  readonly writeKeys: TrafficKeys;
  readonly readKeys: TrafficKeys;
  /** RFC 9146: whether our records (write) and the peer's (read) carry a CID (session.connectionId's). */
  readonly writeCid: boolean;
  readonly readCid: boolean;
  /** The next sequence number to write in `epoch`, and in epoch 0 (a lingering flight's ChangeCipherSpec). */
  readonly nextWrite: number;
  readonly nextWrite0: number;
  /** The read replay window: highest number accepted (-1: none) and the bitmap halves below it. */
  readonly replayTop: number;
  readonly replayLow: number;
  readonly replayHigh: number;
  readonly readCidLength: number;
  readonly sendLimit: number;
  readonly receiveLimit: number;
}

/**
 * The byte form, big-endian (95 bytes for a fresh PSK session with a 13-byte identity; it fits
 * a 112-byte slab slot with identities up to ~28 bytes). `var` is an unsigned LEB128 integer
 * (7 bits a byte, low first, no superfluous zero byte): sequence numbers are small for most of
 * a session's life.
 * ```
 * u8  version = 2
 * u8  flags           1 extended_master_secret, 2 resumed, 4 restored, 8 connection_id,
 *                     16 flight, 32 idle deadline, 64 record size limits as u16
 * u8  cid flags       1 our records carry a CID, 2 the peer's do
 * u8  identity        0 psk (bytes below), 1 anonymous, 2 kept beside the record (rpk, x509)
 * u16 cipher_suite    u16 epoch        var next message_seq
 * var next write seq  var next write seq of epoch 0
 * var replay top + 1  u32 replay bitmap low   u32 replay bitmap high
 * u8  read CID length u16|u32 send limit   u16|u32 receive limit  (u16 with flag 64, and then only)
 * f64 last activity   [f64 idle deadline]                      (idle deadline)
 * opaque write_key[16] write_iv[4] read_key[16] read_iv[4]
 * [u8 length, psk identity]                                     (psk)
 * [u8 length, read CID; u8 length, write CID]                   (connection_id)
 * [f64 until; u8 count; count x (u8 kind 0 ChangeCipherSpec | 1 handshake; u16 epoch;
 *   handshake: u8 msg_type, u16 message_seq, u32 length, body)]  (flight)
 * ```
 */
const VERSION = 2;
const F_EMS = 1, F_RESUMED = 2, F_RESTORED = 4, F_CID = 8, F_FLIGHT = 16, F_IDLE = 32, F_SHORT_LIMITS = 64;
const ID_PSK = 0, ID_ANONYMOUS = 1, ID_BESIDE = 2;
const MAX_U48 = 2 ** 48 - 1;

/** The encoder's buffer, reused (and wiped by the caller: it held keys). */
let scratch = new Uint8Array(256);
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);

class Writer {
  at = 0;
  private room(n: number): void {
    if (this.at + n <= scratch.length) return;
    const bigger = new Uint8Array(Math.max(scratch.length * 2, this.at + n));
    bigger.set(scratch.subarray(0, this.at));
    scratch.fill(0);
    scratch = bigger;
  }
  u8(v: number): void {
    this.room(1);
    scratch[this.at++] = v;
  }
  u16(v: number): void {
    this.u8(v >>> 8);
    this.u8(v & 0xff);
  }
  u32(v: number): void {
    this.u16(v >>> 16);
    this.u16(v & 0xffff);
  }
  /** Unsigned LEB128 of an integer 0 ≤ v < 2^53. */
  varint(v: number): void {
    while (v >= 0x80) {
      this.u8((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.u8(v);
  }
  f64(v: number): void {
    this.room(8);
    f64[0] = v;
    scratch.set(f64Bytes, this.at);
    this.at += 8;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    scratch.set(b, this.at);
    this.at += b.length;
  }
  short(b: Uint8Array): void {
    this.u8(b.length);
    this.bytes(b);
  }
}

const bad = (why: string) => new DtlsError('DECODE_ERROR', `hibernated session record: ${why}`);

class Reader {
  private at = 0;
  constructor(private readonly b: Uint8Array) {}
  u8(): number {
    if (this.at >= this.b.length) throw bad('cut short');
    return this.b[this.at++]!;
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  u32(): number {
    return ((this.u16() << 16) | this.u16()) >>> 0;
  }
  /** Unsigned LEB128 up to `max`, in its shortest form. */
  varint(max: number): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      const b = this.u8();
      v += (b & 0x7f) * scale;
      if (v > max) throw bad('a number out of range');
      if ((b & 0x80) === 0) {
        if (b === 0 && scale > 1) throw bad('a number not in its shortest form');
        return v;
      }
      scale *= 0x80;
    }
  }
  f64(): number {
    for (let i = 0; i < 8; i++) f64Bytes[i] = this.u8();
    const v = f64[0]!;
    if (!Number.isFinite(v)) throw bad('a time that is not a finite number');
    return v;
  }
  bytes(n: number): Uint8Array {
    if (this.at + n > this.b.length) throw bad('cut short');
    const out = this.b.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }
  short(): Uint8Array {
    return this.bytes(this.u8());
  }
  done(): void {
    if (this.at !== this.b.length) throw bad('trailing bytes');
  }
}

const u48ok = (v: number) => Number.isInteger(v) && v >= 0 && v <= MAX_U48;
const u32ok = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const u16ok = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xffff;
const keysOk = (k: TrafficKeys) => k.key.length === 16 && k.iv.length === 4;

/**
 * The connection as bytes (a view of a scratch buffer, valid until the next call: copy it, then
 * wipeScratch()) and the identity kept beside them (a raw public key or certificate identity).
 * Undefined when some value does not fit the form (the connection then stays awake).
 */
export function encodeSleeping(s: SleepingConnection): { bytes: Uint8Array; beside: PeerIdentity | undefined } | undefined {
  const info = s.session;
  const r = s.records;
  const cid = info.connectionId;
  if (!u48ok(r.nextWrite) || !u48ok(r.nextWrite0) || !u48ok(r.replayTop + 1) || !u32ok(r.sendLimit) || !u32ok(r.receiveLimit) || !u32ok(s.nextMessageSeq)) return undefined;
  if (!(r.epoch > 0 && r.epoch <= 0xffff) || !u16ok(info.cipherSuite) || !(r.readCidLength >= 0 && r.readCidLength <= 255) || !keysOk(r.writeKeys) || !keysOk(r.readKeys)) return undefined;
  if (cid ? cid.read.length > 255 || cid.write.length > 255 || r.writeCid !== cid.write.length > 0 || r.readCid !== cid.read.length > 0 : r.writeCid || r.readCid) return undefined;
  if (!Number.isFinite(s.lastActivity) || (s.idleDeadline !== undefined && !Number.isFinite(s.idleDeadline))) return undefined;
  const id = info.identity;
  if (id.kind === 'psk' && (id.identity.length > 255 || info.peerIdentity !== id.identity)) return undefined;
  if (info.restored !== undefined && info.restored !== true) return undefined;
  const fl = s.flight;
  if (fl && (fl.items.length > 255 || !Number.isFinite(fl.until))) return undefined;
  const w = new Writer();
  let flags = 0;
  if (info.extendedMasterSecret) flags |= F_EMS;
  if (info.resumed) flags |= F_RESUMED;
  if (info.restored) flags |= F_RESTORED;
  if (cid) flags |= F_CID;
  if (fl) flags |= F_FLIGHT;
  if (s.idleDeadline !== undefined) flags |= F_IDLE;
  const shortLimits = r.sendLimit <= 0xffff && r.receiveLimit <= 0xffff;
  if (shortLimits) flags |= F_SHORT_LIMITS;
  w.u8(VERSION);
  w.u8(flags);
  w.u8((r.writeCid ? 1 : 0) | (r.readCid ? 2 : 0));
  w.u8(id.kind === 'psk' ? ID_PSK : id.kind === 'anonymous' ? ID_ANONYMOUS : ID_BESIDE);
  w.u16(info.cipherSuite);
  w.u16(r.epoch);
  w.varint(s.nextMessageSeq);
  w.varint(r.nextWrite);
  w.varint(r.nextWrite0);
  w.varint(r.replayTop + 1);
  w.u32(r.replayLow >>> 0);
  w.u32(r.replayHigh >>> 0);
  w.u8(r.readCidLength);
  if (shortLimits) {
    w.u16(r.sendLimit);
    w.u16(r.receiveLimit);
  } else {
    w.u32(r.sendLimit);
    w.u32(r.receiveLimit);
  }
  w.f64(s.lastActivity);
  if (s.idleDeadline !== undefined) w.f64(s.idleDeadline);
  w.bytes(r.writeKeys.key);
  w.bytes(r.writeKeys.iv);
  w.bytes(r.readKeys.key);
  w.bytes(r.readKeys.iv);
  if (id.kind === 'psk') w.short(id.identity);
  if (cid) {
    w.short(cid.read);
    w.short(cid.write);
  }
  if (fl) {
    w.f64(fl.until);
    w.u8(fl.items.length);
    for (const it of fl.items) {
      if (!u16ok(it.epoch)) return wiped(w);
      if (it.kind === 'change_cipher_spec') {
        w.u8(0);
        w.u16(it.epoch);
        continue;
      }
      if (!(it.msgType >= 0 && it.msgType <= 255) || !u16ok(it.messageSeq) || !u32ok(it.body.length)) return wiped(w);
      w.u8(1);
      w.u16(it.epoch);
      w.u8(it.msgType);
      w.u16(it.messageSeq);
      w.u32(it.body.length);
      w.bytes(it.body);
    }
  }
  return { bytes: scratch.subarray(0, w.at), beside: id.kind === 'psk' || id.kind === 'anonymous' ? undefined : id };
}

function wiped(w: Writer): undefined {
  wipeScratch(w.at);
  return undefined;
}

/** Wipes the scratch buffer encodeSleeping wrote (it held traffic keys). */
export function wipeScratch(length: number): void {
  scratch.fill(0, 0, Math.min(length, scratch.length));
}

/**
 * The connection from its bytes and what was kept beside them (`beside`: the identity of an
 * rpk or x509 session). Throws DtlsError DECODE_ERROR on a malformed record.
 */
export function decodeSleeping(b: Uint8Array, beside: PeerIdentity | undefined): SleepingConnection {
  const r = new Reader(b);
  if (r.u8() !== VERSION) throw bad('unknown version');
  const flags = r.u8();
  if (flags & ~(F_EMS | F_RESUMED | F_RESTORED | F_CID | F_FLIGHT | F_IDLE | F_SHORT_LIMITS)) throw bad('unknown flags');
  const cidFlags = r.u8();
  if (cidFlags & ~3) throw bad('unknown CID flags');
  const idKind = r.u8();
  const cipherSuite = r.u16();
  const epoch = r.u16();
  if (epoch === 0) throw bad('epoch 0');
  const nextMessageSeq = r.varint(0xffffffff);
  const nextWrite = r.varint(MAX_U48);
  const nextWrite0 = r.varint(MAX_U48);
  const replayTop = r.varint(MAX_U48) - 1;
  const replayLow = r.u32() | 0;
  const replayHigh = r.u32() | 0;
  const readCidLength = r.u8();
  const shortLimits = (flags & F_SHORT_LIMITS) !== 0;
  const sendLimit = shortLimits ? r.u16() : r.u32();
  const receiveLimit = shortLimits ? r.u16() : r.u32();
  if (!shortLimits && sendLimit <= 0xffff && receiveLimit <= 0xffff) throw bad('record size limits not in their shortest form');
  const lastActivity = r.f64();
  const idleDeadline = flags & F_IDLE ? r.f64() : undefined;
  const writeKeys = { key: r.bytes(16), iv: r.bytes(4) };
  const readKeys = { key: r.bytes(16), iv: r.bytes(4) };
  let identity: PeerIdentity;
  let peerIdentity: Uint8Array;
  if (idKind === ID_PSK) {
    const bytes = r.short();
    identity = { kind: 'psk', identity: bytes };
    peerIdentity = bytes;
  } else if (idKind === ID_ANONYMOUS) {
    identity = { kind: 'anonymous' };
    peerIdentity = new Uint8Array(0);
  } else if (idKind === ID_BESIDE && beside !== undefined && beside.kind !== 'psk' && beside.kind !== 'anonymous') {
    identity = beside;
    peerIdentity = identityBytes(identity);
  } else {
    throw bad(`identity kind ${idKind}`);
  }
  const session: SessionInfo = { cipherSuite, identity, peerIdentity, extendedMasterSecret: (flags & F_EMS) !== 0, resumed: (flags & F_RESUMED) !== 0 };
  if (flags & F_RESTORED) session.restored = true;
  const writeCid = (cidFlags & 1) !== 0;
  const readCid = (cidFlags & 2) !== 0;
  if (flags & F_CID) {
    const read = r.short();
    const write = r.short();
    if (writeCid !== write.length > 0 || readCid !== read.length > 0) throw bad('CID flags disagree with the CIDs');
    session.connectionId = { read, write };
  } else if (writeCid || readCid) {
    throw bad('CID flags without CIDs');
  }
  let flight: SleepingConnection['flight'];
  if (flags & F_FLIGHT) {
    const until = r.f64();
    const n = r.u8();
    const items: FlightItem[] = [];
    for (let i = 0; i < n; i++) {
      const kind = r.u8();
      const ep = r.u16();
      if (kind === 0) {
        items.push({ kind: 'change_cipher_spec', epoch: ep });
        continue;
      }
      if (kind !== 1) throw bad(`flight item kind ${kind}`);
      const msgType = r.u8();
      const messageSeq = r.u16();
      const body = r.bytes(r.u32());
      items.push({ kind: 'handshake', msgType, messageSeq, body, epoch: ep });
    }
    flight = { items, until };
  }
  r.done();
  const records: CompactRecords = { epoch, writeKeys, readKeys, writeCid, readCid, nextWrite, nextWrite0, replayTop, replayLow, replayHigh, readCidLength, sendLimit, receiveLimit };
  return { session, records, flight, lastActivity, idleDeadline, nextMessageSeq };
}

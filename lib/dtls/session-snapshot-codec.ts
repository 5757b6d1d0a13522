import { DecodeError, Reader } from '../bytes/reader.js';
import { fromHex, toHex, utf8 } from '../bytes/util.js';
import { Writer } from '../bytes/writer.js';
import { decodeUtf8 } from '../x509/name.js';
import { DtlsError } from './errors.js';
import type { PeerIdentity } from './keystore.js';
import type { SessionSnapshot } from './session-snapshot.js';

/**
 * The binary form of a {@link SessionSnapshot}, for a session store. Big-endian; `varint` is
 * an unsigned LEB128 integer (7 bits a byte, low group first, the high bit set on every byte
 * but the last) in its shortest form only, at most 2^48; `text` is `varint length` + strict
 * UTF-8; `bytes` is `varint length` + bytes; lengths are at most 65535.
 *
 * ```
 * struct {
 *   uint8  version = 1;
 *   uint8  flags;                 // bit 0 role (0 client, 1 server), bit 1 extended master secret,
 *                                 // bit 2 readCid present, bit 3 writeCid present; bits 4-7 zero
 *   uint16 cipher_suite;
 *   varint epoch;                 // 1..65535
 *   uint8  key_length;            // 1..255, both directions
 *   uint8  iv_length;             // 0..255, both directions
 *   opaque master_secret[48];
 *   opaque write_key[key_length];  opaque write_iv[iv_length];
 *   opaque read_key[key_length];   opaque read_iv[iv_length];
 *   varint write_sequence_lease;  // 0..2^48 (2^48: the sequence space is spent)
 *   varint replay_top_plus_1;     // 0 (nothing read yet) .. 2^48
 *   uint64 replay_bitmap;
 *   uint16 send_limit;            // 64..16384 (RFC 8449 / RFC 6066)
 *   uint16 receive_limit;         // 64..16384
 *   opaque read_cid<0..255>;      // uint8 length; only when flags bit 2
 *   opaque write_cid<0..255>;     // only when flags bit 3
 *   uint8  peer_tag;              // bits 0-1 kind (0 anonymous, 1 psk, 2 rpk, 3 x509), bit 7 name present
 *   select (kind) {
 *     case anonymous: struct {};                 // no name
 *     case psk:  bytes identity;                 // no name
 *     case rpk:  bytes spki;    opaque sha256[32]; [text name];
 *     case x509: text subject;  opaque sha256[32]; [text name];
 *   } peer;
 * } SessionSnapshotV1;            // nothing may follow
 * ```
 * The fingerprint is the peer identity's lowercase hex SHA-256, stored as its 32 bytes.
 *
 * The form is canonical: {@link decodeSessionSnapshot} accepts exactly what
 * {@link encodeSessionSnapshot} writes, so a decoded snapshot re-encodes to the same bytes.
 * Decoding never throws anything but a {@link DecodeError} (a store sits partly outside our
 * trust boundary: whatever it returns, a server does not crash); the snapshot it returns owns
 * its bytes (copies, not views of the input). Encoding an out-of-range snapshot throws a
 * DtlsError INVALID_ARGUMENT.
 *
 * Size (AES-128-CCM_8: 16-byte keys, 4-byte IVs), a PSK session without CIDs: at most 113
 * bytes plus the identity while the lease and the replay top stay below 16383 (128 B with the
 * 15-byte `Client_identity`), at most 123 plus the identity (both near 2^48); an identity of
 * 128 bytes or more adds a length byte, and each CID adds 1 + its length.
 */
export const SESSION_SNAPSHOT_VERSION = 1;

const FLAG_SERVER = 1;
const FLAG_EMS = 2;
const FLAG_READ_CID = 4;
const FLAG_WRITE_CID = 8;
const FLAGS_KNOWN = 15;

const PEER_KINDS = ['anonymous', 'psk', 'rpk', 'x509'] as const;
const PEER_NAME = 0x80;
const PEER_KIND_MASK = 0x03;

const MASTER_SECRET_LENGTH = 48;
const FINGERPRINT_LENGTH = 32;
const MAX_VAR_LENGTH = 0xffff;
/** Sequence numbers are 48-bit (RFC 6347 §4.1); a lease or top+1 may reach 2^48 itself. */
const SEQUENCE_SPACE = 2 ** 48;
const MIN_LIMIT = 64;
const MAX_LIMIT = 16384;
const U64 = (1n << 64n) - 1n;

/** Writes a snapshot; throws DtlsError INVALID_ARGUMENT if a field is outside the layout. */
export function encodeSessionSnapshot(s: SessionSnapshot): Uint8Array {
  check(s.version === SESSION_SNAPSHOT_VERSION, 'version', `must be ${SESSION_SNAPSHOT_VERSION}`);
  check(s.role === 'client' || s.role === 'server', 'role', "must be 'client' or 'server'");
  checkInt('cipherSuite', s.cipherSuite, 0, 0xffff);
  checkInt('epoch', s.epoch, 1, 0xffff);
  checkBytes('masterSecret', s.masterSecret, MASTER_SECRET_LENGTH, MASTER_SECRET_LENGTH);
  checkBytes('writeKey', s.writeKey, 1, 255);
  checkBytes('readKey', s.readKey, s.writeKey.length, s.writeKey.length);
  checkBytes('writeIv', s.writeIv, 0, 255);
  checkBytes('readIv', s.readIv, s.writeIv.length, s.writeIv.length);
  checkInt('writeSequenceLease', s.writeSequenceLease, 0, SEQUENCE_SPACE);
  checkInt('replayTop', s.replayTop, -1, SEQUENCE_SPACE - 1);
  check(typeof s.replayBitmap === 'bigint' && s.replayBitmap >= 0n && s.replayBitmap <= U64, 'replayBitmap', 'must be a 64-bit unsigned bigint');
  checkInt('sendLimit', s.sendLimit, MIN_LIMIT, MAX_LIMIT);
  checkInt('receiveLimit', s.receiveLimit, MIN_LIMIT, MAX_LIMIT);
  if (s.readCid !== undefined) checkBytes('readCid', s.readCid, 0, 255);
  if (s.writeCid !== undefined) checkBytes('writeCid', s.writeCid, 0, 255);

  const w = new Writer(160);
  w.u8(SESSION_SNAPSHOT_VERSION);
  w.u8(
    (s.role === 'server' ? FLAG_SERVER : 0) |
      (s.extendedMasterSecret ? FLAG_EMS : 0) |
      (s.readCid !== undefined ? FLAG_READ_CID : 0) |
      (s.writeCid !== undefined ? FLAG_WRITE_CID : 0),
  );
  w.u16(s.cipherSuite);
  writeVarint(w, s.epoch);
  w.u8(s.writeKey.length);
  w.u8(s.writeIv.length);
  w.bytes(s.masterSecret).bytes(s.writeKey).bytes(s.writeIv).bytes(s.readKey).bytes(s.readIv);
  writeVarint(w, s.writeSequenceLease);
  writeVarint(w, s.replayTop + 1);
  w.u16(Number(s.replayBitmap >> 48n)).u48(Number(s.replayBitmap & 0xffff_ffff_ffffn));
  w.u16(s.sendLimit).u16(s.receiveLimit);
  if (s.readCid !== undefined) w.u8(s.readCid.length).bytes(s.readCid);
  if (s.writeCid !== undefined) w.u8(s.writeCid.length).bytes(s.writeCid);
  writePeer(w, s.peer);
  return w.finish();
}

/** Reads a snapshot; throws DecodeError (only) for anything but what encodeSessionSnapshot writes. */
export function decodeSessionSnapshot(b: Uint8Array): SessionSnapshot {
  const r = new Reader(b);
  const version = r.u8('version');
  if (version !== SESSION_SNAPSHOT_VERSION) throw new DecodeError(`session snapshot: unsupported version ${version}`);
  const flags = r.u8('flags');
  if ((flags & ~FLAGS_KNOWN) !== 0) throw new DecodeError(`session snapshot: unknown flags 0x${flags.toString(16)}`);
  const cipherSuite = r.u16('cipher_suite');
  const epoch = readVarint(r, 'epoch', 0xffff);
  if (epoch < 1) throw new DecodeError('session snapshot: epoch 0');
  const keyLength = r.u8('key_length');
  if (keyLength < 1) throw new DecodeError('session snapshot: empty key');
  const ivLength = r.u8('iv_length');
  const masterSecret = r.bytes(MASTER_SECRET_LENGTH, 'master_secret').slice();
  const writeKey = r.bytes(keyLength, 'write_key').slice();
  const writeIv = r.bytes(ivLength, 'write_iv').slice();
  const readKey = r.bytes(keyLength, 'read_key').slice();
  const readIv = r.bytes(ivLength, 'read_iv').slice();
  const writeSequenceLease = readVarint(r, 'write_sequence_lease', SEQUENCE_SPACE);
  const replayTop = readVarint(r, 'replay_top', SEQUENCE_SPACE) - 1;
  const replayBitmap = (BigInt(r.u16('replay_bitmap')) << 48n) | BigInt(r.u48('replay_bitmap'));
  const sendLimit = readLimit(r, 'send_limit');
  const receiveLimit = readLimit(r, 'receive_limit');
  const readCid = flags & FLAG_READ_CID ? r.vec8('read_cid').slice() : undefined;
  const writeCid = flags & FLAG_WRITE_CID ? r.vec8('write_cid').slice() : undefined;
  const peer = readPeer(r);
  r.end('session snapshot');
  return {
    version: SESSION_SNAPSHOT_VERSION,
    role: flags & FLAG_SERVER ? 'server' : 'client',
    cipherSuite,
    extendedMasterSecret: (flags & FLAG_EMS) !== 0,
    masterSecret,
    epoch,
    writeKey,
    writeIv,
    readKey,
    readIv,
    writeSequenceLease,
    replayTop,
    replayBitmap,
    readCid,
    writeCid,
    sendLimit,
    receiveLimit,
    peer,
  };
}

// ---------------------------------------------------------------------------------------
// The peer identity

function writePeer(w: Writer, p: PeerIdentity): void {
  switch (p.kind) {
    case 'anonymous':
      w.u8(0);
      return;
    case 'psk':
      checkBytes('peer.identity', p.identity, 0, MAX_VAR_LENGTH);
      w.u8(1);
      writeBytes(w, p.identity);
      return;
    case 'rpk':
    case 'x509': {
      const named = p.name !== undefined;
      if (named) check(typeof p.name === 'string', 'peer.name', 'must be a string');
      if (p.kind === 'rpk') checkBytes('peer.spki', p.spki, 0, MAX_VAR_LENGTH);
      const first = p.kind === 'rpk' ? p.spki : textBytes('peer.subject', p.subject);
      const fingerprint = checkFingerprint(p.fingerprint);
      const name = named ? textBytes('peer.name', p.name!) : undefined;
      w.u8((p.kind === 'rpk' ? 2 : 3) | (named ? PEER_NAME : 0));
      writeBytes(w, first);
      w.bytes(fingerprint);
      if (name) writeBytes(w, name);
      return;
    }
    default:
      throw invalid('peer.kind', `unknown kind ${String((p as { kind: unknown }).kind)}`);
  }
}

function readPeer(r: Reader): PeerIdentity {
  const tag = r.u8('peer_tag');
  if ((tag & ~(PEER_KIND_MASK | PEER_NAME)) !== 0) throw new DecodeError(`session snapshot: unknown peer tag 0x${tag.toString(16)}`);
  const kind = PEER_KINDS[tag & PEER_KIND_MASK]!;
  const named = (tag & PEER_NAME) !== 0;
  if (named && (kind === 'anonymous' || kind === 'psk')) throw new DecodeError(`session snapshot: a ${kind} peer has no name`);
  switch (kind) {
    case 'anonymous':
      return { kind };
    case 'psk':
      return { kind, identity: readBytes(r, 'peer identity').slice() };
    case 'rpk': {
      const spki = readBytes(r, 'peer spki').slice();
      const fingerprint = toHex(r.bytes(FINGERPRINT_LENGTH, 'peer fingerprint'));
      return { kind, spki, fingerprint, name: named ? readText(r, 'peer name') : undefined };
    }
    case 'x509': {
      const subject = readText(r, 'peer subject');
      const fingerprint = toHex(r.bytes(FINGERPRINT_LENGTH, 'peer fingerprint'));
      return { kind, subject, fingerprint, name: named ? readText(r, 'peer name') : undefined };
    }
  }
}

// ---------------------------------------------------------------------------------------
// Fields

/** Unsigned LEB128, shortest form, up to 2^48 (7 bytes). */
function writeVarint(w: Writer, v: number): void {
  while (v >= 0x80) {
    w.u8((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  w.u8(v);
}

function readVarint(r: Reader, what: string, max: number): number {
  let v = 0;
  let scale = 1;
  for (let i = 0; ; i++) {
    const b = r.u8(what);
    if (i === 6 && b > 0x7f) throw new DecodeError(`session snapshot: ${what} is too long`);
    v += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) throw new DecodeError(`session snapshot: ${what} is not in its shortest form`);
      break;
    }
    scale *= 0x80;
  }
  if (v > max) throw new DecodeError(`session snapshot: ${what} ${v} exceeds ${max}`);
  return v;
}

function writeBytes(w: Writer, b: Uint8Array): void {
  writeVarint(w, b.length);
  w.bytes(b);
}

function readBytes(r: Reader, what: string): Uint8Array {
  return r.bytes(readVarint(r, `${what} length`, MAX_VAR_LENGTH), what);
}

function readText(r: Reader, what: string): string {
  const b = readBytes(r, what);
  try {
    return decodeUtf8(b);
  } catch (e) {
    throw e instanceof DecodeError ? new DecodeError(`session snapshot: ${what}: invalid UTF-8`) : e;
  }
}

function readLimit(r: Reader, what: string): number {
  const v = r.u16(what);
  if (v < MIN_LIMIT || v > MAX_LIMIT) throw new DecodeError(`session snapshot: ${what} ${v} outside ${MIN_LIMIT}..${MAX_LIMIT}`);
  return v;
}

/** Strict UTF-8 of a string that must round-trip (no lone surrogates), at most 65535 bytes. */
function textBytes(what: string, s: string): Uint8Array {
  check(typeof s === 'string' && wellFormed(s), what, 'must be a well-formed string (no lone surrogate)');
  const b = utf8(s);
  check(b.length <= MAX_VAR_LENGTH, what, `longer than ${MAX_VAR_LENGTH} bytes of UTF-8`);
  return b;
}

/** No lone UTF-16 surrogate (String.prototype.isWellFormed, which small runtimes lack). */
function wellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c > 0xdbff || i + 1 === s.length) return false;
    const d = s.charCodeAt(++i);
    if (d < 0xdc00 || d > 0xdfff) return false;
  }
  return true;
}

function checkFingerprint(f: string): Uint8Array {
  check(typeof f === 'string' && /^[0-9a-f]{64}$/.test(f), 'peer.fingerprint', 'must be 64 lowercase hex digits (SHA-256)');
  return fromHex(f);
}

function checkInt(what: string, v: number, min: number, max: number): void {
  check(Number.isSafeInteger(v) && v >= min && v <= max, what, `must be an integer in ${min}..${max}`);
}

function checkBytes(what: string, b: Uint8Array, min: number, max: number): void {
  check(b instanceof Uint8Array && b.length >= min && b.length <= max, what, min === max ? `must be ${min} bytes` : `must be ${min}..${max} bytes`);
}

function check(ok: boolean, what: string, rule: string): void {
  if (!ok) throw invalid(what, rule);
}

function invalid(what: string, rule: string): DtlsError {
  return new DtlsError('INVALID_ARGUMENT', `session snapshot: ${what} ${rule}`);
}

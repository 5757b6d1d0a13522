import { DecodeError, type Reader } from '../bytes/reader.js';
import type { Writer } from '../bytes/writer.js';
import type { PeerIdentity } from './keystore.js';
import { readPeerIdentity, writePeerIdentity } from './peer-identity-codec.js';

/**
 * What a server keeps (in its session cache, or sealed in a ticket) to resume a session with
 * the abbreviated handshake (RFC 5246 §7.3, RFC 5077 §4 "state"): the master secret and what
 * the full handshake fixed. A resumed session keeps the original peer identity: the
 * abbreviated handshake authenticates nobody anew, it proves that both sides hold the master
 * secret. Holds a secret: never log it, wipe it when dropped.
 */
export interface ResumableSession {
  readonly cipherSuite: number;
  /** RFC 7627: whether the master secret is an extended one. A session without it is never resumed (§5.3). */
  readonly extendedMasterSecret: boolean;
  /** 48 bytes. */
  readonly masterSecret: Uint8Array;
  /** The peer the full handshake authenticated. */
  readonly peer: PeerIdentity;
  /**
   * When the full handshake that made the master secret ended, in milliseconds of the caller's
   * clock. Lifetimes count from here, so resuming (and a new ticket) never makes a session live longer.
   */
  readonly createdAt: number;
}

export const MASTER_SECRET_LENGTH = 48;
/** The largest time value written (uint48 milliseconds: about 8,900 years). */
export const MAX_TIME = 2 ** 48 - 1;

const EMS_FLAG = 1;

/**
 * ```
 * struct {
 *   CipherSuite cipher_suite;
 *   uint8 flags;                       // bit 0: extended_master_secret; the others zero
 *   opaque master_secret[48];
 *   uint48 created_at;                 // milliseconds
 *   PeerIdentityBlob peer;             // peer-identity-codec.ts
 * } ResumableSessionState;
 * ```
 */
export function writeResumableSession(w: Writer, s: ResumableSession): void {
  if (s.masterSecret.length !== MASTER_SECRET_LENGTH) throw new RangeError(`a master secret is ${MASTER_SECRET_LENGTH} bytes, not ${s.masterSecret.length}`);
  w.u16(s.cipherSuite).u8(s.extendedMasterSecret ? EMS_FLAG : 0).bytes(s.masterSecret);
  w.u48(checkTime(s.createdAt, 'createdAt'));
  writePeerIdentity(w, s.peer);
}

/** Reads a ResumableSessionState; the master secret is a copy. */
export function readResumableSession(r: Reader): ResumableSession {
  const cipherSuite = r.u16('cipher_suite');
  const flags = r.u8('flags');
  if ((flags & ~EMS_FLAG) !== 0) throw new DecodeError(`unknown session flags 0x${flags.toString(16)}`);
  const masterSecret = r.bytes(MASTER_SECRET_LENGTH, 'master_secret').slice();
  const createdAt = r.u48('created_at');
  const peer = readPeerIdentity(r);
  return { cipherSuite, extendedMasterSecret: (flags & EMS_FLAG) !== 0, masterSecret, peer, createdAt };
}

/** A time as whole uint48 milliseconds (a fraction is dropped), or a RangeError. */
export function checkTime(t: number, what: string): number {
  const ms = Math.floor(t);
  if (!(ms >= 0 && ms <= MAX_TIME)) throw new RangeError(`${what} ${t} is not a time in milliseconds within 0..2^48-1`);
  return ms;
}

import { DecodeError, type Reader } from '../bytes/reader.js';
import { fromHex, toHex, utf8 } from '../bytes/util.js';
import type { Writer } from '../bytes/writer.js';
import { decodeUtf8 } from '../x509/name.js';
import type { PeerIdentity } from './keystore.js';

/**
 * A compact binary form of {@link PeerIdentity}, for what keeps an authenticated peer beyond its
 * connection (a session ticket, the server's session cache, the client's resumption blob). Our
 * own layout, in the RFC's presentation language:
 * ```
 * enum { anonymous(0), psk(1), rpk(2), x509(3) } PeerIdentityKind;
 * struct {
 *   PeerIdentityKind kind;
 *   select (kind) {
 *     case anonymous: struct {};
 *     case psk:  opaque identity<0..2^16-1>;
 *     case rpk:  opaque spki<1..2^16-1>;   opaque fingerprint[32]; OptionalName name;
 *     case x509: opaque subject<0..2^16-1>; opaque fingerprint[32]; OptionalName name;  // UTF-8
 *   };
 * } PeerIdentityBlob;
 * struct { uint8 present; select (present) { case 0: struct {}; case 1: opaque utf8<0..2^16-1>; } } OptionalName;
 * ```
 * The fingerprint is the SHA-256 the trust layer computed, kept as 32 bytes (PeerIdentity
 * carries it as 64 lowercase hex digits). Strings are UTF-8, decoded strictly.
 */
const Kind = { anonymous: 0, psk: 1, rpk: 2, x509: 3 } as const;
const FINGERPRINT_LENGTH = 32;

export function writePeerIdentity(w: Writer, p: PeerIdentity): void {
  switch (p.kind) {
    case 'anonymous':
      w.u8(Kind.anonymous);
      return;
    case 'psk':
      w.u8(Kind.psk).vec16((w) => w.bytes(p.identity));
      return;
    case 'rpk':
      w.u8(Kind.rpk).vec16((w) => w.bytes(p.spki));
      writeFingerprint(w, p.fingerprint);
      writeName(w, p.name);
      return;
    case 'x509':
      w.u8(Kind.x509).vec16((w) => w.bytes(utf8(p.subject)));
      writeFingerprint(w, p.fingerprint);
      writeName(w, p.name);
      return;
  }
}

/** Reads one PeerIdentityBlob; every byte array in the result is a copy (the input may be wiped). */
export function readPeerIdentity(r: Reader): PeerIdentity {
  const kind = r.u8('peer identity kind');
  switch (kind) {
    case Kind.anonymous:
      return { kind: 'anonymous' };
    case Kind.psk:
      return { kind: 'psk', identity: r.vec16('psk identity').slice() };
    case Kind.rpk: {
      const spki = r.vec16('spki', 1).slice();
      const fingerprint = toHex(r.bytes(FINGERPRINT_LENGTH, 'fingerprint'));
      return { kind: 'rpk', spki, fingerprint, name: readName(r) };
    }
    case Kind.x509: {
      const subject = decodeUtf8(r.vec16('subject'));
      const fingerprint = toHex(r.bytes(FINGERPRINT_LENGTH, 'fingerprint'));
      return { kind: 'x509', subject, fingerprint, name: readName(r) };
    }
    default:
      throw new DecodeError(`unknown peer identity kind ${kind}`);
  }
}

function writeFingerprint(w: Writer, fingerprint: string): void {
  if (!/^[0-9a-f]{64}$/.test(fingerprint)) throw new RangeError('a peer fingerprint is 64 lowercase hex digits (SHA-256)');
  w.bytes(fromHex(fingerprint));
}

function writeName(w: Writer, name: string | undefined): void {
  if (name === undefined) w.u8(0);
  else w.u8(1).vec16((w) => w.bytes(utf8(name)));
}

function readName(r: Reader): string | undefined {
  const present = r.u8('name present');
  if (present === 0) return undefined;
  if (present !== 1) throw new DecodeError(`name present flag ${present}, expected 0 or 1`);
  return decodeUtf8(r.vec16('name'));
}

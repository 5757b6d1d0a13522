import { DecodeError, Reader } from '../bytes/reader.js';
import { utf8 } from '../bytes/util.js';
import { Writer } from '../bytes/writer.js';
import { decodeUtf8 } from '../x509/name.js';
import { checkTime, readResumableSession, writeResumableSession, type ResumableSession } from './resumable-session.js';
import { SESSION_ID_LENGTH } from './session-cache.js';

/**
 * What a client keeps to resume a session with the abbreviated handshake after its process
 * ends (a device reboots, a CLI runs again): the session the server named with a session_id
 * (RFC 5246 §7.4.1.3) and/or the ticket it sent (RFC 5077 §3.3), with the master secret and
 * what the full handshake fixed. `encodeClientResumption` makes a small Uint8Array to keep in
 * flash or a file; `decodeClientResumption` reads it back.
 *
 * **It holds a secret.** The master secret in the blob is as good as the session keys: whoever
 * reads it can decrypt every record of the session it came from and of every session resumed
 * from it, and can impersonate the client to the server. Store it as you store the PSK or
 * private key (protected storage, never logs, never a URL), delete it when the session must
 * end, and wipe the bytes after use where the platform allows.
 *
 * The server identity (`peer`) is the one the full handshake authenticated (the server's raw
 * public key or certificate subject; for PSK the identity the client used): an abbreviated
 * handshake authenticates nobody anew, so the resumed session reports it again. `server` names
 * where the session was made (an address or a name) so that an application with several
 * servers offers each its own session; the engine does not interpret it.
 */
export interface ClientResumption {
  readonly session: ResumableSession;
  /** The session_id the server gave (1..32 bytes), or empty when it gave none (a ticket instead). */
  readonly sessionId: Uint8Array;
  /** The ticket from the server's NewSessionTicket, if it sent a non-empty one. */
  readonly ticket?: Uint8Array;
  /** When to stop offering the session (ms, the client's clock): from the ticket's lifetime hint. */
  readonly expiresAt?: number;
  /** Where the session was made (e.g. "host:port"), for the application; at most 255 bytes of UTF-8. */
  readonly server?: string;
}

/** Why a blob was refused. */
export type ResumptionDecodeErrorCode = 'UNSUPPORTED_VERSION' | 'MALFORMED';

/** A blob that is not a version-1 ClientResumption (a DecodeError, with a code). */
export class ResumptionDecodeError extends DecodeError {
  constructor(
    readonly code: ResumptionDecodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const RESUMPTION_BLOB_VERSION = 1;
const HAS_TICKET = 1;
const HAS_EXPIRY = 2;
const HAS_SERVER = 4;

/**
 * ```
 * struct {
 *   uint8 version;                         // 1
 *   uint8 parts;                           // bit 0: ticket, bit 1: expires_at, bit 2: server; the others zero
 *   ResumableSessionState session;         // resumable-session.ts
 *   opaque session_id<0..32>;
 *   select (parts) {                       // each present only when its bit is set, in this order
 *     opaque ticket<1..2^16-1>;
 *     uint48 expires_at;
 *     opaque server<1..255>;               // UTF-8
 *   };
 * } ClientResumptionBlob;
 * ```
 * About 70 bytes plus the identity and the ticket.
 */
export function encodeClientResumption(r: ClientResumption): Uint8Array {
  if (r.sessionId.length > SESSION_ID_LENGTH) throw new RangeError(`a session ID is at most ${SESSION_ID_LENGTH} bytes`);
  if (r.ticket && (r.ticket.length === 0 || r.ticket.length > 0xffff)) throw new RangeError('a ticket is 1..65535 bytes (leave an empty one out)');
  const server = r.server === undefined ? undefined : utf8(r.server);
  if (server && (server.length === 0 || server.length > 255)) throw new RangeError('server is 1..255 bytes of UTF-8');
  const parts = (r.ticket ? HAS_TICKET : 0) | (r.expiresAt !== undefined ? HAS_EXPIRY : 0) | (server ? HAS_SERVER : 0);
  const w = new Writer(128).u8(RESUMPTION_BLOB_VERSION).u8(parts);
  writeResumableSession(w, r.session);
  w.vec8((w) => w.bytes(r.sessionId));
  if (r.ticket) w.vec16((w) => w.bytes(r.ticket!));
  if (r.expiresAt !== undefined) w.u48(checkTime(r.expiresAt, 'expiresAt'));
  if (server) w.vec8((w) => w.bytes(server));
  return w.finish();
}

/** Reads a blob; throws {@link ResumptionDecodeError} for anything else. Byte arrays in the result are copies. */
export function decodeClientResumption(b: Uint8Array): ClientResumption {
  if (b.length === 0) throw new ResumptionDecodeError('MALFORMED', 'empty resumption blob');
  if (b[0] !== RESUMPTION_BLOB_VERSION) throw new ResumptionDecodeError('UNSUPPORTED_VERSION', `resumption blob version ${b[0]}, this build reads ${RESUMPTION_BLOB_VERSION}`);
  try {
    const r = new Reader(b, 1);
    const parts = r.u8('parts');
    if ((parts & ~(HAS_TICKET | HAS_EXPIRY | HAS_SERVER)) !== 0) throw new DecodeError(`unknown parts 0x${parts.toString(16)}`);
    const session = readResumableSession(r);
    const sessionId = r.vec8('session_id', 0, SESSION_ID_LENGTH).slice();
    const ticket = parts & HAS_TICKET ? r.vec16('ticket', 1).slice() : undefined;
    const expiresAt = parts & HAS_EXPIRY ? r.u48('expires_at') : undefined;
    const server = parts & HAS_SERVER ? decodeUtf8(r.vec8('server', 1)) : undefined;
    r.end('ClientResumptionBlob');
    return {
      session,
      sessionId,
      ...(ticket ? { ticket } : {}),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      ...(server !== undefined ? { server } : {}),
    };
  } catch (e) {
    if (e instanceof DecodeError) throw new ResumptionDecodeError('MALFORMED', `resumption blob: ${e.message}`);
    throw e;
  }
}

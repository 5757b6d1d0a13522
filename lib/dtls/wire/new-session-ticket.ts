import { Reader } from '../../bytes/reader.js';
import { Writer } from '../../bytes/writer.js';

/**
 * RFC 5077 §3.3 (handshake type new_session_ticket(4)):
 * ```
 * struct {
 *   uint32 ticket_lifetime_hint;
 *   opaque ticket<0..2^16-1>;
 * } NewSessionTicket;
 * ```
 * Sent by the server before its ChangeCipherSpec, only when its ServerHello carried an empty
 * SessionTicket extension. The hint is in seconds (0: no lifetime given). An empty ticket is
 * allowed: the server changed its mind and has no ticket for the client after all; the client
 * keeps what it had.
 */
export interface NewSessionTicket {
  /** Seconds the client may keep the ticket, 0 when the server does not say (0..2^32-1). */
  lifetimeHint: number;
  /** The opaque ticket (a view of the message when decoded). */
  ticket: Uint8Array;
}

export const MAX_TICKET_LENGTH = 0xffff;

export function decodeNewSessionTicket(body: Uint8Array): NewSessionTicket {
  const r = new Reader(body);
  const lifetimeHint = r.u32('ticket_lifetime_hint');
  const ticket = r.vec16('ticket');
  r.end('NewSessionTicket');
  return { lifetimeHint, ticket };
}

export function encodeNewSessionTicket(m: NewSessionTicket): Uint8Array {
  if (!Number.isInteger(m.lifetimeHint) || m.lifetimeHint < 0 || m.lifetimeHint > 0xffffffff) throw new RangeError(`ticket_lifetime_hint ${m.lifetimeHint} is not a uint32`);
  return new Writer(6 + m.ticket.length)
    .u32(m.lifetimeHint)
    .vec16((w) => w.bytes(m.ticket))
    .finish();
}

import { DecodeError } from '../../bytes/reader.js';
import { ExtensionType } from './constants.js';
import type { Extension } from './extensions.js';

/**
 * RFC 5077 §3.2, the SessionTicket extension, `session_ticket(35)`:
 * ```
 * struct {
 *   ExtensionType extension_type;          // session_ticket(35)
 *   opaque extension_data<0..2^16-1>;      // the ticket itself
 * } Extension;
 * ```
 * extension_data is the ticket with no length of its own (RFC 4507's inner `opaque
 * ticket<0..2^16-1>` was never used on the wire; RFC 5077 settled it, and Mbed TLS, OpenSSL
 * and GnuTLS write the bare ticket). Its meaning depends on where it is:
 * - ClientHello, empty: the client has no ticket and asks for one (a NewSessionTicket);
 * - ClientHello, non-empty: the ticket the client wants to resume with;
 * - ServerHello, always empty: the server will send a NewSessionTicket (a non-empty one is an error).
 */

/** What a ClientHello's SessionTicket extension says. */
export type ClientSessionTicket = { kind: 'request' } | { kind: 'ticket'; ticket: Uint8Array };

/** The ClientHello extension: empty to ask for a ticket, or the ticket to resume with. */
export function clientSessionTicketExtension(ticket?: Uint8Array): Extension {
  if (ticket && ticket.length > 0xffff) throw new RangeError(`a ticket of ${ticket.length} bytes does not fit extension_data`);
  return { type: ExtensionType.session_ticket, data: ticket ? ticket.slice() : new Uint8Array(0) };
}

/** Reads a ClientHello's extension_data (any length up to the extension's own limit is a ticket). */
export function decodeClientSessionTicket(data: Uint8Array): ClientSessionTicket {
  return data.length === 0 ? { kind: 'request' } : { kind: 'ticket', ticket: data };
}

/** The ServerHello extension: empty, promising a NewSessionTicket. */
export function serverSessionTicketExtension(): Extension {
  return { type: ExtensionType.session_ticket, data: new Uint8Array(0) };
}

/** Checks a ServerHello's extension_data: it must be empty (RFC 5077 §3.2). */
export function decodeServerSessionTicket(data: Uint8Array): void {
  if (data.length !== 0) throw new DecodeError(`ServerHello session_ticket extension must be empty, has ${data.length} byte(s)`);
}

import { equal } from '../../bytes/util.js';
import type { CryptoProvider } from '../../crypto/provider.js';
import { DecodeError } from '../../bytes/reader.js';
import { DtlsError } from '../errors.js';
import type { ResumableSession } from '../resumable-session.js';
import type { ClientResumption } from '../resumption.js';
import { SESSION_ID_LENGTH, type SessionCache } from '../session-cache.js';
import type { TicketSealer } from '../session-ticket.js';
import type { ClientHello } from '../wire/client-hello.js';
import { ExtensionType } from '../wire/constants.js';
import { findExtension, type Extension } from '../wire/extensions.js';
import type { ServerHello } from '../wire/server-hello.js';
import { clientSessionTicketExtension, decodeClientSessionTicket, decodeServerSessionTicket } from '../wire/session-ticket-extension.js';

/**
 * The rules of session resumption as pure functions, for the handshake states to call:
 * - RFC 5246 §7.3 / §7.4.1.2-3: the abbreviated handshake by session_id; a resumed session keeps
 *   its cipher suite;
 * - RFC 5077 §3.2-3.4: by ticket, and how a client tells a resumed session from a full one;
 * - RFC 7627 §5.3: extended master secret is required for resumption.
 * Violations throw a DtlsError whose code picks the alert (errors.ts).
 */

// ---------------------------------------------------------------- client

/**
 * Whether a client may offer this session: it has an extended master secret (RFC 7627 §5.3: "The
 * client SHOULD NOT offer an abbreviated handshake to resume a session that does not use an
 * extended master secret"; we never do), it has a session_id or a ticket to offer, and its
 * lifetime (the ticket's hint) is not over.
 */
export function mayOfferResumption(now: number, r: ClientResumption): boolean {
  if (!r.session.extendedMasterSecret) return false;
  if (r.sessionId.length === 0 && !r.ticket) return false;
  return r.expiresAt === undefined || now < r.expiresAt;
}

/** What a client's ClientHello offers to resume. */
export interface ResumptionOffer {
  /** The ClientHello's session_id: never empty, so that the ServerHello's echo tells a resumption (RFC 5077 §3.4). */
  readonly sessionId: Uint8Array;
  /** The ticket presented in the SessionTicket extension, if any. */
  readonly ticket: Uint8Array | undefined;
  readonly session: ResumableSession;
}

/**
 * The ClientHello's side of an offer. By session_id: the one the server gave. By ticket (preferred
 * when there is one): the ticket, with a fresh random 32-byte session_id, which RFC 5077 §3.4
 * allows ("the client MAY generate and include a Session ID") and which makes the server's
 * acceptance visible in the ServerHello: it "MUST respond with the same Session ID". The offer
 * must go with extended_master_secret (RFC 7627 §5.3) and the session's cipher suite (RFC 5246
 * §7.4.1.2) in the ClientHello; {@link checkResumptionHello} checks that.
 */
export function resumptionOffer(c: CryptoProvider, r: ClientResumption): ResumptionOffer {
  if (r.ticket) return { sessionId: c.random(SESSION_ID_LENGTH), ticket: r.ticket, session: r.session };
  if (r.sessionId.length === 0) throw new DtlsError('INVALID_ARGUMENT', 'nothing to resume with: no session ID and no ticket');
  return { sessionId: r.sessionId, ticket: undefined, session: r.session };
}

/**
 * The ClientHello's SessionTicket extension: the offered ticket, else an empty one when the
 * client wants a ticket (RFC 5077 §3.2), else none.
 */
export function clientTicketExtension(offer: ResumptionOffer | undefined, wantTicket: boolean): Extension | undefined {
  if (offer?.ticket) return clientSessionTicketExtension(offer.ticket);
  return wantTicket ? clientSessionTicketExtension() : undefined;
}

/** A ClientHello that offers `offer` carries extended_master_secret and the session's suite (RFC 7627 §5.3, RFC 5246 §7.4.1.2). */
export function checkResumptionHello(offer: ResumptionOffer, ch: ClientHello): void {
  if (!findExtension(ch.extensions, ExtensionType.extended_master_secret)) throw new DtlsError('INTERNAL', 'a resumption offer without extended_master_secret (RFC 7627 §5.3)');
  if (!ch.cipherSuites.includes(offer.session.cipherSuite)) throw new DtlsError('INTERNAL', "a resumption offer without the session's cipher suite (RFC 5246 §7.4.1.2)");
  if (!equal(ch.sessionId, offer.sessionId)) throw new DtlsError('INTERNAL', "the ClientHello's session_id is not the offer's");
}

/**
 * How the client tells an abbreviated handshake from a full one (RFC 5246 §7.3, RFC 5077 §3.4):
 * the ServerHello echoes the session_id offered ('resumed'); anything else is a full handshake
 * (a new session_id, or an empty one). Offers always carry a session_id ({@link resumptionOffer}).
 */
export function classifyServerHello(offer: ResumptionOffer | undefined, sh: ServerHello): 'resumed' | 'full' {
  if (!offer || offer.sessionId.length === 0) return 'full';
  return equal(sh.sessionId, offer.sessionId) ? 'resumed' : 'full';
}

/**
 * Client, for a ServerHello that resumes `session`:
 * - RFC 5246 §7.4.1.3: "For resumed sessions, this field [cipher_suite] is the value from the
 *   state of the session being resumed" (illegal_parameter otherwise);
 * - RFC 7627 §5.3: "If the original session used the extension but the new ServerHello does not
 *   contain the extension, the client MUST abort the handshake", and the mirror: "If the original
 *   session did not use the "extended_master_secret" extension but the new ServerHello contains
 *   the extension, the client MUST abort the handshake" (handshake_failure both).
 */
export function checkResumedServerHello(session: ResumableSession, sh: ServerHello): void {
  if (sh.cipherSuite !== session.cipherSuite) {
    throw new DtlsError('ILLEGAL_PARAMETER', `server resumed with cipher suite 0x${sh.cipherSuite.toString(16)}, the session's is 0x${session.cipherSuite.toString(16)}`);
  }
  const ems = !!findExtension(sh.extensions, ExtensionType.extended_master_secret);
  if (session.extendedMasterSecret && !ems) throw new DtlsError('HANDSHAKE_FAILURE', 'resumed ServerHello without extended_master_secret for a session that has it (RFC 7627 §5.3)');
  if (!session.extendedMasterSecret && ems) throw new DtlsError('HANDSHAKE_FAILURE', 'resumed ServerHello with extended_master_secret for a session without it (RFC 7627 §5.3)');
}

/**
 * Client: whether a NewSessionTicket follows this ServerHello, i.e. it carries the (empty)
 * SessionTicket extension (RFC 5077 §3.2; §3.3: "This message MUST be sent if the server
 * included a SessionTicket extension in the ServerHello"). Only an answer to our own offer
 * (unsupported_extension otherwise), and it must be empty (decode_error otherwise).
 */
export function serverPromisesTicket(sh: ServerHello, offered: readonly Extension[]): boolean {
  const e = findExtension(sh.extensions, ExtensionType.session_ticket);
  if (!e) return false;
  if (!findExtension(offered, ExtensionType.session_ticket)) throw new DtlsError('UNSUPPORTED_EXTENSION', 'ServerHello carries session_ticket that was not offered');
  try {
    decodeServerSessionTicket(e.data);
  } catch (err) {
    if (err instanceof DecodeError) throw new DtlsError('DECODE_ERROR', err.message);
    throw err;
  }
  return true;
}

// ---------------------------------------------------------------- server

/** What a ClientHello asks for, resumption-wise. */
export interface ResumptionRequest {
  readonly sessionId: Uint8Array;
  /** The ticket presented (a non-empty SessionTicket extension). */
  readonly ticket: Uint8Array | undefined;
  /** The client sent the SessionTicket extension (empty or not): it can take a NewSessionTicket. */
  readonly ticketsSupported: boolean;
  readonly extendedMasterSecret: boolean;
  readonly cipherSuites: readonly number[];
}

export function readResumptionRequest(ch: ClientHello): ResumptionRequest {
  const ext = findExtension(ch.extensions, ExtensionType.session_ticket);
  const st = ext ? decodeClientSessionTicket(ext.data) : undefined;
  return {
    sessionId: ch.sessionId,
    ticket: st?.kind === 'ticket' ? st.ticket : undefined,
    ticketsSupported: !!ext,
    extendedMasterSecret: !!findExtension(ch.extensions, ExtensionType.extended_master_secret),
    cipherSuites: ch.cipherSuites,
  };
}

/** A session found for a ClientHello, and how. */
export interface FoundSession {
  readonly session: ResumableSession;
  readonly via: 'ticket' | 'session_id';
}

/**
 * Looks the offered session up: by ticket when one is presented (and then never by session_id:
 * RFC 5077 §3.4, "If a ticket is presented by the client, the server MUST NOT attempt to use the
 * Session ID in the ClientHello for stateful session resumption"), else by session_id in the
 * cache. Undefined: nothing to resume (unknown, expired, foreign, tampered).
 */
export function findOfferedSession(now: number, req: ResumptionRequest, cache: SessionCache | undefined, tickets: TicketSealer | undefined): FoundSession | undefined {
  if (req.ticket) {
    const opened = tickets?.open(now, req.ticket);
    return opened ? { session: opened.session, via: 'ticket' } : undefined;
  }
  if (req.sessionId.length === 0 || !cache) return undefined;
  const session = cache.get(now, req.sessionId);
  return session ? { session, via: 'session_id' } : undefined;
}

/**
 * Server: resume `found`, or go on with a full handshake. RFC 7627 §5.3, for a ClientHello
 * offering a known session:
 * - original with EMS, ClientHello without: "the server MUST abort the abbreviated handshake"
 *   (handshake_failure);
 * - original without EMS, ClientHello with: "the server MUST NOT perform the abbreviated
 *   handshake", a full handshake instead;
 * - neither: "the server SHOULD abort the handshake": we do (handshake_failure). Our cache and
 *   tickets never hold such a session, so only a foreign store could bring one here.
 * RFC 5246 §7.4.1.2: the ClientHello must offer the session's suite, and we must still accept
 * it (`acceptedSuites`: the configuration may have changed since); otherwise a full handshake.
 */
export function serverResumptionDecision(found: ResumableSession | undefined, req: ResumptionRequest, acceptedSuites: readonly number[]): 'resume' | 'full' {
  if (!found) return 'full';
  if (found.extendedMasterSecret && !req.extendedMasterSecret) {
    throw new DtlsError('HANDSHAKE_FAILURE', 'resumption of a session with extended master secret without the extension (RFC 7627 §5.3)');
  }
  if (!found.extendedMasterSecret) {
    if (req.extendedMasterSecret) return 'full';
    throw new DtlsError('HANDSHAKE_FAILURE', 'resumption of a session without extended master secret (RFC 7627 §5.3)');
  }
  if (!req.cipherSuites.includes(found.cipherSuite) || !acceptedSuites.includes(found.cipherSuite)) return 'full';
  return 'resume';
}

/**
 * The session_id of the server's ServerHello.
 * - Resuming: the ClientHello's (RFC 5246 §7.4.1.3 for a cached session; RFC 5077 §3.4 for a
 *   ticket: "it MUST respond with the same Session ID present in the ClientHello").
 * - Full handshake issuing a ticket: empty (RFC 5077 §3.4: "it SHOULD include an empty Session
 *   ID in the ServerHello").
 * - Full handshake with a session cache: a fresh random one (32 bytes); without: empty.
 */
export function serverHelloSessionId(c: CryptoProvider, o: { resumedFrom: ClientHello | undefined; issueTicket: boolean; cache: boolean }): Uint8Array {
  if (o.resumedFrom) return o.resumedFrom.sessionId.slice();
  if (o.issueTicket || !o.cache) return new Uint8Array(0);
  return c.random(SESSION_ID_LENGTH);
}

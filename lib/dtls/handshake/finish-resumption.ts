import { DtlsError } from '../errors.js';
import type { ResumableSession } from '../resumable-session.js';
import type { ClientResumption } from '../resumption.js';
import { HandshakeType } from '../wire/constants.js';
import { decodeNewSessionTicket, encodeNewSessionTicket } from '../wire/new-session-ticket.js';
import { ExpectChangeCipherSpec, ExpectFinished, type Ending, type Role } from './finish.js';
import type { FlightItem } from './flights.js';
import type { HandshakeMessage } from './reassembler.js';
import type { Handshake, HandshakeState, Hellos, Secrets } from './state.js';
import { wallTime } from './wall-time.js';

/** A full handshake's ending, from what the hellos fixed (a session_id, a ticket promised). */
function fullEnding(role: Role, hellos: Hellos): Ending {
  return { resumed: false, ...(role === 'client' ? { ticketExpected: !!hellos.ticket } : { issueTicket: !!hellos.ticket }), ...(hellos.sessionId ? { sessionId: hellos.sessionId } : {}) };
}

/**
 * ExpectChangeCipherSpec of the full build (session resumption, RFC 5246 §7.3, RFC 5077): a
 * client takes the NewSessionTicket the ServerHello promised before the server's
 * ChangeCipherSpec, and the Finished exchange keeps the session (ResumableExpectFinished).
 */
export class ResumableExpectChangeCipherSpec extends ExpectChangeCipherSpec {
  constructor(role: Role, secrets: Secrets, ending: Ending = fullEnding(role, secrets.hellos)) {
    super(role, secrets, ending);
  }

  override handle(hs: Handshake, m: HandshakeMessage): HandshakeState {
    // RFC 5077 §3.3: "the server ... MUST send a NewSessionTicket ... before ChangeCipherSpec"
    if (this.role === 'client' && this.ending.ticketExpected && !this.ending.ticket && m.msgType === HandshakeType.new_session_ticket && m.epoch === 0) {
      const nst = decodeNewSessionTicket(m.body);
      this.secrets.transcript.add(m.msgType, m.messageSeq, m.body);
      return new ResumableExpectChangeCipherSpec(this.role, this.secrets, { ...this.ending, ticket: { ticket: nst.ticket.slice(), lifetimeHint: nst.lifetimeHint } });
    }
    return super.handle(hs, m);
  }

  override changeCipherSpec(): HandshakeState {
    if (this.role === 'client' && this.ending.ticketExpected && !this.ending.ticket) {
      throw new DtlsError('UNEXPECTED_MESSAGE', 'ChangeCipherSpec without the NewSessionTicket the ServerHello promised (RFC 5077 §3.3)');
    }
    return new ResumableExpectFinished(this.role, this.secrets, this.ending);
  }
}

/**
 * ExpectFinished of the full build: the server issues its NewSessionTicket (before its
 * ChangeCipherSpec) and caches the session under the session_id it gave; the client keeps
 * what it needs to resume the session.
 */
export class ResumableExpectFinished extends ExpectFinished {
  protected override keep(hs: Handshake, flight: FlightItem[] | undefined): ClientResumption | undefined {
    const { hellos, transcript, master, peer } = this.secrets;
    const e = this.ending;
    // the client keeps the session beyond this connection (a master secret of its own); the
    // server's cache and ticket sealer encode a copy at once
    const masterSecret = this.role === 'server' ? master : master.slice();
    const resumable: ResumableSession = e.kept?.session ?? { cipherSuite: hellos.suite, extendedMasterSecret: hellos.extendedMasterSecret, masterSecret, peer, createdAt: wallTime(hs) };
    if (flight) {
      if (e.issueTicket) {
        const sealed = hs.cfg.resumption?.tickets?.seal(wallTime(hs), resumable);
        const nst = hs.message(HandshakeType.new_session_ticket, encodeNewSessionTicket(sealed ? { lifetimeHint: sealed.lifetimeHint, ticket: sealed.ticket } : { lifetimeHint: 0, ticket: new Uint8Array(0) }), 0);
        transcript.add(nst.msgType, nst.messageSeq, nst.body);
        flight.push(nst);
      }
      // RFC 5246 §7.3: a server with a session cache keeps the session under the session_id it gave
      if (this.role === 'server' && !e.resumed && e.sessionId && e.sessionId.length > 0) hs.cfg.resumption?.cache?.put(wallTime(hs), e.sessionId, resumable);
    }
    return this.resumption(resumable);
  }

  /** What the client keeps to resume this session later; the server caches it by session_id. */
  private resumption(s: ResumableSession): ClientResumption | undefined {
    const e = this.ending;
    if (this.role === 'server') return undefined;
    const ticket = e.ticket && e.ticket.ticket.length > 0 ? e.ticket : undefined;
    // an abbreviated handshake keeps what it resumed, with a new ticket when one came
    if (e.kept) return ticket ? { ...e.kept, ticket: ticket.ticket, expiresAt: s.createdAt + ticket.lifetimeHint * 1000 } : e.kept;
    const sessionId = e.sessionId ?? new Uint8Array(0);
    if (!s.extendedMasterSecret || (!ticket && sessionId.length === 0)) return undefined;
    return { session: s, sessionId, ...(ticket ? { ticket: ticket.ticket, expiresAt: s.createdAt + ticket.lifetimeHint * 1000 } : {}) };
  }
}

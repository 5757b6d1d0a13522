/**
 * The resumption rules (lib/dtls/handshake/resumption-rules.ts) and the abbreviated handshake's
 * keys (lib/dtls/handshake/abbreviated.ts), as pure functions: RFC 7627 §5.3 on both sides,
 * RFC 5077 §3.4, RFC 5246 §7.3 / §7.4.1.2-3; then every building block together, a session
 * resumed by session ID and by ticket without the handshake states.
 */
import { describe, expect, it } from 'vitest';
import { equal, toHex, utf8 } from '../lib/bytes/util.js';
import { nodeCrypto } from '../lib/crypto/node.js';
import { DtlsError } from '../lib/dtls/errors.js';
import { abbreviatedClientFinished, abbreviatedServerFinished, resumedHellos, resumedKeyBlock, resumedSecrets } from '../lib/dtls/handshake/abbreviated.js';
import { computeVerifyData, deriveKeyBlock } from '../lib/dtls/handshake/key-schedule.js';
import {
  checkResumedServerHello,
  checkResumptionHello,
  classifyServerHello,
  clientTicketExtension,
  findOfferedSession,
  mayOfferResumption,
  readResumptionRequest,
  resumptionOffer,
  serverHelloSessionId,
  serverPromisesTicket,
  serverResumptionDecision,
  type ResumptionOffer,
} from '../lib/dtls/handshake/resumption-rules.js';
import { baseHelloExtensions } from '../lib/dtls/handshake/negotiation.js';
import { Transcript } from '../lib/dtls/handshake/transcript.js';
import type { ResumableSession } from '../lib/dtls/resumable-session.js';
import { decodeClientResumption, encodeClientResumption, type ClientResumption } from '../lib/dtls/resumption.js';
import { SessionCache } from '../lib/dtls/session-cache.js';
import { TicketSealer } from '../lib/dtls/session-ticket.js';
import { decodeClientHello, encodeClientHello, type ClientHello } from '../lib/dtls/wire/client-hello.js';
import { AlertDescription, CipherSuite, DTLS_1_2, ExtensionType, HandshakeType } from '../lib/dtls/wire/constants.js';
import { findExtension, type Extension } from '../lib/dtls/wire/extensions.js';
import { decodeNewSessionTicket, encodeNewSessionTicket } from '../lib/dtls/wire/new-session-ticket.js';
import { decodeServerHello, encodeServerHello, type ServerHello } from '../lib/dtls/wire/server-hello.js';
import { clientSessionTicketExtension, serverSessionTicketExtension } from '../lib/dtls/wire/session-ticket-extension.js';

const c = nodeCrypto;
const PSK = CipherSuite.TLS_PSK_WITH_AES_128_CCM_8;
const ECDHE = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8;
const EMS: Extension = { type: ExtensionType.extended_master_secret, data: new Uint8Array(0) };

const SESSION: ResumableSession = {
  cipherSuite: PSK,
  extendedMasterSecret: true,
  masterSecret: Uint8Array.from({ length: 48 }, (_, i) => i),
  peer: { kind: 'psk', identity: utf8('Client_identity') },
  createdAt: 0,
};
const SID = new Uint8Array(32).fill(0x5a);

function clientHello(o: Partial<ClientHello> = {}): ClientHello {
  return { clientVersion: DTLS_1_2, random: new Uint8Array(32).fill(1), sessionId: new Uint8Array(0), cookie: new Uint8Array(0), cipherSuites: [PSK], compressionMethods: new Uint8Array([0]), extensions: [EMS], ...o };
}
function serverHello(o: Partial<ServerHello> = {}): ServerHello {
  return { serverVersion: DTLS_1_2, random: new Uint8Array(32).fill(2), sessionId: new Uint8Array(0), cipherSuite: PSK, compressionMethod: 0, extensions: [EMS], ...o };
}
/** The DtlsError `f` throws: its code and alert. */
function failure(f: () => unknown): { code: string; alert: number | undefined } {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DtlsError);
    return { code: (e as DtlsError).code, alert: (e as DtlsError).alert };
  }
  throw new Error('did not throw');
}

describe('client: what to offer', () => {
  it('RFC 7627 §5.3: a session without extended master secret is never offered; nor one with nothing to offer, nor an expired one', () => {
    const r: ClientResumption = { session: SESSION, sessionId: SID };
    expect(mayOfferResumption(0, r)).toBe(true);
    expect(mayOfferResumption(0, { ...r, session: { ...SESSION, extendedMasterSecret: false } })).toBe(false);
    expect(mayOfferResumption(0, { ...r, sessionId: new Uint8Array(0) })).toBe(false);
    expect(mayOfferResumption(0, { ...r, sessionId: new Uint8Array(0), ticket: new Uint8Array([1]) })).toBe(true);
    expect(mayOfferResumption(99, { ...r, expiresAt: 100 })).toBe(true);
    expect(mayOfferResumption(100, { ...r, expiresAt: 100 })).toBe(false);
  });

  it('by session ID: the ID the server gave; by ticket: the ticket with a fresh random session ID (RFC 5077 §3.4)', () => {
    const byId = resumptionOffer(c, { session: SESSION, sessionId: SID });
    expect(toHex(byId.sessionId)).toBe(toHex(SID));
    expect(byId.ticket).toBeUndefined();
    expect(clientTicketExtension(byId, false)).toBeUndefined();
    expect(clientTicketExtension(byId, true)).toEqual({ type: ExtensionType.session_ticket, data: new Uint8Array(0) });

    const ticket = new Uint8Array([9, 9, 9]);
    const a = resumptionOffer(c, { session: SESSION, sessionId: SID, ticket });
    const b = resumptionOffer(c, { session: SESSION, sessionId: new Uint8Array(0), ticket });
    expect(a.sessionId.length).toBe(32);
    expect(toHex(a.sessionId)).not.toBe(toHex(SID)); // the ticket is preferred, with its own random ID
    expect(toHex(a.sessionId)).not.toBe(toHex(b.sessionId));
    expect(toHex(clientTicketExtension(a, false)!.data)).toBe('090909');

    expect(failure(() => resumptionOffer(c, { session: SESSION, sessionId: new Uint8Array(0) })).code).toBe('INVALID_ARGUMENT');
    expect(clientTicketExtension(undefined, true)!.data.length).toBe(0);
    expect(clientTicketExtension(undefined, false)).toBeUndefined();
  });

  it('the ClientHello of an offer carries extended_master_secret, the session suite and the offered ID', () => {
    const offer = resumptionOffer(c, { session: SESSION, sessionId: SID });
    expect(() => checkResumptionHello(offer, clientHello({ sessionId: SID }))).not.toThrow();
    expect(failure(() => checkResumptionHello(offer, clientHello({ sessionId: SID, extensions: [] }))).code).toBe('INTERNAL');
    expect(failure(() => checkResumptionHello(offer, clientHello({ sessionId: SID, cipherSuites: [ECDHE] }))).code).toBe('INTERNAL');
    expect(failure(() => checkResumptionHello(offer, clientHello())).code).toBe('INTERNAL');
  });
});

describe('client: reading the ServerHello', () => {
  const offer: ResumptionOffer = { sessionId: SID, ticket: undefined, session: SESSION };

  it('RFC 5077 §3.4 / RFC 5246 §7.3: the echoed session ID means resumed; a new or empty one means a full handshake', () => {
    expect(classifyServerHello(offer, serverHello({ sessionId: SID }))).toBe('resumed');
    expect(classifyServerHello(offer, serverHello({ sessionId: new Uint8Array(32).fill(1) }))).toBe('full');
    expect(classifyServerHello(offer, serverHello({ sessionId: SID.subarray(0, 31) }))).toBe('full');
    expect(classifyServerHello(offer, serverHello())).toBe('full');
    expect(classifyServerHello(undefined, serverHello({ sessionId: SID }))).toBe('full');
  });

  it('a resumed ServerHello keeps the session suite (illegal_parameter otherwise)', () => {
    expect(() => checkResumedServerHello(SESSION, serverHello({ sessionId: SID }))).not.toThrow();
    expect(failure(() => checkResumedServerHello(SESSION, serverHello({ sessionId: SID, cipherSuite: ECDHE })))).toEqual({ code: 'ILLEGAL_PARAMETER', alert: AlertDescription.illegal_parameter });
  });

  it('RFC 7627 §5.3: EMS in the session and not in the ServerHello, or the reverse, aborts with handshake_failure', () => {
    const abort = { code: 'HANDSHAKE_FAILURE', alert: AlertDescription.handshake_failure };
    expect(failure(() => checkResumedServerHello(SESSION, serverHello({ sessionId: SID, extensions: [] })))).toEqual(abort);
    const legacy = { ...SESSION, extendedMasterSecret: false };
    expect(failure(() => checkResumedServerHello(legacy, serverHello({ sessionId: SID })))).toEqual(abort);
    expect(() => checkResumedServerHello(legacy, serverHello({ sessionId: SID, extensions: [] }))).not.toThrow();
  });

  it('RFC 5077 §3.2-3.3: the empty SessionTicket extension promises a NewSessionTicket; only if offered, only empty', () => {
    const offered = [...baseHelloExtensions(), clientTicketExtension(undefined, true)!];
    expect(serverPromisesTicket(serverHello(), offered)).toBe(false);
    expect(serverPromisesTicket(serverHello({ extensions: [EMS, serverSessionTicketExtension()] }), offered)).toBe(true);
    expect(failure(() => serverPromisesTicket(serverHello({ extensions: [serverSessionTicketExtension()] }), baseHelloExtensions())).code).toBe('UNSUPPORTED_EXTENSION');
    expect(failure(() => serverPromisesTicket(serverHello({ extensions: [{ type: ExtensionType.session_ticket, data: new Uint8Array([1]) }] }), offered))).toEqual({
      code: 'DECODE_ERROR',
      alert: AlertDescription.decode_error,
    });
  });
});

describe('server: whether to resume', () => {
  it('reads what a ClientHello asks for', () => {
    expect(readResumptionRequest(clientHello())).toEqual({ sessionId: new Uint8Array(0), ticket: undefined, ticketsSupported: false, extendedMasterSecret: true, cipherSuites: [PSK] });
    const asks = readResumptionRequest(clientHello({ extensions: [EMS, clientTicketExtension(undefined, true)!] }));
    expect(asks.ticketsSupported).toBe(true);
    expect(asks.ticket).toBeUndefined();
    const presents = readResumptionRequest(clientHello({ sessionId: SID, extensions: [{ type: ExtensionType.session_ticket, data: new Uint8Array([7]) }] }));
    expect(presents).toMatchObject({ ticketsSupported: true, extendedMasterSecret: false });
    expect(toHex(presents.ticket!)).toBe('07');
  });

  it('looks up by ticket when one is presented, and then never by session ID (RFC 5077 §3.4)', () => {
    const cache = new SessionCache();
    const tickets = new TicketSealer(c);
    cache.put(0, SID, SESSION);
    const ticket = tickets.seal(0, { ...SESSION, cipherSuite: ECDHE })!.ticket;

    const byId = findOfferedSession(1, readResumptionRequest(clientHello({ sessionId: SID })), cache, tickets)!;
    expect(byId.via).toBe('session_id');
    expect(byId.session.cipherSuite).toBe(PSK);
    const byTicket = findOfferedSession(1, readResumptionRequest(clientHello({ sessionId: SID, extensions: [EMS, clientSessionTicketExtension(ticket)] })), cache, tickets)!;
    expect(byTicket.via).toBe('ticket');
    expect(byTicket.session.cipherSuite).toBe(ECDHE);
    // a bad ticket with a cached session ID: nothing (the ID is not a fallback)
    const bad = ticket.slice();
    bad[bad.length - 1]! ^= 1;
    expect(findOfferedSession(1, readResumptionRequest(clientHello({ sessionId: SID, extensions: [EMS, clientSessionTicketExtension(bad)] })), cache, tickets)).toBeUndefined();
    // nothing configured, nothing offered
    expect(findOfferedSession(1, readResumptionRequest(clientHello({ sessionId: SID })), undefined, tickets)).toBeUndefined();
    expect(findOfferedSession(1, readResumptionRequest(clientHello({ extensions: [EMS, clientSessionTicketExtension(ticket)] })), cache, undefined)).toBeUndefined();
    expect(findOfferedSession(1, readResumptionRequest(clientHello()), cache, tickets)).toBeUndefined();
  });

  it('RFC 7627 §5.3, all four cases of EMS in the session and in the ClientHello', () => {
    const withEms = readResumptionRequest(clientHello({ sessionId: SID }));
    const withoutEms = readResumptionRequest(clientHello({ sessionId: SID, extensions: [] }));
    const legacy = { ...SESSION, extendedMasterSecret: false };
    const abort = { code: 'HANDSHAKE_FAILURE', alert: AlertDescription.handshake_failure };
    expect(serverResumptionDecision(SESSION, withEms, [PSK])).toBe('resume');
    expect(failure(() => serverResumptionDecision(SESSION, withoutEms, [PSK]))).toEqual(abort); // MUST abort
    expect(serverResumptionDecision(legacy, withEms, [PSK])).toBe('full'); // MUST NOT resume: full handshake
    expect(failure(() => serverResumptionDecision(legacy, withoutEms, [PSK]))).toEqual(abort); // SHOULD abort: we do
    expect(serverResumptionDecision(undefined, withoutEms, [PSK])).toBe('full');
  });

  it('RFC 5246 §7.4.1.2: the session suite must be offered, and still accepted, or it is a full handshake', () => {
    expect(serverResumptionDecision(SESSION, readResumptionRequest(clientHello({ sessionId: SID, cipherSuites: [ECDHE] })), [PSK, ECDHE])).toBe('full');
    expect(serverResumptionDecision(SESSION, readResumptionRequest(clientHello({ sessionId: SID, cipherSuites: [ECDHE, PSK] })), [ECDHE])).toBe('full');
  });

  it('the ServerHello session_id: echoed when resuming, empty with a ticket or without a cache, fresh otherwise', () => {
    const ch = clientHello({ sessionId: SID });
    expect(toHex(serverHelloSessionId(c, { resumedFrom: ch, issueTicket: true, cache: true }))).toBe(toHex(SID));
    expect(serverHelloSessionId(c, { resumedFrom: clientHello(), issueTicket: false, cache: true }).length).toBe(0);
    expect(serverHelloSessionId(c, { resumedFrom: undefined, issueTicket: true, cache: true }).length).toBe(0);
    expect(serverHelloSessionId(c, { resumedFrom: undefined, issueTicket: false, cache: false }).length).toBe(0);
    const a = serverHelloSessionId(c, { resumedFrom: undefined, issueTicket: false, cache: true });
    const b = serverHelloSessionId(c, { resumedFrom: undefined, issueTicket: false, cache: true });
    expect(a.length).toBe(32);
    expect(equal(a, b)).toBe(false);
  });
});

describe('abbreviated handshake keys (RFC 5246 §7.3)', () => {
  const cr = new Uint8Array(32).fill(0x11);
  const sr = new Uint8Array(32).fill(0x22);

  it('same master secret, new randoms: the key block is the master with this handshake\'s randoms', () => {
    const kb = resumedKeyBlock(c, SESSION, cr, sr);
    expect(kb).toEqual(deriveKeyBlock(c, SESSION.masterSecret, cr, sr));
    const other = resumedKeyBlock(c, SESSION, cr, new Uint8Array(32).fill(0x23));
    expect(toHex(other.client.key)).not.toBe(toHex(kb.client.key));
    expect(resumedHellos(SESSION, cr, sr)).toEqual({ suite: PSK, clientRandom: cr, serverRandom: sr, extendedMasterSecret: true });
  });

  it('the server finishes first, over the hellos; the client over the hellos and the server Finished', () => {
    const ch = encodeClientHello(clientHello({ sessionId: SID }));
    const sh = encodeServerHello(serverHello({ sessionId: SID }));
    const t = new Transcript(c);
    t.add(HandshakeType.client_hello, 1, ch);
    t.add(HandshakeType.server_hello, 1, sh);
    const serverVerify = abbreviatedServerFinished(c, SESSION.masterSecret, t);
    expect(toHex(serverVerify)).toBe(toHex(computeVerifyData(c, SESSION.masterSecret, 'server', t.hash())));
    const beforeClient = abbreviatedClientFinished(c, SESSION.masterSecret, t);
    t.add(HandshakeType.finished, 2, serverVerify);
    const clientVerify = abbreviatedClientFinished(c, SESSION.masterSecret, t);
    expect(toHex(clientVerify)).not.toBe(toHex(beforeClient));
    expect(clientVerify.length).toBe(12);
  });

  it('resumedSecrets: a copy of the master secret, the original identity', () => {
    const t = new Transcript(c);
    const s = resumedSecrets(SESSION, resumedHellos(SESSION, cr, sr), t);
    expect(s.peer).toBe(SESSION.peer);
    expect(toHex(s.master)).toBe(toHex(SESSION.masterSecret));
    expect(s.master).not.toBe(SESSION.masterSecret);
  });
});

describe('the building blocks together: resumption without the handshake states', () => {
  /**
   * A full handshake has made SESSION; the client kept a blob; the client comes back. Both sides
   * run only the pure functions and must agree on keys and Finished messages.
   */
  function resume(how: 'session_id' | 'ticket') {
    const server = { cache: new SessionCache(), tickets: new TicketSealer(c) };
    // end of the full handshake, server side: cache it or seal a ticket (sent in a NewSessionTicket)
    let kept: ClientResumption;
    if (how === 'session_id') {
      const sid = serverHelloSessionId(c, { resumedFrom: undefined, issueTicket: false, cache: true });
      expect(server.cache.put(1_000, sid, SESSION)).toBe(true);
      kept = { session: SESSION, sessionId: sid, server: 'coaps://example' };
    } else {
      const sealed = server.tickets.seal(1_000, SESSION)!;
      const nst = decodeNewSessionTicket(encodeNewSessionTicket({ lifetimeHint: sealed.lifetimeHint, ticket: sealed.ticket }));
      kept = { session: SESSION, sessionId: new Uint8Array(0), ticket: nst.ticket.slice(), expiresAt: 1_000 + nst.lifetimeHint * 1000 };
    }
    // the client restarts: only the blob survives
    const blob = decodeClientResumption(encodeClientResumption(kept));
    expect(mayOfferResumption(2_000, blob)).toBe(true);
    const offer = resumptionOffer(c, blob);
    const ticketExt = clientTicketExtension(offer, true);
    const chBody = encodeClientHello(clientHello({ random: c.random(32), sessionId: offer.sessionId, cookie: new Uint8Array(16), extensions: [...baseHelloExtensions(), ...(ticketExt ? [ticketExt] : [])] }));

    // server: parse, find, decide, answer
    const ch = decodeClientHello(chBody);
    const req = readResumptionRequest(ch);
    const found = findOfferedSession(2_000, req, server.cache, server.tickets)!;
    expect(found.via).toBe(how);
    expect(serverResumptionDecision(found.session, req, [PSK])).toBe('resume');
    const shBody = encodeServerHello(serverHello({ random: c.random(32), sessionId: serverHelloSessionId(c, { resumedFrom: ch, issueTicket: false, cache: true }), cipherSuite: found.session.cipherSuite }));
    const serverT = new Transcript(c);
    serverT.add(HandshakeType.client_hello, 1, chBody);
    serverT.add(HandshakeType.server_hello, 1, shBody);
    const serverKeys = resumedKeyBlock(c, found.session, ch.random, decodeServerHello(shBody).random);
    const serverFinished = abbreviatedServerFinished(c, found.session.masterSecret, serverT);

    // client: the echo says resumed; checks pass; the server's Finished verifies; keys agree
    const sh = decodeServerHello(shBody);
    expect(classifyServerHello(offer, sh)).toBe('resumed');
    checkResumedServerHello(offer.session, sh);
    expect(serverPromisesTicket(sh, ch.extensions)).toBe(false);
    const clientT = new Transcript(c);
    clientT.add(HandshakeType.client_hello, 1, chBody);
    clientT.add(HandshakeType.server_hello, 1, shBody);
    expect(toHex(abbreviatedServerFinished(c, offer.session.masterSecret, clientT))).toBe(toHex(serverFinished));
    clientT.add(HandshakeType.finished, 2, serverFinished);
    serverT.add(HandshakeType.finished, 2, serverFinished);
    expect(toHex(abbreviatedClientFinished(c, offer.session.masterSecret, clientT))).toBe(toHex(abbreviatedClientFinished(c, found.session.masterSecret, serverT)));
    expect(resumedKeyBlock(c, offer.session, ch.random, sh.random)).toEqual(serverKeys);
    expect(found.session.peer).toEqual(SESSION.peer); // the original identity
    return { ch, sh, found };
  }

  it('by session ID', () => {
    const { ch } = resume('session_id');
    expect(findExtension(ch.extensions, ExtensionType.session_ticket)!.data.length).toBe(0); // and asks for a ticket
  });

  it('by ticket', () => {
    const { ch, sh } = resume('ticket');
    expect(findExtension(ch.extensions, ExtensionType.session_ticket)!.data.length).toBeGreaterThan(0);
    expect(toHex(sh.sessionId)).toBe(toHex(ch.sessionId));
  });
});

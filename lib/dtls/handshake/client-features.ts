import { ccm8CidProtection } from '../record/ccm8-cid.js';
import { ExtensionType } from '../wire/constants.js';
import { decodeConnectionId, encodeConnectionId } from '../wire/connection-id.js';
import { findExtension } from '../wire/extensions.js';
import { resumedSecrets } from './abbreviated.js';
import type { ClientSessionFeatures } from './client-states.js';
import { installKeys } from './finish.js';
import { ResumableExpectChangeCipherSpec } from './finish-resumption.js';
import { checkResumedServerHello, classifyServerHello, clientTicketExtension, mayOfferResumption, resumptionOffer, serverPromisesTicket } from './resumption-rules.js';
import { wallTime } from './wall-time.js';

/**
 * The full build's client features (ClientConnection, PskClientConnection): RFC 9146 Connection
 * ID and session resumption by session_id or ticket (RFC 5246 §7.3, RFC 5077), joined to the
 * client's states (client-states.ts) through {@link ClientSessionFeatures}.
 */
export const CLIENT_SESSION_FEATURES: ClientSessionFeatures = {
  cidExtension: (cfg) => (cfg.connectionId ? { type: ExtensionType.connection_id, data: encodeConnectionId(cfg.connectionId) } : undefined),

  // RFC 9146 §3: the server's CID goes in our records, ours (possibly empty) in its records
  agreedCid(cfg, sh) {
    const ext = findExtension(sh.extensions, ExtensionType.connection_id);
    return ext && cfg.connectionId ? { read: cfg.connectionId, write: decodeConnectionId(ext.data).slice(), protection: ccm8CidProtection } : undefined;
  },

  offer(hs, suites) {
    const cfg = hs.cfg;
    const resume = cfg.resume && mayOfferResumption(wallTime(hs), cfg.resume) && suites.includes(cfg.resume.session.cipherSuite) ? cfg.resume : undefined;
    const offer = resume && resumptionOffer(cfg.crypto, resume);
    const extension = clientTicketExtension(offer, cfg.sessionTickets);
    return { ...(offer ? { offer, resume } : {}), ...(extension ? { extension } : {}) };
  },

  promisesTicket: serverPromisesTicket,

  // after a full handshake's last flight: take the promised ticket, keep the session
  afterFullFlight: (secrets) => new ResumableExpectChangeCipherSpec('client', secrets),

  resumes: (offer, sh) => classifyServerHello(offer, sh) === 'resumed',

  // RFC 5246 §7.3: the abbreviated handshake; the session's master secret with the new randoms
  abbreviated(hs, resume, sh, hellos, transcript, ticket) {
    checkResumedServerHello(resume.session, sh);
    installKeys(hs, 'client', hellos, resume.session.masterSecret);
    return new ResumableExpectChangeCipherSpec('client', resumedSecrets(resume.session, hellos, transcript), { resumed: true, ticketExpected: ticket, kept: resume });
  },
};

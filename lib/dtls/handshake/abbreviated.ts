import type { CryptoProvider } from '../../crypto/provider.js';
import type { ResumableSession } from '../resumable-session.js';
import { computeVerifyData, deriveKeyBlock, type KeyBlock } from './key-schedule.js';
import type { Hellos, Secrets } from './state.js';
import type { Transcript } from './transcript.js';

/**
 * The abbreviated handshake's keys (RFC 5246 §7.3, RFC 5077 §3.1), beside key-schedule.ts:
 * ```
 *   Client                                                Server
 *   ClientHello                  -------->
 *                                                    ServerHello
 *                                             [NewSessionTicket]
 *                                             [ChangeCipherSpec]
 *                                <--------              Finished
 *   [ChangeCipherSpec]
 *   Finished                     -------->
 * ```
 * RFC 5246 §7.3: the server finds the session and "will send a ServerHello with the same Session
 * ID value. At this point, both client and server MUST send ChangeCipherSpec messages and proceed
 * directly to Finished messages." No key exchange: the master secret is the session's (RFC 7627 §5.3 keeps
 * it, extended or not; no new session hash), and the key block comes from it and the NEW
 * randoms (§6.3: `PRF(master_secret, "key expansion", server_random + client_random)`), so
 * every resumption has fresh traffic keys. The server's Finished comes first and covers
 * ClientHello and ServerHello (and a NewSessionTicket); the client's covers those and the
 * server's Finished (§7.4.9: all messages up to, not including, this one). The transcript starts
 * at the ClientHello with the cookie, as in a full handshake (RFC 6347 §4.2.6).
 */

/** The hellos of a resumed handshake: the session's suite and EMS flag, this handshake's randoms. */
export function resumedHellos(session: ResumableSession, clientRandom: Uint8Array, serverRandom: Uint8Array): Hellos {
  return { suite: session.cipherSuite, clientRandom, serverRandom, extendedMasterSecret: session.extendedMasterSecret };
}

/** The key block of a resumed handshake: the session's master secret with this handshake's randoms. */
export function resumedKeyBlock(c: CryptoProvider, session: ResumableSession, clientRandom: Uint8Array, serverRandom: Uint8Array): KeyBlock {
  return deriveKeyBlock(c, session.masterSecret, clientRandom, serverRandom);
}

/**
 * What the Finished exchange needs, for a resumed session (the same shape a full handshake
 * gives after its key exchange): the master secret is a copy (the caller may wipe the session's),
 * the peer is the session's original identity.
 */
export function resumedSecrets(session: ResumableSession, hellos: Hellos, transcript: Transcript): Secrets {
  return { hellos, transcript, master: session.masterSecret.slice(), peer: session.peer };
}

/**
 * The server's verify_data, first in an abbreviated handshake: over ClientHello, ServerHello
 * [, NewSessionTicket] (what `transcript` holds at that point).
 */
export function abbreviatedServerFinished(c: CryptoProvider, master: Uint8Array, transcript: Transcript): Uint8Array {
  return computeVerifyData(c, master, 'server', transcript.hash());
}

/** The client's verify_data, last: `transcript` must already hold the server's Finished. */
export function abbreviatedClientFinished(c: CryptoProvider, master: Uint8Array, transcript: Transcript): Uint8Array {
  return computeVerifyData(c, master, 'client', transcript.hash());
}

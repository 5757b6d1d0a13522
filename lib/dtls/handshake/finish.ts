import { ctEqual } from '../../bytes/util.js';
import { DtlsError } from '../errors.js';
import { identityBytes, type SessionInfo } from '../events.js';
import type { PeerIdentity } from '../keystore.js';
import { Ccm8Protection } from '../record/protection.js';
import { HandshakeType } from '../wire/constants.js';
import { decodeFinished } from '../wire/finished.js';
import type { PrfSecret } from '../../crypto/prf.js';
import type { ClientResumption } from '../resumption.js';
import type { FlightItem } from './flights.js';
import { computeVerifyData, deriveKeyBlock, deriveMasterSecret, keyLogLine } from './key-schedule.js';
import type { HandshakeMessage } from './reassembler.js';
import { DONE, expectMessage, type Done, type Handshake, type HandshakeState, type Hellos, type Secrets } from './state.js';
import type { Transcript } from './transcript.js';

export type Role = 'client' | 'server';

/**
 * RFC 5246 §8.1 / RFC 7627 §4 and §6.3: the master secret from the premaster secret, then the
 * key block, installed as the next epoch in both directions of the record layer (active once
 * each ChangeCipherSpec passes). Wipes the premaster secret. The NSS key log line is written
 * only when `log` (an unknown PSK identity goes on with a random key: nothing worth logging).
 */
export function deriveSecrets(
  hs: Handshake,
  role: Role,
  hellos: Hellos,
  transcript: Transcript,
  premaster: Uint8Array,
  sessionHash: Uint8Array | undefined,
  peer: PeerIdentity,
  log = true,
): Secrets {
  const c = hs.cfg.crypto;
  const master = deriveMasterSecret(c, premaster, hellos.clientRandom, hellos.serverRandom, sessionHash);
  premaster.fill(0);
  if (log) hs.cfg.keyLog?.(keyLogLine(hellos.clientRandom, master));
  const masterKey = c.hmacSha256Key(master);
  installKeys(hs, role, hellos, masterKey);
  return { hellos, transcript, master, masterKey, peer };
}

/**
 * RFC 5246 §6.3: the key block from the master secret and this handshake's randoms (a full
 * handshake's new master, or a resumed session's: RFC 5246 §7.3), installed as the next epoch
 * in both directions of the record layer (active once each ChangeCipherSpec passes).
 */
export function installKeys(hs: Handshake, role: Role, hellos: Hellos, master: PrfSecret): void {
  const c = hs.cfg.crypto;
  const kb = deriveKeyBlock(c, master, hellos.clientRandom, hellos.serverRandom);
  const mine = role === 'client' ? kb.client : kb.server;
  const theirs = role === 'client' ? kb.server : kb.client;
  // RFC 9146: records carry the CID their receiver asked for, in the directions that have one
  const cid = hellos.connectionId;
  hs.records.installWrite(cid && cid.write.length > 0 ? cid.protection(c, mine, cid.write, hs.cfg.cidPadding) : new Ccm8Protection(c, mine));
  hs.records.installRead(cid && cid.read.length > 0 ? cid.protection(c, theirs, cid.read) : new Ccm8Protection(c, theirs));
}

/** How this handshake ends (RFC 5246 §7.3; RFC 5077 §3). */
export interface Ending {
  /** An abbreviated handshake (a resumed session): the server's Finished comes first and the client answers. */
  readonly resumed: boolean;
  /** Client: the server promised a NewSessionTicket (RFC 5077 §3.3): it comes before its ChangeCipherSpec. */
  readonly ticketExpected?: boolean;
  /** Server, full handshake: send a NewSessionTicket before our ChangeCipherSpec. */
  readonly issueTicket?: boolean;
  /** The session_id the ServerHello gave (full handshake): the server caches the session under it, the client keeps it. */
  readonly sessionId?: Uint8Array;
  /** Client: the ticket received in this handshake. */
  readonly ticket?: { ticket: Uint8Array; lifetimeHint: number };
  /** Client, abbreviated handshake: the resumption state the session came from (kept, its lifetime counting from the full handshake). */
  readonly kept?: ClientResumption;
}

/**
 * Waits for the peer's ChangeCipherSpec; its epoch-1 records (held until now) become readable.
 * This is the Finished exchange of a build without session resumption (BasicPskClientConnection):
 * ResumableExpectChangeCipherSpec (finish-resumption.ts) adds the NewSessionTicket, the session
 * cache and the client's resumption state.
 */
export class ExpectChangeCipherSpec implements HandshakeState {
  readonly name = 'ExpectChangeCipherSpec';
  readonly afterLastFlight: { serverRandom: Uint8Array } | undefined;
  constructor(
    protected readonly role: Role,
    protected readonly secrets: Secrets,
    protected readonly ending: Ending = { resumed: false },
  ) {
    this.afterLastFlight = role === 'client' && !ending.resumed ? { serverRandom: secrets.hellos.serverRandom } : undefined;
  }

  handle(_hs: Handshake, m: HandshakeMessage): HandshakeState {
    // RFC 6347 §4.2.6 orders ChangeCipherSpec before Finished; a handshake message here is out of place
    throw new DtlsError('UNEXPECTED_MESSAGE', `handshake message ${m.msgType} before the peer's ChangeCipherSpec`);
  }

  changeCipherSpec(): HandshakeState {
    return new ExpectFinished(this.role, this.secrets, this.ending);
  }
}

/**
 * Waits for the peer's Finished (epoch 1) and checks its verify_data (RFC 5246 §7.4.9) in
 * constant time. The side that answers then sends its own ChangeCipherSpec and Finished and
 * keeps that last flight: the server in a full handshake, the client in an abbreviated one.
 * What the session leaves for resumption is ResumableExpectFinished's (`keep`).
 */
export class ExpectFinished implements HandshakeState {
  readonly name = 'ExpectFinished';
  readonly afterLastFlight: { serverRandom: Uint8Array } | undefined;
  constructor(
    protected readonly role: Role,
    protected readonly secrets: Secrets,
    protected readonly ending: Ending = { resumed: false },
  ) {
    this.afterLastFlight = role === 'client' && !ending.resumed ? { serverRandom: secrets.hellos.serverRandom } : undefined;
  }

  handle(hs: Handshake, m: HandshakeMessage): Done {
    expectMessage(this, m, HandshakeType.finished, 1);
    const { hellos, transcript, master, masterKey, peer } = this.secrets;
    const mk = masterKey ?? master;
    const c = hs.cfg.crypto;
    const peerRole = this.role === 'client' ? 'server' : 'client';
    const got = decodeFinished(m.body);
    if (!ctEqual(got, computeVerifyData(c, mk, peerRole, transcript.hash()))) {
      throw new DtlsError('DECRYPT_ERROR', `${peerRole} Finished verify_data mismatch`);
    }
    const session: SessionInfo = { cipherSuite: hellos.suite, identity: peer, peerIdentity: identityBytes(peer), extendedMasterSecret: hellos.extendedMasterSecret, resumed: this.ending.resumed };
    if (hellos.connectionId) session.connectionId = { read: hellos.connectionId.read, write: hellos.connectionId.write };
    // who answers: the server after a full handshake, the client after an abbreviated one
    const answers = (this.role === 'server') !== this.ending.resumed;
    if (answers) transcript.add(m.msgType, m.messageSeq, m.body);
    const flight: FlightItem[] = [];
    const resumption = this.keep(hs, answers ? flight : undefined);
    if (!answers) {
      hs.established(session, false, resumption, master);
      return DONE;
    }
    const verify = computeVerifyData(c, mk, this.role, transcript.hash());
    flight.push({ kind: 'change_cipher_spec', epoch: 0 }, hs.message(HandshakeType.finished, verify, 1));
    hs.sendFlight(flight, false);
    // The side that sends the last flight keeps it to answer a repeated flight of the peer.
    hs.established(session, true, resumption, master);
    return DONE;
  }

  /**
   * What the established session leaves for resumption (ResumableExpectFinished: it may add a
   * NewSessionTicket to `flight`, our last flight when we answer, and cache the session); the
   * client's resumption state, if any. Nothing here.
   */
  protected keep(_hs: Handshake, _flight: FlightItem[] | undefined): ClientResumption | undefined {
    return undefined;
  }
}

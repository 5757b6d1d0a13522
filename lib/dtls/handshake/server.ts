import { MAX_PSK_KEY, type ConnectionConfig } from '../config.js';
import type { SessionSnapshot } from '../session-snapshot.js';
import { ExportableConnection } from '../exportable-connection.js';
import { EMPTY_BYTES, equal } from '../../bytes/util.js';
import { DtlsError } from '../errors.js';
import { ccm8CidProtection } from '../record/ccm8-cid.js';
import { decodeClientHello, type ClientHello } from '../wire/client-hello.js';
import { CipherSuite, DTLS_1_2, ExtensionType, HandshakeType } from '../wire/constants.js';
import { decodeConnectionId, encodeConnectionId } from '../wire/connection-id.js';
import { EMPTY_RENEGOTIATION_INFO, findExtension, type Extension } from '../wire/extensions.js';
import { decodePskIdentity, encodePskIdentity, pskPremasterSecret } from '../wire/psk-key-exchange.js';
import { encodeServerHello } from '../wire/server-hello.js';
import { deriveSecrets, installKeys } from './finish.js';
import { ResumableExpectChangeCipherSpec } from './finish-resumption.js';
import { abbreviatedServerFinished, resumedHellos, resumedSecrets } from './abbreviated.js';
import { findOfferedSession, readResumptionRequest, serverHelloSessionId, serverResumptionDecision } from './resumption-rules.js';
import { wallTime } from './wall-time.js';
import type { ResumableSession } from '../resumable-session.js';
import { serverSessionTicketExtension } from '../wire/session-ticket-extension.js';
import type { FlightItem } from './flights.js';
import { answerRecordSize, chooseServerParameters } from './negotiation.js';
import type { HandshakeMessage } from './reassembler.js';
import { ecdheServerFlight } from './server-ecdhe.js';
import { expectMessage, type Handshake, type HandshakeState, type Hellos } from './state.js';
import { Transcript } from './transcript.js';

/**
 * DTLS 1.2 server connection for one peer: TLS_PSK_WITH_AES_128_CCM_8 and
 * TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (raw public keys or X.509, optional client
 * authentication). The endpoint creates it only for a ClientHello whose cookie verified
 * (RFC 6347 §4.2.1) and passes that datagram to handleDatagram(). Key lookups are events
 * (`psk-request`, `verify-peer`) answered with providePsk()/resolvePeer(), so they may be
 * asynchronous.
 */
export class ServerConnection extends ExportableConnection {
  /** The endpoint's record of this connection while its session table holds it (lib/dtls/endpoint-sessions.ts). */
  tableEntry: object | undefined = undefined;

  constructor(
    cfg: ConnectionConfig,
    /** The ClientHello's record sequence number: our first records continue from it. */
    firstRecordSeq: number,
    /** The ClientHello's message_seq: our messages are numbered from it. */
    helloSeq: number,
    /** Whether a PSK lookup exists (otherwise the PSK suite is not chosen). */
    hasPsk = true,
    /** RFC 9146: the CID this server wants in the client's records, if the client offers the extension. */
    connectionId?: Uint8Array,
    /** The ClientHello as the endpoint already decoded it (to check the cookie), so it is parsed once. */
    decoded?: DecodedHello,
  ) {
    super(cfg, new ExpectClientHello(hasPsk, connectionId, decoded), { messageSeq: helloSeq, recordSeq: firstRecordSeq });
  }

  /**
   * A session continued from a session store's snapshot (established by this process before a
   * restart, or by another): connected at once; it sends nothing until `setWriteLimit` raises
   * its nonce lease.
   */
  static restore(cfg: ConnectionConfig, now: number, snapshot: SessionSnapshot): ServerConnection {
    const c = new ServerConnection(cfg, 0, 0, false);
    c.restoreFrom(now, snapshot);
    return c;
  }
}

/** A ClientHello body and what decodeClientHello made of it, if the endpoint decoded it. */
export interface DecodedHello {
  readonly body: Uint8Array;
  readonly ch: ClientHello | undefined;
}

/** Waits for the (cookie-verified) ClientHello; answers with the server's first flight. */
class ExpectClientHello implements HandshakeState {
  readonly name = 'ExpectClientHello';
  constructor(
    private readonly hasPsk: boolean,
    private readonly connectionId: Uint8Array | undefined,
    private decoded: DecodedHello | undefined,
  ) {}

  handle(hs: Handshake, m: HandshakeMessage): HandshakeState {
    expectMessage(this, m, HandshakeType.client_hello);
    const cfg = hs.cfg;
    // the endpoint's decode, when it is of these very bytes (same length and content)
    const pre = this.decoded;
    this.decoded = undefined;
    const ch = pre?.ch && (pre.body === m.body || equal(pre.body, m.body)) ? pre.ch : decodeClientHello(m.body);
    // DTLS versions count down: 0xfefd (1.2) is "newer" than 0xfeff (1.0).
    if (ch.clientVersion > DTLS_1_2) throw new DtlsError('PROTOCOL_VERSION', `client offers only version 0x${ch.clientVersion.toString(16)}`);
    if (!ch.compressionMethods.includes(0)) throw new DtlsError('HANDSHAKE_FAILURE', 'the null compression method is not offered');
    const size = answerRecordSize(cfg, ch.extensions);
    hs.records.sendLimit = size.sendLimit;
    hs.records.receiveLimit = size.receiveLimit;
    // RFC 9146 §3: our CID goes in the client's records, the client's (possibly empty) in ours
    const offeredCid = findExtension(ch.extensions, ExtensionType.connection_id);
    const connectionId = offeredCid && this.connectionId ? { read: this.connectionId, write: decodeConnectionId(offeredCid.data).slice(), protection: ccm8CidProtection } : undefined;
    if (connectionId) hs.records.readCidLength = connectionId.read.length;
    const answered: Extension[] = [...size.extensions];
    if (connectionId) answered.push({ type: ExtensionType.connection_id, data: encodeConnectionId(connectionId.read) });

    // RFC 5246 §7.3 / RFC 5077 §3.1: a session the client offers, that we still know and may resume
    const req = readResumptionRequest(ch);
    const res = cfg.resumption;
    const found = res ? findOfferedSession(wallTime(hs), req, res.cache, res.tickets) : undefined;
    if (found) {
      const usable = cfg.suites.filter((s) => (s === CipherSuite.TLS_PSK_WITH_AES_128_CCM_8 ? this.hasPsk : !!cfg.ecdhe));
      if (serverResumptionDecision(found.session, req, usable) === 'resume') return resume(hs, m, ch, found.session, answered, connectionId);
    }

    const choice = chooseServerParameters(cfg, ch.cipherSuites, ch.extensions, this.hasPsk);
    choice.extensions.push(...answered);
    // RFC 5077 §3.2: a client that sent the SessionTicket extension gets a ticket, when we issue them
    const ticket = req.ticketsSupported && !!res?.tickets;
    if (ticket) choice.extensions.push(serverSessionTicketExtension());
    const sessionId = serverHelloSessionId(cfg.crypto, { resumedFrom: undefined, issueTicket: ticket, cache: !!res?.cache });
    const ecdhe = choice.suite === CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8;
    // keep the messages when the client's CertificateVerify must be checked against them
    const transcript = new Transcript(cfg.crypto, ecdhe && choice.clientCertificateType !== undefined);
    transcript.add(m.msgType, m.messageSeq, m.body);
    const hellos: Hellos = {
      suite: choice.suite,
      clientRandom: ch.random, // a copy of its own (Reader.bytes copies what is this short)
      serverRandom: cfg.crypto.random(32),
      extendedMasterSecret: choice.extendedMasterSecret,
      sessionId,
      ticket,
      connectionId,
    };

    const flight: FlightItem[] = [];
    const add = (type: number, body: Uint8Array) => {
      const it = hs.message(type, body, 0);
      flight.push(it);
      transcript.add(it.msgType, it.messageSeq, it.body);
    };
    add(
      HandshakeType.server_hello,
      encodeServerHello({ serverVersion: DTLS_1_2, random: hellos.serverRandom, sessionId, cipherSuite: choice.suite, compressionMethod: 0, extensions: choice.extensions }),
    );
    let next: HandshakeState;
    if (ecdhe) {
      next = ecdheServerFlight(hs, hellos, transcript, add, choice.serverCertificateType, choice.clientCertificateType);
    } else {
      if (cfg.pskHint) add(HandshakeType.server_key_exchange, encodePskIdentity(cfg.pskHint));
      next = new ExpectPskClientKeyExchange(hellos, transcript);
    }
    add(HandshakeType.server_hello_done, EMPTY_BYTES); // struct { } ServerHelloDone;
    hs.sendFlight(flight, true);
    return next;
  }
}

/**
 * The abbreviated handshake (RFC 5246 §7.3, RFC 5077 §3.1): ServerHello with the client's
 * session_id, ChangeCipherSpec and Finished at once, from the session's master secret and the
 * new randoms; the client answers with its ChangeCipherSpec and Finished. The session keeps
 * its suite, extended master secret and the peer identity its full handshake authenticated.
 */
function resume(
  hs: Handshake,
  m: HandshakeMessage,
  ch: ClientHello,
  session: ResumableSession,
  answered: Extension[],
  connectionId: Hellos['connectionId'],
): HandshakeState {
  const cfg = hs.cfg;
  const extensions: Extension[] = [{ type: ExtensionType.extended_master_secret, data: new Uint8Array(0) }];
  // RFC 5746 §3.6: answer renegotiation_info (or the SCSV) as on any handshake
  if (findExtension(ch.extensions, ExtensionType.renegotiation_info) || ch.cipherSuites.includes(CipherSuite.TLS_EMPTY_RENEGOTIATION_INFO_SCSV)) {
    extensions.push({ type: ExtensionType.renegotiation_info, data: EMPTY_RENEGOTIATION_INFO });
  }
  extensions.push(...answered);
  const sessionId = serverHelloSessionId(cfg.crypto, { resumedFrom: ch, issueTicket: false, cache: false });
  const hellos: Hellos = { ...resumedHellos(session, ch.random.slice(), cfg.crypto.random(32)), sessionId, ...(connectionId ? { connectionId } : {}) };
  const transcript = new Transcript(cfg.crypto, false);
  transcript.add(m.msgType, m.messageSeq, m.body);
  const sh = hs.message(HandshakeType.server_hello, encodeServerHello({ serverVersion: DTLS_1_2, random: hellos.serverRandom, sessionId, cipherSuite: session.cipherSuite, compressionMethod: 0, extensions }), 0);
  transcript.add(sh.msgType, sh.messageSeq, sh.body);
  installKeys(hs, 'server', hellos, session.masterSecret);
  const secrets = resumedSecrets(session, hellos, transcript);
  const finished = hs.message(HandshakeType.finished, abbreviatedServerFinished(cfg.crypto, secrets.master, transcript), 1);
  transcript.add(finished.msgType, finished.messageSeq, finished.body);
  hs.sendFlight([sh, { kind: 'change_cipher_spec', epoch: 0 }, finished], true);
  return new ResumableExpectChangeCipherSpec('server', secrets, { resumed: true });
}

/** PSK: waits for the client's identity (RFC 4279 §2), then asks the key store for its key. */
class ExpectPskClientKeyExchange implements HandshakeState {
  readonly name = 'ExpectPskClientKeyExchange';
  constructor(
    private readonly hellos: Hellos,
    private readonly transcript: Transcript,
  ) {}

  handle(hs: Handshake, m: HandshakeMessage): HandshakeState {
    expectMessage(this, m, HandshakeType.client_key_exchange);
    const identity = decodePskIdentity(m.body, hs.cfg.maxIdentityLength, 'psk_identity').slice();
    this.transcript.add(m.msgType, m.messageSeq, m.body);
    const sessionHash = this.hellos.extendedMasterSecret ? this.transcript.hash() : undefined;
    hs.emit({ type: 'psk-request', identity });
    return new AwaitingPsk(this.hellos, this.transcript, identity, sessionHash);
  }
}

/** The key store looks the identity up (providePsk); records wait meanwhile. */
class AwaitingPsk implements HandshakeState {
  readonly name = 'AwaitingPsk';
  readonly waiting = 'psk';
  constructor(
    private readonly hellos: Hellos,
    private readonly transcript: Transcript,
    private readonly identity: Uint8Array,
    private readonly sessionHash: Uint8Array | undefined,
  ) {}

  handle(): never {
    throw new DtlsError('INTERNAL', 'a handshake message reached a waiting state');
  }

  providePsk(hs: Handshake, key: Uint8Array | undefined): HandshakeState {
    // An unknown identity continues with a random key, so that on the wire it looks
    // exactly like a wrong key: the client's Finished fails authentication (DESIGN.md).
    const known = !!key && key.length > 0 && key.length <= MAX_PSK_KEY;
    const premaster = pskPremasterSecret(known ? key : hs.cfg.crypto.random(16));
    const secrets = deriveSecrets(hs, 'server', this.hellos, this.transcript, premaster, this.sessionHash, { kind: 'psk', identity: this.identity }, known);
    return new ResumableExpectChangeCipherSpec('server', secrets);
  }
}

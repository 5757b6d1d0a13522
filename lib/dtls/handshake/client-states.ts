import { equal } from '../../bytes/util.js';
import type { CheckedPsk, ConnectionConfig } from '../config.js';
import { DtlsError } from '../errors.js';
import type { PeerIdentity } from '../keystore.js';
import { encodeClientHello, type ClientHello } from '../wire/client-hello.js';
import { CipherSuite, DTLS_1_2, ExtensionType, HandshakeType } from '../wire/constants.js';
import type { Extension } from '../wire/extensions.js';
import { decodeHelloVerifyRequest } from '../wire/hello-verify-request.js';
import { decodePskIdentity, encodePskIdentity, pskPremasterSecret } from '../wire/psk-key-exchange.js';
import { decodeServerHello, type ServerHello } from '../wire/server-hello.js';
import { deriveSecrets, ExpectChangeCipherSpec } from './finish.js';
import type { ResumptionOffer } from './resumption-rules.js';
import type { ClientResumption } from '../resumption.js';
import type { FlightItem } from './flights.js';
import { computeVerifyData } from './key-schedule.js';
import { baseHelloExtensions, checkServerHelloExtensions, readRecordSize, recordSizeExtensions } from './negotiation.js';
import type { HandshakeMessage } from './reassembler.js';
import { expectMessage, STALE, type Handshake, type HandshakeState, type Hellos, type NegotiatedCid, type Secrets, type Stale } from './state.js';
import { Transcript } from './transcript.js';

/**
 * The client's handshake (RFC 6347 §4.2.1, RFC 5246 §7.3) up to the suite's key exchange, and
 * the PSK key exchange (RFC 4279 §2). The ECDHE_ECDSA states are in client-ecdhe.ts and join
 * through {@link EcdheClientSupport}, so a PSK-only build for a small device leaves them out.
 */

const PSK = CipherSuite.TLS_PSK_WITH_AES_128_CCM_8;
const MAX_HELLO_VERIFY_REQUESTS = 4;

/** What ECDHE support adds to the client (client-ecdhe.ts). */
export interface EcdheClientSupport {
  /** Whether the ECDHE suite can be offered with this configuration (a way to judge the server). */
  canOffer(cfg: ConnectionConfig): boolean;
  /** ClientHello extensions for ECDHE (RFC 8422, RFC 7250). */
  helloExtensions(cfg: ConnectionConfig): Extension[];
  /** The state after a ServerHello that chose ECDHE. */
  afterServerHello(hs: Handshake, hellos: Hellos, transcript: Transcript, sh: ServerHello, offered: readonly Extension[]): HandshakeState;
}

/**
 * What the full build adds to the client (client-features.ts): Connection ID (RFC 9146) and
 * session resumption (RFC 5246 §7.3, RFC 5077). Without it (BasicPskClientConnection) the
 * client offers neither, and a build for a small device leaves out their codecs and rules.
 */
export interface ClientSessionFeatures {
  /** The ClientHello's connection_id extension, when `cfg.connectionId` asks for one. */
  cidExtension(cfg: ConnectionConfig): Extension | undefined;
  /** The CIDs agreed by the ServerHello (its connection_id extension answering ours), if any. */
  agreedCid(cfg: ConnectionConfig, sh: ServerHello): NegotiatedCid | undefined;
  /** The session to offer from `cfg.resume` (when it may be), and the ClientHello's session_ticket extension. */
  offer(hs: Handshake, suites: readonly number[]): { offer?: ResumptionOffer; resume?: ClientResumption; extension?: Extension };
  /** Whether a NewSessionTicket follows this ServerHello (RFC 5077 §3.2). */
  promisesTicket(sh: ServerHello, offered: readonly Extension[]): boolean;
  /** The state after the client's last flight of a full handshake (it takes a promised NewSessionTicket and keeps the session). */
  afterFullFlight(secrets: Secrets): HandshakeState;
  /** Whether the ServerHello resumes the offered session (it echoes the offered session_id). */
  resumes(offer: ResumptionOffer | undefined, sh: ServerHello): boolean;
  /** The abbreviated handshake of a resumed session: its keys installed, waiting for the server's ChangeCipherSpec. */
  abbreviated(hs: Handshake, resume: ClientResumption, sh: ServerHello, hellos: Hellos, transcript: Transcript, ticket: boolean): HandshakeState;
}

/**
 * The client's own part of its last flight, chosen by the suite: the messages before
 * ChangeCipherSpec, the premaster secret, and whom the handshake authenticates.
 */
export interface ClientKeyExchange {
  /**
   * Adds Certificate and ClientKeyExchange (added messages enter the transcript) and returns
   * the premaster secret, the peer's identity, and a CertificateVerify signer when one follows.
   */
  write(hs: Handshake, add: (type: number, body: Uint8Array) => void): { premaster: Uint8Array; peer: PeerIdentity; certificateVerify?: (messages: Uint8Array) => Uint8Array };
}

/** Before start(): nothing sent, nothing expected (stray datagrams are ignored). */
export class ClientIdle implements HandshakeState {
  readonly name = 'ClientIdle';
  constructor(
    private readonly ecdhe: EcdheClientSupport | undefined,
    private readonly features: ClientSessionFeatures | undefined,
    /** Starting over: the abandoned handshake's server random, whose late ServerHello must be ignored. */
    private readonly staleServerRandom?: Uint8Array,
  ) {}

  /** The suites this client can offer, in the configured order. */
  static suites(cfg: ConnectionConfig, ecdhe: EcdheClientSupport | undefined): number[] {
    return cfg.suites.filter((s) => (s === PSK ? !!cfg.psk : s === CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 && !!ecdhe?.canOffer(cfg)));
  }

  handle(): HandshakeState {
    return this;
  }

  /** Flight 1: the ClientHello. */
  start(hs: Handshake): HandshakeState {
    const cfg = hs.cfg;
    const suites = ClientIdle.suites(cfg, this.ecdhe);
    if (suites.length === 0) throw new DtlsError('INVALID_ARGUMENT', 'a client needs a psk, or trusted server keys for ECDHE');
    const extensions = [...baseHelloExtensions(), ...recordSizeExtensions(cfg)];
    const f = this.features;
    const cidExt = f?.cidExtension(cfg);
    if (cidExt) extensions.push(cidExt);
    if (this.ecdhe && suites.includes(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8)) extensions.push(...this.ecdhe.helloExtensions(cfg));
    // RFC 5246 §7.3 / RFC 5077: offer the session to resume, when there is one that may be
    const { offer, resume, extension } = f ? f.offer(hs, suites) : {};
    if (extension) extensions.push(extension);
    const hello: ClientHello = {
      clientVersion: DTLS_1_2,
      random: cfg.crypto.random(32),
      sessionId: offer ? offer.sessionId : new Uint8Array(0),
      cookie: new Uint8Array(0),
      cipherSuites: suites,
      compressionMethods: new Uint8Array([0]),
      extensions,
    };
    return ExpectServerHello.send(hs, hello, 0, { ecdhe: this.ecdhe, features: f, staleServerRandom: this.staleServerRandom, offer, resume });
  }
}

/** What the client's hello carried besides the ClientHello itself. */
interface HelloContext {
  readonly ecdhe: EcdheClientSupport | undefined;
  readonly features: ClientSessionFeatures | undefined;
  /** Starting over: the abandoned handshake's server random (its late ServerHello is ignored). */
  readonly staleServerRandom: Uint8Array | undefined;
  /** The session offered for resumption, and the state it came from. */
  readonly offer: ResumptionOffer | undefined;
  readonly resume: ClientResumption | undefined;
}


/** Waits for the ServerHello, or a HelloVerifyRequest asking for the ClientHello again with a cookie. */
export class ExpectServerHello implements HandshakeState {
  readonly name = 'ExpectServerHello';
  private constructor(
    private readonly hello: ClientHello,
    private readonly body: Uint8Array,
    private readonly messageSeq: number,
    private readonly verifyRequests: number,
    private readonly ctx: HelloContext,
  ) {}

  static send(hs: Handshake, hello: ClientHello, verifyRequests: number, ctx: HelloContext): ExpectServerHello {
    const body = encodeClientHello(hello);
    const item = hs.message(HandshakeType.client_hello, body, 0);
    hs.sendFlight([item], true);
    return new ExpectServerHello(hello, body, item.messageSeq, verifyRequests, ctx);
  }

  handle(hs: Handshake, m: HandshakeMessage): HandshakeState | Stale {
    if (m.msgType === HandshakeType.hello_verify_request && m.epoch === 0) {
      const hvr = decodeHelloVerifyRequest(m.body);
      if (this.verifyRequests >= MAX_HELLO_VERIFY_REQUESTS) throw new DtlsError('UNEXPECTED_MESSAGE', 'too many HelloVerifyRequests');
      // RFC 6347 §4.2.1: the same parameters again, now with the cookie.
      return ExpectServerHello.send(hs, { ...this.hello, cookie: hvr.cookie.slice() }, this.verifyRequests + 1, this.ctx);
    }
    expectMessage(this, m, HandshakeType.server_hello);
    const cfg = hs.cfg;
    const offered = this.hello.extensions;
    const sh = decodeServerHello(m.body);
    // a late flight of the handshake we abandoned (same message_seq numbers as this one's): not ours
    if (this.ctx.staleServerRandom && equal(sh.random, this.ctx.staleServerRandom)) return STALE;
    if (sh.serverVersion !== DTLS_1_2) throw new DtlsError('PROTOCOL_VERSION', `server chose version 0x${sh.serverVersion.toString(16)}`);
    if (!this.hello.cipherSuites.includes(sh.cipherSuite)) throw new DtlsError('ILLEGAL_PARAMETER', `server chose cipher suite 0x${sh.cipherSuite.toString(16)} that was not offered`);
    if (sh.compressionMethod !== 0) throw new DtlsError('ILLEGAL_PARAMETER', 'server chose a compression method');
    const { extendedMasterSecret } = checkServerHelloExtensions(sh.extensions, offered);
    const f = this.ctx.features;
    const ticket = !!f && f.promisesTicket(sh, offered);
    const limits = readRecordSize(cfg, sh.extensions, offered);
    hs.records.sendLimit = limits.sendLimit;
    hs.records.receiveLimit = limits.receiveLimit;
    if (!extendedMasterSecret && cfg.requireExtendedMasterSecret) {
      throw new DtlsError('HANDSHAKE_FAILURE', 'server does not support extended_master_secret (RFC 7627)');
    }
    const psk = sh.cipherSuite === PSK;
    const { offer, resume } = this.ctx;
    const resumed = offer && resume && f && f.resumes(offer, sh);
    // Keep the messages when we may have to sign them in a CertificateVerify.
    const transcript = new Transcript(cfg.crypto, !resumed && !psk && !!cfg.ecdhe);
    transcript.add(HandshakeType.client_hello, this.messageSeq, this.body);
    transcript.add(m.msgType, m.messageSeq, m.body);
    // RFC 9146 §3: the server's CID goes in our records, ours (possibly empty) in its records
    const connectionId = f?.agreedCid(cfg, sh);
    if (connectionId) hs.records.readCidLength = connectionId.read.length;
    const hellos: Hellos = {
      suite: sh.cipherSuite,
      clientRandom: this.hello.random,
      serverRandom: sh.random.slice(),
      extendedMasterSecret,
      sessionId: sh.sessionId.slice(),
      ticket,
      ...(connectionId ? { connectionId } : {}),
      ...(f ? { afterFullFlight: f.afterFullFlight } : {}),
    };
    if (resumed) {
      return f.abbreviated(hs, resume, sh, hellos, transcript, ticket);
    }
    if (psk) return new ExpectPskServerKeyExchange(hellos, transcript);
    if (!this.ctx.ecdhe) throw new DtlsError('INTERNAL', 'suite not supported by this build');
    return this.ctx.ecdhe.afterServerHello(hs, hellos, transcript, sh, offered);
  }
}

/** PSK: an optional ServerKeyExchange with the identity hint (RFC 4279 §2), else ServerHelloDone. */
export class ExpectPskServerKeyExchange implements HandshakeState {
  readonly name = 'ExpectPskServerKeyExchange';
  constructor(
    private readonly hellos: Hellos,
    private readonly transcript: Transcript,
  ) {}

  handle(hs: Handshake, m: HandshakeMessage): HandshakeState {
    if (m.msgType !== HandshakeType.server_key_exchange) return new ExpectServerHelloDone(this.hellos, this.transcript, new PskKeyExchange(undefined)).handle(hs, m);
    expectMessage(this, m, HandshakeType.server_key_exchange);
    const hint = decodePskIdentity(m.body, 0xffff, 'psk_identity_hint').slice();
    this.transcript.add(m.msgType, m.messageSeq, m.body);
    return new ExpectServerHelloDone(this.hellos, this.transcript, new PskKeyExchange(hint));
  }
}

/**
 * Waits for ServerHelloDone, then sends the client's last flight (RFC 5246 §7.3):
 * [Certificate] ClientKeyExchange [CertificateVerify] ChangeCipherSpec Finished.
 */
export class ExpectServerHelloDone implements HandshakeState {
  readonly name = 'ExpectServerHelloDone';
  constructor(
    private readonly hellos: Hellos,
    private readonly transcript: Transcript,
    private readonly kx: ClientKeyExchange,
  ) {}

  handle(hs: Handshake, m: HandshakeMessage): HandshakeState {
    expectMessage(this, m, HandshakeType.server_hello_done);
    if (m.body.length !== 0) throw new DtlsError('DECODE_ERROR', 'ServerHelloDone must be empty');
    const { hellos, transcript } = this;
    transcript.add(m.msgType, m.messageSeq, m.body);
    const flight: FlightItem[] = [];
    const add = (type: number, body: Uint8Array, epoch = 0) => {
      const it = hs.message(type, body, epoch);
      flight.push(it);
      transcript.add(it.msgType, it.messageSeq, it.body);
    };
    const { premaster, peer, certificateVerify } = this.kx.write(hs, add);
    // RFC 7627 §4: the session hash covers the messages up to and including ClientKeyExchange
    const sessionHash = hellos.extendedMasterSecret ? transcript.hash() : undefined;
    if (certificateVerify) add(HandshakeType.certificate_verify, certificateVerify(transcript.messages()));
    transcript.dropMessages();
    const secrets = deriveSecrets(hs, 'client', hellos, transcript, premaster, sessionHash, peer);
    flight.push({ kind: 'change_cipher_spec', epoch: 0 });
    add(HandshakeType.finished, computeVerifyData(hs.cfg.crypto, secrets.masterKey ?? secrets.master, 'client', transcript.hash()), 1);
    hs.sendFlight(flight, true);
    return hellos.afterFullFlight ? hellos.afterFullFlight(secrets) : new ExpectChangeCipherSpec('client', secrets);
  }
}

/** PSK's ClientKeyExchange: the identity (chosen by the server's hint when the option is a function). */
class PskKeyExchange implements ClientKeyExchange {
  constructor(private readonly hint: Uint8Array | undefined) {}

  write(hs: Handshake, add: (type: number, body: Uint8Array) => void): { premaster: Uint8Array; peer: PeerIdentity } {
    const psk = choosePsk(hs.cfg, this.hint);
    add(HandshakeType.client_key_exchange, encodePskIdentity(psk.identity));
    return { premaster: pskPremasterSecret(psk.key), peer: { kind: 'psk', identity: psk.identity } };
  }
}

/** The PSK for the server's identity hint (checked by resolveConfig, a function's answer when called). */
function choosePsk(cfg: ConnectionConfig, hint: Uint8Array | undefined): CheckedPsk {
  const opt = cfg.psk;
  const psk = typeof opt === 'function' ? opt(hint) : opt;
  if (!psk) throw new DtlsError('HANDSHAKE_FAILURE', 'no PSK for the server\'s identity hint');
  return psk;
}

import { ctEqual } from '../../bytes/util.js';
import { checkPsk, type ClientPsk, type ConnectionConfig } from '../config.js';
import { DtlsConnection, expectMessage } from '../connection.js';
import { DtlsError } from '../errors.js';
import { identityBytes } from '../events.js';
import type { PeerIdentity } from '../keystore.js';
import { Reassembler, type HandshakeMessage } from '../record/reassembler.js';
import type { PeerVerdict } from '../trust.js';
import { decodeCertificate, encodeCertificate } from '../wire/certificate.js';
import { CLIENT_CERTIFICATE_TYPE_ECDSA_SIGN, decodeCertificateRequest } from '../wire/certificate-request.js';
import { encodeClientHello, type ClientHello } from '../wire/client-hello.js';
import { CipherSuite, DTLS_1_2, HandshakeType } from '../wire/constants.js';
import { CertificateType, ECDSA_SECP256R1_SHA256 } from '../wire/ec-extensions.js';
import { encodeCertificateVerify, encodeClientEcdhKeyExchange } from '../wire/ecdh-key-exchange.js';
import type { Extension } from '../wire/extensions.js';
import { decodeFinished } from '../wire/finished.js';
import { decodeHelloVerifyRequest } from '../wire/hello-verify-request.js';
import { decodePskIdentity, encodePskIdentity, pskPremasterSecret } from '../wire/psk-key-exchange.js';
import { decodeServerHello } from '../wire/server-hello.js';
import type { P256PublicKey } from '../../crypto/provider.js';
import { ecdhPremaster, peerPublicKey, readServerKeyExchange } from './ecdhe.js';
import type { FlightItem } from './flights.js';
import { computeVerifyData, deriveKeyBlock, deriveMasterSecret, keyLogLine } from './key-schedule.js';
import { checkServerHelloExtensions, clientHelloExtensions, clientSuites } from './negotiation.js';
import { Transcript } from './transcript.js';

/** What the client waits for next. */
type ClientState =
  | 'idle'
  | 'expect_server_hello'
  | 'expect_server_certificate'
  | 'verifying_server_certificate'
  | 'expect_server_key_exchange'
  | 'expect_certificate_request'
  | 'expect_server_hello_done'
  | 'expect_change_cipher_spec'
  | 'expect_finished'
  | 'done';

interface Hello {
  hello: ClientHello;
  body: Uint8Array;
  seq: number;
  verifyRequests: number;
}

/** Handshake context after the ServerHello. */
interface Context {
  suite: number;
  transcript: Transcript;
  clientRandom: Uint8Array;
  serverRandom: Uint8Array;
  extendedMasterSecret: boolean;
  serverCertificateType: number;
  clientCertificateType: number;
  peer: PeerIdentity;
  serverKey?: P256PublicKey;
  serverPoint?: Uint8Array;
  pskHint?: Uint8Array;
  certificateRequested: boolean;
  master?: Uint8Array;
}

const MAX_HELLO_VERIFY_REQUESTS = 4;

/**
 * DTLS 1.2 client for TLS_PSK_WITH_AES_128_CCM_8 and TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8
 * (raw public keys or X.509). Call start() once, then drive it. The server's raw public key
 * or certificate is checked through a `verify-peer` event answered with resolvePeer().
 */
export class ClientConnection extends DtlsConnection {
  private st: ClientState = 'idle';
  private hello: Hello | undefined;
  private ctx: Context | undefined;
  private readonly suites: number[];

  constructor(cfg: ConnectionConfig) {
    super(cfg);
    this.suites = clientSuites(cfg);
    if (this.suites.length === 0) throw new DtlsError('INVALID_ARGUMENT', 'a client needs a psk, or trusted server keys for ECDHE');
  }

  /** Sends the first ClientHello (flight 1). */
  start(now: number): void {
    if (this.st !== 'idle') return;
    this.now = now;
    this.reassembler = new Reassembler(0, this.cfg.maxHandshakeBytes);
    this.sendHello(
      {
        clientVersion: DTLS_1_2,
        random: this.cfg.crypto.random(32),
        sessionId: new Uint8Array(0),
        cookie: new Uint8Array(0),
        cipherSuites: this.suites,
        compressionMethods: new Uint8Array([0]),
        extensions: clientHelloExtensions(this.cfg, this.suites),
      },
      0,
    );
  }

  /** Answer to a `verify-peer`: whether the server's raw public key or certificate is trusted. */
  resolvePeer(now: number, verdict: PeerVerdict): void {
    const ctx = this.ctx;
    if (this.st !== 'verifying_server_certificate' || !ctx || this.ended()) return;
    this.now = now;
    if (!verdict.ok) return this.fail(verdict.error);
    try {
      ctx.serverKey = peerPublicKey(this.cfg, verdict.spki);
    } catch (e) {
      return this.fail(e as DtlsError);
    }
    ctx.peer = verdict.identity;
    this.st = 'expect_server_key_exchange';
    this.resume();
  }

  private sendHello(hello: ClientHello, verifyRequests: number): void {
    const body = encodeClientHello(hello);
    const item = this.handshakeItem(HandshakeType.client_hello, body, 0);
    this.hello = { hello, body, seq: item.kind === 'handshake' ? item.messageSeq : 0, verifyRequests };
    this.st = 'expect_server_hello';
    this.sendFlight([item], true);
  }

  protected handleMessage(m: HandshakeMessage): void {
    if (this.st === 'expect_server_hello') return this.serverHello(m);
    const ctx = this.ctx;
    if (!ctx) throw new DtlsError('INTERNAL', 'no handshake context');
    const ecdhe = ctx.suite === CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8;
    switch (this.st) {
      case 'expect_server_certificate': {
        expectMessage(m, HandshakeType.certificate);
        const cert = decodeCertificate(m.body, ctx.serverCertificateType);
        ctx.transcript.add(m.msgType, m.messageSeq, m.body);
        if (cert.type === CertificateType.X509 && cert.chain.length === 0) throw new DtlsError('BAD_CERTIFICATE', 'the server sent no certificate');
        this.st = 'verifying_server_certificate';
        this.paused = true;
        this.emit({ type: 'verify-peer', credential: cert.type === CertificateType.RawPublicKey ? { kind: 'rpk', spki: cert.spki.slice() } : { kind: 'x509', chain: cert.chain.map((c) => c.slice()) } });
        return;
      }
      case 'expect_server_key_exchange':
        if (ecdhe) {
          expectMessage(m, HandshakeType.server_key_exchange);
          ctx.serverPoint = readServerKeyExchange(this.cfg.crypto, ctx.serverKey!, ctx.clientRandom, ctx.serverRandom, m.body).slice();
          ctx.transcript.add(m.msgType, m.messageSeq, m.body);
          this.st = 'expect_certificate_request';
          return;
        }
        if (m.msgType === HandshakeType.server_key_exchange) {
          expectMessage(m, HandshakeType.server_key_exchange);
          ctx.pskHint = decodePskIdentity(m.body, 0xffff, 'psk_identity_hint').slice();
          ctx.transcript.add(m.msgType, m.messageSeq, m.body);
          this.st = 'expect_server_hello_done';
          return;
        }
        return this.serverHelloDone(m, ctx);
      case 'expect_certificate_request':
        if (m.msgType === HandshakeType.certificate_request) {
          expectMessage(m, HandshakeType.certificate_request);
          const cr = decodeCertificateRequest(m.body);
          if (!cr.certificateTypes.includes(CLIENT_CERTIFICATE_TYPE_ECDSA_SIGN) || !cr.signatureAlgorithms.includes(ECDSA_SECP256R1_SHA256)) {
            throw new DtlsError('HANDSHAKE_FAILURE', 'the server asks for a client certificate type we cannot provide');
          }
          ctx.transcript.add(m.msgType, m.messageSeq, m.body);
          ctx.certificateRequested = true;
          this.st = 'expect_server_hello_done';
          return;
        }
        return this.serverHelloDone(m, ctx);
      case 'expect_server_hello_done':
        return this.serverHelloDone(m, ctx);
      case 'expect_finished': {
        expectMessage(m, HandshakeType.finished, 1);
        const got = decodeFinished(m.body);
        const want = computeVerifyData(this.cfg.crypto, ctx.master!, 'server', ctx.transcript.hash());
        if (!ctEqual(got, want)) throw new DtlsError('DECRYPT_ERROR', 'server Finished verify_data mismatch');
        this.st = 'done';
        this.ctx = undefined;
        this.becomeConnected({ cipherSuite: ctx.suite, identity: ctx.peer, peerIdentity: identityBytes(ctx.peer), extendedMasterSecret: ctx.extendedMasterSecret }, false);
        return;
      }
      default:
        throw new DtlsError('UNEXPECTED_MESSAGE', `unexpected handshake message ${m.msgType} in state ${this.st}`);
    }
  }

  private serverHello(m: HandshakeMessage): void {
    const h = this.hello!;
    if (m.msgType === HandshakeType.hello_verify_request && m.epoch === 0) {
      const hvr = decodeHelloVerifyRequest(m.body);
      if (h.verifyRequests >= MAX_HELLO_VERIFY_REQUESTS) throw new DtlsError('UNEXPECTED_MESSAGE', 'too many HelloVerifyRequests');
      // RFC 6347 §4.2.1: the same parameters again, now with the cookie.
      this.sendHello({ ...h.hello, cookie: hvr.cookie.slice() }, h.verifyRequests + 1);
      return;
    }
    expectMessage(m, HandshakeType.server_hello);
    const sh = decodeServerHello(m.body);
    if (sh.serverVersion !== DTLS_1_2) throw new DtlsError('PROTOCOL_VERSION', `server chose version 0x${sh.serverVersion.toString(16)}`);
    if (!this.suites.includes(sh.cipherSuite)) throw new DtlsError('ILLEGAL_PARAMETER', `server chose cipher suite 0x${sh.cipherSuite.toString(16)} that was not offered`);
    if (sh.compressionMethod !== 0) throw new DtlsError('ILLEGAL_PARAMETER', 'server chose a compression method');
    const agreed = checkServerHelloExtensions(sh.extensions, h.hello.extensions as Extension[]);
    if (!agreed.extendedMasterSecret && this.cfg.requireExtendedMasterSecret) {
      throw new DtlsError('HANDSHAKE_FAILURE', 'server does not support extended_master_secret (RFC 7627)');
    }
    const ecdhe = sh.cipherSuite === CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8;
    // Keep the messages when we may have to sign them in a CertificateVerify.
    const transcript = new Transcript(this.cfg.crypto, ecdhe && !!this.cfg.ecdhe);
    transcript.add(HandshakeType.client_hello, h.seq, h.body);
    transcript.add(m.msgType, m.messageSeq, m.body);
    this.ctx = {
      suite: sh.cipherSuite,
      transcript,
      clientRandom: h.hello.random,
      serverRandom: sh.random.slice(),
      extendedMasterSecret: agreed.extendedMasterSecret,
      serverCertificateType: agreed.serverCertificateType,
      clientCertificateType: agreed.clientCertificateType,
      peer: { kind: 'anonymous' },
      certificateRequested: false,
    };
    this.hello = undefined;
    this.st = ecdhe ? 'expect_server_certificate' : 'expect_server_key_exchange';
  }

  private serverHelloDone(m: HandshakeMessage, ctx: Context): void {
    expectMessage(m, HandshakeType.server_hello_done);
    if (m.body.length !== 0) throw new DtlsError('DECODE_ERROR', 'ServerHelloDone must be empty');
    ctx.transcript.add(m.msgType, m.messageSeq, m.body);
    const c = this.cfg.crypto;
    const flight: FlightItem[] = [];
    const add = (type: number, body: Uint8Array, epoch = 0) => {
      const it = this.handshakeItem(type, body, epoch);
      flight.push(it);
      if (it.kind === 'handshake') ctx.transcript.add(it.msgType, it.messageSeq, it.body);
    };

    let pms: Uint8Array;
    let signs = false;
    if (ctx.suite === CipherSuite.TLS_PSK_WITH_AES_128_CCM_8) {
      const psk = this.choosePsk(ctx.pskHint);
      ctx.peer = { kind: 'psk', identity: psk.identity };
      add(HandshakeType.client_key_exchange, encodePskIdentity(psk.identity));
      pms = pskPremasterSecret(psk.key);
    } else {
      if (ctx.certificateRequested) {
        const own = this.cfg.ecdhe;
        if (ctx.clientCertificateType === CertificateType.RawPublicKey && own?.rawPublicKey) {
          add(HandshakeType.certificate, encodeCertificate({ type: CertificateType.RawPublicKey, spki: own.key.publicKey.spki }));
          signs = true;
        } else {
          const chain = own?.certificateChain ?? [];
          add(HandshakeType.certificate, encodeCertificate({ type: CertificateType.X509, chain }));
          signs = chain.length > 0;
        }
      }
      const ephemeral = c.p256.generateEcdh();
      add(HandshakeType.client_key_exchange, encodeClientEcdhKeyExchange(ephemeral.publicKey));
      pms = ecdhPremaster(ephemeral, ctx.serverPoint!);
    }
    const sessionHash = ctx.extendedMasterSecret ? ctx.transcript.hash() : undefined;
    if (signs) {
      const signature = c.p256.sign(this.cfg.ecdhe!.key, ctx.transcript.messages());
      add(HandshakeType.certificate_verify, encodeCertificateVerify({ algorithm: ECDSA_SECP256R1_SHA256, signature }));
    }
    ctx.transcript.dropMessages();
    const master = deriveMasterSecret(c, pms, ctx.clientRandom, ctx.serverRandom, sessionHash);
    pms.fill(0);
    this.cfg.keyLog?.(keyLogLine(ctx.clientRandom, master));
    const kb = deriveKeyBlock(c, master, ctx.clientRandom, ctx.serverRandom);
    this.writeKeys = kb.client;
    this.readKeys = kb.server;
    ctx.master = master;
    flight.push({ kind: 'change_cipher_spec', epoch: 0 });
    add(HandshakeType.finished, computeVerifyData(c, master, 'client', ctx.transcript.hash()), 1);
    this.st = 'expect_change_cipher_spec';
    this.sendFlight(flight, true);
  }

  private choosePsk(hint: Uint8Array | undefined): ClientPsk {
    const opt = this.cfg.psk;
    const psk = typeof opt === 'function' ? opt(hint) : opt;
    if (!psk) throw new DtlsError('HANDSHAKE_FAILURE', 'no PSK for the server\'s identity hint');
    checkPsk(psk);
    return psk;
  }

  protected handleChangeCipherSpec(): boolean {
    if (this.st !== 'expect_change_cipher_spec') return false;
    this.st = 'expect_finished';
    this.activateReadEpoch();
    return true;
  }
}

import { ctEqual } from '../../bytes/util.js';
import type { EcdhKeyPair, P256PublicKey } from '../../crypto/provider.js';
import { MAX_PSK_KEY, type ConnectionConfig } from '../config.js';
import { DtlsConnection, expectMessage } from '../connection.js';
import { DtlsError } from '../errors.js';
import { identityBytes } from '../events.js';
import type { PeerIdentity } from '../keystore.js';
import { Reassembler, type HandshakeMessage } from '../record/reassembler.js';
import type { PeerVerdict } from '../trust.js';
import { decodeCertificate, encodeCertificate } from '../wire/certificate.js';
import { CLIENT_CERTIFICATE_TYPE_ECDSA_SIGN, encodeCertificateRequest } from '../wire/certificate-request.js';
import { decodeClientHello } from '../wire/client-hello.js';
import { CipherSuite, DTLS_1_2, HandshakeType } from '../wire/constants.js';
import { CertificateType, ECDSA_SECP256R1_SHA256 } from '../wire/ec-extensions.js';
import { decodeCertificateVerify, decodeClientEcdhKeyExchange } from '../wire/ecdh-key-exchange.js';
import { decodeFinished } from '../wire/finished.js';
import { decodePskIdentity, encodePskIdentity, pskPremasterSecret } from '../wire/psk-key-exchange.js';
import { encodeServerHello } from '../wire/server-hello.js';
import { checkAlgorithm, ecdhPremaster, makeServerKeyExchange, peerPublicKey } from './ecdhe.js';
import type { FlightItem } from './flights.js';
import { computeVerifyData, deriveKeyBlock, deriveMasterSecret, keyLogLine } from './key-schedule.js';
import { answerRecordSize, chooseServerParameters } from './negotiation.js';
import { Transcript } from './transcript.js';

/** What the server waits for next. */
type ServerState =
  | 'expect_client_hello'
  | 'expect_client_certificate'
  | 'verifying_client_certificate'
  | 'expect_client_key_exchange'
  | 'awaiting_psk'
  | 'expect_certificate_verify'
  | 'expect_change_cipher_spec'
  | 'expect_finished'
  | 'done';

/** Handshake context, alive only during the handshake. */
interface Context {
  suite: number;
  transcript: Transcript;
  clientRandom: Uint8Array;
  serverRandom: Uint8Array;
  extendedMasterSecret: boolean;
  ephemeral?: EcdhKeyPair;
  /** Type of the client Certificate we asked for (undefined: no CertificateRequest). */
  clientCertificateType?: number;
  peer: PeerIdentity;
  peerKey?: P256PublicKey;
  sessionHash?: Uint8Array;
  master?: Uint8Array;
}

/**
 * DTLS 1.2 server connection for one peer: TLS_PSK_WITH_AES_128_CCM_8 and
 * TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (raw public keys or X.509, optional client
 * authentication). The endpoint creates it only for a ClientHello whose cookie verified
 * (RFC 6347 §4.2.1) and passes that datagram to handleDatagram(). Key lookups are events
 * (`psk-request`, `verify-peer`) answered with providePsk()/resolvePeer(), so they may be
 * asynchronous.
 */
export class ServerConnection extends DtlsConnection {
  private st: ServerState = 'expect_client_hello';
  private ctx: Context | undefined;
  /** The ClientHello.random this connection serves (to tell a retransmission from a new handshake). */
  clientRandom: Uint8Array | undefined;

  constructor(
    cfg: ConnectionConfig,
    firstRecordSeq: number,
    helloSeq: number,
    /** Whether a PSK lookup exists (otherwise the PSK suite is not chosen). */
    private readonly hasPsk = true,
  ) {
    super(cfg);
    this.reassembler = new Reassembler(helloSeq, cfg.maxHandshakeBytes);
    this.nextSendSeq = helloSeq;
    this.startWriteSequence(firstRecordSeq);
  }

  /** Answer to a `psk-request`: the key, or undefined for an unknown identity. */
  providePsk(now: number, key: Uint8Array | undefined): void {
    const ctx = this.ctx;
    if (this.st !== 'awaiting_psk' || !ctx || this.ended()) return;
    this.now = now;
    // An unknown identity continues with a random key, so that on the wire it looks
    // exactly like a wrong key: the client's Finished fails authentication (DESIGN.md).
    const known = !!key && key.length > 0 && key.length <= MAX_PSK_KEY;
    const pms = pskPremasterSecret(known ? key : this.cfg.crypto.random(16));
    this.deriveKeys(ctx, pms, known);
    this.st = 'expect_change_cipher_spec';
    this.resume();
  }

  /** Answer to a `verify-peer`: whether the client's raw public key or certificate is trusted. */
  resolvePeer(now: number, verdict: PeerVerdict): void {
    const ctx = this.ctx;
    if (this.st !== 'verifying_client_certificate' || !ctx || this.ended()) return;
    this.now = now;
    if (!verdict.ok) {
      this.fail(verdict.error);
      return;
    }
    try {
      ctx.peerKey = peerPublicKey(this.cfg, verdict.spki);
    } catch (e) {
      this.fail(e as DtlsError);
      return;
    }
    ctx.peer = verdict.identity;
    this.st = 'expect_client_key_exchange';
    this.resume();
  }

  protected handleMessage(m: HandshakeMessage): void {
    const ctx = this.ctx;
    if (this.st === 'expect_client_hello') return this.clientHello(m);
    if (!ctx) throw new DtlsError('INTERNAL', 'no handshake context');
    switch (this.st) {
      case 'expect_client_certificate': {
        expectMessage(m, HandshakeType.certificate);
        const cert = decodeCertificate(m.body, ctx.clientCertificateType!);
        ctx.transcript.add(m.msgType, m.messageSeq, m.body);
        if (cert.type === CertificateType.X509 && cert.chain.length === 0) {
          if (this.cfg.clientAuth === 'required') throw new DtlsError('CLIENT_AUTH_REQUIRED', 'the client sent no certificate');
          this.st = 'expect_client_key_exchange';
          return;
        }
        this.st = 'verifying_client_certificate';
        this.paused = true;
        this.emit({ type: 'verify-peer', credential: cert.type === CertificateType.RawPublicKey ? { kind: 'rpk', spki: cert.spki.slice() } : { kind: 'x509', chain: cert.chain.map((c) => c.slice()) } });
        return;
      }
      case 'expect_client_key_exchange': {
        expectMessage(m, HandshakeType.client_key_exchange);
        if (ctx.suite === CipherSuite.TLS_PSK_WITH_AES_128_CCM_8) {
          const identity = decodePskIdentity(m.body, this.cfg.maxIdentityLength, 'psk_identity').slice();
          ctx.transcript.add(m.msgType, m.messageSeq, m.body);
          if (ctx.extendedMasterSecret) ctx.sessionHash = ctx.transcript.hash();
          ctx.peer = { kind: 'psk', identity };
          this.st = 'awaiting_psk';
          this.paused = true;
          this.emit({ type: 'psk-request', identity });
          return;
        }
        const point = decodeClientEcdhKeyExchange(m.body);
        ctx.transcript.add(m.msgType, m.messageSeq, m.body);
        if (ctx.extendedMasterSecret) ctx.sessionHash = ctx.transcript.hash();
        this.deriveKeys(ctx, ecdhPremaster(ctx.ephemeral!, point), true);
        ctx.ephemeral = undefined;
        this.st = ctx.peerKey ? 'expect_certificate_verify' : 'expect_change_cipher_spec';
        return;
      }
      case 'expect_certificate_verify': {
        expectMessage(m, HandshakeType.certificate_verify);
        const sig = decodeCertificateVerify(m.body);
        checkAlgorithm(sig);
        if (!this.cfg.crypto.p256.verify(ctx.peerKey!, ctx.transcript.messages(), sig.signature)) {
          throw new DtlsError('BAD_SIGNATURE', 'CertificateVerify signature does not verify');
        }
        ctx.transcript.add(m.msgType, m.messageSeq, m.body);
        ctx.transcript.dropMessages();
        this.st = 'expect_change_cipher_spec';
        return;
      }
      case 'expect_finished': {
        expectMessage(m, HandshakeType.finished, 1);
        const got = decodeFinished(m.body);
        const c = this.cfg.crypto;
        const want = computeVerifyData(c, ctx.master!, 'client', ctx.transcript.hash());
        if (!ctEqual(got, want)) throw new DtlsError('DECRYPT_ERROR', 'client Finished verify_data mismatch');
        ctx.transcript.add(m.msgType, m.messageSeq, m.body);
        const verify = computeVerifyData(c, ctx.master!, 'server', ctx.transcript.hash());
        this.st = 'done';
        this.ctx = undefined;
        this.sendFlight([{ kind: 'change_cipher_spec', epoch: 0 }, this.handshakeItem(HandshakeType.finished, verify, 1)], false);
        // The server sends the last flight: it keeps it to answer a repeated client flight.
        this.becomeConnected({ cipherSuite: ctx.suite, identity: ctx.peer, peerIdentity: identityBytes(ctx.peer), extendedMasterSecret: ctx.extendedMasterSecret }, true);
        return;
      }
      default:
        throw new DtlsError('UNEXPECTED_MESSAGE', `unexpected handshake message ${m.msgType} in state ${this.st}`);
    }
  }

  private clientHello(m: HandshakeMessage): void {
    expectMessage(m, HandshakeType.client_hello);
    const ch = decodeClientHello(m.body);
    // DTLS versions count down: 0xfefd (1.2) is "newer" than 0xfeff (1.0).
    if (ch.clientVersion > DTLS_1_2) throw new DtlsError('PROTOCOL_VERSION', `client offers only version 0x${ch.clientVersion.toString(16)}`);
    if (!ch.compressionMethods.includes(0)) throw new DtlsError('HANDSHAKE_FAILURE', 'the null compression method is not offered');
    const choice = chooseServerParameters(this.cfg, ch.cipherSuites, ch.extensions, this.hasPsk);
    const size = answerRecordSize(this.cfg, ch.extensions);
    choice.extensions.push(...size.extensions);
    this.sendLimit = size.sendLimit;
    this.receiveLimit = size.receiveLimit;
    this.clientRandom = ch.random.slice();
    const ecdhe = choice.suite === CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8;
    const transcript = new Transcript(this.cfg.crypto, ecdhe && choice.clientCertificateType !== undefined);
    transcript.add(m.msgType, m.messageSeq, m.body);

    const serverRandom = this.cfg.crypto.random(32);
    const ctx: Context = {
      suite: choice.suite,
      transcript,
      clientRandom: this.clientRandom,
      serverRandom,
      extendedMasterSecret: choice.extendedMasterSecret,
      peer: { kind: 'anonymous' },
    };
    const flight: FlightItem[] = [];
    const add = (type: number, body: Uint8Array) => {
      const it = this.handshakeItem(type, body, 0);
      flight.push(it);
      if (it.kind === 'handshake') transcript.add(it.msgType, it.messageSeq, it.body);
    };
    add(
      HandshakeType.server_hello,
      encodeServerHello({ serverVersion: DTLS_1_2, random: serverRandom, sessionId: new Uint8Array(0), cipherSuite: choice.suite, compressionMethod: 0, extensions: choice.extensions }),
    );
    if (ecdhe) {
      const own = this.cfg.ecdhe!;
      add(
        HandshakeType.certificate,
        encodeCertificate(
          choice.serverCertificateType === CertificateType.RawPublicKey
            ? { type: CertificateType.RawPublicKey, spki: own.key.publicKey.spki }
            : { type: CertificateType.X509, chain: own.certificateChain ?? [] },
        ),
      );
      const ske = makeServerKeyExchange(this.cfg.crypto, own.key, ctx.clientRandom, serverRandom);
      ctx.ephemeral = ske.ephemeral;
      add(HandshakeType.server_key_exchange, ske.body);
      if (choice.clientCertificateType !== undefined) {
        ctx.clientCertificateType = choice.clientCertificateType;
        add(
          HandshakeType.certificate_request,
          encodeCertificateRequest({ certificateTypes: [CLIENT_CERTIFICATE_TYPE_ECDSA_SIGN], signatureAlgorithms: [ECDSA_SECP256R1_SHA256], certificateAuthorities: [] }),
        );
      }
    } else if (this.cfg.pskHint) {
      add(HandshakeType.server_key_exchange, encodePskIdentity(this.cfg.pskHint));
    }
    add(HandshakeType.server_hello_done, new Uint8Array(0));
    this.ctx = ctx;
    this.st = ctx.clientCertificateType !== undefined ? 'expect_client_certificate' : 'expect_client_key_exchange';
    this.sendFlight(flight, true);
  }

  private deriveKeys(ctx: Context, pms: Uint8Array, log: boolean): void {
    const c = this.cfg.crypto;
    const master = deriveMasterSecret(c, pms, ctx.clientRandom, ctx.serverRandom, ctx.sessionHash);
    pms.fill(0);
    if (log) this.cfg.keyLog?.(keyLogLine(ctx.clientRandom, master));
    const kb = deriveKeyBlock(c, master, ctx.clientRandom, ctx.serverRandom);
    this.readKeys = kb.client;
    this.writeKeys = kb.server;
    ctx.master = master;
  }

  protected handleChangeCipherSpec(): boolean {
    if (this.st !== 'expect_change_cipher_spec') return false;
    this.st = 'expect_finished';
    this.activateReadEpoch();
    return true;
  }
}

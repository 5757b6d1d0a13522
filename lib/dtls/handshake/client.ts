import type { ConnectionConfig } from '../config.js';
import { expectMessage } from '../connection.js';
import { DtlsError } from '../errors.js';
import type { HandshakeMessage } from '../record/reassembler.js';
import type { PeerVerdict } from '../trust.js';
import { decodeCertificate, encodeCertificate } from '../wire/certificate.js';
import { CLIENT_CERTIFICATE_TYPE_ECDSA_SIGN, decodeCertificateRequest } from '../wire/certificate-request.js';
import { CipherSuite, HandshakeType } from '../wire/constants.js';
import { CertificateType, ECDSA_SECP256R1_SHA256 } from '../wire/ec-extensions.js';
import { encodeCertificateVerify, encodeClientEcdhKeyExchange } from '../wire/ecdh-key-exchange.js';
import type { Extension } from '../wire/extensions.js';
import type { ServerHello } from '../wire/server-hello.js';
import { PskClientConnection, type AddMessage, type ClientContext, type ClientState } from './client-psk.js';
import { ecdhPremaster, peerPublicKey, readServerKeyExchange } from './ecdhe.js';
import { chosenCertificateTypes, ecdheHelloExtensions } from './negotiation.js';

const ECDHE = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8;

/**
 * The full DTLS 1.2 client: TLS_PSK_WITH_AES_128_CCM_8 (from PskClientConnection) and
 * TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 with raw public keys (RFC 7250) or X.509. The server's
 * raw public key or certificate is checked through a `verify-peer` event answered with
 * resolvePeer(), so trust decisions may be asynchronous.
 */
export class ClientConnection extends PskClientConnection {
  constructor(cfg: ConnectionConfig) {
    super(cfg);
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

  protected override offeredSuites(): number[] {
    // ECDHE needs a way to judge the server; PSK needs a key
    return this.cfg.suites.filter((s) => (s === ECDHE ? this.cfg.acceptPeerCertificateTypes.length > 0 : s === CipherSuite.TLS_PSK_WITH_AES_128_CCM_8 && !!this.cfg.psk));
  }

  protected override helloExtensions(suites: number[]): Extension[] {
    const exts = super.helloExtensions(suites);
    return suites.includes(ECDHE) ? [...exts, ...ecdheHelloExtensions(this.cfg)] : exts;
  }

  protected override startSuite(ctx: ClientContext, sh: ServerHello, offered: Extension[]): ClientState {
    const types = chosenCertificateTypes(sh.extensions, offered);
    ctx.serverCertificateType = types.serverCertificateType;
    ctx.clientCertificateType = types.clientCertificateType;
    ctx.certificateRequested = false;
    return 'expect_server_certificate';
  }

  protected override handleSuiteMessage(m: HandshakeMessage, ctx: ClientContext): void {
    switch (this.st) {
      case 'expect_server_certificate': {
        expectMessage(m, HandshakeType.certificate);
        const cert = decodeCertificate(m.body, ctx.serverCertificateType!);
        ctx.transcript.add(m.msgType, m.messageSeq, m.body);
        if (cert.type === CertificateType.X509 && cert.chain.length === 0) throw new DtlsError('BAD_CERTIFICATE', 'the server sent no certificate');
        this.st = 'verifying_server_certificate';
        this.paused = true;
        this.emit({ type: 'verify-peer', credential: cert.type === CertificateType.RawPublicKey ? { kind: 'rpk', spki: cert.spki.slice() } : { kind: 'x509', chain: cert.chain.map((c) => c.slice()) } });
        return;
      }
      case 'expect_server_key_exchange':
        expectMessage(m, HandshakeType.server_key_exchange);
        ctx.serverPoint = readServerKeyExchange(this.cfg.crypto, ctx.serverKey!, ctx.clientRandom, ctx.serverRandom, m.body).slice();
        ctx.transcript.add(m.msgType, m.messageSeq, m.body);
        this.st = 'expect_certificate_request';
        return;
      case 'expect_certificate_request':
        if (m.msgType !== HandshakeType.certificate_request) return this.serverHelloDone(m, ctx);
        {
          expectMessage(m, HandshakeType.certificate_request);
          const cr = decodeCertificateRequest(m.body);
          if (!cr.certificateTypes.includes(CLIENT_CERTIFICATE_TYPE_ECDSA_SIGN) || !cr.signatureAlgorithms.includes(ECDSA_SECP256R1_SHA256)) {
            throw new DtlsError('HANDSHAKE_FAILURE', 'the server asks for a client certificate type we cannot provide');
          }
          ctx.transcript.add(m.msgType, m.messageSeq, m.body);
          ctx.certificateRequested = true;
          this.st = 'expect_server_hello_done';
        }
        return;
      default:
        super.handleSuiteMessage(m, ctx);
    }
  }

  protected override suiteKeyExchange(ctx: ClientContext, add: AddMessage): { pms: Uint8Array; signs: boolean } {
    let signs = false;
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
    const ephemeral = this.cfg.crypto.p256.generateEcdh();
    add(HandshakeType.client_key_exchange, encodeClientEcdhKeyExchange(ephemeral.publicKey));
    return { pms: ecdhPremaster(ephemeral, ctx.serverPoint!), signs };
  }

  protected override certificateVerify(ctx: ClientContext): Uint8Array {
    const signature = this.cfg.crypto.p256.sign(this.cfg.ecdhe!.key, ctx.transcript.messages());
    return encodeCertificateVerify({ algorithm: ECDSA_SECP256R1_SHA256, signature });
  }
}

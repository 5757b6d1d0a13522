import type { P256PublicKey } from '../../crypto/provider.js';
import type { ConnectionConfig } from '../config.js';
import { DtlsError } from '../errors.js';
import type { PeerIdentity } from '../keystore.js';
import type { PeerVerdict } from '../trust.js';
import { decodeCertificate, encodeCertificate } from '../wire/certificate.js';
import { CLIENT_CERTIFICATE_TYPE_ECDSA_SIGN, decodeCertificateRequest } from '../wire/certificate-request.js';
import { HandshakeType } from '../wire/constants.js';
import { CertificateType, ECDSA_SECP256R1_SHA256 } from '../wire/ec-extensions.js';
import { encodeCertificateVerify, encodeClientEcdhKeyExchange } from '../wire/ecdh-key-exchange.js';
import type { Extension } from '../wire/extensions.js';
import type { ServerHello } from '../wire/server-hello.js';
import { ExpectServerHelloDone, type ClientKeyExchange, type EcdheClientSupport } from './client-states.js';
import { ecdhPremaster, peerPublicKey, readServerKeyExchange } from './ecdhe.js';
import { chosenCertificateTypes, ecdheHelloExtensions } from './negotiation.js';
import type { HandshakeMessage } from './reassembler.js';
import { expectMessage, type Handshake, type HandshakeState, type Hellos } from './state.js';
import type { Transcript } from './transcript.js';

/**
 * The client's TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 states (RFC 8422 §2, RFC 7250): the server's
 * Certificate (a raw public key or an X.509 chain, judged by the application through a
 * `verify-peer` event), its signed ServerKeyExchange, an optional CertificateRequest.
 */
export const ECDHE_CLIENT: EcdheClientSupport = {
  // ECDHE needs a way to judge the server
  canOffer: (cfg: ConnectionConfig) => cfg.acceptPeerCertificateTypes.length > 0,
  helloExtensions: (cfg: ConnectionConfig) => ecdheHelloExtensions(cfg),
  afterServerHello(_hs: Handshake, hellos: Hellos, transcript: Transcript, sh: ServerHello, offered: readonly Extension[]): HandshakeState {
    return new ExpectServerCertificate(hellos, transcript, chosenCertificateTypes(sh.extensions, offered));
  },
};

interface CertificateTypes {
  serverCertificateType: number;
  clientCertificateType: number;
}

/** Waits for the server's Certificate, then asks the application whether to trust it. */
class ExpectServerCertificate implements HandshakeState {
  readonly name = 'ExpectServerCertificate';
  constructor(
    private readonly hellos: Hellos,
    private readonly transcript: Transcript,
    private readonly types: CertificateTypes,
  ) {}

  handle(hs: Handshake, m: HandshakeMessage): HandshakeState {
    expectMessage(this, m, HandshakeType.certificate);
    const cert = decodeCertificate(m.body, this.types.serverCertificateType);
    this.transcript.add(m.msgType, m.messageSeq, m.body);
    if (cert.type === CertificateType.X509 && cert.chain.length === 0) throw new DtlsError('BAD_CERTIFICATE', 'the server sent no certificate');
    hs.emit({ type: 'verify-peer', credential: cert.type === CertificateType.RawPublicKey ? { kind: 'rpk', spki: cert.spki.slice() } : { kind: 'x509', chain: cert.chain.map((c) => c.slice()) } });
    return new VerifyingServerCertificate(this.hellos, this.transcript, this.types);
  }
}

/** The application judges the server's credential (resolvePeer); records wait meanwhile. */
class VerifyingServerCertificate implements HandshakeState {
  readonly name = 'VerifyingServerCertificate';
  readonly waiting = 'peer';
  constructor(
    private readonly hellos: Hellos,
    private readonly transcript: Transcript,
    private readonly types: CertificateTypes,
  ) {}

  handle(): never {
    throw new DtlsError('INTERNAL', 'a handshake message reached a waiting state');
  }

  resolvePeer(hs: Handshake, verdict: PeerVerdict): HandshakeState {
    if (!verdict.ok) throw verdict.error;
    const serverKey = peerPublicKey(hs.cfg, verdict.spki);
    return new ExpectServerKeyExchange(this.hellos, this.transcript, this.types, serverKey, verdict.identity);
  }
}

/** Waits for the ServerKeyExchange, signed with the key of the server's Certificate (RFC 8422 §5.4). */
class ExpectServerKeyExchange implements HandshakeState {
  readonly name = 'ExpectServerKeyExchange';
  constructor(
    private readonly hellos: Hellos,
    private readonly transcript: Transcript,
    private readonly types: CertificateTypes,
    private readonly serverKey: P256PublicKey,
    private readonly server: PeerIdentity,
  ) {}

  handle(hs: Handshake, m: HandshakeMessage): HandshakeState {
    expectMessage(this, m, HandshakeType.server_key_exchange);
    const point = readServerKeyExchange(hs.cfg.crypto, this.serverKey, this.hellos.clientRandom, this.hellos.serverRandom, m.body).slice();
    this.transcript.add(m.msgType, m.messageSeq, m.body);
    return new ExpectCertificateRequest(this.hellos, this.transcript, this.types, point, this.server);
  }
}

/** An optional CertificateRequest (RFC 5246 §7.4.4), else ServerHelloDone. */
class ExpectCertificateRequest implements HandshakeState {
  readonly name = 'ExpectCertificateRequest';
  constructor(
    private readonly hellos: Hellos,
    private readonly transcript: Transcript,
    private readonly types: CertificateTypes,
    private readonly serverPoint: Uint8Array,
    private readonly server: PeerIdentity,
  ) {}

  handle(hs: Handshake, m: HandshakeMessage): HandshakeState {
    if (m.msgType !== HandshakeType.certificate_request) {
      return new ExpectServerHelloDone(this.hellos, this.transcript, new EcdheKeyExchange(this.serverPoint, this.server, undefined)).handle(hs, m);
    }
    expectMessage(this, m, HandshakeType.certificate_request);
    const cr = decodeCertificateRequest(m.body);
    if (!cr.certificateTypes.includes(CLIENT_CERTIFICATE_TYPE_ECDSA_SIGN) || !cr.signatureAlgorithms.includes(ECDSA_SECP256R1_SHA256)) {
      throw new DtlsError('HANDSHAKE_FAILURE', 'the server asks for a client certificate type we cannot provide');
    }
    this.transcript.add(m.msgType, m.messageSeq, m.body);
    return new ExpectServerHelloDone(this.hellos, this.transcript, new EcdheKeyExchange(this.serverPoint, this.server, this.types.clientCertificateType));
  }
}

/**
 * ECDHE's part of the client's last flight: our Certificate when asked (a raw public key, an
 * X.509 chain, or an empty chain when we have none), the ephemeral point, and the signer of
 * the CertificateVerify when we presented a key.
 */
class EcdheKeyExchange implements ClientKeyExchange {
  constructor(
    private readonly serverPoint: Uint8Array,
    private readonly server: PeerIdentity,
    /** The certificate type the server asked for; undefined: no CertificateRequest. */
    private readonly requested: number | undefined,
  ) {}

  write(hs: Handshake, add: (type: number, body: Uint8Array) => void) {
    const cfg = hs.cfg;
    const own = cfg.ecdhe;
    let signs = false;
    if (this.requested !== undefined) {
      if (this.requested === CertificateType.RawPublicKey && own?.rawPublicKey) {
        add(HandshakeType.certificate, encodeCertificate({ type: CertificateType.RawPublicKey, spki: own.key.publicKey.spki }));
        signs = true;
      } else {
        const chain = own?.certificateChain ?? [];
        add(HandshakeType.certificate, encodeCertificate({ type: CertificateType.X509, chain }));
        signs = chain.length > 0;
      }
    }
    const ephemeral = cfg.crypto.p256.generateEcdh();
    add(HandshakeType.client_key_exchange, encodeClientEcdhKeyExchange(ephemeral.publicKey));
    const premaster = ecdhPremaster(ephemeral, this.serverPoint);
    if (!signs || !own) return { premaster, peer: this.server };
    const key = own.key;
    return {
      premaster,
      peer: this.server,
      certificateVerify: (messages: Uint8Array) => encodeCertificateVerify({ algorithm: ECDSA_SECP256R1_SHA256, signature: cfg.crypto.p256.sign(key, messages) }),
    };
  }
}

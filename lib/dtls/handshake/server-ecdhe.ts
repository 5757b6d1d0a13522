import type { EcdhKeyPair, P256PublicKey } from '../../crypto/provider.js';
import { DtlsError } from '../errors.js';
import type { PeerIdentity } from '../keystore.js';
import type { PeerVerdict } from '../trust.js';
import { decodeCertificate, encodeCertificate } from '../wire/certificate.js';
import { CLIENT_CERTIFICATE_TYPE_ECDSA_SIGN, encodeCertificateRequest } from '../wire/certificate-request.js';
import { HandshakeType } from '../wire/constants.js';
import { CertificateType, ECDSA_SECP256R1_SHA256 } from '../wire/ec-extensions.js';
import { decodeCertificateVerify, decodeClientEcdhKeyExchange } from '../wire/ecdh-key-exchange.js';
import { checkAlgorithm, ecdhPremaster, makeServerKeyExchange, peerPublicKey } from './ecdhe.js';
import { deriveSecrets } from './finish.js';
import { ResumableExpectChangeCipherSpec } from './finish-resumption.js';
import type { HandshakeMessage } from './reassembler.js';
import { expectMessage, type Handshake, type HandshakeState, type Hellos, type Secrets } from './state.js';
import type { Transcript } from './transcript.js';

/**
 * The server's TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 states (RFC 8422, RFC 7250): our
 * Certificate and signed ServerKeyExchange, an optional CertificateRequest, and the client's
 * Certificate (judged by the application through a `verify-peer` event), ClientKeyExchange
 * and CertificateVerify.
 */

/**
 * The ECDHE part of the server's first flight; returns the state that waits for the client.
 * `clientCertificateType`: the type to ask for in a CertificateRequest (undefined: none).
 */
export function ecdheServerFlight(
  hs: Handshake,
  hellos: Hellos,
  transcript: Transcript,
  add: (type: number, body: Uint8Array) => void,
  serverCertificateType: number,
  clientCertificateType: number | undefined,
): HandshakeState {
  const own = hs.cfg.ecdhe;
  if (!own) throw new DtlsError('INTERNAL', 'ECDHE chosen without own credentials');
  add(
    HandshakeType.certificate,
    encodeCertificate(
      serverCertificateType === CertificateType.RawPublicKey
        ? { type: CertificateType.RawPublicKey, spki: own.key.publicKey.spki }
        : { type: CertificateType.X509, chain: own.certificateChain ?? [] },
    ),
  );
  const ske = makeServerKeyExchange(hs.cfg.crypto, own.key, hellos.clientRandom, hellos.serverRandom);
  add(HandshakeType.server_key_exchange, ske.body);
  if (clientCertificateType === undefined) return new ExpectEcdhClientKeyExchange(hellos, transcript, ske.ephemeral, { kind: 'anonymous' }, undefined);
  add(
    HandshakeType.certificate_request,
    encodeCertificateRequest({ certificateTypes: [CLIENT_CERTIFICATE_TYPE_ECDSA_SIGN], signatureAlgorithms: [ECDSA_SECP256R1_SHA256], certificateAuthorities: [] }),
  );
  return new ExpectClientCertificate(hellos, transcript, ske.ephemeral, clientCertificateType);
}

/** Waits for the client's Certificate (we sent a CertificateRequest). */
class ExpectClientCertificate implements HandshakeState {
  readonly name = 'ExpectClientCertificate';
  constructor(
    private readonly hellos: Hellos,
    private readonly transcript: Transcript,
    private readonly ephemeral: EcdhKeyPair,
    private readonly certificateType: number,
  ) {}

  handle(hs: Handshake, m: HandshakeMessage): HandshakeState {
    expectMessage(this, m, HandshakeType.certificate);
    const cert = decodeCertificate(m.body, this.certificateType);
    this.transcript.add(m.msgType, m.messageSeq, m.body);
    if (cert.type === CertificateType.X509 && cert.chain.length === 0) {
      if (hs.cfg.clientAuth === 'required') throw new DtlsError('CLIENT_AUTH_REQUIRED', 'the client sent no certificate');
      return new ExpectEcdhClientKeyExchange(this.hellos, this.transcript, this.ephemeral, { kind: 'anonymous' }, undefined);
    }
    hs.emit({ type: 'verify-peer', credential: cert.type === CertificateType.RawPublicKey ? { kind: 'rpk', spki: cert.spki.slice() } : { kind: 'x509', chain: cert.chain.map((c) => c.slice()) } });
    return new VerifyingClientCertificate(this.hellos, this.transcript, this.ephemeral);
  }
}

/** The application judges the client's credential (resolvePeer); records wait meanwhile. */
class VerifyingClientCertificate implements HandshakeState {
  readonly name = 'VerifyingClientCertificate';
  readonly waiting = 'peer';
  constructor(
    private readonly hellos: Hellos,
    private readonly transcript: Transcript,
    private readonly ephemeral: EcdhKeyPair,
  ) {}

  handle(): never {
    throw new DtlsError('INTERNAL', 'a handshake message reached a waiting state');
  }

  resolvePeer(hs: Handshake, verdict: PeerVerdict): HandshakeState {
    if (!verdict.ok) throw verdict.error;
    return new ExpectEcdhClientKeyExchange(this.hellos, this.transcript, this.ephemeral, verdict.identity, peerPublicKey(hs.cfg, verdict.spki));
  }
}

/** Waits for the client's ephemeral point; derives the keys. */
class ExpectEcdhClientKeyExchange implements HandshakeState {
  readonly name = 'ExpectEcdhClientKeyExchange';
  constructor(
    private readonly hellos: Hellos,
    private readonly transcript: Transcript,
    private readonly ephemeral: EcdhKeyPair,
    private readonly client: PeerIdentity,
    /** The client's authenticated key: a CertificateVerify must follow. */
    private readonly clientKey: P256PublicKey | undefined,
  ) {}

  handle(hs: Handshake, m: HandshakeMessage): HandshakeState {
    expectMessage(this, m, HandshakeType.client_key_exchange);
    const point = decodeClientEcdhKeyExchange(m.body);
    const { hellos, transcript } = this;
    transcript.add(m.msgType, m.messageSeq, m.body);
    const sessionHash = hellos.extendedMasterSecret ? transcript.hash() : undefined;
    const secrets = deriveSecrets(hs, 'server', hellos, transcript, ecdhPremaster(this.ephemeral, point), sessionHash, this.client);
    return this.clientKey ? new ExpectCertificateVerify(secrets, this.clientKey) : new ResumableExpectChangeCipherSpec('server', secrets);
  }
}

/** Waits for the client's CertificateVerify: its signature over the handshake so far (RFC 5246 §7.4.8). */
class ExpectCertificateVerify implements HandshakeState {
  readonly name = 'ExpectCertificateVerify';
  constructor(
    private readonly secrets: Secrets,
    private readonly clientKey: P256PublicKey,
  ) {}

  handle(hs: Handshake, m: HandshakeMessage): HandshakeState {
    expectMessage(this, m, HandshakeType.certificate_verify);
    const sig = decodeCertificateVerify(m.body);
    checkAlgorithm(sig);
    const transcript = this.secrets.transcript;
    if (!hs.cfg.crypto.p256.verify(this.clientKey, transcript.messages(), sig.signature)) {
      throw new DtlsError('BAD_SIGNATURE', 'CertificateVerify signature does not verify');
    }
    transcript.add(m.msgType, m.messageSeq, m.body);
    transcript.dropMessages();
    return new ResumableExpectChangeCipherSpec('server', this.secrets);
  }
}

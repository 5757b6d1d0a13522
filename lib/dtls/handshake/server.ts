import { MAX_PSK_KEY, type ConnectionConfig } from '../config.js';
import { DtlsConnection } from '../connection.js';
import { DtlsError } from '../errors.js';
import { decodeClientHello } from '../wire/client-hello.js';
import { CipherSuite, DTLS_1_2, ExtensionType, HandshakeType } from '../wire/constants.js';
import { decodeConnectionId, encodeConnectionId } from '../wire/connection-id.js';
import { findExtension } from '../wire/extensions.js';
import { decodePskIdentity, encodePskIdentity, pskPremasterSecret } from '../wire/psk-key-exchange.js';
import { encodeServerHello } from '../wire/server-hello.js';
import { deriveSecrets, ExpectChangeCipherSpec } from './finish.js';
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
export class ServerConnection extends DtlsConnection {
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
  ) {
    super(cfg, new ExpectClientHello(hasPsk, connectionId), { messageSeq: helloSeq, recordSeq: firstRecordSeq });
  }
}

/** Waits for the (cookie-verified) ClientHello; answers with the server's first flight. */
class ExpectClientHello implements HandshakeState {
  readonly name = 'ExpectClientHello';
  constructor(
    private readonly hasPsk: boolean,
    private readonly connectionId: Uint8Array | undefined,
  ) {}

  handle(hs: Handshake, m: HandshakeMessage): HandshakeState {
    expectMessage(this, m, HandshakeType.client_hello);
    const cfg = hs.cfg;
    const ch = decodeClientHello(m.body);
    // DTLS versions count down: 0xfefd (1.2) is "newer" than 0xfeff (1.0).
    if (ch.clientVersion > DTLS_1_2) throw new DtlsError('PROTOCOL_VERSION', `client offers only version 0x${ch.clientVersion.toString(16)}`);
    if (!ch.compressionMethods.includes(0)) throw new DtlsError('HANDSHAKE_FAILURE', 'the null compression method is not offered');
    const choice = chooseServerParameters(cfg, ch.cipherSuites, ch.extensions, this.hasPsk);
    const size = answerRecordSize(cfg, ch.extensions);
    choice.extensions.push(...size.extensions);
    hs.records.sendLimit = size.sendLimit;
    hs.records.receiveLimit = size.receiveLimit;
    const ecdhe = choice.suite === CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8;
    // keep the messages when the client's CertificateVerify must be checked against them
    const transcript = new Transcript(cfg.crypto, ecdhe && choice.clientCertificateType !== undefined);
    transcript.add(m.msgType, m.messageSeq, m.body);
    // RFC 9146 §3: our CID goes in the client's records, the client's (possibly empty) in ours
    const offered = findExtension(ch.extensions, ExtensionType.connection_id);
    const connectionId = offered && this.connectionId ? { read: this.connectionId, write: decodeConnectionId(offered.data).slice() } : undefined;
    if (connectionId) {
      choice.extensions.push({ type: ExtensionType.connection_id, data: encodeConnectionId(connectionId.read) });
      hs.records.readCidLength = connectionId.read.length;
    }
    const hellos: Hellos = { suite: choice.suite, clientRandom: ch.random.slice(), serverRandom: cfg.crypto.random(32), extendedMasterSecret: choice.extendedMasterSecret, ...(connectionId ? { connectionId } : {}) };

    const flight: FlightItem[] = [];
    const add = (type: number, body: Uint8Array) => {
      const it = hs.message(type, body, 0);
      flight.push(it);
      transcript.add(it.msgType, it.messageSeq, it.body);
    };
    add(
      HandshakeType.server_hello,
      encodeServerHello({ serverVersion: DTLS_1_2, random: hellos.serverRandom, sessionId: new Uint8Array(0), cipherSuite: choice.suite, compressionMethod: 0, extensions: choice.extensions }),
    );
    let next: HandshakeState;
    if (ecdhe) {
      next = ecdheServerFlight(hs, hellos, transcript, add, choice.serverCertificateType, choice.clientCertificateType);
    } else {
      if (cfg.pskHint) add(HandshakeType.server_key_exchange, encodePskIdentity(cfg.pskHint));
      next = new ExpectPskClientKeyExchange(hellos, transcript);
    }
    add(HandshakeType.server_hello_done, new Uint8Array(0));
    hs.sendFlight(flight, true);
    return next;
  }
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
    return new ExpectChangeCipherSpec('server', secrets);
  }
}

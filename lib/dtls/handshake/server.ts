import { ctEqual } from '../../bytes/util.js';
import { MAX_PSK_KEY, type ConnectionConfig } from '../config.js';
import { DtlsConnection } from '../connection.js';
import { DtlsError } from '../errors.js';
import { Reassembler, type HandshakeMessage } from '../record/reassembler.js';
import { decodeClientHello } from '../wire/client-hello.js';
import { CipherSuite, DTLS_1_2, HandshakeType } from '../wire/constants.js';
import { decodeFinished } from '../wire/finished.js';
import { decodePskIdentity, encodePskIdentity, pskPremasterSecret } from '../wire/psk-key-exchange.js';
import { encodeServerHello } from '../wire/server-hello.js';
import type { FlightItem } from './flights.js';
import { computeVerifyData, deriveKeyBlock, deriveMasterSecret, keyLogLine } from './key-schedule.js';
import { readOffered, serverHelloExtensions, SUPPORTED_SUITES } from './negotiation.js';
import { Transcript } from './transcript.js';

/** The server's handshake states, each naming what it waits for. */
type ServerState =
  | { s: 'expect_client_hello' }
  | { s: 'expect_client_key_exchange'; ctx: Negotiated }
  | { s: 'awaiting_psk'; ctx: Negotiated; identity: Uint8Array; sessionHash: Uint8Array | undefined }
  | { s: 'expect_change_cipher_spec'; ctx: Keyed }
  | { s: 'expect_finished'; ctx: Keyed }
  | { s: 'done' };

interface Negotiated {
  transcript: Transcript;
  clientRandom: Uint8Array;
  serverRandom: Uint8Array;
  extendedMasterSecret: boolean;
}
interface Keyed {
  transcript: Transcript;
  master: Uint8Array;
  identity: Uint8Array;
  extendedMasterSecret: boolean;
}

/**
 * DTLS 1.2 server connection for one peer, TLS_PSK_WITH_AES_128_CCM_8. The endpoint creates
 * it only for a ClientHello whose cookie verified (RFC 6347 §4.2.1) and passes that datagram
 * to handleDatagram(). The PSK is asked for with a `psk-request` event and given with
 * providePsk(), so the lookup may be asynchronous.
 */
export class ServerConnection extends DtlsConnection {
  private st: ServerState = { s: 'expect_client_hello' };
  /** The ClientHello.random this connection serves (to tell a retransmission from a new handshake). */
  clientRandom: Uint8Array | undefined;

  constructor(cfg: ConnectionConfig, firstRecordSeq: number, helloSeq: number) {
    super(cfg);
    this.reassembler = new Reassembler(helloSeq, cfg.maxHandshakeBytes);
    this.nextSendSeq = helloSeq;
    this.startWriteSequence(firstRecordSeq);
  }

  /** Answer to a `psk-request`: the key, or undefined for an unknown identity. */
  providePsk(now: number, key: Uint8Array | undefined): void {
    const st = this.st;
    if (st.s !== 'awaiting_psk' || this.ended()) return;
    this.now = now;
    const { ctx } = st;
    // An unknown identity continues with a random key, so that on the wire it looks
    // exactly like a wrong key: the client's Finished fails authentication (DESIGN.md).
    const psk = key && key.length > 0 && key.length <= MAX_PSK_KEY ? key : this.cfg.crypto.random(16);
    const c = this.cfg.crypto;
    const pms = pskPremasterSecret(psk);
    const master = deriveMasterSecret(c, pms, ctx.clientRandom, ctx.serverRandom, st.sessionHash);
    pms.fill(0);
    if (key) this.cfg.keyLog?.(keyLogLine(ctx.clientRandom, master));
    const kb = deriveKeyBlock(c, master, ctx.clientRandom, ctx.serverRandom);
    this.readKeys = kb.client;
    this.writeKeys = kb.server;
    this.st = { s: 'expect_change_cipher_spec', ctx: { transcript: ctx.transcript, master, identity: st.identity, extendedMasterSecret: ctx.extendedMasterSecret } };
    this.resume();
  }

  protected handleMessage(m: HandshakeMessage): void {
    const st = this.st;
    switch (st.s) {
      case 'expect_client_hello':
        this.clientHello(m);
        return;
      case 'expect_client_key_exchange': {
        this.expect(m, HandshakeType.client_key_exchange, 0);
        const identity = decodePskIdentity(m.body, this.cfg.maxIdentityLength, 'psk_identity').slice();
        st.ctx.transcript.add(m.msgType, m.messageSeq, m.body);
        const sessionHash = st.ctx.extendedMasterSecret ? st.ctx.transcript.hash() : undefined;
        this.st = { s: 'awaiting_psk', ctx: st.ctx, identity, sessionHash };
        this.paused = true;
        this.emit({ type: 'psk-request', identity });
        return;
      }
      case 'expect_finished': {
        this.expect(m, HandshakeType.finished, 1);
        const got = decodeFinished(m.body);
        const c = this.cfg.crypto;
        const want = computeVerifyData(c, st.ctx.master, 'client', st.ctx.transcript.hash());
        if (!ctEqual(got, want)) throw new DtlsError('DECRYPT_ERROR', 'client Finished verify_data mismatch');
        st.ctx.transcript.add(m.msgType, m.messageSeq, m.body);
        const verify = computeVerifyData(c, st.ctx.master, 'server', st.ctx.transcript.hash());
        this.st = { s: 'done' };
        this.sendFlight([{ kind: 'change_cipher_spec', epoch: 0 }, this.handshakeItem(HandshakeType.finished, verify, 1)], false);
        // The server sends the last flight: it keeps it to answer a repeated client flight.
        this.becomeConnected(
          { cipherSuite: CipherSuite.TLS_PSK_WITH_AES_128_CCM_8, peerIdentity: st.ctx.identity, extendedMasterSecret: st.ctx.extendedMasterSecret },
          true,
        );
        return;
      }
      default:
        throw new DtlsError('UNEXPECTED_MESSAGE', `unexpected handshake message ${m.msgType} in state ${st.s}`);
    }
  }

  private clientHello(m: HandshakeMessage): void {
    this.expect(m, HandshakeType.client_hello, 0);
    const ch = decodeClientHello(m.body);
    // DTLS versions count down: 0xfefd (1.2) is "newer" than 0xfeff (1.0).
    if (ch.clientVersion > DTLS_1_2) throw new DtlsError('PROTOCOL_VERSION', `client offers only version 0x${ch.clientVersion.toString(16)}`);
    const suite = SUPPORTED_SUITES.find((s) => ch.cipherSuites.includes(s));
    if (suite === undefined) throw new DtlsError('HANDSHAKE_FAILURE', 'no cipher suite in common');
    if (!ch.compressionMethods.includes(0)) throw new DtlsError('HANDSHAKE_FAILURE', 'the null compression method is not offered');
    const offered = readOffered(ch.extensions, ch.cipherSuites);
    if (!offered.extendedMasterSecret && this.cfg.requireExtendedMasterSecret) {
      throw new DtlsError('HANDSHAKE_FAILURE', 'client does not offer extended_master_secret (RFC 7627)');
    }
    this.clientRandom = ch.random.slice();
    const transcript = new Transcript(this.cfg.crypto);
    transcript.add(m.msgType, m.messageSeq, m.body);

    const serverRandom = this.cfg.crypto.random(32);
    const flight: FlightItem[] = [];
    const sh = this.handshakeItem(
      HandshakeType.server_hello,
      encodeServerHello({
        serverVersion: DTLS_1_2,
        random: serverRandom,
        sessionId: new Uint8Array(0),
        cipherSuite: suite,
        compressionMethod: 0,
        extensions: serverHelloExtensions(offered),
      }),
      0,
    );
    flight.push(sh);
    if (this.cfg.pskHint) flight.push(this.handshakeItem(HandshakeType.server_key_exchange, encodePskIdentity(this.cfg.pskHint), 0));
    flight.push(this.handshakeItem(HandshakeType.server_hello_done, new Uint8Array(0), 0));
    for (const it of flight) if (it.kind === 'handshake') transcript.add(it.msgType, it.messageSeq, it.body);

    this.st = {
      s: 'expect_client_key_exchange',
      ctx: { transcript, clientRandom: this.clientRandom, serverRandom, extendedMasterSecret: offered.extendedMasterSecret },
    };
    this.sendFlight(flight, true);
  }

  protected handleChangeCipherSpec(): boolean {
    if (this.st.s !== 'expect_change_cipher_spec') return false;
    this.st = { s: 'expect_finished', ctx: this.st.ctx };
    this.activateReadEpoch();
    return true;
  }

  private expect(m: HandshakeMessage, type: number, epoch: number): void {
    if (m.msgType !== type || m.epoch !== epoch) {
      throw new DtlsError('UNEXPECTED_MESSAGE', `expected handshake message ${type} in epoch ${epoch}, got ${m.msgType} in epoch ${m.epoch}`);
    }
  }
}

import { ctEqual } from '../../bytes/util.js';
import { checkPsk, type ClientPsk, type ConnectionConfig } from '../config.js';
import { DtlsConnection } from '../connection.js';
import { DtlsError } from '../errors.js';
import type { HandshakeMessage } from '../record/reassembler.js';
import { encodeClientHello, type ClientHello } from '../wire/client-hello.js';
import { CipherSuite, DTLS_1_2, HandshakeType } from '../wire/constants.js';
import { decodeFinished } from '../wire/finished.js';
import { decodeHelloVerifyRequest } from '../wire/hello-verify-request.js';
import { decodePskIdentity, encodePskIdentity, pskPremasterSecret } from '../wire/psk-key-exchange.js';
import { decodeServerHello } from '../wire/server-hello.js';
import { Reassembler } from '../record/reassembler.js';
import { computeVerifyData, deriveKeyBlock, deriveMasterSecret, keyLogLine } from './key-schedule.js';
import { checkServerHelloExtensions, clientHelloExtensions } from './negotiation.js';
import { Transcript } from './transcript.js';

/** The client's handshake states, each naming what it waits for. */
type ClientState =
  | { s: 'idle' }
  | { s: 'expect_server_hello'; hello: ClientHello; helloBody: Uint8Array; helloSeq: number; verifyRequests: number }
  | { s: 'expect_server_key_exchange'; ctx: Negotiated }
  | { s: 'expect_server_hello_done'; ctx: Negotiated; hint: Uint8Array | undefined }
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

const MAX_HELLO_VERIFY_REQUESTS = 4;

/** DTLS 1.2 client, TLS_PSK_WITH_AES_128_CCM_8. Call start() once, then drive it. */
export class ClientConnection extends DtlsConnection {
  private st: ClientState = { s: 'idle' };

  constructor(cfg: ConnectionConfig) {
    super(cfg);
    if (!cfg.psk) throw new DtlsError('INVALID_ARGUMENT', 'a client needs a psk option');
  }

  /** Sends the first ClientHello (flight 1). */
  start(now: number): void {
    if (this.st.s !== 'idle') return;
    this.now = now;
    this.reassembler = new Reassembler(0, this.cfg.maxHandshakeBytes);
    const hello: ClientHello = {
      clientVersion: DTLS_1_2,
      random: this.cfg.crypto.random(32),
      sessionId: new Uint8Array(0),
      cookie: new Uint8Array(0),
      cipherSuites: [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8],
      compressionMethods: new Uint8Array([0]),
      extensions: clientHelloExtensions(),
    };
    this.sendHello(hello, 0);
  }

  private sendHello(hello: ClientHello, verifyRequests: number): void {
    const helloBody = encodeClientHello(hello);
    const item = this.handshakeItem(HandshakeType.client_hello, helloBody, 0);
    const helloSeq = item.kind === 'handshake' ? item.messageSeq : 0;
    this.st = { s: 'expect_server_hello', hello, helloBody, helloSeq, verifyRequests };
    this.sendFlight([item], true);
  }

  protected handleMessage(m: HandshakeMessage): void {
    const st = this.st;
    switch (st.s) {
      case 'expect_server_hello': {
        if (m.msgType === HandshakeType.hello_verify_request && m.epoch === 0) {
          const hvr = decodeHelloVerifyRequest(m.body);
          if (st.verifyRequests >= MAX_HELLO_VERIFY_REQUESTS) throw new DtlsError('UNEXPECTED_MESSAGE', 'too many HelloVerifyRequests');
          // RFC 6347 §4.2.1: the same parameters again, now with the cookie.
          this.sendHello({ ...st.hello, cookie: hvr.cookie.slice() }, st.verifyRequests + 1);
          return;
        }
        this.expect(m, HandshakeType.server_hello, 0);
        const sh = decodeServerHello(m.body);
        if (sh.serverVersion !== DTLS_1_2) throw new DtlsError('PROTOCOL_VERSION', `server chose version 0x${sh.serverVersion.toString(16)}`);
        if (sh.cipherSuite !== CipherSuite.TLS_PSK_WITH_AES_128_CCM_8) {
          throw new DtlsError('ILLEGAL_PARAMETER', `server chose cipher suite 0x${sh.cipherSuite.toString(16)} that was not offered`);
        }
        if (sh.compressionMethod !== 0) throw new DtlsError('ILLEGAL_PARAMETER', 'server chose a compression method');
        const { extendedMasterSecret } = checkServerHelloExtensions(sh.extensions);
        if (!extendedMasterSecret && this.cfg.requireExtendedMasterSecret) {
          throw new DtlsError('HANDSHAKE_FAILURE', 'server does not support extended_master_secret (RFC 7627)');
        }
        const transcript = new Transcript(this.cfg.crypto);
        transcript.add(HandshakeType.client_hello, st.helloSeq, st.helloBody);
        transcript.add(m.msgType, m.messageSeq, m.body);
        this.st = {
          s: 'expect_server_key_exchange',
          ctx: { transcript, clientRandom: st.hello.random, serverRandom: sh.random.slice(), extendedMasterSecret },
        };
        return;
      }
      case 'expect_server_key_exchange':
        if (m.msgType === HandshakeType.server_key_exchange) {
          this.expect(m, HandshakeType.server_key_exchange, 0);
          const hint = decodePskIdentity(m.body, 0xffff, 'psk_identity_hint').slice();
          st.ctx.transcript.add(m.msgType, m.messageSeq, m.body);
          this.st = { s: 'expect_server_hello_done', ctx: st.ctx, hint };
          return;
        }
        this.serverHelloDone(m, st.ctx, undefined);
        return;
      case 'expect_server_hello_done':
        this.serverHelloDone(m, st.ctx, st.hint);
        return;
      case 'expect_finished': {
        this.expect(m, HandshakeType.finished, 1);
        const got = decodeFinished(m.body);
        const want = computeVerifyData(this.cfg.crypto, st.ctx.master, 'server', st.ctx.transcript.hash());
        if (!ctEqual(got, want)) throw new DtlsError('DECRYPT_ERROR', 'server Finished verify_data mismatch');
        this.st = { s: 'done' };
        this.becomeConnected(
          { cipherSuite: CipherSuite.TLS_PSK_WITH_AES_128_CCM_8, peerIdentity: st.ctx.identity, extendedMasterSecret: st.ctx.extendedMasterSecret },
          false,
        );
        return;
      }
      default:
        throw new DtlsError('UNEXPECTED_MESSAGE', `unexpected handshake message ${m.msgType} in state ${st.s}`);
    }
  }

  private serverHelloDone(m: HandshakeMessage, ctx: Negotiated, hint: Uint8Array | undefined): void {
    this.expect(m, HandshakeType.server_hello_done, 0);
    if (m.body.length !== 0) throw new DtlsError('DECODE_ERROR', 'ServerHelloDone must be empty');
    ctx.transcript.add(m.msgType, m.messageSeq, m.body);
    const psk = this.choosePsk(hint);

    const cke = this.handshakeItem(HandshakeType.client_key_exchange, encodePskIdentity(psk.identity), 0);
    if (cke.kind !== 'handshake') throw new DtlsError('INTERNAL', 'bad flight item');
    ctx.transcript.add(cke.msgType, cke.messageSeq, cke.body);
    const c = this.cfg.crypto;
    const pms = pskPremasterSecret(psk.key);
    const master = deriveMasterSecret(c, pms, ctx.clientRandom, ctx.serverRandom, ctx.extendedMasterSecret ? ctx.transcript.hash() : undefined);
    pms.fill(0);
    this.cfg.keyLog?.(keyLogLine(ctx.clientRandom, master));
    const kb = deriveKeyBlock(c, master, ctx.clientRandom, ctx.serverRandom);
    this.writeKeys = kb.client;
    this.readKeys = kb.server;

    const verify = computeVerifyData(c, master, 'client', ctx.transcript.hash());
    const fin = this.handshakeItem(HandshakeType.finished, verify, 1);
    if (fin.kind !== 'handshake') throw new DtlsError('INTERNAL', 'bad flight item');
    ctx.transcript.add(fin.msgType, fin.messageSeq, fin.body);
    this.st = { s: 'expect_change_cipher_spec', ctx: { transcript: ctx.transcript, master, identity: psk.identity, extendedMasterSecret: ctx.extendedMasterSecret } };
    this.sendFlight([cke, { kind: 'change_cipher_spec', epoch: 0 }, fin], true);
  }

  private choosePsk(hint: Uint8Array | undefined): ClientPsk {
    const opt = this.cfg.psk!;
    const psk = typeof opt === 'function' ? opt(hint) : opt;
    if (!psk) throw new DtlsError('HANDSHAKE_FAILURE', 'no PSK for the server\'s identity hint');
    checkPsk(psk);
    return psk;
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

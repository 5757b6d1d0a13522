import { ctEqual } from '../../bytes/util.js';
import type { P256PublicKey } from '../../crypto/provider.js';
import { checkPsk, type ClientPsk, type ConnectionConfig } from '../config.js';
import { DtlsConnection, expectMessage } from '../connection.js';
import { DtlsError } from '../errors.js';
import { identityBytes } from '../events.js';
import type { PeerIdentity } from '../keystore.js';
import { Reassembler, type HandshakeMessage } from '../record/reassembler.js';
import { encodeClientHello, type ClientHello } from '../wire/client-hello.js';
import { CipherSuite, DTLS_1_2, HandshakeType } from '../wire/constants.js';
import type { Extension } from '../wire/extensions.js';
import { decodeFinished } from '../wire/finished.js';
import { decodeHelloVerifyRequest } from '../wire/hello-verify-request.js';
import { decodePskIdentity, encodePskIdentity, pskPremasterSecret } from '../wire/psk-key-exchange.js';
import { decodeServerHello, type ServerHello } from '../wire/server-hello.js';
import type { FlightItem } from './flights.js';
import { computeVerifyData, deriveKeyBlock, deriveMasterSecret, keyLogLine } from './key-schedule.js';
import { baseHelloExtensions, checkServerHelloExtensions, readRecordSize, recordSizeExtensions } from './negotiation.js';
import { Transcript } from './transcript.js';

/** What the client waits for next. */
export type ClientState =
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

/** Handshake context after the ServerHello (the ECDHE fields are used by the subclass only). */
export interface ClientContext {
  suite: number;
  transcript: Transcript;
  clientRandom: Uint8Array;
  serverRandom: Uint8Array;
  extendedMasterSecret: boolean;
  peer: PeerIdentity;
  pskHint?: Uint8Array;
  master?: Uint8Array;
  serverCertificateType?: number;
  clientCertificateType?: number;
  serverKey?: P256PublicKey;
  serverPoint?: Uint8Array;
  certificateRequested?: boolean;
}

/** Adds a handshake message to the flight and the transcript. */
export type AddMessage = (type: number, body: Uint8Array, epoch?: number) => void;

const MAX_HELLO_VERIFY_REQUESTS = 4;

/**
 * DTLS 1.2 client for TLS_PSK_WITH_AES_128_CCM_8, the whole handshake flow. It holds no ECDHE
 * code so that a PSK-only build for a small device leaves all of it out; ClientConnection
 * (client.ts) adds TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 through the protected hooks below.
 * Call start() once, then drive it.
 */
export class PskClientConnection extends DtlsConnection {
  protected st: ClientState = 'idle';
  protected ctx: ClientContext | undefined;
  private hello: Hello | undefined;
  protected readonly suites: number[];

  constructor(cfg: ConnectionConfig) {
    super(cfg);
    this.suites = this.offeredSuites();
    if (this.suites.length === 0) throw new DtlsError('INVALID_ARGUMENT', 'a client needs a psk, or trusted server keys for ECDHE');
  }

  // --- hooks for more suites ---------------------------------------------------------

  /** The suites to offer, in preference order. */
  protected offeredSuites(): number[] {
    return this.cfg.suites.filter((s) => s === CipherSuite.TLS_PSK_WITH_AES_128_CCM_8 && !!this.cfg.psk);
  }
  protected helloExtensions(_suites: number[]): Extension[] {
    return [...baseHelloExtensions(), ...recordSizeExtensions(this.cfg)];
  }
  /** After the ServerHello of a suite other than PSK: fill the context, return the next state. */
  protected startSuite(_ctx: ClientContext, _sh: ServerHello, _offered: Extension[]): ClientState {
    throw new DtlsError('INTERNAL', 'suite not supported by this build');
  }
  /** A message in a state of another suite. */
  protected handleSuiteMessage(m: HandshakeMessage, _ctx: ClientContext): void {
    throw new DtlsError('UNEXPECTED_MESSAGE', `unexpected handshake message ${m.msgType} in state ${this.st}`);
  }
  /** The suite's part of the client's final flight; returns the premaster secret and whether a CertificateVerify follows. */
  protected suiteKeyExchange(_ctx: ClientContext, _add: AddMessage): { pms: Uint8Array; signs: boolean } {
    throw new DtlsError('INTERNAL', 'suite not supported by this build');
  }
  /** The CertificateVerify signature over the handshake so far. */
  protected certificateVerify(_ctx: ClientContext): Uint8Array {
    throw new DtlsError('INTERNAL', 'suite not supported by this build');
  }

  // --- the handshake ---------------------------------------------------------------------

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
        extensions: this.helloExtensions(this.suites),
      },
      0,
    );
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
    const psk = ctx.suite === CipherSuite.TLS_PSK_WITH_AES_128_CCM_8;
    switch (this.st) {
      case 'expect_server_key_exchange':
        if (!psk) return this.handleSuiteMessage(m, ctx);
        if (m.msgType === HandshakeType.server_key_exchange) {
          expectMessage(m, HandshakeType.server_key_exchange);
          ctx.pskHint = decodePskIdentity(m.body, 0xffff, 'psk_identity_hint').slice();
          ctx.transcript.add(m.msgType, m.messageSeq, m.body);
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
        return this.handleSuiteMessage(m, ctx);
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
    const { extendedMasterSecret } = checkServerHelloExtensions(sh.extensions, h.hello.extensions);
    ({ sendLimit: this.sendLimit, receiveLimit: this.receiveLimit } = readRecordSize(this.cfg, sh.extensions, h.hello.extensions));
    if (!extendedMasterSecret && this.cfg.requireExtendedMasterSecret) {
      throw new DtlsError('HANDSHAKE_FAILURE', 'server does not support extended_master_secret (RFC 7627)');
    }
    const psk = sh.cipherSuite === CipherSuite.TLS_PSK_WITH_AES_128_CCM_8;
    // Keep the messages when we may have to sign them in a CertificateVerify.
    const transcript = new Transcript(this.cfg.crypto, !psk && !!this.cfg.ecdhe);
    transcript.add(HandshakeType.client_hello, h.seq, h.body);
    transcript.add(m.msgType, m.messageSeq, m.body);
    const ctx: ClientContext = { suite: sh.cipherSuite, transcript, clientRandom: h.hello.random, serverRandom: sh.random.slice(), extendedMasterSecret, peer: { kind: 'anonymous' } };
    this.ctx = ctx;
    this.st = psk ? 'expect_server_key_exchange' : this.startSuite(ctx, sh, h.hello.extensions);
    this.hello = undefined;
  }

  protected serverHelloDone(m: HandshakeMessage, ctx: ClientContext): void {
    expectMessage(m, HandshakeType.server_hello_done);
    if (m.body.length !== 0) throw new DtlsError('DECODE_ERROR', 'ServerHelloDone must be empty');
    ctx.transcript.add(m.msgType, m.messageSeq, m.body);
    const c = this.cfg.crypto;
    const flight: FlightItem[] = [];
    const add: AddMessage = (type, body, epoch = 0) => {
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
      ({ pms, signs } = this.suiteKeyExchange(ctx, add));
    }
    // RFC 7627 §4: the session hash covers the messages up to and including ClientKeyExchange
    const sessionHash = ctx.extendedMasterSecret ? ctx.transcript.hash() : undefined;
    if (signs) add(HandshakeType.certificate_verify, this.certificateVerify(ctx));
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

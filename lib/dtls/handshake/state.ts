import type { PrfSecret } from '../../crypto/prf.js';
import type { CryptoProvider } from '../../crypto/provider.js';
import type { ConnectionConfig } from '../config.js';
import { DtlsError } from '../errors.js';
import type { DtlsEvent, SessionInfo } from '../events.js';
import type { PeerIdentity } from '../keystore.js';
import type { TrafficKeys } from '../record/ccm8-cipher.js';
import type { EpochProtection } from '../record/protection.js';
import type { RecordLayer } from '../record/record-layer.js';
import type { PeerVerdict } from '../trust.js';
import type { ClientResumption } from '../resumption.js';
import type { FlightItem, HandshakeItem } from './flights.js';
import type { HandshakeMessage } from './reassembler.js';
import type { Transcript } from './transcript.js';

/**
 * What a handshake state may do to its connection: read the configuration, install keys in
 * the record layer, send a flight, report an event, and end the handshake. The connection
 * implements it; states never see the connection itself.
 */
export interface Handshake {
  readonly cfg: ConnectionConfig;
  readonly records: RecordLayer;
  /** The time of the input being handled (ms of the driver's clock). */
  readonly now: number;
  /** A handshake message for a flight, numbered with the next message_seq (default epoch: the current write epoch). */
  message(msgType: number, body: Uint8Array, epoch?: number): HandshakeItem;
  /** Sends a flight, replacing the last; with `expectReply` its retransmission timer runs (RFC 6347 §4.2.4). */
  sendFlight(items: FlightItem[], expectReply: boolean): void;
  emit(e: DtlsEvent): void;
  /**
   * The handshake is over. `keepLastFlight`: we sent the last flight and must answer the peer's
   * repeats. `resumption` (client): what it keeps to resume this session later.
   */
  established(session: SessionInfo, keepLastFlight: boolean, resumption: ClientResumption | undefined, master: Uint8Array): void;
}

/**
 * One state of a handshake, in the shape of rustls's `Expect*` states: it holds only what is
 * known and valid at that point, and handling the message it waits for returns the next
 * state. Anything else throws a DtlsError, which fails the connection with the alert of the
 * error -> alert table (errors.ts). Optional methods exist only on the states that take them.
 */
export interface HandshakeState {
  /** For diagnostics: "ExpectServerHello", ... */
  readonly name: string;
  /** The next handshake message, whole and in message_seq order. */
  handle(hs: Handshake, m: HandshakeMessage): HandshakeState | Done | Stale;
  /** Only a client's first state has it: sends the first flight. */
  start?(hs: Handshake): HandshakeState;
  /** Only ExpectChangeCipherSpec takes the peer's ChangeCipherSpec; elsewhere it is ignored. */
  changeCipherSpec?(hs: Handshake): HandshakeState;
  /**
   * Set on a client's states after its last flight went out (only the server's
   * ChangeCipherSpec and Finished remain): the server random of this handshake, so that a
   * fresh start can tell this handshake's late datagrams from the new one's.
   */
  readonly afterLastFlight?: { readonly serverRandom: Uint8Array };
  /**
   * Set on states that wait for the application (a key lookup, a trust decision): records
   * are held until the answer comes through one of the methods below.
   */
  readonly waiting?: 'psk' | 'peer';
  /** Answer to a `psk-request` event: the key, or undefined for an unknown identity. */
  providePsk?(hs: Handshake, key: Uint8Array | undefined): HandshakeState;
  /** Answer to a `verify-peer` event. */
  resolvePeer?(hs: Handshake, verdict: PeerVerdict): HandshakeState;
}

/** What a final state returns: the handshake called `established()`; there is no next state. */
export const DONE = Symbol('handshake done');
export type Done = typeof DONE;

/**
 * What a state returns for a message of an earlier, abandoned handshake (a late datagram after
 * the client started over): the message is dropped as if it had never come, the state stays.
 */
export const STALE = Symbol('stale message');
export type Stale = typeof STALE;

/**
 * RFC 9146: the connection IDs agreed (ours to read, the peer's to write), and the tls12_cid
 * record protection that goes with them (record/ccm8-cid.ts), given by the side that negotiated
 * them, so a build without CIDs leaves that record format out.
 */
export interface NegotiatedCid {
  readonly read: Uint8Array;
  readonly write: Uint8Array;
  readonly protection: (crypto: CryptoProvider, keys: TrafficKeys, cid: Uint8Array, padding?: number) => EpochProtection;
}

/** What the two hellos fixed for the rest of the handshake. */
export interface Hellos {
  readonly suite: number;
  readonly clientRandom: Uint8Array;
  readonly serverRandom: Uint8Array;
  readonly extendedMasterSecret: boolean;
  /** RFC 9146: the connection IDs agreed; undefined when none. */
  readonly connectionId?: NegotiatedCid;
  /** The ServerHello's session_id (RFC 5246 §7.4.1.3): what a session cache keeps the session under. */
  readonly sessionId?: Uint8Array;
  /** RFC 5077 §3.2: the ServerHello's empty SessionTicket extension: a NewSessionTicket comes before the server's ChangeCipherSpec. */
  readonly ticket?: boolean;
  /**
   * Client, full build (client-features.ts): the state after its last flight of a full handshake,
   * which takes a promised NewSessionTicket and keeps the session for resumption. Without it (a
   * build without resumption) ExpectChangeCipherSpec, which keeps nothing.
   */
  readonly afterFullFlight?: (secrets: Secrets) => HandshakeState;
}

/** After the key exchange: the master secret and who the peer is, for the Finished exchange. */
export interface Secrets {
  readonly hellos: Hellos;
  readonly transcript: Transcript;
  readonly master: Uint8Array;
  /** `master` as an HMAC key (a full handshake): its states prepared once for the key block and both Finished. */
  readonly masterKey?: PrfSecret;
  readonly peer: PeerIdentity;
}

/** A message that arrived in a state waiting for another. */
export function unexpected(state: HandshakeState, m: HandshakeMessage): never {
  throw unexpectedError(state.name, m);
}


function unexpectedError(state: string, m: HandshakeMessage): DtlsError {
  return new DtlsError('UNEXPECTED_MESSAGE', `unexpected handshake message ${m.msgType} (epoch ${m.epoch}) in ${state}`);
}

/** Throws UNEXPECTED_MESSAGE unless `m` is the message (and epoch) that `state` waits for. */
export function expectMessage(state: HandshakeState, m: HandshakeMessage, type: number, epoch = 0): void {
  if (m.msgType !== type || m.epoch !== epoch) throw unexpectedError(state.name, m);
}

import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIP, isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import { lookup } from 'node:dns/promises';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { resolveConfig, type ConnectionOptions, type ClientPskOption } from '../lib/dtls/config.js';
import { integerOption } from '../lib/dtls/option-checks.js';
import { DtlsEndpoint } from '../lib/dtls/endpoint.js';
import type { EndpointOptions } from '../lib/dtls/endpoint-options.js';
import { DtlsError } from '../lib/dtls/errors.js';
import type { DtlsEvent, SessionInfo } from '../lib/dtls/events.js';
import { ClientConnection } from '../lib/dtls/handshake/client.js';
import type { ServerConnection } from '../lib/dtls/handshake/server.js';
import type { KeyStore, PeerAddress } from '../lib/dtls/keystore.js';
import { ecdheCredentials, isKeyStore, keyStore, type EcdheCredentialOptions, type TrustOptions } from '../lib/dtls/credentials.js';
import type { OwnEcdheCredentials } from '../lib/dtls/config.js';
import { verifyPeer } from '../lib/dtls/trust.js';
import '../lib/crypto/node.js'; // the Node driver uses node:crypto unless told otherwise
import { CertificateType } from '../lib/dtls/wire/ec-extensions.js';
import { HandshakeDatagrams } from './handshake-datagrams.js';

/**
 * The Node `dgram` driver: the only place (with the other transports) that does IO. It feeds
 * datagrams and `performance.now()` to the sans-IO engine, sends what it polls, and keeps
 * exactly one timer armed at the engine's next deadline.
 */

const RECEIVE_BUFFER = 4 * 1024 * 1024;

export function enlargeBuffers(socket: Socket): void {
  // DESIGN.md: with the default buffer, a burst loses 3-10% on loopback.
  try {
    socket.setRecvBufferSize(RECEIVE_BUFFER);
  } catch {
    /* capped by the kernel: keep what we got */
  }
  try {
    socket.setSendBufferSize(1024 * 1024);
  } catch {
    /* idem */
  }
}

/**
 * dgram's address lookup, synchronous for IP literals (every address a server answers came
 * from a received datagram). Node's default, dns.lookup, defers each send of an unconnected
 * socket to the next tick through a closure; this sends at once. Names still go to dns.lookup.
 */
export function literalLookup(
  address: string,
  options: LookupOneOptions | number,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = isIP(address);
  if (family !== 0) callback(null, address, family);
  else dnsLookup(address, options as LookupOneOptions, callback);
}

/**
 * A turn of the event loop that sends at least this many datagrams makes the next turn batch
 * its datagrams; one that sends fewer makes the next send at once (see Outbox).
 */
export const BATCH_FROM = 8;

/**
 * The datagrams of an unconnected socket, sent at once under light load and together, once per
 * turn of the event loop (from setImmediate, after every datagram the poll phase read has been
 * handled), under heavy load. Batched, the peers are woken once per batch, which measured about
 * 40% less server CPU per request with 16 busy clients; but each datagram then waits for the
 * end of its turn, and with a few clients that wait is the round trip. So a turn that sent
 * BATCH_FROM datagrams or more makes the next one batch, and a turn that sent fewer makes the
 * next one send at once. `dtls-load echo` against bench/udp-echo-server.ts, 3 interleaved rounds:
 * with 4 sockets (W=1) 29-31k round trips/s always batched (p50 0.13 ms), 51-60k this way
 * (0.06-0.07 ms), 60-64k always at once; with 16 sockets 65-78k this way against 70-95k always
 * batched and 58-83k always at once (the machine's noise is that wide). A threshold of 4 kept
 * 4 busy sockets batched: their turns hold 4 datagrams. Order is kept: a turn sends at once
 * only with nothing queued. Unsent datagrams are dropped when the socket is gone (as dgram
 * drops sends after close()); flush() sends at once, for close().
 */
export class Outbox {
  private peers: PeerAddress[] = [];
  private data: Uint8Array[] = [];
  private armed = false;
  /** This turn queues its datagrams (the last one sent BATCH_FROM or more). */
  private batching = false;
  /** Datagrams sent at once in this turn. */
  private sentNow = 0;
  private readonly run = (): void => this.endTurn();

  constructor(
    private readonly socket: () => Socket | undefined,
    private readonly trace?: (peer: PeerAddress, data: Uint8Array) => void,
  ) {}

  add(peer: PeerAddress, data: Uint8Array): void {
    if (!this.armed) {
      this.armed = true;
      setImmediate(this.run);
    }
    if (this.batching) {
      this.peers.push(peer);
      this.data.push(data);
      return;
    }
    this.sentNow++;
    const socket = this.socket();
    if (socket) this.sendOne(socket, peer, data);
  }

  /** The end of a turn: what it queued goes, and the next turn's way of sending is chosen. */
  private endTurn(): void {
    this.armed = false;
    const n = this.sentNow + this.peers.length;
    this.flush();
    this.sentNow = 0;
    this.batching = n >= BATCH_FROM;
  }

  /** Sends what is queued now (close() calls it); it counts as sent in this turn. */
  flush(): void {
    this.sentNow += this.peers.length;
    const peers = this.peers;
    const data = this.data;
    if (peers.length === 0) return;
    this.peers = [];
    this.data = [];
    const socket = this.socket();
    if (!socket) return;
    for (let i = 0; i < peers.length; i++) this.sendOne(socket, peers[i]!, data[i]!);
  }

  private sendOne(socket: Socket, peer: PeerAddress, data: Uint8Array): void {
    this.trace?.(peer, data);
    try {
      socket.send(data, peer.port, peer.address);
    } catch {
      // a socket closing under us (or a bad address): UDP is lossy, the engine retransmits;
      // this may run from setImmediate, where a throw would take the whole server down
    }
  }
}

/**
 * One timer at the engine's next deadline. A later deadline keeps the armed (earlier) timer:
 * it fires early, the engine's handleTimeout is harmless when nothing is due, and the timer is
 * re-armed then. This avoids a clearTimeout/setTimeout pair per datagram under load.
 */
export class Alarm {
  private handle: NodeJS.Timeout | undefined;
  private at: number | undefined;
  constructor(private readonly fire: () => void) {}
  arm(deadline: number | undefined): void {
    if (deadline === undefined || deadline === this.at) return;
    if (this.handle && this.at !== undefined && this.at <= deadline) return;
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
    this.at = deadline;
    this.handle = setTimeout(() => {
      this.handle = undefined;
      this.at = undefined;
      this.fire();
    }, Math.max(0, Math.ceil(deadline - performance.now())));
    this.handle.unref?.();
  }
  stop(): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
    this.at = undefined;
  }
}

/** What a DtlsSession asks of the driver that made it, for its connection `C`. */
export interface SessionDriver<C> {
  send(conn: C, data: Uint8Array): void;
  close(conn: C): void;
  maxRecordPayload(conn: C): number;
  /** Client: the session's resumption state (DtlsSession.resumption). */
  resumption(conn: C): Uint8Array | undefined;
}

/**
 * An established DTLS session (either role). Events: 'data' (Uint8Array), 'close'
 * (error?: DtlsError), 'moved' (to, from: the peer's address changed, with a connection ID)
 * and 'error' (only emitted when someone listens). Also an async iterator of received records.
 */
export class DtlsSession extends EventEmitter {
  private closedWith: { error?: DtlsError } | undefined;
  private closeWaiters: Array<() => void> | undefined;

  /**
   * `driver` does what the session asks for `conn`, its connection: one driver for all of a
   * server's sessions, so a session costs no closures of its own (a server makes one per
   * handshake, and all it makes per handshake is garbage to collect).
   */
  constructor(
    private address: PeerAddress,
    readonly info: SessionInfo,
    private readonly driver: SessionDriver<unknown>,
    private readonly conn: unknown,
  ) {
    super();
  }

  /**
   * Client: what resumes this session later with an abbreviated handshake (pass it to
   * `connect({ resume })`, after a restart too), if the server allowed resumption. **It holds the
   * master secret**: store it as you store the key, never log it.
   */
  get resumption(): Uint8Array | undefined {
    return this.driver.resumption(this.conn);
  }

  /**
   * The largest record `send` takes: what fits one datagram of the MTU and the peer's record
   * size limit (RFC 8449 record_size_limit, RFC 6066 max_fragment_length). 0 once closed.
   */
  get maxRecordPayload(): number {
    return this.closedWith ? 0 : this.driver.maxRecordPayload(this.conn);
  }

  /** Where the peer is: with a connection ID (RFC 9146) it may move (a 'moved' event says so). */
  get peer(): PeerAddress {
    return this.address;
  }

  /** The authenticated peer identity (PSK identity). */
  get peerIdentity(): Uint8Array {
    return this.info.peerIdentity;
  }
  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /**
   * Sends one record. Never throws: like a datagram socket's send, a record that cannot go
   * (larger than maxRecordPayload: RECORD_TOO_LARGE; a closed session: CLOSED) fails only
   * itself, with a DtlsError given to `cb` (asynchronously) or, without `cb`, to the
   * 'error' listeners if any. Returns whether the record was queued; `cb(null)` when it was.
   */
  send(data: Uint8Array | string, cb?: (error: DtlsError | null) => void): boolean {
    let error: DtlsError | undefined;
    if (this.closedWith) error = new DtlsError('CLOSED', 'session is closed');
    else {
      try {
        this.driver.send(this.conn, typeof data === 'string' ? new TextEncoder().encode(data) : data);
      } catch (e) {
        error = e instanceof DtlsError ? e : new DtlsError('INTERNAL', e instanceof Error ? e.message : String(e));
      }
    }
    if (!error) {
      if (cb) queueMicrotask(() => cb(null));
      return true;
    }
    const err = error;
    if (cb) queueMicrotask(() => cb(err));
    else if (this.listenerCount('error') > 0) this.emit('error', err);
    return false;
  }

  /** Sends close_notify; resolves when the session is closed. */
  close(): Promise<void> {
    if (!this.closedWith) this.driver.close(this.conn);
    return new Promise((resolve) => (this.closedWith ? resolve() : (this.closeWaiters ??= []).push(resolve)));
  }

  /** @internal The peer's records now come from `to` (RFC 9146 §6). */
  _moved(to: PeerAddress): void {
    const from = this.address;
    this.address = to;
    this.emit('moved', to, from);
  }

  /** @internal */
  _deliver(data: Uint8Array): void {
    this.emit('data', data);
  }
  /** @internal */
  _ended(error?: DtlsError): void {
    if (this.closedWith) return;
    this.closedWith = error ? { error } : {};
    if (error && this.listenerCount('error') > 0) this.emit('error', error);
    this.emit('close', error);
    const waiters = this.closeWaiters;
    this.closeWaiters = undefined;
    if (waiters) for (const w of waiters) w();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    const queue: Uint8Array[] = [];
    let wake: (() => void) | undefined;
    const onData = (d: Uint8Array) => {
      queue.push(d);
      wake?.();
    };
    const onClose = () => wake?.();
    this.on('data', onData);
    this.on('close', onClose);
    try {
      for (;;) {
        if (queue.length > 0) {
          yield queue.shift()!;
          continue;
        }
        if (this.closedWith) {
          if (this.closedWith.error) throw this.closedWith.error;
          return;
        }
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      this.off('data', onData);
      this.off('close', onClose);
    }
  }
}

/** The wall clock, for certificate validity periods (the engine never reads it itself). */
export const systemClock = (): Date => new Date();

/**
 * A key store from options, with the system clock for X.509 validity where the options name
 * no clock (as before the engine stopped reading the clock itself).
 */
export function withSystemClock(o: KeyStore | TrustOptions): KeyStore {
  if (!isKeyStore(o)) return keyStore(o.ca !== undefined && o.clock === undefined ? { ...o, clock: systemClock } : o);
  return o.x509 && o.x509.clock === undefined ? { ...o, x509: { ...o.x509, clock: systemClock } } : o;
}

/** Called for every datagram the driver sends or receives (for traces; carries no secrets beyond what is on the wire). */
export type DatagramTrace = (direction: 'in' | 'out', peer: PeerAddress, datagram: Uint8Array) => void;

export interface ServerOptions extends Omit<EndpointOptions, 'wake' | 'ecdhe' | 'keyStore'> {
  trace?: DatagramTrace;
  /** Own ECDHE credentials: key (PEM/DER) and optional certificate chain. */
  ecdhe?: EcdheCredentialOptions | OwnEcdheCredentials;
  /** How to judge clients: a KeyStore, or plain options (PSKs, trusted raw keys, CA PEM). */
  keyStore?: KeyStore | TrustOptions;
}

/** What a 'keyStoreError' event carries: which lookup threw or rejected, and why (no key material). */
export interface KeyStoreErrorInfo {
  lookup: 'psk' | 'rpk' | 'x509';
  /** The PSK identity looked up. */
  identity?: Uint8Array;
  cause: unknown;
  peer: PeerAddress;
}

/**
 * A DTLS server on one UDP socket. Emits 'session' (DtlsSession), 'handshakeError' (error,
 * peer), 'keyStoreError' (KeyStoreErrorInfo: a key lookup threw, rejected or timed out),
 * 'handshakeRefused' (peer, reason: the server is full), 'peerMoved' (to, from: a session's
 * peer moved, RFC 9146 §6; its DtlsSession emits 'moved' too), 'listening', 'error', 'close'.
 */
export class DtlsServer extends EventEmitter {
  readonly endpoint: DtlsEndpoint;
  private socket: Socket | undefined;
  private readonly alarm = new Alarm(() => this.pump(() => this.endpoint.handleTimeout(performance.now())));
  /**
   * The public session of each established connection. A WeakMap: a Map churned by every
   * handshake keeps what it held reachable across young-generation collections (see
   * lib/dtls/endpoint-sessions.ts, SessionTable), and nothing here iterates it.
   */
  private readonly sessions = new WeakMap<ServerConnection, DtlsSession>();
  /**
   * Non-zero while a pump runs. A pump entered from inside another one (a session's send or
   * close from a 'data' or 'session' listener) only feeds the engine: the outermost pump
   * drains what it produced, so one received datagram costs one pass over the queues.
   */
  private depth = 0;

  private readonly trace: DatagramTrace | undefined;
  private readonly outbox = new Outbox(() => this.socket, (peer, data) => this.trace?.('out', peer, data));
  /** What every session of this server asks of it (one object for all of them). */
  private readonly driver: SessionDriver<ServerConnection> = {
    send: (conn, d) => this.sendOn(conn, d),
    close: (conn) => this.pump(() => this.endpoint.closeSession(performance.now(), conn)),
    maxRecordPayload: (conn) => conn.maxRecordPayload,
    resumption: () => undefined,
  };
  private readonly sendTo = (peer: PeerAddress, data: Uint8Array): void => {
    if (this.socket) this.outbox.add(peer, data);
  };

  /**
   * With ECDHE credentials, datagrams that start with a handshake record wait for the check
   * phase of the event loop and go one per turn (handshake-datagrams.ts): records of
   * established sessions read in the same poll phase go first, so a flood of ECDHE handshakes
   * does not hold them up (bench/ecdhe-flood.ts). PSK handshakes are cheap enough to go at once.
   */
  private readonly handshakesLater: HandshakeDatagrams | undefined;

  constructor(opts: ServerOptions) {
    super();
    this.trace = opts.trace;
    if (opts.ecdhe) this.handshakesLater = new HandshakeDatagrams((peer, data) => this.socket && this.receive(peer, data));
    const { ecdhe, keyStore: ks, ...rest } = opts;
    const endpointOpts: EndpointOptions = { ...rest };
    if (ecdhe) endpointOpts.ecdhe = ecdheCredentials(ecdhe, opts.crypto);
    if (ks) endpointOpts.keyStore = withSystemClock(ks);
    // the wall clock for what outlives the process (session tickets, cached sessions)
    this.endpoint = new DtlsEndpoint({ wallClock: Date.now, ...endpointOpts, wake: () => this.pump(() => this.endpoint.handleTimeout(performance.now())) });
  }

  /** A received datagram into the engine (as pump(), without a closure per datagram). */
  private receive(peer: PeerAddress, data: Uint8Array): void {
    if (this.depth > 0) {
      this.endpoint.handleDatagram(performance.now(), peer, data);
      return;
    }
    this.depth = 1;
    try {
      this.endpoint.handleDatagram(performance.now(), peer, data);
      this.flush();
    } finally {
      this.depth = 0;
    }
    this.alarm.arm(this.endpoint.pollTimeout());
  }

  listen(port = 5684, host = '127.0.0.1', cb?: () => void): this {
    const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', lookup: literalLookup });
    this.socket = socket;
    socket.on('message', (msg, rinfo) => {
      const data = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
      // address and port only: a session keeps this object, and nothing reads a family (an IPv6 address has a colon)
      const peer: PeerAddress = { address: rinfo.address, port: rinfo.port };
      this.trace?.('in', peer, data);
      if (!this.socket) return;
      if (this.handshakesLater && this.handshakesLater.offer(peer, data) !== 'now') return;
      this.receive(peer, data);
    });
    socket.on('error', (e) => this.emit('error', e));
    socket.bind(port, host, () => {
      enlargeBuffers(socket);
      cb?.();
      this.emit('listening');
    });
    return this;
  }

  address(): { address: string; port: number } {
    if (!this.socket) throw new DtlsError('CLOSED', 'not listening');
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  /**
   * Sends close_notify to every session and closes the socket. With `keepSessions` it only
   * closes the socket: no session ends (no close_notify, nothing deleted from the session
   * store), so that the next process on the same store continues them without a handshake.
   */
  async close(o: { keepSessions?: boolean } = {}): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    if (!o.keepSessions) this.pump(() => this.endpoint.close(performance.now()));
    this.outbox.flush();
    this.socket = undefined;
    this.alarm.stop();
    this.handshakesLater?.clear();
    await new Promise<void>((r) => socket.close(() => r()));
    this.emit('close');
  }

  /** A session's send: straight into the engine when a pump runs (its output goes with that pump's). */
  private sendOn(conn: ServerConnection, data: Uint8Array): void {
    if (!this.socket) return;
    if (this.depth > 0) {
      this.endpoint.send(performance.now(), conn, data);
      return;
    }
    this.depth = 1;
    try {
      this.endpoint.send(performance.now(), conn, data);
      this.flush();
    } finally {
      this.depth = 0;
    }
    this.alarm.arm(this.endpoint.pollTimeout());
  }

  private pump(f: () => void): void {
    if (!this.socket) return;
    if (this.depth > 0) {
      f();
      return;
    }
    this.depth = 1;
    try {
      f();
      this.flush();
    } finally {
      this.depth = 0;
    }
    this.alarm.arm(this.endpoint.pollTimeout());
  }

  /**
   * Sends what the engine queued and delivers its events, until both queues are empty: an
   * event's listener may queue more (a session's answer), which goes out before the next event.
   */
  private flush(): void {
    const ep = this.endpoint;
    for (;;) {
      if (ep.hasTransmit) ep.drainTransmit(this.sendTo);
      const e = ep.pollEvent();
      if (!e) {
        if (ep.hasTransmit) continue;
        return;
      }
      if (e.type === 'handshake-refused') {
        this.emit('handshakeRefused', e.peer, e.reason);
        continue;
      }
      if (e.type === 'peer-moved') {
        this.sessions.get(e.connection)?._moved(e.peer);
        this.emit('peerMoved', e.peer, e.from);
        continue;
      }
      const conn = e.connection;
      switch (e.type) {
        case 'key-store-error': {
          // the handshake's 'failed' follows (handshakeError, KEY_STORE_FAILURE)
          const info: KeyStoreErrorInfo = { lookup: e.lookup, cause: e.cause, peer: e.peer };
          if (e.identity) info.identity = e.identity;
          this.emit('keyStoreError', info);
          break;
        }
        case 'data':
          this.sessions.get(conn)?._deliver(e.data);
          break;
        case 'connected': {
          const s = new DtlsSession(e.peer, e.session, this.driver, conn);
          this.sessions.set(conn, s);
          this.emit('session', s);
          break;
        }
        case 'closed':
        case 'failed': {
          const s = this.sessions.get(conn);
          this.sessions.delete(conn);
          const err = e.type === 'failed' ? e.error : undefined;
          if (s) s._ended(err);
          else if (err) this.emit('handshakeError', err, e.peer);
          break;
        }
      }
    }
  }
}

export function createServer(opts: ServerOptions): DtlsServer {
  return new DtlsServer(opts);
}

export interface ConnectOptions extends Omit<ConnectionOptions, 'psk' | 'ecdhe' | 'acceptPeerCertificateTypes'> {
  host: string;
  port: number;
  psk?: ClientPskOption;
  /** Own ECDHE credentials (for client authentication): key (PEM/DER), optional certificate. */
  ecdhe?: EcdheCredentialOptions | OwnEcdheCredentials;
  /**
   * How to judge the server for ECDHE: a KeyStore, or plain options (trusted raw public keys,
   * CA PEM). Without it only PSK is offered.
   */
  trust?: KeyStore | TrustOptions;
  /** Local port to bind (default: any). */
  localPort?: number;
  /** Abort the handshake after this long, ms (in addition to the retransmission limit). */
  timeoutMs?: number;
  trace?: DatagramTrace;
}

/**
 * Connects and completes the handshake; rejects with a DtlsError. Not an async function: the
 * promise returned is the handshake's own, so whoever awaits it goes on in the microtask
 * right after the session is connected (an async function adds two more hops).
 */
export function connect(opts: ConnectOptions): Promise<DtlsSession> {
  try {
    return connecting(opts);
  } catch (e) {
    return Promise.reject(e);
  }
}

function connecting(opts: ConnectOptions): Promise<DtlsSession> {
  if (typeof opts !== 'object' || opts === null) throw new DtlsError('INVALID_ARGUMENT', 'connect() takes an options object');
  const { host, port, localPort, timeoutMs, trace, ecdhe, trust, ...rest } = opts;
  if (typeof host !== 'string' || host === '') throw new DtlsError('INVALID_ARGUMENT', 'host must be a host name or address');
  integerOption('port', port, 1, 65535);
  if (localPort !== undefined) integerOption('localPort', localPort, 0, 65535);
  if (timeoutMs !== undefined) integerOption('timeoutMs', timeoutMs, 1, 2 ** 31 - 1);
  const store: KeyStore = trust ? withSystemClock(trust) : {};
  const accept: number[] = [];
  if (store.rawPublicKey) accept.push(CertificateType.RawPublicKey);
  if (store.x509) accept.push(CertificateType.X509);
  const cfg = resolveConfig({
    wallClock: Date.now,
    ...rest,
    ...(ecdhe ? { ecdhe: ecdheCredentials(ecdhe, rest.crypto) } : {}),
    acceptPeerCertificateTypes: accept,
    // X.509: by default the certificate must name the host we connect to (as in TLS)
    serverName: rest.serverName ?? host,
  });
  if (isIPv6(host) || /^\d+\.\d+\.\d+\.\d+$/.test(host)) return handshake(host);
  return lookup(host).then((r) => handshake(r.address));

  function handshake(address: string): Promise<DtlsSession> {
    const family = isIPv6(address) ? 'udp6' : 'udp4';
    // literalLookup: bind and connect take the address as it is, with no dns.lookup turn each
    let socket = createSocket({ type: family, lookup: literalLookup });
    /** Whether `socket` is connected to the server (the first one is; one made for a fresh start is not). */
    let connected = true;
    let restartsSeen = 0;
    const conn = new ClientConnection(cfg);
    const peer: PeerAddress = { address, port };
    let session: DtlsSession | undefined;
    let settle: { resolve: (s: DtlsSession) => void; reject: (e: Error) => void } | undefined;
    let closed = false;
    const done = new Promise<DtlsSession>((resolve, reject) => (settle = { resolve, reject }));
    const alarm = new Alarm(() => pump(() => conn.handleTimeout(performance.now())));
    const driver: SessionDriver<undefined> = {
      send: (_, d) => pump(() => conn.send(performance.now(), d)),
      close: () => pump(() => conn.close(performance.now())),
      maxRecordPayload: () => conn.maxRecordPayload,
      resumption: () => conn.resumption,
    };
    let giveUp: NodeJS.Timeout | undefined;

    const shutdown = () => {
      if (closed) return;
      closed = true;
      alarm.stop();
      if (giveUp) clearTimeout(giveUp);
      socket.close();
    };
    const onEvent = (e: DtlsEvent) => {
      switch (e.type) {
        case 'connected':
          session = new DtlsSession(peer, e.session, driver, undefined);
          settle?.resolve(session);
          if (giveUp) clearTimeout(giveUp);
          break;
        case 'data':
          session?._deliver(e.data);
          break;
        case 'verify-peer': {
          const v = verifyPeer(store, e.credential, peer, { crypto: cfg.crypto, purpose: 'serverAuth', ...(cfg.serverName !== undefined ? { expectedName: cfg.serverName } : {}) });
          if (v instanceof Promise) void v.then((verdict) => pump(() => conn.resolvePeer(performance.now(), verdict)));
          else queueMicrotask(() => pump(() => conn.resolvePeer(performance.now(), v)));
          break;
        }
        case 'closed':
        case 'failed': {
          const err = e.type === 'failed' ? e.error : undefined;
          if (session) session._ended(err);
          else settle?.reject(err ?? new DtlsError('CLOSED', timeoutMs ? `handshake not finished within ${timeoutMs} ms` : 'closed during the handshake'));
          break;
        }
      }
    };
    function pump(f: () => void): void {
      if (closed) return;
      f();
      // The connection started over (its last flight went unanswered): a fresh handshake from a
      // fresh port, a new association for the server, whatever it kept of the old one.
      if (conn.restarts !== restartsSeen) {
        restartsSeen = conn.restarts;
        if (localPort === undefined) {
          const old = socket;
          socket = createSocket({ type: family, lookup: literalLookup });
          connected = false;
          listen(socket);
          old.close();
        }
      }
      for (let d = conn.pollTransmit(); d; d = conn.pollTransmit()) {
        trace?.('out', peer, d);
        if (connected) socket.send(d);
        else socket.send(d, port, address);
      }
      const handshaking = !session;
      for (let e = conn.pollEvent(); e; e = conn.pollEvent()) onEvent(e);
      if (conn.ended()) {
        // let the last datagrams (close_notify, alert) leave before closing the socket
        setImmediate(shutdown);
        return;
      }
      // Just connected: whoever awaits connect() goes on first (the resolution is a microtask
      // queued before this one), then the timer moves to the session's deadline.
      if (handshaking && session) queueMicrotask(rearm);
      else alarm.arm(conn.pollTimeout());
    }
    function rearm(): void {
      if (!closed) alarm.arm(conn.pollTimeout());
    }

    function listen(sock: Socket): void {
      sock.on('message', (msg, rinfo) => {
        if (sock !== socket || rinfo.port !== port || rinfo.address !== address) return;
        const data = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
        trace?.('in', peer, data);
        pump(() => conn.handleDatagram(performance.now(), data));
      });
      sock.on('error', (err: NodeJS.ErrnoException) => {
        if (sock !== socket) return;
        // ICMP port unreachable on a connected socket: the server may not be up yet; the
        // retransmission timer decides when to give up.
        if (err.code === 'ECONNREFUSED') return;
        if (!session) settle?.reject(err);
        shutdown();
      });
    }
    listen(socket);
    // With literalLookup (the address is a literal by now), dgram binds and connects at once,
    // inside these calls: the ClientHello leaves in this same call, with no event-loop turn or
    // promise hop before it. Should a Node version defer either, the flight waits for 'connect'.
    // A bind or connect error comes to listen()'s 'error' handler, which rejects `done`.
    let started = false;
    const first = () => {
      if (started || closed) return;
      started = true;
      try {
        pump(() => conn.start(performance.now()));
      } catch (e) {
        // a configuration the engine refuses (no suite to offer): connect() rejects with it
        settle?.reject(e as Error);
        shutdown();
        return;
      }
      // what the first flight does not need waits until it is gone
      if (!closed) {
        if (timeoutMs) giveUp = setTimeout(() => pump(() => conn.close(performance.now())), timeoutMs);
        enlargeBuffers(socket);
      }
    };
    socket.bind(localPort ?? 0, () => {
      if (closed) return;
      // dgram hands a failed connect to this callback (not to 'error')
      socket.connect(port, address, ((err?: Error) => {
        if (!err) return first();
        settle?.reject(err);
        shutdown();
      }) as () => void);
    });
    if (isConnected(socket)) first();
    return done;
  }
}

/** Whether a dgram socket is connected (remoteAddress() throws until it is). */
function isConnected(socket: Socket): boolean {
  try {
    socket.remoteAddress();
    return true;
  } catch {
    return false;
  }
}

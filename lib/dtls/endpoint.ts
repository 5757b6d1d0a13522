import { equal, toHex } from '../bytes/util.js';
import { resolveConfig, type ConnectionConfig, type ConnectionOptions } from './config.js';
import { ClientHelloPool, type PeekedHello } from './client-hello-pool.js';
import { CookieJar } from './cookie.js';
import { DatagramQueue } from './datagram-queue.js';
import { DtlsError } from './errors.js';
import type { DtlsEvent } from './events.js';
import { ServerConnection } from './handshake/server.js';
import { HandshakeSlots, type SlotHolder, type SlotRefusal } from './handshake-slots.js';
import { SessionCache, type SessionCacheOptions } from './session-cache.js';
import { TicketSealer, type TicketOptions } from './session-ticket.js';
import { SessionPersistence } from './session-persistence.js';
import { addressKey, cidKey, type SessionStore } from './session-store.js';
import { peerKey, type KeyStore, type PeerAddress, type PskLookup } from './keystore.js';
import { verifyPeer, type PeerCredential, type PeerVerdict } from './trust.js';
import { CertificateType } from './wire/ec-extensions.js';
import { TimerQueue } from '../timers/timer-queue.js';
import { ContentType, DTLS_1_0, HandshakeType } from './wire/constants.js';
import { encodeHandshake } from './wire/handshake.js';
import { encodeHelloVerifyRequest } from './wire/hello-verify-request.js';
import { encodeRecord, TLS12_CID } from './wire/record.js';

export interface EndpointOptions extends Omit<ConnectionOptions, 'psk' | 'acceptPeerCertificateTypes' | 'connectionId' | 'sessionTickets' | 'resume'> {
  /** Identity -> key; sync or async (a shorthand for `keyStore.psk`). */
  psk?: PskLookup;
  /** Every credential: PSKs, trusted raw public keys, X.509 trust anchors. */
  keyStore?: KeyStore;
  /** Established sessions at most (a new client beyond it is refused: `handshake-refused`). */
  maxSessions?: number;
  /** Handshakes in progress at most; when full, the one whose peer is silent longest makes room. */
  maxHandshakes?: number;
  /** Handshakes in progress from one IP address at most (the same rule within the address). */
  maxHandshakesPerAddress?: number;
  /** A handshake not finished after this long is dropped (ms). */
  handshakeTimeoutMs?: number;
  /** A key store lookup not answered after this long ends its handshake like a failed one (ms). */
  keyLookupTimeoutMs?: number;
  /** Cookie secret rotation period (ms). */
  cookieRotationMs?: number;
  /**
   * RFC 9146 Connection ID: offered to clients that ask, with a CID of this many bytes (random,
   * unique among the sessions), or `{ length, prefix }` to begin each CID with `prefix` (a worker
   * or node number, for a load balancer). Sessions are then found by CID first, whatever
   * address their records come from.
   */
  connectionId?: number | { length: number; prefix?: Uint8Array };
  /**
   * Session resumption by session ID (RFC 5246 §7.3): a bounded cache of established sessions,
   * offered a 32-byte session_id in every full ServerHello. Default on (1,024 sessions, 24 h);
   * false turns it off.
   */
  sessionCache?: boolean | SessionCacheOptions;
  /**
   * RFC 5077 session tickets, for clients that ask: the session sealed under a rotating key
   * (through the crypto provider), so the server keeps nothing. Default on (24 h); false off.
   * Servers that share tickets (several processes) install the same secret with
   * `endpoint.ticketSecret(secret)`.
   */
  sessionTickets?: boolean | TicketOptions;
  /**
   * Keeps established sessions in a store (memory, Redis: lib/dtls/session-store.ts), so that
   * after a restart, or in another process on the same store, a client's next record (by CID, or
   * from the same address) continues its session without a handshake. Sequence numbers are
   * leased from the store, so no nonce is ever used twice.
   */
  sessionStore?: SessionStore;
  /** How long a stored session lives without use (ms); default the idle timeout (30 min). */
  sessionStoreTtlMs?: number;
  /** Sequence numbers each save to the store reserves (the nonce lease); default 1024. */
  sessionLeaseStep?: number;
  /** Called when an asynchronous key lookup resolved: the driver should call handleTimeout(now). */
  wake?: () => void;
}

export interface Session {
  readonly peer: PeerAddress;
  readonly connection: ServerConnection;
}

/**
 * A key store lookup threw, rejected or did not answer in time (a database outage, say): that
 * handshake ends with an internal_error alert and a `failed` event (KEY_STORE_FAILURE). Unlike
 * an unknown identity, which looks like a wrong key on the wire, this is the server's own
 * trouble, reported with its cause. Carries no key material: the identity is what the client
 * sent in the clear.
 */
export interface KeyStoreErrorEvent {
  type: 'key-store-error';
  peer: PeerAddress;
  connection: ServerConnection;
  /** Which lookup failed. */
  lookup: 'psk' | 'rpk' | 'x509';
  /** The PSK identity looked up (lookup 'psk'). */
  identity?: Uint8Array;
  /** What the lookup threw or rejected with (a DtlsError KEY_STORE_FAILURE for a timeout). */
  cause: unknown;
}

/**
 * A client whose cookie verified could not start a handshake: the server holds `maxSessions`
 * established sessions, or every handshake slot (overall or of its address) waits for our own
 * key store. The client hears nothing and retries.
 */
export interface HandshakeRefusedEvent {
  type: 'handshake-refused';
  peer: PeerAddress;
  reason: 'max-sessions' | SlotRefusal;
}

/**
 * RFC 9146 §6: a record with a session's connection ID, newer than any before and
 * authenticated, came from another address: the session now answers there.
 */
export interface PeerMovedEvent {
  type: 'peer-moved';
  peer: PeerAddress;
  from: PeerAddress;
  connection: ServerConnection;
}

export type EndpointEvent = (DtlsEvent & { peer: PeerAddress; connection: ServerConnection }) | KeyStoreErrorEvent | HandshakeRefusedEvent | PeerMovedEvent;

interface KeyStoreFailure {
  lookup: KeyStoreErrorEvent['lookup'];
  identity?: Uint8Array;
  cause: unknown;
}

/** One peer's connection as the endpoint keeps it. */
class Entry implements Session, SlotHolder {
  scheduledAt: number | undefined = undefined;
  /**
   * After the peer moved to an address (RFC 9146 §6) that has not yet sent a second fresh
   * record: what we may still send there (the anti-amplification bound, see moveTo()).
   */
  unverified: { bytesIn: number; bytesOut: number; records: number } | undefined = undefined;
  /** A key store lookup in flight: which, and until when. */
  lookup: { kind: KeyStoreFailure['lookup']; identity: Uint8Array | undefined; deadline: number } | undefined = undefined;
  constructor(
    public key: string,
    public peer: PeerAddress,
    readonly connection: ServerConnection,
    /** The ClientHello.random of the handshake this connection serves (a repeat of it is a retransmission). */
    readonly clientRandom: Uint8Array,
    /** Until the handshake ends: when it is given up. */
    public handshakeDeadline: number | undefined,
    /** RFC 9146: the CID this server asked for, as hex (the byCid key), if any. */
    readonly cidKey: string | undefined,
  ) {}
  get address(): string {
    return this.peer.address;
  }
  awaitingLookup(): boolean {
    return this.lookup !== undefined;
  }
}

/**
 * The server side of DTLS on one socket (DESIGN.md): demultiplexes datagrams by peer
 * address, answers ClientHellos without a valid cookie statelessly with a
 * HelloVerifyRequest before allocating anything, owns the limits (sessions, handshake slots
 * overall and per address, handshake, lookup and idle time) and runs the key lookups. Sans-IO:
 * the driver feeds datagrams and time, and drains pollTransmit()/pollEvent()/pollTimeout().
 */
export class DtlsEndpoint {
  private readonly cfg: ConnectionConfig;
  private readonly cookies: CookieJar;
  /** Sessions by peer address. A session that moved away from an address another one took is found by CID only. */
  private readonly entries = new Map<string, Entry>();
  /** RFC 9146: sessions by the CID they asked for (hex). */
  private readonly byCid = new Map<string, Entry>();
  private readonly cid: { length: number; prefix: Uint8Array } | undefined;
  private readonly persistence: SessionPersistence | undefined;
  /** Datagrams of sessions being looked up in the store, by store key. */
  private readonly restoring = new Map<string, Array<{ peer: PeerAddress; data: Uint8Array }>>();
  private readonly byConnection = new Map<ServerConnection, Entry>();
  private readonly timers: TimerQueue<Entry>;
  private readonly out = new DatagramQueue();
  private readonly events: EndpointEvent[] = [];
  private readonly slots: HandshakeSlots<Entry>;
  private readonly hellos = new ClientHelloPool();
  private readonly resolved: Array<{ entry: Entry; answer: { psk: Uint8Array | undefined } | { verdict: PeerVerdict; lookup: 'rpk' | 'x509' } | { failed: KeyStoreFailure } }> = [];
  private readonly store: KeyStore;
  private readonly maxSessions: number;
  private readonly handshakeTimeoutMs: number;
  private readonly keyLookupTimeoutMs: number;
  /** Counters for observability (no secrets). */
  readonly stats = { helloVerifyRequests: 0, handshakesStarted: 0, handshakesRefused: 0, handshakesEvicted: 0, datagramsDropped: 0, peersMoved: 0, amplificationDrops: 0 };

  constructor(private readonly opts: EndpointOptions) {
    if (typeof opts !== 'object' || opts === null) throw new DtlsError('INVALID_ARGUMENT', 'options must be an object');
    const { psk, keyStore, connectionId: _cid, sessionCache, sessionTickets, sessionStore, sessionStoreTtlMs, sessionLeaseStep, ...rest } = opts;
    this.store = checkKeyStore(keyStore);
    if (psk !== undefined) this.store.psk = psk;
    if (this.store.psk !== undefined && typeof this.store.psk !== 'function') throw new DtlsError('INVALID_ARGUMENT', 'psk must be a lookup function (see pskMap)');
    if (!this.store.psk && !opts.ecdhe) throw new DtlsError('INVALID_ARGUMENT', 'a server needs a psk lookup or ecdhe credentials');
    const accept: number[] = [];
    if (this.store.rawPublicKey) accept.push(CertificateType.RawPublicKey);
    if (this.store.x509) accept.push(CertificateType.X509);
    if (opts.clientAuth && opts.clientAuth !== 'none' && accept.length === 0) {
      throw new DtlsError('INVALID_ARGUMENT', 'client authentication needs keyStore.rawPublicKey or keyStore.x509');
    }
    this.cfg = resolveConfig({ idleTimeoutMs: 30 * 60_000, ...rest, acceptPeerCertificateTypes: accept });
    if (sessionStore) {
      this.cfg.exportable = true;
      const ttl = positive('sessionStoreTtlMs', sessionStoreTtlMs ?? (this.cfg.idleTimeoutMs || 30 * 60_000));
      this.persistence = new SessionPersistence(sessionStore, ttl, () => this.opts.wake?.(), positive('sessionLeaseStep', sessionLeaseStep ?? 1024));
    }
    const resumption: NonNullable<ConnectionConfig['resumption']> = {};
    if (sessionCache !== false) resumption.cache = new SessionCache(typeof sessionCache === 'object' ? sessionCache : {});
    if (sessionTickets !== false) resumption.tickets = new TicketSealer(this.cfg.crypto, typeof sessionTickets === 'object' ? sessionTickets : {});
    this.cfg.resumption = resumption;
    this.cookies = new CookieJar(this.cfg.crypto, positive('cookieRotationMs', opts.cookieRotationMs ?? 300_000));
    this.maxSessions = positive('maxSessions', opts.maxSessions ?? 10_000);
    this.slots = new HandshakeSlots(positive('maxHandshakes', opts.maxHandshakes ?? 1_000), positive('maxHandshakesPerAddress', opts.maxHandshakesPerAddress ?? 64));
    this.handshakeTimeoutMs = positive('handshakeTimeoutMs', opts.handshakeTimeoutMs ?? 30_000);
    this.keyLookupTimeoutMs = positive('keyLookupTimeoutMs', opts.keyLookupTimeoutMs ?? 10_000);
    this.cid = checkCidOption(opts.connectionId);
    this.timers = new TimerQueue(
      (e) => (this.alive(e) ? e.scheduledAt : undefined),
      () => this.byConnection.size,
    );
  }

  /**
   * Installs the secret the session tickets are sealed with (at least 16 bytes), so that servers
   * sharing it (several processes on one session store) open each other's tickets.
   */
  ticketSecret(secret: Uint8Array): void {
    const t = this.cfg.resumption?.tickets;
    if (!t) throw new DtlsError('INVALID_ARGUMENT', 'session tickets are off');
    t.installSecret(this.cfg.wallClock?.() ?? 0, secret);
  }

  get sessionCount(): number {
    return this.byConnection.size;
  }
  get handshakesInProgress(): number {
    return this.slots.size;
  }
  /** Timer entries held (live and stale); stays proportional to the sessions. */
  get timerEntries(): number {
    return this.timers.size;
  }

  handleDatagram(now: number, peer: PeerAddress, datagram: Uint8Array): void {
    this.applyResolved(now);
    const key = peerKey(peer);
    // RFC 9146: a tls12_cid record names its session, whatever address it comes from
    if (this.cid && datagram[0] === TLS12_CID && datagram.length >= 13 + this.cid.length) {
      const cid = datagram.subarray(11, 11 + this.cid.length);
      const byCid = this.byCid.get(toHex(cid));
      if (byCid) this.feed(byCid, now, datagram, peer, key);
      else if (!this.restore(cidKey(cid), peer, datagram)) this.stats.datagramsDropped++;
      return;
    }
    const entry = this.entries.get(key);
    const hello = this.hellos.take(key, datagram);
    if (hello && (hello.recordSeq > MAX_HELLO_RECORD_SEQ || hello.messageSeq > MAX_HELLO_MESSAGE_SEQ)) {
      this.stats.datagramsDropped++;
      return;
    }
    if (!hello) {
      if (entry) this.feed(entry, now, datagram);
      // a protected record (epoch > 0) of a session this process does not hold: perhaps in the store
      else if (!(datagram.length > 4 && (datagram[3]! | datagram[4]!) !== 0 && this.restore(addressKey(peer), peer, datagram))) this.stats.datagramsDropped++;
      return;
    }
    // A ClientHello. A retransmission of the one that started the handshake in progress
    // goes to that handshake, which answers with its flight (it never restarts).
    if (entry && equal(entry.clientRandom, hello.ch.random)) {
      this.feed(entry, now, hello.whole ?? datagram);
      return;
    }
    if (!this.cookies.verify(now, key, hello.ch)) {
      this.sendHelloVerifyRequest(now, peer, key, hello);
      return;
    }
    // RFC 6347 §4.2.8: a valid cookie proves the client is reachable at this address, so a
    // new handshake may replace an existing association; a spoofed datagram cannot do this.
    if (entry) this.remove(entry, { type: 'failed', error: new DtlsError('REPLACED', 'the peer started a new handshake') });
    if (!this.admit(now, peer)) return;
    const cid = this.cid ? this.newCid(this.cid) : undefined;
    const connection = new ServerConnection(this.cfg, hello.recordSeq, hello.messageSeq, !!this.store.psk, cid);
    const e = new Entry(key, peer, connection, hello.ch.random.slice(), now + this.handshakeTimeoutMs, cid && toHex(cid));
    this.entries.set(key, e);
    this.byConnection.set(connection, e);
    if (e.cidKey !== undefined) this.byCid.set(e.cidKey, e);
    this.slots.add(e);
    this.stats.handshakesStarted++;
    this.feed(e, now, hello.whole ?? datagram);
  }

  handleTimeout(now: number): void {
    this.applyResolved(now);
    for (const e of this.timers.popDue(now)) {
      e.scheduledAt = undefined;
      if (e.lookup && now >= e.lookup.deadline) {
        const { kind, identity } = e.lookup;
        const cause = new DtlsError('KEY_STORE_FAILURE', `no answer within ${this.keyLookupTimeoutMs} ms`);
        this.keyStoreFailed(e, now, identity ? { lookup: kind, identity, cause } : { lookup: kind, cause });
        continue;
      }
      this.drive(e, now, (c) => {
        if (e.handshakeDeadline !== undefined && now >= e.handshakeDeadline && c.isHandshaking) {
          this.remove(e, { type: 'failed', error: new DtlsError('HANDSHAKE_TIMEOUT', `handshake not finished within ${this.handshakeTimeoutMs} ms`) });
          return;
        }
        c.handleTimeout(now);
      });
    }
  }

  /** Sends application data on an established session. */
  send(now: number, connection: ServerConnection, data: Uint8Array): void {
    const e = this.byConnection.get(connection);
    if (!e) throw new DtlsError('CLOSED', 'no such session');
    // as drive(..., rethrow): API misuse is the caller's error; the output is collected anyway
    try {
      e.connection.send(now, data);
    } finally {
      this.collect(e, now);
    }
  }

  /** Closes one session with close_notify. */
  closeSession(now: number, connection: ServerConnection): void {
    const e = this.byConnection.get(connection);
    if (e) this.drive(e, now, (c) => c.close(now));
  }

  /** Closes every session with close_notify. */
  close(now: number): void {
    for (const e of [...this.byConnection.values()]) this.drive(e, now, (c) => c.close(now));
  }

  sessions(): Iterable<Session> {
    return this.byConnection.values();
  }

  pollTransmit(): { peer: PeerAddress; data: Uint8Array } | undefined {
    return this.out.shift();
  }

  /**
   * Hands every queued datagram to `send`, in order: pollTransmit() without an object per
   * datagram. Datagrams queued by `send` itself (re-entrant calls) are handed over too. If
   * `send` throws, the datagrams after the one it was given stay queued.
   */
  drainTransmit(send: (peer: PeerAddress, data: Uint8Array) => void): void {
    this.out.drain(send);
  }

  /** Whether datagrams are waiting for pollTransmit()/drainTransmit(). */
  get hasTransmit(): boolean {
    return !this.out.isEmpty;
  }

  pollEvent(): EndpointEvent | undefined {
    return this.events.shift();
  }
  pollTimeout(): number | undefined {
    return this.timers.peek();
  }

  // ------------------------------------------------------------------------------------

  /**
   * Whether a client whose cookie verified may start a handshake: under maxSessions, and with a
   * handshake slot, possibly made by evicting the handshake whose peer is silent longest.
   */
  private admit(now: number, peer: PeerAddress): boolean {
    const established = this.byConnection.size - this.slots.size;
    const verdict = established >= this.maxSessions ? ({ refused: 'max-sessions' } as const) : this.slots.admit(peer.address);
    if ('refused' in verdict) {
      this.stats.handshakesRefused++;
      this.events.push({ type: 'handshake-refused', peer, reason: verdict.refused });
      return false;
    }
    if (verdict.evict) {
      this.stats.handshakesEvicted++;
      const e = verdict.evict;
      this.remove(e, { type: 'failed', error: new DtlsError('EVICTED', 'the handshake stalled and made room for a new one') });
      this.collect(e, now);
    }
    return true;
  }

  private sendHelloVerifyRequest(now: number, peer: PeerAddress, key: string, hello: PeekedHello): void {
    const cookie = this.cookies.make(now, key, hello.ch);
    // RFC 6347 §4.2.1: same message_seq and record sequence number as the ClientHello;
    // version DTLS 1.0 for compatibility. Never retransmitted, never stored.
    const hvr = encodeHandshake(HandshakeType.hello_verify_request, hello.messageSeq, encodeHelloVerifyRequest({ serverVersion: 0xfefd, cookie }));
    const record = encodeRecord({ type: ContentType.handshake, version: DTLS_1_0, epoch: 0, sequence: hello.recordSeq }, hvr);
    if (record.length > hello.wireBytes) return; // no amplification, ever
    this.stats.helloVerifyRequests++;
    this.out.push(peer, record);
  }

  /**
   * Runs one operation on a connection and collects its output. Input from the network never
   * throws out of the endpoint: an unexpected error fails that one connection only. API
   * misuse (`send` on a closed session) is rethrown to the caller.
   */
  private drive(e: Entry, now: number, f: (c: ServerConnection) => void, rethrow = false): void {
    const c = e.connection;
    try {
      f(c);
    } catch (err) {
      if (rethrow) throw err;
      this.remove(e, { type: 'failed', error: new DtlsError('INTERNAL', err instanceof Error ? err.message : String(err)) });
    } finally {
      this.collect(e, now);
    }
  }

  /**
   * drive() for a datagram, without a closure per datagram. `from`/`fromKey`: where a datagram
   * found by CID came from, which may be another address than the session's (RFC 9146 §6).
   */
  private feed(e: Entry, now: number, datagram: Uint8Array, from?: PeerAddress, fromKey?: string): void {
    if (e.handshakeDeadline !== undefined) this.slots.touch(e);
    try {
      e.connection.handleDatagram(now, datagram);
      if (from && fromKey !== undefined && e.connection.lastDatagramAdvanced) {
        if (fromKey !== e.key) this.moveTo(e, from, fromKey, datagram.length);
        else if (e.unverified && ++e.unverified.records >= 2) e.unverified = undefined;
        else if (e.unverified) e.unverified.bytesIn += datagram.length;
      }
    } catch (err) {
      this.remove(e, { type: 'failed', error: new DtlsError('INTERNAL', err instanceof Error ? err.message : String(err)) });
    } finally {
      this.collect(e, now);
    }
  }

  /**
   * RFC 9146 §6: an authenticated record newer than any before, with this session's CID, came
   * from `to`: the session answers there from now on. Until `to` has sent a second such record,
   * we send it at most three times the bytes it sent us (QUIC's anti-amplification factor, RFC
   * 9000 §8.1): an attacker who races a captured record from a spoofed address can redirect a
   * session until the peer's next record, but not turn it into an amplifier; the excess is
   * dropped (DTLS and CoAP retransmit). Without a CID, a new address is a new peer: a session
   * is never moved by address alone.
   */
  private moveTo(e: Entry, to: PeerAddress, toKey: string, bytesIn: number): void {
    const from = e.peer;
    if (this.entries.get(e.key) === e) this.entries.delete(e.key);
    // a session that stays at the new address (a NAT gave its port away) keeps its CID, not the address
    this.entries.set(toKey, e);
    e.key = toKey;
    e.peer = to;
    e.unverified = { bytesIn, bytesOut: 0, records: 1 };
    this.stats.peersMoved++;
    this.persistence?.moved(e.connection, from, to);
    this.events.push({ type: 'peer-moved', peer: to, from, connection: e.connection });
  }

  /** Queues a datagram to a session's peer, within the bound of an address not yet verified. */
  private sendTo(e: Entry, d: Uint8Array): void {
    const u = e.unverified;
    if (u) {
      if (u.bytesOut + d.length > 3 * u.bytesIn) {
        this.stats.amplificationDrops++;
        return;
      }
      u.bytesOut += d.length;
    }
    this.out.push(e.peer, d);
  }

  /** A CID for a new session: the prefix, then random bytes, unused by any live session. */
  private newCid(o: { length: number; prefix: Uint8Array }): Uint8Array {
    for (;;) {
      const cid = new Uint8Array(o.length);
      cid.set(o.prefix);
      cid.set(this.cfg.crypto.random(o.length - o.prefix.length), o.prefix.length);
      if (!this.byCid.has(toHex(cid))) return cid;
    }
  }

  private alive(e: Entry): boolean {
    return this.byConnection.get(e.connection) === e;
  }

  private collect(e: Entry, now: number): void {
    const c = e.connection;
    for (let d = c.pollTransmit(); d; d = c.pollTransmit()) this.sendTo(e, d);
    for (let ev = c.pollEvent(); ev; ev = c.pollEvent()) {
      switch (ev.type) {
        case 'psk-request':
          this.lookupPsk(e, ev.identity, now);
          break;
        case 'verify-peer':
          this.verify(e, ev.credential, now);
          break;
        case 'data':
          this.events.push(endpointEvent(ev, e));
          break;
        case 'connected':
          e.handshakeDeadline = undefined;
          this.slots.remove(e);
          this.persistence?.start(now, c, e.peer, undefined);
          this.events.push(endpointEvent(ev, e));
          break;
        case 'closed':
        case 'failed':
          this.remove(e, ev);
          break;
        default:
          this.events.push(endpointEvent(ev, e));
      }
    }
    if (!this.alive(e)) return;
    this.persistence?.afterOutput(c);
    const t = minDefined(minDefined(c.pollTimeout(), e.handshakeDeadline), e.lookup?.deadline);
    if (t !== e.scheduledAt) {
      e.scheduledAt = t;
      this.timers.schedule(e, t);
    }
  }

  private lookupPsk(e: Entry, identity: Uint8Array, now: number): void {
    e.lookup = { kind: 'psk', identity, deadline: now + this.keyLookupTimeoutMs };
    let r: ReturnType<PskLookup>;
    try {
      r = this.store.psk ? this.store.psk(identity, e.peer) : undefined;
    } catch (cause) {
      this.keyStoreFailed(e, now, { lookup: 'psk', identity, cause });
      return;
    }
    if (r instanceof Promise) {
      r.then(
        (key) => this.resolved.push({ entry: e, answer: { psk: key } }),
        (cause: unknown) => this.resolved.push({ entry: e, answer: { failed: { lookup: 'psk', identity, cause } } }),
      ).finally(() => this.opts.wake?.());
      return;
    }
    this.pskAnswered(e, now, r);
  }

  /** The key store's answer: a key, undefined (an unknown identity), or a wrong type (a failure of the store). */
  private pskAnswered(e: Entry, now: number, key: unknown): void {
    if (key !== undefined && !(key instanceof Uint8Array)) {
      const identity = e.lookup?.identity;
      const cause = new DtlsError('INVALID_ARGUMENT', `the PSK lookup answered ${typeof key === 'string' ? 'a string' : `a ${typeof key}`}, not bytes (a Uint8Array) or undefined`);
      this.keyStoreFailed(e, now, identity ? { lookup: 'psk', identity, cause } : { lookup: 'psk', cause });
      return;
    }
    e.lookup = undefined;
    e.connection.providePsk(now, key);
    this.collect(e, now);
  }

  /** A lookup threw or rejected: the handshake ends with internal_error; the event says why. */
  private keyStoreFailed(e: Entry, now: number, f: KeyStoreFailure): void {
    e.lookup = undefined;
    const ev: KeyStoreErrorEvent = { type: 'key-store-error', peer: e.peer, connection: e.connection, lookup: f.lookup, cause: f.cause };
    if (f.identity) ev.identity = f.identity;
    this.events.push(ev);
    const what = f.lookup === 'psk' ? 'PSK lookup' : f.lookup === 'rpk' ? 'raw public key lookup' : 'certificate authorization';
    const reason = f.cause instanceof Error ? f.cause.message : String(f.cause);
    e.connection.abort(now, new DtlsError('KEY_STORE_FAILURE', `the key store failed (${what}): ${reason}`, { cause: f.cause }));
    this.collect(e, now);
  }

  private verify(e: Entry, credential: PeerCredential, now: number): void {
    e.lookup = { kind: credential.kind, identity: undefined, deadline: now + this.keyLookupTimeoutMs };
    const v = verifyPeer(this.store, credential, e.peer, { crypto: this.cfg.crypto, purpose: 'clientAuth' });
    if (v instanceof Promise) {
      void v.then((verdict) => {
        this.resolved.push({ entry: e, answer: { verdict, lookup: credential.kind } });
        this.opts.wake?.();
      });
      return;
    }
    this.resolvePeer(e, now, v, credential.kind);
  }

  private resolvePeer(e: Entry, now: number, verdict: PeerVerdict, lookup: 'rpk' | 'x509'): void {
    e.lookup = undefined;
    if (!verdict.ok && verdict.error.code === 'KEY_STORE_FAILURE') {
      this.keyStoreFailed(e, now, { lookup, cause: verdict.error.cause });
      return;
    }
    e.connection.resolvePeer(now, verdict);
    this.collect(e, now);
  }

  private applyResolved(now: number): void {
    if (this.persistence?.hasResults) this.applyStoreResults(now, this.persistence);
    while (this.resolved.length > 0) {
      const { entry, answer } = this.resolved.shift()!;
      if (!this.alive(entry)) continue;
      if ('failed' in answer) {
        this.keyStoreFailed(entry, now, answer.failed);
        continue;
      }
      if ('verdict' in answer) {
        this.resolvePeer(entry, now, answer.verdict, answer.lookup);
        continue;
      }
      this.pskAnswered(entry, now, answer.psk);
    }
  }

  /**
   * A record of a session this process does not hold: look it up in the session store (the
   * datagram waits, with a few more for the same key). False without a store, or when too much
   * already waits.
   */
  private restore(key: string, peer: PeerAddress, datagram: Uint8Array): boolean {
    const p = this.persistence;
    if (!p) return false;
    let waiting = this.restoring.get(key);
    if (!waiting) {
      if (this.restoring.size >= MAX_RESTORING) return false;
      this.restoring.set(key, (waiting = []));
      p.lookup(key);
    }
    if (waiting.length >= 8) return false;
    waiting.push({ peer, data: datagram.slice() });
    return true;
  }

  /** The store answered: leases saved (held records may go), sessions found (they continue here). */
  private applyStoreResults(now: number, p: SessionPersistence): void {
    for (const r of p.takeResults()) {
      if (r.kind === 'saved') {
        const e = this.byConnection.get(r.connection);
        if (!e) continue;
        p.saved(now, r.connection, r.lease, r.ok);
        this.collect(e, now);
        continue;
      }
      const waiting = this.restoring.get(r.key) ?? [];
      this.restoring.delete(r.key);
      const first = waiting[0];
      const snap = r.snapshot;
      const cidHex = snap?.readCid && toHex(snap.readCid);
      if (!snap || !first || (cidHex !== undefined && this.byCid.has(cidHex)) || (this.cid && cidHex === undefined && r.key.startsWith('cid:'))) {
        this.stats.datagramsDropped += waiting.length;
        continue;
      }
      const key = peerKey(first.peer);
      const old = this.entries.get(key);
      if (old) this.remove(old, { type: 'failed', error: new DtlsError('REPLACED', 'a stored session of this address continues') });
      const connection = ServerConnection.restore(this.cfg, now, snap);
      const e = new Entry(key, first.peer, connection, new Uint8Array(0), undefined, cidHex);
      // found by CID from wherever: bounded like a moved peer until a second fresh record
      if (r.key.startsWith('cid:')) e.unverified = { bytesIn: 0, bytesOut: 0, records: 0 };
      this.entries.set(key, e);
      this.byConnection.set(connection, e);
      if (cidHex !== undefined) this.byCid.set(cidHex, e);
      p.start(now, connection, e.peer, snap);
      this.events.push({ type: 'connected', session: connection.session!, peer: e.peer, connection });
      for (const d of waiting) this.feed(e, now, d.data, d.peer, peerKey(d.peer));
    }
  }

  private remove(e: Entry, ev: DtlsEvent): void {
    if (!this.alive(e)) return;
    this.persistence?.ended(e.connection);
    if (this.entries.get(e.key) === e) this.entries.delete(e.key);
    if (e.cidKey !== undefined && this.byCid.get(e.cidKey) === e) this.byCid.delete(e.cidKey);
    this.byConnection.delete(e.connection);
    this.slots.remove(e);
    e.scheduledAt = undefined;
    e.lookup = undefined;
    // drain anything the connection still wanted to send (a final alert)
    for (let d = e.connection.pollTransmit(); d; d = e.connection.pollTransmit()) this.sendTo(e, d);
    this.events.push(endpointEvent(ev, e));
  }
}

/**
 * A connection's event with the peer and connection added, built as one literal per type:
 * an object spread per event costs a copy and a map transition on the hot path.
 */
function endpointEvent(ev: DtlsEvent, e: Entry): EndpointEvent {
  const peer = e.peer;
  const connection = e.connection;
  switch (ev.type) {
    case 'data':
      return { type: 'data', data: ev.data, peer, connection };
    case 'connected':
      return { type: 'connected', session: ev.session, peer, connection };
    case 'closed':
      return { type: 'closed', reason: ev.reason, peer, connection };
    case 'failed':
      return { type: 'failed', error: ev.error, peer, connection };
    default:
      return { ...ev, peer, connection };
  }
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/** The key store, checked: each entry, when present, of the right kind. */
function checkKeyStore(ks: KeyStore | undefined): KeyStore {
  if (ks === undefined) return {};
  if (typeof ks !== 'object' || ks === null) throw new DtlsError('INVALID_ARGUMENT', 'keyStore must be an object (see memoryKeyStore)');
  if (ks.psk !== undefined && typeof ks.psk !== 'function') throw new DtlsError('INVALID_ARGUMENT', 'keyStore.psk must be a lookup function (see pskMap)');
  if (ks.rawPublicKey !== undefined && typeof ks.rawPublicKey !== 'function') throw new DtlsError('INVALID_ARGUMENT', 'keyStore.rawPublicKey must be a function');
  if (ks.x509 !== undefined && (typeof ks.x509 !== 'object' || !Array.isArray(ks.x509.anchors))) throw new DtlsError('INVALID_ARGUMENT', 'keyStore.x509 must be { anchors, clock, authorize? }');
  // the engine reads no clock: certificate validity needs one given (the Node driver gives the system clock)
  if (ks.x509 !== undefined && ks.x509.clock === undefined) throw new DtlsError('INVALID_ARGUMENT', "keyStore.x509.clock is needed: a clock (() => Date), or 'none' for a device without one");
  return { ...ks };
}

/** Store keys whose lookups (and waiting datagrams) may be in flight at once. */
const MAX_RESTORING = 1024;

/**
 * The highest record sequence number of a ClientHello we answer. Our first records continue
 * from it (RFC 6347 §4.2.1) and sequence numbers must not wrap (§4.1: uint48), so a hello
 * numbered near the top would leave our flights no numbers: it is discarded like any invalid
 * record. 2^32 numbers of room are more than any handshake's flights and their retransmissions
 * take; a real client starts near 0 (and could not finish either: its own records would run out).
 */
const MAX_HELLO_RECORD_SEQ = 2 ** 48 - 2 ** 32;

/**
 * The highest message_seq of a ClientHello we answer. Our messages are numbered on from it
 * (RFC 6347 §4.2.2) in a uint16 that must not wrap: a hello numbered near 65535 had our next
 * messages wrap to 0 and every message of the client look old (each answered with our flight,
 * and the client's answer to that with its hello: without end). A real client sends 0, or 1
 * after a HelloVerifyRequest.
 */
const MAX_HELLO_MESSAGE_SEQ = 0xff00;

function checkCidOption(o: EndpointOptions['connectionId']): { length: number; prefix: Uint8Array } | undefined {
  if (o === undefined) return undefined;
  const { length, prefix } = typeof o === 'number' ? { length: o, prefix: new Uint8Array(0) } : { length: o.length, prefix: o.prefix ?? new Uint8Array(0) };
  if (!Number.isInteger(length) || length < 1 || length > 255) throw new DtlsError('INVALID_ARGUMENT', 'connectionId length must be 1..255 (a server needs a CID to find sessions by)');
  if (!(prefix instanceof Uint8Array) || prefix.length > length - 2) throw new DtlsError('INVALID_ARGUMENT', 'connectionId prefix must be bytes, at least 2 shorter than the CID (the rest is random)');
  return { length, prefix };
}

function positive(name: string, v: number): number {
  if (!(Number.isInteger(v) && v > 0)) throw new DtlsError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${String(v)}`);
  return v;
}

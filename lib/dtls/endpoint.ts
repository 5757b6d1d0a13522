import { toHex } from '../bytes/util.js';
import type { ConnectionConfig } from './config.js';
import { ClientHelloPool, type PeekedHello } from './client-hello-pool.js';
import { CookieJar } from './cookie.js';
import { DatagramQueue } from './datagram-queue.js';
import { endpointEvent, endpointStats, type EndpointEvent, type EndpointStats } from './endpoint-events.js';
import { KeyLookups } from './endpoint-key-lookups.js';
import { freshRecord, movePeer, withinBound } from './endpoint-moves.js';
import { resolveEndpointOptions, type CidSettings, type EndpointOptions } from './endpoint-options.js';
import { StoreRestores } from './endpoint-restore.js';
import { Entry, randomTag, samePeer, SessionTable, type EndpointCore, type Session } from './endpoint-sessions.js';
import { DtlsError } from './errors.js';
import type { DtlsEvent } from './events.js';
import { ServerConnection } from './handshake/server.js';
import { HandshakeSlots } from './handshake-slots.js';
import { SessionPersistence } from './session-persistence.js';
import { SessionSlab } from './session-slab.js';
import type { Hibernation } from './config.js';
import { addressKey, cidKey } from './session-store.js';
import { peerKey, type KeyStore, type PeerAddress } from './keystore.js';
import { TimerQueue } from '../timers/timer-queue.js';
import { ContentType, HandshakeType } from './wire/constants.js';
import { helloVerifyRequestRecord } from './wire/hello-verify-request.js';
import { RECORD_HEADER_LENGTH, TLS12_CID } from './wire/record.js';

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
  private readonly table = new SessionTable();
  private readonly cid: CidSettings | undefined;
  private readonly persistence: SessionPersistence | undefined;
  private readonly restores: StoreRestores | undefined;
  private readonly timers: TimerQueue<Entry>;
  private readonly out = new DatagramQueue();
  private readonly events: EndpointEvent[] = [];
  private readonly slots: HandshakeSlots<Entry>;
  private readonly hellos = new ClientHelloPool();
  private readonly lookups: KeyLookups;
  private readonly store: KeyStore;
  private readonly maxSessions: number;
  private readonly handshakeTimeoutMs: number;
  /** Where idle established sessions hibernate (undefined: they never do). */
  private readonly hibernation: Hibernation | undefined;
  /** What the endpoint's parts (key lookups, store restores, peer moves) share with it. */
  private readonly core: EndpointCore;
  /** Counters for observability (no secrets). */
  readonly stats: EndpointStats = endpointStats();

  constructor(opts: EndpointOptions) {
    const s = resolveEndpointOptions(opts);
    this.cfg = s.cfg;
    this.store = s.store;
    const wake = () => opts.wake?.();
    if (s.sessionStore) this.persistence = new SessionPersistence(s.sessionStore.store, s.sessionStore.ttlMs, wake, s.sessionStore.leaseStep);
    this.cookies = new CookieJar(this.cfg.crypto, s.cookieRotationMs);
    this.maxSessions = s.maxSessions;
    this.slots = new HandshakeSlots(s.maxHandshakes, s.maxHandshakesPerAddress);
    this.handshakeTimeoutMs = s.handshakeTimeoutMs;
    this.cid = s.cid;
    if (s.hibernateAfterMs > 0 && !this.persistence) this.hibernation = this.cfg.hibernation = { slab: new SessionSlab(), afterMs: s.hibernateAfterMs };
    this.timers = new TimerQueue(
      (e) => (this.table.isLive(e) ? e.scheduledAt : undefined),
      () => this.table.size,
    );
    this.core = {
      cfg: this.cfg,
      sessions: this.table,
      events: this.events,
      stats: this.stats,
      persistence: this.persistence,
      collect: (e, now) => this.collect(e, now),
      remove: (e, ev) => this.remove(e, ev),
      feed: (e, now, datagram, from) => this.feed(e, now, datagram, from),
    };
    this.lookups = new KeyLookups(this.core, this.store, s.keyLookupTimeoutMs, wake);
    if (this.persistence) this.restores = new StoreRestores(this.core, this.persistence, this.cid !== undefined);
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
    return this.table.size;
  }
  get handshakesInProgress(): number {
    return this.slots.size;
  }
  /** Timer entries held (live and stale); stays proportional to the sessions. */
  get timerEntries(): number {
    return this.timers.size;
  }
  /** Established sessions hibernated now (kept in compact form until their next datagram). */
  get sessionsHibernated(): number {
    return this.hibernation?.slab.size ?? 0;
  }

  handleDatagram(now: number, peer: PeerAddress, datagram: Uint8Array): void {
    this.applyResolved(now);
    // the address key ("address|port") only for what may be a ClientHello (a handshake record
    // whose message is one): none per record of an established session or later flight
    const key = datagram[0] === ContentType.handshake && datagram[RECORD_HEADER_LENGTH] === HandshakeType.client_hello ? peerKey(peer) : undefined;
    // RFC 9146: a tls12_cid record names its session, whatever address it comes from
    if (this.cid && datagram[0] === TLS12_CID && datagram.length >= 13 + this.cid.length) {
      const cid = datagram.subarray(11, 11 + this.cid.length);
      const byCid = this.table.withCid(toHex(cid));
      if (byCid) this.feed(byCid, now, datagram, peer);
      else if (!this.restores?.hold(cidKey(cid), peer, datagram)) this.stats.datagramsDropped++;
      return;
    }
    const entry = this.table.at(peer);
    const hello = key === undefined ? undefined : this.hellos.take(key, datagram);
    if (hello && (hello.recordSeq > MAX_HELLO_RECORD_SEQ || hello.messageSeq > MAX_HELLO_MESSAGE_SEQ)) {
      this.stats.datagramsDropped++;
      return;
    }
    if (!hello || key === undefined) {
      if (entry) this.feed(entry, now, datagram);
      // a protected record (epoch > 0) of a session this process does not hold: perhaps in the store
      else if (!(datagram.length > 4 && (datagram[3]! | datagram[4]!) !== 0 && this.restores?.hold(addressKey(peer), peer, datagram))) this.stats.datagramsDropped++;
      return;
    }
    // A ClientHello. A retransmission of the one that started the handshake in progress
    // goes to that handshake, which answers with its flight (it never restarts).
    if (entry && entry.randomTag === randomTag(hello.body, false) && entry.randomTag2 === randomTag(hello.body, true)) {
      this.feed(entry, now, hello.whole ?? datagram);
      return;
    }
    if (!hello.ch || !this.cookies.verify(now, key, hello.body, hello.paramsEnd)) {
      this.sendHelloVerifyRequest(now, peer, key, hello);
      return;
    }
    // RFC 6347 §4.2.8: a valid cookie proves the client is reachable at this address, so a
    // new handshake may replace an existing association; a spoofed datagram cannot do this.
    if (entry) this.remove(entry, { type: 'failed', error: new DtlsError('REPLACED', 'the peer started a new handshake') });
    if (!this.admit(now, peer)) return;
    const cid = this.cid ? this.table.newCid(this.cid, this.cfg.crypto) : undefined;
    const connection = new ServerConnection(this.cfg, hello.recordSeq, hello.messageSeq, !!this.store.psk, cid, hello);
    const e = new Entry(peer, connection, randomTag(hello.body, false), randomTag(hello.body, true), now + this.handshakeTimeoutMs, cid && toHex(cid));
    this.table.add(e);
    this.slots.add(e);
    this.stats.handshakesStarted++;
    this.feed(e, now, hello.whole ?? datagram);
  }

  handleTimeout(now: number): void {
    this.applyResolved(now);
    for (const e of this.timers.popDue(now)) {
      e.scheduledAt = undefined;
      if (this.lookups.expire(e, now)) continue;
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
    const e = this.table.of(connection);
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
    const e = this.table.of(connection);
    if (e) this.drive(e, now, (c) => c.close(now));
  }

  /** Closes every session with close_notify. */
  close(now: number): void {
    for (const e of [...this.table.values()]) this.drive(e, now, (c) => c.close(now));
  }

  sessions(): Iterable<Session> {
    return this.table.values();
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
    const established = this.table.size - this.slots.size;
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
    const cookie = this.cookies.make(now, key, hello.body, hello.paramsEnd);
    // RFC 6347 §4.2.1: same message_seq and record sequence number as the ClientHello;
    // version DTLS 1.0 for compatibility. Never retransmitted, never stored.
    const record = helloVerifyRequestRecord(hello.recordSeq, hello.messageSeq, cookie);
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
   * drive() for a datagram, without a closure per datagram. `from`: where a datagram
   * found by CID came from, which may be another address than the session's (RFC 9146 §6).
   */
  private feed(e: Entry, now: number, datagram: Uint8Array, from?: PeerAddress): void {
    if (e.handshakeDeadline !== undefined) this.slots.touch(e);
    try {
      e.connection.handleDatagram(now, datagram);
      if (from && e.connection.lastDatagramAdvanced) {
        if (!samePeer(from, e.peer)) movePeer(this.core, e, from, datagram.length);
        else freshRecord(e, datagram.length);
      }
    } catch (err) {
      this.remove(e, { type: 'failed', error: new DtlsError('INTERNAL', err instanceof Error ? err.message : String(err)) });
    } finally {
      this.collect(e, now);
    }
  }

  /** Queues a datagram to a session's peer, within the bound of an address not yet verified. */
  private sendTo(e: Entry, d: Uint8Array): void {
    if (!withinBound(e, d.length)) {
      this.stats.amplificationDrops++;
      return;
    }
    this.out.push(e.peer, d);
  }

  private collect(e: Entry, now: number): void {
    const c = e.connection;
    for (let d = c.pollTransmit(); d; d = c.pollTransmit()) this.sendTo(e, d);
    for (let ev = c.pollEvent(); ev; ev = c.pollEvent()) {
      switch (ev.type) {
        case 'psk-request':
          this.lookups.psk(e, ev.identity, now);
          break;
        case 'verify-peer':
          this.lookups.verify(e, ev.credential, now);
          break;
        case 'data':
          this.events.push(endpointEvent(ev, e));
          break;
        case 'connected':
          e.handshakeDeadline = undefined;
          this.slots.remove(e);
          this.persistence?.start(now, c, e.peer);
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
    if (!this.table.isLive(e)) return;
    this.persistence?.afterOutput(c);
    const t = minDefined(minDefined(c.pollTimeout(), e.handshakeDeadline), e.lookup?.deadline);
    if (t !== e.scheduledAt) {
      e.scheduledAt = t;
      this.timers.schedule(e, t);
    }
  }

  /** Applies the answers that came since the last call: the session store's, then the key store's. */
  private applyResolved(now: number): void {
    this.restores?.applyResults(now);
    this.lookups.applyResolved(now);
  }

  private remove(e: Entry, ev: DtlsEvent): void {
    if (!this.table.isLive(e)) return;
    this.persistence?.ended(e.connection);
    this.table.delete(e);
    this.slots.remove(e);
    e.scheduledAt = undefined;
    e.lookup = undefined;
    e.connection.discard(); // a hibernated session let go without ending (replaced): its slot is freed
    // drain anything the connection still wanted to send (a final alert)
    for (let d = e.connection.pollTransmit(); d; d = e.connection.pollTransmit()) this.sendTo(e, d);
    this.events.push(endpointEvent(ev, e));
  }
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

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

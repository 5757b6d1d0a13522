import { toHex } from '../bytes/util.js';
import type { CryptoProvider } from '../crypto/provider.js';
import type { ConnectionConfig } from './config.js';
import type { EndpointEvent, EndpointStats, KeyStoreErrorEvent } from './endpoint-events.js';
import type { CidSettings } from './endpoint-options.js';
import type { DtlsEvent } from './events.js';
import type { ServerConnection } from './handshake/server.js';
import type { SlotHolder } from './handshake-slots.js';
import { peerKey, type PeerAddress } from './keystore.js';
import type { SessionPersistence } from './session-persistence.js';

export interface Session {
  readonly peer: PeerAddress;
  readonly connection: ServerConnection;
}

/** A key store lookup in flight: which, and until when. */
export interface LookupInFlight {
  readonly kind: KeyStoreErrorEvent['lookup'];
  readonly identity: Uint8Array | undefined;
  readonly deadline: number;
}

/** What we may still send to an address not yet verified (RFC 9146 §6, see movePeer()). */
export interface Unverified {
  bytesIn: number;
  bytesOut: number;
  records: number;
}

/** What an Entry keeps only for a while (Entry.rare): absent for an idle established session. */
interface Rare {
  deadline: number | undefined;
  lookup: LookupInFlight | undefined;
  unverified: Unverified | undefined;
}

/**
 * One peer's connection as the endpoint keeps it. Every field costs each idle session 8 bytes:
 * what is kept only for a while (the handshake's deadline, a key lookup in flight, the bound of
 * an address not yet verified) is one object, dropped when none is left; the address key
 * ("address|port") is not kept (the table is keyed by address).
 */
export class Entry implements Session, SlotHolder {
  scheduledAt: number | undefined = undefined;
  private rare: Rare | undefined;
  constructor(
    public peer: PeerAddress,
    readonly connection: ServerConnection,
    /**
     * The ClientHello.random of the handshake this connection serves, as randomTag() (a hello
     * with the same random is a retransmission): two small integers, not a 32-byte array
     * (~190 bytes of heap per session); -1 for a session that had no hello here.
     */
    readonly randomTag: number,
    readonly randomTag2: number,
    /** Until the handshake ends: when it is given up. */
    handshakeDeadline: number | undefined,
    /** RFC 9146: the CID this server asked for, as hex (the byCid key), if any. */
    readonly cidKey: string | undefined,
  ) {
    this.rare = handshakeDeadline === undefined ? undefined : { deadline: handshakeDeadline, lookup: undefined, unverified: undefined };
  }
  get address(): string {
    return this.peer.address;
  }
  /** The peer's address key (peerKey()), made on demand. */
  get key(): string {
    return peerKey(this.peer);
  }
  /** Until the handshake ends: when it is given up. */
  get handshakeDeadline(): number | undefined {
    return this.rare?.deadline;
  }
  set handshakeDeadline(deadline: number | undefined) {
    const r = this.rare;
    this.setRare(deadline, r?.lookup, r?.unverified);
  }
  /** A key store lookup in flight: which, and until when. */
  get lookup(): LookupInFlight | undefined {
    return this.rare?.lookup;
  }
  set lookup(lookup: LookupInFlight | undefined) {
    const r = this.rare;
    this.setRare(r?.deadline, lookup, r?.unverified);
  }
  /**
   * After the peer moved to an address (RFC 9146 §6) that has not yet sent a second fresh
   * record: what we may still send there (the anti-amplification bound, see movePeer()).
   */
  get unverified(): Unverified | undefined {
    return this.rare?.unverified;
  }
  set unverified(unverified: Unverified | undefined) {
    const r = this.rare;
    this.setRare(r?.deadline, r?.lookup, unverified);
  }
  awaitingLookup(): boolean {
    return this.lookup !== undefined;
  }
  private setRare(deadline: number | undefined, lookup: LookupInFlight | undefined, unverified: Unverified | undefined): void {
    const r = this.rare;
    if (deadline === undefined && lookup === undefined && unverified === undefined) this.rare = undefined;
    else if (r) {
      r.deadline = deadline;
      r.lookup = lookup;
      r.unverified = unverified;
    } else this.rare = { deadline, lookup, unverified };
  }
}

/** Whether two peer addresses are the same (address and port). */
export function samePeer(a: PeerAddress, b: PeerAddress): boolean {
  return a.port === b.port && a.address === b.address;
}

/**
 * The endpoint's sessions (handshakes in progress included), by peer address, by RFC 9146 CID and
 * by connection. Memory per idle session matters here (issue 13): the connection -> session link
 * is a field of the connection (no map: an entry costs ~40 bytes per session), a session is live
 * while its connection points to it; and the first session of each IP address is keyed by the
 * address string the peer object holds anyway, and further sessions of the same IP address
 * (peers behind one NAT) by address and port number: no "address|port" string is kept per
 * session (~32 bytes) nor made per record.
 *
 * The maps hold slot numbers, not sessions: the sessions are in an array of slots (a freed slot is
 * reused). A Map that churns objects (one session in and one out per handshake) kept every one
 * of them reachable after the first full collection of the process (V8 links each replaced table
 * of a Map to the next, and an old-generation table is a root for young-generation
 * collections), so every handshake was promoted; small integers hold nothing.
 */
export class SessionTable {
  /** The sessions found by address or CID, by slot; undefined: a free slot. */
  private readonly slots: Array<Entry | undefined> = [];
  private readonly freeSlots: number[] = [];
  /** The session of each IP address (by PeerAddress.address) whose port it is keyed by: its slot. */
  private readonly byIp = new Map<string, number>();
  /**
   * Further sessions of an IP address byIp holds another session of (peers behind one NAT), by
   * address and then port: their slots. No "address|port" string is made per record.
   */
  private readonly byIpPort = new Map<string, Map<number, number>>();
  /** RFC 9146: sessions by the CID they asked for (hex): their slots. */
  private readonly byCid = new Map<string, number>();
  /**
   * Live sessions found by neither address nor CID (they hold no slot): a session without a CID
   * whose address a moved session took (RFC 9146 §6); it can no longer receive, but lives until
   * it times out or is closed. Rare.
   */
  private readonly displaced = new Set<Entry>();
  private count = 0;

  get size(): number {
    return this.count;
  }
  /** The session at a peer address. */
  at(peer: PeerAddress): Entry | undefined {
    const i = this.byIp.get(peer.address);
    if (i !== undefined) {
      const e = this.slots[i]!;
      if (e.peer.port === peer.port) return e;
    }
    if (this.byIpPort.size === 0) return undefined;
    const j = this.byIpPort.get(peer.address)?.get(peer.port);
    return j === undefined ? undefined : this.slots[j];
  }
  /** The session that asked for this CID (hex). */
  withCid(cidHex: string): Entry | undefined {
    const i = this.byCid.get(cidHex);
    return i === undefined ? undefined : this.slots[i];
  }
  hasCid(cidHex: string): boolean {
    return this.byCid.has(cidHex);
  }
  of(connection: ServerConnection): Entry | undefined {
    return connection.tableEntry as Entry | undefined;
  }
  /** Whether `e` is still a session here (not removed, nor replaced). */
  isLive(e: Entry): boolean {
    return e.connection.tableEntry === e;
  }
  /** Every live session. */
  *values(): IterableIterator<Entry> {
    for (const e of this.slots) if (e !== undefined) yield e;
    for (const e of this.displaced) yield e;
  }

  add(e: Entry): void {
    this.count++;
    e.connection.tableEntry = e;
    const slot = this.freeSlots.pop() ?? this.slots.length;
    this.slots[slot] = e;
    if (e.cidKey !== undefined) this.byCid.set(e.cidKey, slot);
    this.place(e, slot);
  }

  delete(e: Entry): void {
    if (!this.isLive(e)) return;
    this.count--;
    e.connection.tableEntry = undefined;
    const slot = this.slotOf(e);
    if (slot === undefined) {
      this.displaced.delete(e);
      return;
    }
    this.unplace(e, slot);
    if (e.cidKey !== undefined && this.byCid.get(e.cidKey) === slot) this.byCid.delete(e.cidKey);
    this.free(slot);
  }

  /** The session answers at another address from now on. */
  readdress(e: Entry, peer: PeerAddress): void {
    let slot = this.slotOf(e);
    if (slot !== undefined) this.unplace(e, slot);
    else if (this.displaced.delete(e)) {
      slot = this.freeSlots.pop() ?? this.slots.length;
      this.slots[slot] = e;
    } else return;
    // a session that stays at the new address (a NAT gave its port away) keeps its CID, not the address
    e.peer = peer;
    this.place(e, slot);
  }

  /** The slot of a session found by address or CID; undefined for a displaced one. */
  private slotOf(e: Entry): number | undefined {
    const i = this.byIp.get(e.peer.address);
    if (i !== undefined && this.slots[i] === e) return i;
    if (this.byIpPort.size > 0) {
      const j = this.byIpPort.get(e.peer.address)?.get(e.peer.port);
      if (j !== undefined && this.slots[j] === e) return j;
    }
    if (e.cidKey !== undefined) {
      const k = this.byCid.get(e.cidKey);
      if (k !== undefined && this.slots[k] === e) return k;
    }
    return undefined;
  }

  private free(slot: number): void {
    this.slots[slot] = undefined;
    this.freeSlots.push(slot);
  }

  /** `e` (in `slot`) takes its peer's address; a live session there before is found by CID only from now on, or displaced. */
  private place(e: Entry, slot: number): void {
    const { address, port } = e.peer;
    const firstSlot = this.byIp.get(address);
    const first = firstSlot === undefined ? undefined : this.slots[firstSlot]!;
    if (first === undefined || first.peer.port === port) {
      if (first !== undefined) this.lostAddress(first, firstSlot!, e);
      else if (this.byIpPort.size > 0) {
        const oldSlot = this.byIpPort.get(address)?.get(port);
        if (oldSlot !== undefined) {
          this.unsetPort(address, port);
          this.lostAddress(this.slots[oldSlot]!, oldSlot, e);
        }
      }
      this.byIp.set(address, slot);
      return;
    }
    let ports = this.byIpPort.get(address);
    if (ports === undefined) this.byIpPort.set(address, (ports = new Map()));
    const oldSlot = ports.get(port);
    ports.set(port, slot);
    if (oldSlot !== undefined) this.lostAddress(this.slots[oldSlot]!, oldSlot, e);
  }

  /** `e` (in `slot`) no longer answers at its peer's address (if it did). */
  private unplace(e: Entry, slot: number): void {
    const address = e.peer.address;
    if (this.byIp.get(address) === slot) this.byIp.delete(address);
    else if (this.byIpPort.size > 0 && this.byIpPort.get(address)?.get(e.peer.port) === slot) this.unsetPort(address, e.peer.port);
  }

  private unsetPort(address: string, port: number): void {
    const ports = this.byIpPort.get(address);
    if (ports?.delete(port) && ports.size === 0) this.byIpPort.delete(address);
  }

  /** `old` (in `slot`) lost its address to `to`: found by its CID from now on, or displaced (its slot freed). */
  private lostAddress(old: Entry, slot: number, to: Entry): void {
    if (old === to || !this.isLive(old)) return;
    if (old.cidKey !== undefined && this.byCid.get(old.cidKey) === slot) return;
    this.free(slot);
    this.displaced.add(old);
  }

  /** A CID for a new session: the prefix, then random bytes, unused by any live session. */
  newCid(o: CidSettings, crypto: CryptoProvider): Uint8Array {
    for (;;) {
      const cid = new Uint8Array(o.length);
      cid.set(o.prefix);
      cid.set(crypto.random(o.length - o.prefix.length), o.prefix.length);
      if (!this.byCid.has(toHex(cid))) return cid;
    }
  }
}

/** What DtlsEndpoint shares with its parts (key lookups, session store restores, peer moves). */
export interface EndpointCore {
  readonly cfg: ConnectionConfig;
  readonly sessions: SessionTable;
  /** The queue pollEvent() drains. */
  readonly events: EndpointEvent[];
  readonly stats: EndpointStats;
  readonly persistence: SessionPersistence | undefined;
  /** Collects a connection's output and events (after anything that may have produced some). */
  collect(e: Entry, now: number): void;
  /** Ends a session here, with its last event. */
  remove(e: Entry, ev: DtlsEvent): void;
  /** Feeds a datagram to a session; `from`: where a datagram found by CID came from. */
  feed(e: Entry, now: number, datagram: Uint8Array, from?: PeerAddress): void;
}

/** 60 bits of the random of a ClientHello `body` (at offset 2) as two small integers (Entry.randomTag, randomTag2). */
export function randomTag(body: Uint8Array, second: boolean): number {
  const o = second ? 6 : 2;
  return ((body[o]! << 22) | (body[o + 1]! << 14) | (body[o + 2]! << 6) | (body[o + 3]! >>> 2)) >>> 0;
}

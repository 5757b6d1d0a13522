import { toHex } from '../bytes/util.js';
import type { CryptoProvider } from '../crypto/provider.js';
import type { ConnectionConfig } from './config.js';
import type { EndpointEvent, EndpointStats, KeyStoreErrorEvent } from './endpoint-events.js';
import type { CidSettings } from './endpoint-options.js';
import type { DtlsEvent } from './events.js';
import type { ServerConnection } from './handshake/server.js';
import type { SlotHolder } from './handshake-slots.js';
import type { PeerAddress } from './keystore.js';
import type { SessionPersistence } from './session-persistence.js';

export interface Session {
  readonly peer: PeerAddress;
  readonly connection: ServerConnection;
}

/** One peer's connection as the endpoint keeps it. */
export class Entry implements Session, SlotHolder {
  scheduledAt: number | undefined = undefined;
  /**
   * After the peer moved to an address (RFC 9146 §6) that has not yet sent a second fresh
   * record: what we may still send there (the anti-amplification bound, see movePeer()).
   */
  unverified: { bytesIn: number; bytesOut: number; records: number } | undefined = undefined;
  /** A key store lookup in flight: which, and until when. */
  lookup: { kind: KeyStoreErrorEvent['lookup']; identity: Uint8Array | undefined; deadline: number } | undefined = undefined;
  constructor(
    public key: string,
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
 * The endpoint's sessions (handshakes in progress included), by peer address, by RFC 9146 CID and
 * by connection. The connection -> session link is a field of the connection (no third map: a
 * map entry costs ~40 bytes per session); a session is live while its connection points to it.
 */
export class SessionTable {
  /** Sessions by peer address. A session that moved away from an address another one took is found by CID only. */
  private readonly byAddress = new Map<string, Entry>();
  /** RFC 9146: sessions by the CID they asked for (hex). */
  private readonly byCid = new Map<string, Entry>();
  /**
   * Live sessions in neither map: a session without a CID whose address a moved session took
   * (RFC 9146 §6); it can no longer receive, but lives until it times out or is closed. Rare.
   */
  private readonly displaced = new Set<Entry>();
  private count = 0;

  get size(): number {
    return this.count;
  }
  /** The session at a peer address (peerKey()). */
  atAddress(key: string): Entry | undefined {
    return this.byAddress.get(key);
  }
  /** The session that asked for this CID (hex). */
  withCid(cidHex: string): Entry | undefined {
    return this.byCid.get(cidHex);
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
  /** Every live session: those at their address, then those found by CID only, then the displaced. */
  *values(): IterableIterator<Entry> {
    for (const e of this.byAddress.values()) yield e;
    for (const e of this.byCid.values()) if (this.byAddress.get(e.key) !== e) yield e;
    for (const e of this.displaced) yield e;
  }

  add(e: Entry): void {
    this.count++;
    e.connection.tableEntry = e;
    this.place(e, e.key);
    if (e.cidKey !== undefined) this.byCid.set(e.cidKey, e);
  }

  delete(e: Entry): void {
    if (!this.isLive(e)) return;
    this.count--;
    e.connection.tableEntry = undefined;
    if (this.byAddress.get(e.key) === e) this.byAddress.delete(e.key);
    if (e.cidKey !== undefined && this.byCid.get(e.cidKey) === e) this.byCid.delete(e.cidKey);
    this.displaced.delete(e);
  }

  /** `e` takes the address `key`; a live session there that no CID finds is kept as displaced. */
  private place(e: Entry, key: string): void {
    const old = this.byAddress.get(key);
    if (old !== undefined && old !== e && this.isLive(old) && !(old.cidKey !== undefined && this.byCid.get(old.cidKey) === old)) this.displaced.add(old);
    this.byAddress.set(key, e);
  }

  /** The session answers at another address from now on. */
  readdress(e: Entry, key: string, peer: PeerAddress): void {
    if (this.byAddress.get(e.key) === e) this.byAddress.delete(e.key);
    // a session that stays at the new address (a NAT gave its port away) keeps its CID, not the address
    this.place(e, key);
    e.key = key;
    e.peer = peer;
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
  /** Feeds a datagram to a session; `from`/`fromKey`: where a datagram found by CID came from. */
  feed(e: Entry, now: number, datagram: Uint8Array, from?: PeerAddress, fromKey?: string): void;
}

/** 60 bits of a ClientHello.random as two small integers (Entry.randomTag, randomTag2). */
export function randomTag(random: Uint8Array, second: boolean): number {
  const o = second ? 4 : 0;
  return ((random[o]! << 22) | (random[o + 1]! << 14) | (random[o + 2]! << 6) | (random[o + 3]! >>> 2)) >>> 0;
}

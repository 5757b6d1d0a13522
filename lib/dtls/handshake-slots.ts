import { SlotLru } from './slot-lru.js';

/** What a handshake slot holds, as the slots see it. */
export interface SlotHolder {
  /** The peer's IP address (without the port): the unit of the per-address cap. */
  readonly address: string;
  /** Waiting for our own key store: never evicted for that (the lookup timeout ends it). */
  awaitingLookup(): boolean;
}

export type SlotRefusal = 'max-handshakes' | 'max-handshakes-per-address';

/**
 * The server's handshakes in progress, bounded overall and per source address. A handshake
 * costs a slot only after its cookie verified (RFC 6347 §4.2.1), so a spoofer holds none; but
 * a client that completes the cookie exchange and goes silent does. When the slots are full, the
 * handshake whose peer has been silent longest makes room (it is evicted) rather than the new
 * client being refused: an attacker's stalled handshakes age out at the rate it creates them,
 * while a real client's handshake completes in a few round trips. Per address, the same rule
 * keeps one source from taking every slot. Only a handshake waiting for our own key store is
 * never evicted (its lookup timeout ends it). Each operation is O(1) but admit()'s search for an
 * evictable handshake, which skips those waiting for a lookup (and, at the per-address cap,
 * those of other addresses).
 *
 * The order is kept in typed arrays of links (SlotLru), the items in an array of slots, and an
 * item's slot in a WeakMap: no Map or Set holds an item. A Map that churns objects (one in, one
 * out per handshake) kept every one of them reachable after the first full collection of the
 * process (V8 links each replaced table of a Map to the next, and an old-generation table is a
 * root for young-generation collections), so every handshake was promoted.
 */
export class HandshakeSlots<T extends SlotHolder> {
  /** Every handshake's slot, least recently active peer first. */
  private readonly order = new SlotLru(16);
  private readonly items: Array<T | undefined> = [];
  /** The address each slot counts against (as it was when added). */
  private readonly addresses: Array<string | undefined> = [];
  private readonly slotOf = new WeakMap<T, number>();
  /** Handshakes per address. */
  private readonly perAddress = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly maxPerAddress: number,
  ) {}

  get size(): number {
    return this.order.size;
  }

  /**
   * Whether a new handshake from `address` may start: yes (possibly making room by evicting
   * `evict`, which the caller must end and remove()), or refused with the reason.
   */
  admit(address: string): { evict: T | undefined } | { refused: SlotRefusal } {
    if ((this.perAddress.get(address) ?? 0) >= this.maxPerAddress) {
      const victim = this.oldestEvictable(address);
      return victim ? { evict: victim } : { refused: 'max-handshakes-per-address' };
    }
    if (this.order.size >= this.max) {
      const victim = this.oldestEvictable(undefined);
      return victim ? { evict: victim } : { refused: 'max-handshakes' };
    }
    return { evict: undefined };
  }

  add(item: T): void {
    if (this.slotOf.has(item)) return;
    let slot = this.order.take();
    if (slot < 0) {
      this.order.grow(this.order.limit * 2);
      slot = this.order.take();
    }
    const address = item.address;
    this.items[slot] = item;
    this.addresses[slot] = address;
    this.slotOf.set(item, slot);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
  }

  /** The peer of `item` spoke: it becomes the most recently active. */
  touch(item: T): void {
    const slot = this.slotOf.get(item);
    if (slot !== undefined) this.order.touch(slot);
  }

  remove(item: T): void {
    const slot = this.slotOf.get(item);
    if (slot === undefined) return;
    this.slotOf.delete(item);
    const address = this.addresses[slot]!;
    this.items[slot] = undefined;
    this.addresses[slot] = undefined;
    this.order.release(slot);
    const n = (this.perAddress.get(address) ?? 1) - 1;
    if (n > 0) this.perAddress.set(address, n);
    else this.perAddress.delete(address);
  }

  /** The least recently active handshake (of `address`, if given) not waiting for a key lookup. */
  private oldestEvictable(address: string | undefined): T | undefined {
    for (let slot = this.order.first; slot >= 0; slot = this.order.after(slot)) {
      if (address !== undefined && this.addresses[slot] !== address) continue;
      const it = this.items[slot]!;
      if (!it.awaitingLookup()) return it;
    }
    return undefined;
  }
}

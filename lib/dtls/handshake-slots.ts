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
 * evictable handshake, which skips only those waiting for a lookup.
 */
export class HandshakeSlots<T extends SlotHolder> {
  /** Every handshake, least recently active peer first (a Map keeps insertion order). */
  private readonly byActivity = new Map<T, true>();
  /** The handshakes of each address, least recently active first. */
  private readonly byAddress = new Map<string, Map<T, true>>();

  constructor(
    private readonly max: number,
    private readonly maxPerAddress: number,
  ) {}

  get size(): number {
    return this.byActivity.size;
  }

  /**
   * Whether a new handshake from `address` may start: yes (possibly making room by evicting
   * `evict`, which the caller must end and remove()), or refused with the reason.
   */
  admit(address: string): { evict: T | undefined } | { refused: SlotRefusal } {
    const mine = this.byAddress.get(address);
    if (mine && mine.size >= this.maxPerAddress) {
      const victim = oldestEvictable(mine.keys());
      return victim ? { evict: victim } : { refused: 'max-handshakes-per-address' };
    }
    if (this.byActivity.size >= this.max) {
      const victim = oldestEvictable(this.byActivity.keys());
      return victim ? { evict: victim } : { refused: 'max-handshakes' };
    }
    return { evict: undefined };
  }

  add(item: T): void {
    this.byActivity.set(item, true);
    let mine = this.byAddress.get(item.address);
    if (!mine) this.byAddress.set(item.address, (mine = new Map()));
    mine.set(item, true);
  }

  /** The peer sent something: its handshake is the most recently active now. */
  touch(item: T): void {
    if (!this.byActivity.delete(item)) return;
    this.byActivity.set(item, true);
    const mine = this.byAddress.get(item.address);
    if (mine?.delete(item)) mine.set(item, true);
  }

  remove(item: T): void {
    if (!this.byActivity.delete(item)) return;
    const mine = this.byAddress.get(item.address);
    if (!mine) return;
    mine.delete(item);
    if (mine.size === 0) this.byAddress.delete(item.address);
  }
}

function oldestEvictable<T extends SlotHolder>(items: IterableIterator<T>): T | undefined {
  for (const it of items) if (!it.awaitingLookup()) return it;
  return undefined;
}

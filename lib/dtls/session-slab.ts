import { DtlsError } from './errors.js';

/**
 * Bytes of one slot by default: a 1-byte length, then the record (lib/dtls/hibernation.ts: 95 B
 * for a fresh PSK session with a 13-byte identity; identities up to ~28 bytes fit).
 */
export const SLOT_BYTES = 112;
/** Slots per chunk: chunks are allocated as the slab grows and never shrink. */
const CHUNK_SLOTS = 256;
/** The length mark of a record kept outside the slab (too long for a slot). */
const OUTSIDE = 0xff;

/**
 * Fixed-size slots in a few large byte chunks, one per hibernated connection (an idle
 * established session in compact form, lib/dtls/hibernation.ts), or per session of the session
 * cache (session-cache.ts, with larger slots): 112 bytes in a shared chunk
 * instead of a graph of small objects and typed arrays (each Uint8Array alone costs ~200 bytes
 * of heap). A slot is owned by the connection that took it; reading or freeing it checks the
 * owner, so a stale index can never read another session's keys. A record too long for a slot
 * (long identities, CIDs, a session ticket in the lingering flight), and objects that are not
 * bytes (a certificate or raw-public-key identity), are kept beside it, per slot.
 */
export class SessionSlab {
  private readonly chunks: Uint8Array[] = [];
  private readonly owners: unknown[] = [];
  private readonly freeSlots: number[] = [];
  private readonly beside = new Map<number, Beside>();
  private live = 0;

  /** `slotBytes`: bytes of a slot, the 1-byte length included (at most 255). */
  constructor(private readonly slotBytes = SLOT_BYTES) {
    if (!(Number.isInteger(slotBytes) && slotBytes >= 2 && slotBytes <= 255)) throw new RangeError('a slab slot is 2..255 bytes');
  }

  /** Slots in use. */
  get size(): number {
    return this.live;
  }

  /** Bytes the chunks hold (used or free). */
  get capacityBytes(): number {
    return this.chunks.length * CHUNK_SLOTS * this.slotBytes;
  }

  /** Stores `record` (a copy) for `owner`; returns its slot. `attached`: an object kept with it. */
  put(owner: object, record: Uint8Array, attached?: unknown): number {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.owners.length;
      if (slot % CHUNK_SLOTS === 0) this.chunks.push(new Uint8Array(CHUNK_SLOTS * this.slotBytes));
      this.owners.push(undefined);
    }
    this.owners[slot] = owner;
    this.live++;
    const chunk = this.chunks[(slot / CHUNK_SLOTS) | 0]!;
    const at = (slot % CHUNK_SLOTS) * this.slotBytes;
    const outside = record.length > this.slotBytes - 1;
    chunk[at] = outside ? OUTSIDE : record.length;
    if (!outside) chunk.set(record, at + 1);
    if (outside || attached !== undefined) this.beside.set(slot, { bytes: outside ? record.slice() : undefined, attached });
    return slot;
  }

  /**
   * The record of `slot` (a view of the slab: read it before the slot is freed or reused) and
   * the object attached to it. Throws unless `owner` owns the slot.
   */
  read(owner: object, slot: number): { bytes: Uint8Array; attached: unknown } {
    this.check(owner, slot);
    const chunk = this.chunks[(slot / CHUNK_SLOTS) | 0]!;
    const at = (slot % CHUNK_SLOTS) * this.slotBytes;
    const len = chunk[at]!;
    const b = this.beside.get(slot);
    return { bytes: len === OUTSIDE ? b!.bytes! : chunk.subarray(at + 1, at + 1 + len), attached: b?.attached };
  }

  /** Frees `slot` (its bytes are wiped). Throws unless `owner` owns it. */
  free(owner: object, slot: number): void {
    this.check(owner, slot);
    const chunk = this.chunks[(slot / CHUNK_SLOTS) | 0]!;
    const at = (slot % CHUNK_SLOTS) * this.slotBytes;
    chunk.fill(0, at, at + this.slotBytes);
    const b = this.beside.get(slot);
    if (b) {
      b.bytes?.fill(0);
      this.beside.delete(slot);
    }
    this.owners[slot] = undefined;
    this.freeSlots.push(slot);
    this.live--;
  }

  /** Bytes of the chunks that are not zero (0 once every slot is freed: freed slots are wiped). */
  nonZeroBytes(): number {
    let n = 0;
    for (const c of this.chunks) for (let i = 0; i < c.length; i++) if (c[i] !== 0) n++;
    return n;
  }

  private check(owner: object, slot: number): void {
    if (!(slot >= 0 && slot < this.owners.length) || this.owners[slot] !== owner) throw new DtlsError('INTERNAL', `session slab slot ${slot} is not this connection's`);
  }
}

interface Beside {
  bytes: Uint8Array | undefined;
  attached: unknown;
}

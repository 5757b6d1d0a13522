import type { CoapOption } from './message.js';

/** A representation kept for the follow-up requests of a Block2 transfer (RFC 7959 §2.4). */
export interface CachedBody {
  expires: number;
  code: number;
  options: CoapOption[];
  payload: Uint8Array;
}

/**
 * Block2 representations by peer and resource, at most `maxPerPeer` for one peer and
 * `maxTotal` in all: past a cap the least recently used goes (its follow-ups then make the
 * handler answer again, as after an expiry). Each lives `lifetimeMs` after its last use.
 */
export class BodyCache {
  /** All entries by "peerId|resource", least recently used first. */
  private readonly all = new Map<string, { peerId: string; resource: string }>();
  /** The same entries per peer, least recently used first. */
  private readonly perPeer = new Map<string, Map<string, CachedBody>>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerPeer: number,
  ) {}

  get size(): number {
    return this.all.size;
  }

  /** The live entry, refreshed (its lifetime and its place as most recently used). */
  get(peerId: string, resource: string, now: number, lifetimeMs: number): CachedBody | undefined {
    const mine = this.perPeer.get(peerId);
    const b = mine?.get(resource);
    if (!mine || !b) return undefined;
    if (b.expires <= now) {
      this.delete(peerId, resource);
      return undefined;
    }
    b.expires = now + lifetimeMs;
    const k = `${peerId}|${resource}`;
    const entry = this.all.get(k)!;
    this.all.delete(k);
    this.all.set(k, entry);
    mine.delete(resource);
    mine.set(resource, b);
    return b;
  }

  set(peerId: string, resource: string, b: CachedBody): void {
    this.delete(peerId, resource);
    const before = this.perPeer.get(peerId);
    if (before && before.size >= this.maxPerPeer) this.delete(peerId, before.keys().next().value!);
    if (this.all.size >= this.maxTotal) {
      const oldest = this.all.values().next().value!;
      this.delete(oldest.peerId, oldest.resource);
    }
    let mine = this.perPeer.get(peerId);
    if (!mine) this.perPeer.set(peerId, (mine = new Map()));
    this.all.set(`${peerId}|${resource}`, { peerId, resource });
    mine.set(resource, b);
  }

  delete(peerId: string, resource: string): void {
    const mine = this.perPeer.get(peerId);
    if (!mine?.delete(resource)) return;
    if (mine.size === 0) this.perPeer.delete(peerId);
    this.all.delete(`${peerId}|${resource}`);
  }

  /** Every entry of a peer. */
  deletePeer(peerId: string): void {
    for (const r of [...(this.perPeer.get(peerId)?.keys() ?? [])]) this.delete(peerId, r);
  }

  /** Drops the entries expired at `now`; returns the earliest expiry left, if any. */
  sweep(now: number): number | undefined {
    let next: number | undefined;
    for (const [peerId, mine] of [...this.perPeer]) {
      for (const [r, b] of [...mine]) {
        if (b.expires <= now) this.delete(peerId, r);
        else if (next === undefined || b.expires < next) next = b.expires;
      }
    }
    return next;
  }
}

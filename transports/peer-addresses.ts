import type { PeerAddress } from '../lib/dtls/keystore.js';

/**
 * The coap:// peers a server knows, by address key, each forgotten after `idleMs` without a
 * datagram from it or a request to it (EXCHANGE_LIFETIME: by then no exchange with it can
 * be alive). Sweeps run at pollTimeout(), at most eight per idleMs however many peers come
 * and go, and look at every entry (a peer's activity only stamps its entry).
 */
export class PeerAddresses {
  private readonly map = new Map<string, { address: PeerAddress; seen: number }>();
  private nextSweep: number | undefined;

  constructor(private readonly idleMs: number) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string): PeerAddress | undefined {
    return this.map.get(key)?.address;
  }

  /** Notes activity of a peer (adding it if new). */
  touch(key: string, address: PeerAddress, now: number): void {
    const e = this.map.get(key);
    if (e) e.seen = now;
    else {
      this.map.set(key, { address, seen: now });
      if (this.nextSweep === undefined) this.nextSweep = now + this.idleMs;
    }
  }

  /** When the next sweep is due (undefined while no peer is known). */
  pollTimeout(): number | undefined {
    return this.nextSweep;
  }

  /** Forgets the peers silent for idleMs at `now`; returns their keys (nothing before pollTimeout()). */
  sweep(now: number): string[] {
    if (this.nextSweep === undefined || now < this.nextSweep) return [];
    const gone: string[] = [];
    let oldest: number | undefined;
    for (const [k, e] of this.map) {
      if (e.seen + this.idleMs <= now) {
        this.map.delete(k);
        gone.push(k);
      } else if (oldest === undefined || e.seen < oldest) oldest = e.seen;
    }
    this.nextSweep = oldest === undefined ? undefined : Math.max(oldest + this.idleMs, now + this.idleMs / 8);
    return gone;
  }

  clear(): void {
    this.map.clear();
    this.nextSweep = undefined;
  }
}

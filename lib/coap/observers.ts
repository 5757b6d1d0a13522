import { toHex } from '../bytes/util.js';
import type { CoapMessage } from './message.js';

/** One observation (RFC 7641 §3.1): a peer's registration of a resource, on a token. */
export interface Observer<P> {
  readonly peer: P;
  readonly peerId: string;
  readonly token: Uint8Array;
  /** Hex of the token. */
  readonly tokenKey: string;
  /** The registration request (re-run for each notification). */
  readonly request: CoapMessage;
  /** The resource: path and query (see resourceKey). */
  readonly key: string;
  /** The last Observe sequence number sent. */
  seq: number;
  /** When the last CON notification went (RFC 7641 §4.5). */
  lastCon: number;
}

/** Why a registration cannot be added. */
export type ObserverRefusal = 'peer' | 'total';

/**
 * The list of observers (RFC 7641 §2), indexed by peer and token (a registration with the same
 * token replaces the earlier one, §4.1) and by resource (a notification looks only at the
 * resource's observers), with a cap per peer and one in all.
 */
export class ObserverRegistry<P> {
  private readonly byPeer = new Map<string, Map<string, Observer<P>>>();
  private readonly byResource = new Map<string, Set<Observer<P>>>();
  private count = 0;

  constructor(
    private readonly maxPerPeer: number,
    private readonly maxTotal: number,
  ) {}

  get size(): number {
    return this.count;
  }

  /** Whether a registration on this token could be added now (a replacement always can). */
  refusal(peerId: string, token: Uint8Array): ObserverRefusal | undefined {
    const mine = this.byPeer.get(peerId);
    if (mine?.has(toHex(token))) return undefined;
    if ((mine?.size ?? 0) >= this.maxPerPeer) return 'peer';
    if (this.count >= this.maxTotal) return 'total';
    return undefined;
  }

  /** Adds (or replaces) the observation of peer + token. */
  add(o: Observer<P>): void {
    this.removeToken(o.peerId, o.tokenKey);
    let mine = this.byPeer.get(o.peerId);
    if (!mine) this.byPeer.set(o.peerId, (mine = new Map()));
    mine.set(o.tokenKey, o);
    let set = this.byResource.get(o.key);
    if (!set) this.byResource.set(o.key, (set = new Set()));
    set.add(o);
    this.count++;
  }

  get(peerId: string, tokenKey: string): Observer<P> | undefined {
    return this.byPeer.get(peerId)?.get(tokenKey);
  }

  remove(o: Observer<P>): void {
    const mine = this.byPeer.get(o.peerId);
    if (mine?.get(o.tokenKey) !== o) return;
    mine.delete(o.tokenKey);
    if (mine.size === 0) this.byPeer.delete(o.peerId);
    const set = this.byResource.get(o.key);
    set?.delete(o);
    if (set?.size === 0) this.byResource.delete(o.key);
    this.count--;
  }

  removeToken(peerId: string, tokenKey: string): void {
    const o = this.get(peerId, tokenKey);
    if (o) this.remove(o);
  }

  /** Every observation of one peer on one resource (a deregistration, RFC 7641 §3.6). */
  removeResourceOf(peerId: string, key: string): void {
    for (const o of [...(this.byPeer.get(peerId)?.values() ?? [])]) if (o.key === key) this.remove(o);
  }

  /** Every observation of a peer (its transport went away). */
  removePeer(peerId: string): void {
    for (const o of [...(this.byPeer.get(peerId)?.values() ?? [])]) this.remove(o);
  }

  /** The observers of a resource (path and query). */
  ofResource(key: string): Array<Observer<P>> {
    const set = this.byResource.get(key);
    return set ? [...set] : [];
  }
}

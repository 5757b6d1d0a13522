import { concat } from '../bytes/util.js';

/** A Block1 request body being assembled (RFC 7959 §2.5). */
export interface Upload {
  readonly peerId: string;
  /** Hex of the token of the last block. */
  tokenKey: string;
  /** The resource: path and query. */
  readonly resource: string;
  expires: number;
  /** The block number expected next. */
  next: number;
  szx: number;
  parts: Uint8Array[];
  size: number;
}

/** Why an upload cannot start. */
export type UploadRefusal = 'peer' | 'total' | 'bytes';

export interface UploadCaps {
  maxUploads: number;
  maxUploadsPerPeer: number;
  maxUploadBytes: number;
}

/**
 * Block1 uploads in progress, keyed by peer and token: two uploads of one peer to one
 * resource on different tokens are two uploads. RFC 7959 leaves a client free to take a fresh
 * token for each block (our own client does), so a block whose token starts nothing known
 * continues the peer's latest upload to the same resource, which then goes on under that
 * token. Capped per peer, in all and in buffered bytes; each upload lives `lifetimeMs` after
 * its last block (EXCHANGE_LIFETIME), and sweep() drops the expired ones.
 */
export class UploadTable {
  private readonly byToken = new Map<string, Upload>();
  private readonly byResource = new Map<string, Upload>();
  private readonly perPeer = new Map<string, number>();
  private bytes = 0;

  constructor(private readonly caps: UploadCaps) {}

  get size(): number {
    return this.byToken.size;
  }

  /** The upload a block with this token continues, if any. */
  find(peerId: string, tokenKey: string, resource: string): Upload | undefined {
    const t = this.byToken.get(`${peerId}|${tokenKey}`);
    if (t) return t.resource === resource ? t : undefined;
    const r = this.byResource.get(`${peerId}|${resource}`);
    if (!r) return undefined;
    // a fresh token for this block: the upload goes on under it
    this.byToken.delete(`${peerId}|${r.tokenKey}`);
    r.tokenKey = tokenKey;
    this.byToken.set(`${peerId}|${tokenKey}`, r);
    return r;
  }

  /** Whether a new upload of `firstBytes` could start (one on the same token would be replaced). */
  refusal(peerId: string, tokenKey: string, firstBytes: number): UploadRefusal | undefined {
    const same = this.byToken.get(`${peerId}|${tokenKey}`);
    const held = same ? 1 : 0;
    if ((this.perPeer.get(peerId) ?? 0) - held >= this.caps.maxUploadsPerPeer) return 'peer';
    if (this.byToken.size - held >= this.caps.maxUploads) return 'total';
    if (this.bytes - (same?.size ?? 0) + firstBytes > this.caps.maxUploadBytes) return 'bytes';
    return undefined;
  }

  /** Starts an upload (block 0), replacing one on the same token. */
  start(peerId: string, tokenKey: string, resource: string, szx: number, expires: number): Upload {
    const old = this.byToken.get(`${peerId}|${tokenKey}`);
    if (old) this.delete(old);
    const up: Upload = { peerId, tokenKey, resource, expires, next: 0, szx, parts: [], size: 0 };
    this.byToken.set(`${peerId}|${tokenKey}`, up);
    this.byResource.set(`${peerId}|${resource}`, up);
    this.perPeer.set(peerId, (this.perPeer.get(peerId) ?? 0) + 1);
    return up;
  }

  /** Adds a block's payload; false when the buffered bytes in all would exceed the cap. */
  append(up: Upload, payload: Uint8Array): boolean {
    if (this.bytes + payload.length > this.caps.maxUploadBytes) return false;
    up.parts.push(payload.slice());
    up.size += payload.length;
    this.bytes += payload.length;
    return true;
  }

  /** The whole body, and the upload forgotten. */
  finish(up: Upload): Uint8Array {
    this.delete(up);
    return concat(...up.parts);
  }

  delete(up: Upload): void {
    const k = `${up.peerId}|${up.tokenKey}`;
    if (this.byToken.get(k) !== up) return;
    this.byToken.delete(k);
    const r = `${up.peerId}|${up.resource}`;
    if (this.byResource.get(r) === up) this.byResource.delete(r);
    const n = (this.perPeer.get(up.peerId) ?? 1) - 1;
    if (n > 0) this.perPeer.set(up.peerId, n);
    else this.perPeer.delete(up.peerId);
    this.bytes -= up.size;
  }

  /** Every upload of a peer (its transport went away). */
  deletePeer(peerId: string): void {
    if (!this.perPeer.has(peerId)) return;
    for (const up of [...this.byToken.values()]) if (up.peerId === peerId) this.delete(up);
  }

  /** Drops the uploads expired at `now`; returns the earliest expiry left, if any. */
  sweep(now: number): number | undefined {
    let next: number | undefined;
    for (const up of [...this.byToken.values()]) {
      if (up.expires <= now) this.delete(up);
      else if (next === undefined || up.expires < next) next = up.expires;
    }
    return next;
  }
}

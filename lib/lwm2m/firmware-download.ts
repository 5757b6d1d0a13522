import { equal } from '../bytes/util.js';
import { decodeBlock, encodeBlock, sizeToSzxFloor, szxToSize } from '../coap/block.js';
import type { OutgoingRequest } from '../coap/endpoint.js';
import { Code, decodeUint, getOption, OptionNumber, type CoapMessage, type CoapOption } from '../coap/message.js';
import { pathOptions, queryOption } from './coap-agent.js';

/**
 * A Package URI download (OMA LwM2M Firmware Update object 5, "pull") as a sequence of RFC 7959
 * Block2 requests the client asks one at a time, block n after block n-1: unlike a block-wise
 * GET run to its end, it can stop anywhere and continue at the block it was at (a lost session,
 * a CoAP timeout), which is what "resume" means here. The server allows a resume when it answers
 * a request for block n with block n of the same representation (same ETag, when it gives one);
 * otherwise the download starts again from block 0.
 */
export type BlockOutcome =
  /** Block stored: ask for the next one. */
  | { kind: 'more' }
  /** The last block: the whole image. */
  | { kind: 'done'; image: Uint8Array }
  /** The server cannot continue where we were: start again from block 0. */
  | { kind: 'restart'; why: string }
  /** The download cannot succeed (Update Result code of object 5, and why). */
  | { kind: 'failed'; result: number; why: string };

/** Update Result (/5/0/5) codes of the Firmware Update object. */
export const UpdateResult = {
  Initial: 0,
  Success: 1,
  NotEnoughFlash: 2,
  OutOfRam: 3,
  ConnectionLost: 4,
  IntegrityCheckFailure: 5,
  UnsupportedPackageType: 6,
  InvalidUri: 7,
  UpdateFailed: 8,
  UnsupportedProtocol: 9,
} as const;

export class BlockDownload {
  private parts: Uint8Array[] = [];
  private received = 0;
  private etag: Uint8Array | undefined;
  private size: number | undefined;
  /** The next block to ask for, in units of the block size. */
  next = 0;
  /** Block size exponent: ours, or the server's when it answers with smaller blocks (RFC 7959 §2.4). */
  szx: number;
  private readonly base: CoapOption[];

  constructor(
    /** The URI's path and query ("/fw/image.bin?v=2"). */
    target: { path: string; query: string[] },
    blockSize: number,
    private readonly maxSize: number,
  ) {
    this.szx = sizeToSzxFloor(blockSize);
    this.base = [...pathOptions(target.path), ...target.query.map(queryOption)];
  }

  /** Bytes received so far. */
  get offset(): number {
    return this.received;
  }

  /** The total size when the server told it (Size2). */
  get total(): number | undefined {
    return this.size;
  }

  /** The request for the next block. */
  request(): OutgoingRequest {
    return { code: Code.GET, options: [...this.base, { number: OptionNumber.Block2, value: encodeBlock({ num: this.next, more: false, szx: this.szx }) }] };
  }

  /** Starts over from block 0 (the server cannot continue, or the representation changed). */
  reset(): void {
    this.parts = [];
    this.received = 0;
    this.etag = undefined;
    this.size = undefined;
    this.next = 0;
  }

  /** The answer to request(). */
  accept(m: CoapMessage): BlockOutcome {
    if (m.code !== Code.Content) {
      if (this.next > 0 && (m.code === Code.BadOption || m.code === Code.RequestEntityIncomplete || m.code === Code.NotFound)) return { kind: 'restart', why: `block ${this.next} answered ${m.code >> 5}.${String(m.code & 31).padStart(2, '0')}` };
      return { kind: 'failed', result: m.code === Code.NotFound || m.code === Code.Forbidden || m.code === Code.Unauthorized ? UpdateResult.InvalidUri : UpdateResult.ConnectionLost, why: `the package server answered ${m.code >> 5}.${String(m.code & 31).padStart(2, '0')}` };
    }
    const size2 = getOption(m, OptionNumber.Size2);
    if (size2 && decodeUint(size2) > this.maxSize) return { kind: 'failed', result: UpdateResult.NotEnoughFlash, why: `the package is ${decodeUint(size2)} bytes, more than ${this.maxSize}` };
    if (size2) this.size = decodeUint(size2);
    const tag = getOption(m, OptionNumber.ETag);
    if (this.received > 0 && this.etag && (!tag || !equal(tag, this.etag))) return { kind: 'restart', why: 'the package changed (ETag)' };
    const b2 = getOption(m, OptionNumber.Block2);
    if (!b2) {
      // the whole representation at once: only right for the first block
      if (this.next > 0) return { kind: 'restart', why: `the server answered block ${this.next} with the whole package` };
      return this.store(m.payload, false, tag);
    }
    let b;
    try {
      b = decodeBlock(b2);
    } catch {
      return { kind: 'restart', why: 'a malformed Block2 option' };
    }
    const offset = b.num * szxToSize(b.szx);
    if (offset !== this.received) return { kind: 'restart', why: `asked for the block at ${this.received}, got the one at ${offset}` };
    if (b.more && m.payload.length !== szxToSize(b.szx)) return { kind: 'restart', why: 'a block of the wrong size' };
    if (b.szx < this.szx) this.szx = b.szx;
    return this.store(m.payload, b.more, tag);
  }

  private store(payload: Uint8Array, more: boolean, tag: Uint8Array | undefined): BlockOutcome {
    if (this.received === 0) this.etag = tag;
    this.received += payload.length;
    if (this.received > this.maxSize) return { kind: 'failed', result: UpdateResult.NotEnoughFlash, why: `the package is more than ${this.maxSize} bytes` };
    this.parts.push(payload.slice());
    if (more) {
      this.next = this.received / szxToSize(this.szx);
      return { kind: 'more' };
    }
    const image = new Uint8Array(this.received);
    let off = 0;
    for (const p of this.parts) {
      image.set(p, off);
      off += p.length;
    }
    this.parts = [];
    return { kind: 'done', image };
  }
}

import { equal as bytesEqual } from '../bytes/util.js';
import { BlockOptionError, decodeBlock as decodeBlockRaw, encodeBlock, sizeToSzxFloor, szxToSize, type BlockValue } from './block.js';
import { encodedSize } from './codec.js';
import type { OutgoingRequest } from './endpoint.js';
import { CoapError } from './errors.js';
import { Code, decodeUint, encodeUint, getOption, OptionNumber, type CoapMessage, type CoapOption } from './message.js';

/** A peer's malformed Block option fails the transfer with a typed error. */
function decodeBlock(v: Uint8Array): BlockValue {
  try {
    return decodeBlockRaw(v);
  } catch (e) {
    if (e instanceof BlockOptionError) throw new CoapError('BLOCKWISE', `malformed block option: ${e.message}`);
    throw e;
  }
}

export interface BlockwiseOptions {
  /** Block size for Block1 uploads and the preferred Block2 size (16..1024). */
  blockSize: number;
  /** Largest response body accepted (Block2), bytes. */
  maxBodySize: number;
  /** Ask for this Block2 size from the first request (early negotiation, RFC 7959 §2.4). */
  earlyBlock2?: boolean;
  /**
   * The largest message the transport carries (a DTLS session's maxRecordPayload, a UDP
   * message size): Block1 blocks are chosen to fit it, and a smaller Block2 size is asked for
   * from the first request when a full block would not fit. A request that cannot fit even
   * with 16-byte blocks fails with MESSAGE_TOO_LARGE.
   */
  maxMessageSize?: number;
}

/** Room a response needs besides its payload, assumed when asking for a Block2 size: header, an 8-byte token, Content-Format, ETag, Block2, Size2, the marker. */
const RESPONSE_OVERHEAD = 48;

/** The largest power of two in 16..size that is <= room (0 if none). */
function fitSize(size: number, room: number): number {
  while (size >= 16 && size > room) size >>= 1;
  return size >= 16 ? size : 0;
}

/** What to do next: send one more request of the transfer, or take the final response. */
export type BlockwiseStep = { request: OutgoingRequest; response?: undefined } | { response: CoapMessage; request?: undefined };

/**
 * The client side of RFC 7959 as a sans-IO state machine: the caller sends the requests it
 * is given and feeds back each response; the last step is the final response with the whole
 * body as payload. A body larger than the block size goes out with Block1 (waiting for 2.31
 * Continue, adopting a smaller size if the server asks, §2.5); a response carrying Block2 with
 * more blocks is fetched to the end with GETs (or FETCH) carrying the same options but
 * Observe, Size1 and Content-Format (§2.4, RFC 7641 §4.3.1), ETag checked, Size2 and the body
 * cap honoured. A 4.01 Unauthorized with an Echo option (RFC 9175 §2.3) gets the same request
 * again with that Echo value, once. Throws CoapError BLOCKWISE on inconsistent blocks.
 */
export class BlockwiseTransfer {
  private phase: 'start' | 'single' | 'block1' | 'block2' | 'done' = 'start';
  private readonly body: Uint8Array;
  private readonly base: CoapOption[];
  private readonly early: CoapOption[];
  private szx: number;
  // Block1 progress
  private num = 0;
  private offset = 0;
  private lastMore = false;
  // Block2 progress
  private block: BlockValue = { num: 0, more: false, szx: 0 };
  private first: CoapMessage | undefined;
  private etag: Uint8Array | undefined;
  private parts: Uint8Array[] = [];
  private total = 0;
  /** The request last given out (repeated with Echo on a 4.01 that carries one). */
  private last: OutgoingRequest | undefined;
  private echoed = false;

  constructor(
    private readonly r: OutgoingRequest,
    private readonly o: BlockwiseOptions,
  ) {
    this.body = r.payload ?? new Uint8Array(0);
    this.szx = sizeToSzxFloor(o.blockSize);
    this.base = r.options.filter((x) => x.number !== OptionNumber.Block1 && x.number !== OptionNumber.Block2);
    let early = o.earlyBlock2 ? this.szx : undefined;
    if (o.maxMessageSize !== undefined) {
      // a response block must fit the transport too: ask for a size that does
      const fit = fitSize(szxToSize(this.szx), o.maxMessageSize - RESPONSE_OVERHEAD);
      if (fit > 0 && fit < szxToSize(this.szx)) early = sizeToSzxFloor(fit);
    }
    this.early = early !== undefined ? [{ number: OptionNumber.Block2, value: encodeBlock({ num: 0, more: false, szx: early }) }] : [];
  }

  /**
   * A transfer that starts with a response already received (an observe notification whose
   * Block2 says more follow): `r` is the request it answers (its options are kept for the
   * follow-ups). The first step is the result of start().
   */
  static remainder(r: OutgoingRequest, first: CoapMessage, o: BlockwiseOptions): { transfer: BlockwiseTransfer; step: BlockwiseStep } {
    const t = new BlockwiseTransfer(r, o);
    t.phase = 'single';
    return { transfer: t, step: t.next(first) };
  }

  /** The first request to send. */
  start(): OutgoingRequest {
    this.last = this.firstRequest();
    return this.last;
  }

  private firstRequest(): OutgoingRequest {
    if (this.phase !== 'start') throw new CoapError('INVALID_ARGUMENT', 'the transfer has started');
    const max = this.o.maxMessageSize ?? Infinity;
    const tokenLength = this.r.token?.length ?? 8;
    if (this.body.length === 0 || (this.body.length <= szxToSize(this.szx) && encodedSize(tokenLength, [...this.base, ...this.early], this.body.length) <= max)) {
      this.phase = 'single';
      return { ...this.r, options: [...this.base, ...this.early] };
    }
    if (max !== Infinity) {
      // Block1 blocks that fit the transport next to the options, Block1 and Size1
      const room = max - 1 - encodedSize(tokenLength, [...this.base, ...this.early, { number: OptionNumber.Block1, value: new Uint8Array(3) }, { number: OptionNumber.Size1, value: encodeUint(this.body.length) }], 0);
      const fit = fitSize(szxToSize(this.szx), room);
      if (fit === 0) throw new CoapError('MESSAGE_TOO_LARGE', `the request's options leave no room for a block in a ${max}-byte message`);
      this.szx = sizeToSzxFloor(fit);
    }
    this.phase = 'block1';
    return this.block1Request();
  }

  get done(): boolean {
    return this.phase === 'done';
  }

  /** The response to the last request given: the next step. */
  next(res: CoapMessage): BlockwiseStep {
    // RFC 9175 §2.3: a 4.01 with Echo asks for the same request again carrying that value
    // (the server verifies our address, or the request's freshness); once per request
    const echo = res.code === Code.Unauthorized ? getOption(res, OptionNumber.Echo) : undefined;
    if (echo && this.last && !this.echoed && this.phase !== 'done') {
      this.echoed = true;
      return { request: { ...this.last, options: [...this.last.options.filter((o) => o.number !== OptionNumber.Echo), { number: OptionNumber.Echo, value: echo }] } };
    }
    this.echoed = false;
    const step = this.step(res);
    if (step.request) this.last = step.request;
    return step;
  }

  private step(res: CoapMessage): BlockwiseStep {
    switch (this.phase) {
      case 'block1':
        if (this.lastMore) return this.nextBlock1(res);
        return this.startBlock2(res);
      case 'single':
        return this.startBlock2(res);
      case 'block2':
        return this.nextBlock2(res);
      default:
        throw new CoapError('INVALID_ARGUMENT', `no request of this transfer is outstanding (${this.phase})`);
    }
  }

  private finish(response: CoapMessage): BlockwiseStep {
    this.phase = 'done';
    this.parts = [];
    return { response };
  }

  private block1Request(): OutgoingRequest {
    const size = szxToSize(this.szx);
    const chunk = this.body.subarray(this.offset, this.offset + size);
    const more = this.offset + size < this.body.length;
    const opts: CoapOption[] = [...this.base, { number: OptionNumber.Block1, value: encodeBlock({ num: this.num, more, szx: this.szx }) }];
    if (this.num === 0) opts.push({ number: OptionNumber.Size1, value: encodeUint(this.body.length) });
    this.lastMore = more;
    return { ...this.r, options: more ? opts : [...opts, ...this.early], payload: chunk };
  }

  private nextBlock1(res: CoapMessage): BlockwiseStep {
    if (res.code !== Code.Continue) return this.finish(res); // 4.13, 4.08, ...: the caller sees it
    const size = szxToSize(this.szx);
    const ack = getOption(res, OptionNumber.Block1);
    const b = ack ? decodeBlock(ack) : undefined;
    this.offset += size;
    if (b && b.szx < this.szx) {
      // RFC 7959 §2.5: the server asks for smaller blocks; continue at the same byte offset
      this.szx = b.szx;
      this.num = this.offset / szxToSize(this.szx);
    } else this.num++;
    return { request: this.block1Request() };
  }

  private startBlock2(first: CoapMessage): BlockwiseStep {
    const b2 = getOption(first, OptionNumber.Block2);
    if (!b2) return this.finish(first);
    const b = decodeBlock(b2);
    if (b.num !== 0) throw new CoapError('BLOCKWISE', `first response carries block ${b.num}`);
    if (!b.more) return this.finish(first);
    const size2 = getOption(first, OptionNumber.Size2);
    if (size2 && decodeUint(size2) > this.o.maxBodySize) throw new CoapError('BLOCKWISE', `response of ${decodeUint(size2)} bytes exceeds the ${this.o.maxBodySize}-byte cap`);
    this.phase = 'block2';
    this.first = first;
    this.etag = getOption(first, OptionNumber.ETag);
    this.parts = [first.payload];
    this.total = first.payload.length;
    this.block = b;
    return { request: this.block2Request() };
  }

  /** The follow-ups are GETs (or FETCH) without a body and without Observe (RFC 7959 §2.4, RFC 7641 §4.3.1). */
  private block2Request(): OutgoingRequest {
    const follow = this.base.filter((x) => x.number !== OptionNumber.Observe && x.number !== OptionNumber.Size1 && x.number !== OptionNumber.ContentFormat);
    const want = { num: this.block.num + 1, more: false, szx: this.block.szx };
    return { code: this.r.code === Code.FETCH ? Code.FETCH : Code.GET, options: [...follow, { number: OptionNumber.Block2, value: encodeBlock(want) }], confirmable: this.r.confirmable ?? true };
  }

  private nextBlock2(last: CoapMessage): BlockwiseStep {
    if (last.code >= 0x80) return this.finish(last);
    const got = getOption(last, OptionNumber.Block2);
    if (!got) throw new CoapError('BLOCKWISE', 'a follow-up response has no Block2 option');
    const nb = decodeBlock(got);
    const expected = (this.block.num + 1) * szxToSize(this.block.szx);
    if (nb.num * szxToSize(nb.szx) !== expected) throw new CoapError('BLOCKWISE', `expected the block at offset ${expected}, got block ${nb.num}`);
    const tag = getOption(last, OptionNumber.ETag);
    if (this.etag && (!tag || !bytesEqual(tag, this.etag))) throw new CoapError('BLOCKWISE', 'the representation changed during the transfer (ETag)');
    this.total += last.payload.length;
    if (this.total > this.o.maxBodySize) throw new CoapError('BLOCKWISE', `response exceeds the ${this.o.maxBodySize}-byte cap`);
    this.parts.push(last.payload);
    this.block = nb;
    if (nb.more) return { request: this.block2Request() };
    const payload = new Uint8Array(this.total);
    let off = 0;
    for (const p of this.parts) {
      payload.set(p, off);
      off += p.length;
    }
    const first = this.first!;
    return this.finish({ ...first, options: first.options.filter((x) => x.number !== OptionNumber.Block2), payload });
  }
}

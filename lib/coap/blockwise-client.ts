import { equal as bytesEqual } from '../bytes/util.js';
import { BlockOptionError, decodeBlock as decodeBlockRaw, encodeBlock, sizeToSzxFloor, szxToSize } from './block.js';
import type { OutgoingRequest } from './endpoint.js';
import { CoapError } from './errors.js';
import { Code, decodeUint, encodeUint, getOption, OptionNumber, type CoapMessage, type CoapOption } from './message.js';

/** A peer's malformed Block option fails the transfer with a typed error. */
function decodeBlock(v: Uint8Array) {
  try {
    return decodeBlockRaw(v);
  } catch (e) {
    if (e instanceof BlockOptionError) throw new CoapError('BLOCKWISE', `malformed block option: ${e.message}`);
    throw e;
  }
}

/** One request/response exchange (the transport's job). */
export type Exchange = (r: OutgoingRequest) => Promise<CoapMessage>;

export interface BlockwiseOptions {
  /** Block size for Block1 uploads and the preferred Block2 size (16..1024). */
  blockSize: number;
  /** Largest response body accepted (Block2), bytes. */
  maxBodySize: number;
  /** Ask for this Block2 size from the first request (early negotiation, RFC 7959 §2.4). */
  earlyBlock2?: boolean;
}

/**
 * Client side of RFC 7959: a body larger than the block size goes out with Block1 (waiting
 * for 2.31 Continue, adopting a smaller size if the server asks), a response carrying Block2
 * with more blocks is fetched to the end (same request options, ETag checked, Size2 and the
 * body cap honoured). Returns the final response with the whole body as payload.
 */
export async function blockwiseRequest(exchange: Exchange, r: OutgoingRequest, o: BlockwiseOptions): Promise<CoapMessage> {
  const body = r.payload ?? new Uint8Array(0);
  let szx = sizeToSzxFloor(o.blockSize);
  const base = r.options.filter((x) => x.number !== OptionNumber.Block1 && x.number !== OptionNumber.Block2);
  const early: CoapOption[] = o.earlyBlock2 ? [{ number: OptionNumber.Block2, value: encodeBlock({ num: 0, more: false, szx }) }] : [];
  let res: CoapMessage;
  if (body.length <= szxToSize(szx)) {
    res = await exchange({ ...r, options: [...base, ...early] });
  } else {
    let num = 0;
    let offset = 0;
    for (;;) {
      const size = szxToSize(szx);
      const chunk = body.subarray(offset, offset + size);
      const more = offset + size < body.length;
      const opts: CoapOption[] = [...base, { number: OptionNumber.Block1, value: encodeBlock({ num, more, szx }) }];
      if (num === 0) opts.push({ number: OptionNumber.Size1, value: encodeUint(body.length) });
      res = await exchange({ ...r, options: more ? opts : [...opts, ...early], payload: chunk });
      if (!more) break;
      if (res.code !== Code.Continue) return res; // 4.13, 4.08, ... : the caller sees it
      const ack = getOption(res, OptionNumber.Block1);
      if (ack) {
        const b = decodeBlock(ack);
        if (b.szx < szx) {
          // RFC 7959 §2.5: the server asks for smaller blocks; continue at the same byte offset
          offset += size;
          szx = b.szx;
          num = offset / szxToSize(szx);
          continue;
        }
      }
      offset += size;
      num++;
    }
  }
  return fetchRemainingBlocks(exchange, r, base, res, o);
}

/** Follows Block2 until the last block; the result carries the whole body. */
export async function fetchRemainingBlocks(exchange: Exchange, r: OutgoingRequest, base: CoapOption[], first: CoapMessage, o: BlockwiseOptions): Promise<CoapMessage> {
  const b2 = getOption(first, OptionNumber.Block2);
  if (!b2) return first;
  let b = decodeBlock(b2);
  if (b.num !== 0) throw new CoapError('BLOCKWISE', `first response carries block ${b.num}`);
  if (!b.more) return first;
  const size2 = getOption(first, OptionNumber.Size2);
  if (size2 && decodeUint(size2) > o.maxBodySize) throw new CoapError('BLOCKWISE', `response of ${decodeUint(size2)} bytes exceeds the ${o.maxBodySize}-byte cap`);
  const etag = getOption(first, OptionNumber.ETag);
  const parts: Uint8Array[] = [first.payload];
  let total = first.payload.length;
  let last = first;
  // The follow-ups are GETs (or FETCH) without a body and without Observe (RFC 7959 §2.4, RFC 7641 §4.3.1)
  const follow = base.filter((x) => x.number !== OptionNumber.Observe && x.number !== OptionNumber.Size1 && x.number !== OptionNumber.ContentFormat);
  const code = r.code === Code.FETCH ? Code.FETCH : Code.GET;
  while (b.more) {
    const want = { num: b.num + 1, more: false, szx: b.szx };
    last = await exchange({ code, options: [...follow, { number: OptionNumber.Block2, value: encodeBlock(want) }], confirmable: r.confirmable ?? true });
    if (last.code >= 0x80) return last;
    const got = getOption(last, OptionNumber.Block2);
    if (!got) throw new CoapError('BLOCKWISE', 'a follow-up response has no Block2 option');
    const nb = decodeBlock(got);
    if (nb.num * szxToSize(nb.szx) !== (b.num + 1) * szxToSize(b.szx)) throw new CoapError('BLOCKWISE', `expected the block at offset ${(b.num + 1) * szxToSize(b.szx)}, got block ${nb.num}`);
    const tag = getOption(last, OptionNumber.ETag);
    if (etag && (!tag || !bytesEqual(tag, etag))) throw new CoapError('BLOCKWISE', 'the representation changed during the transfer (ETag)');
    total += last.payload.length;
    if (total > o.maxBodySize) throw new CoapError('BLOCKWISE', `response exceeds the ${o.maxBodySize}-byte cap`);
    parts.push(last.payload);
    b = nb;
  }
  const payload = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    payload.set(p, off);
    off += p.length;
  }
  return { ...first, options: first.options.filter((x) => x.number !== OptionNumber.Block2), payload };
}


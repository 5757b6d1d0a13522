/**
 * Block1 / Block2 option values (RFC 7959 §2.2):
 * ```
 *  0
 *  0 1 2 3 4 5 6 7
 * +-+-+-+-+-+-+-+-+
 * |  NUM  |M| SZX |            (and 2- and 3-byte forms with a 12- and 20-bit NUM)
 * +-+-+-+-+-+-+-+-+
 * ```
 * value = NUM << 4 | M << 3 | SZX as a minimal-length uint (0-3 bytes; all-zero is the empty
 * value); block size = 2^(SZX + 4); SZX 7 is reserved ("MUST NOT be sent and MUST lead to a
 * 4.00 Bad Request response code upon reception in a request"); NUM < 2^20.
 */

export interface BlockValue {
  /** Block number, 0 .. 2^20 - 1. */
  num: number;
  /** M: more blocks follow (Block2 / Block1 in a request), or "the server will keep the body" (Block1 in a response). */
  more: boolean;
  /** Size exponent 0..6: size = 2^(szx + 4) = 16..1024. */
  szx: number;
}

export type BlockOptionErrorKind = 'length' | 'szx' | 'num';

/** A Block1/Block2 value that is not well-formed: answer a request with 4.00 Bad Request (RFC 7959 §2.2). */
export class BlockOptionError extends Error {
  override readonly name = 'BlockOptionError';
  constructor(
    message: string,
    readonly kind: BlockOptionErrorKind,
  ) {
    super(message);
  }
}

export const MAX_BLOCK_NUM = 0xfffff;
export const MAX_SZX = 6;

/** 2^(szx + 4) for szx 0..6; throws BlockOptionError for SZX 7 or anything else. */
export function szxToSize(szx: number): number {
  if (!Number.isInteger(szx) || szx < 0 || szx > MAX_SZX) throw new BlockOptionError(`SZX ${szx} is not 0..6`, 'szx');
  return 1 << (szx + 4);
}

/** The SZX of a block size, which must be a power of two in 16..1024; throws RangeError otherwise. */
export function sizeToSzx(size: number): number {
  for (let szx = 0; szx <= MAX_SZX; szx++) if (1 << (szx + 4) === size) return szx;
  throw new RangeError(`block size ${size} is not a power of two in 16..1024`);
}

/** The largest SZX whose block size is <= size (0 for anything below 32, 6 for 1024 and above). */
export function sizeToSzxFloor(size: number): number {
  let szx = 0;
  while (szx < MAX_SZX && 1 << (szx + 5) <= size) szx++;
  return szx;
}

/** Byte offset of the block in the body: NUM * size. */
export function blockOffset(b: BlockValue): number {
  return b.num * szxToSize(b.szx);
}

/** The option value, minimal-length (0-3 bytes). Throws BlockOptionError on NUM >= 2^20 or SZX outside 0..6. */
export function encodeBlock(b: BlockValue): Uint8Array {
  if (!Number.isInteger(b.num) || b.num < 0 || b.num > MAX_BLOCK_NUM) throw new BlockOptionError(`block NUM ${b.num} is not 0..2^20-1`, 'num');
  if (!Number.isInteger(b.szx) || b.szx < 0 || b.szx > MAX_SZX) throw new BlockOptionError(`SZX ${b.szx} is not 0..6`, 'szx');
  const v = b.num * 16 + (b.more ? 8 : 0) + b.szx; // < 2^24
  if (v === 0) return new Uint8Array(0);
  if (v < 0x100) return Uint8Array.of(v);
  if (v < 0x10000) return Uint8Array.of(v >> 8, v & 0xff);
  return Uint8Array.of(v >> 16, (v >> 8) & 0xff, v & 0xff);
}

/**
 * Decodes an option value. Leading zero bytes are accepted (RFC 7252 §3.2: a recipient MUST
 * be prepared for them); more than 3 bytes or SZX 7 throw BlockOptionError.
 */
export function decodeBlock(value: Uint8Array): BlockValue {
  if (value.length > 3) throw new BlockOptionError(`Block option value of ${value.length} bytes (max 3)`, 'length');
  let v = 0;
  for (const x of value) v = (v << 8) | x;
  const szx = v & 7;
  if (szx === 7) throw new BlockOptionError('SZX 7 is reserved', 'szx');
  return { num: v >>> 4, more: (v & 8) !== 0, szx };
}

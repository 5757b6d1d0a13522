/**
 * Block1/Block2 option values (lib/coap/block.ts, RFC 7959 §2.2): the vectors
 * (block_option_values_rfc7959 in test/fixtures/lwm2m-vectors/coap_messages.json) both ways,
 * and properties.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../lib/bytes/util.js';
import {
  blockOffset,
  BlockOptionError,
  type BlockValue,
  decodeBlock,
  encodeBlock,
  MAX_BLOCK_NUM,
  sizeToSzx,
  sizeToSzxFloor,
  szxToSize,
} from '../lib/coap/block.js';
import { decodeMessage, encodeMessage } from '../lib/coap/codec.js';
import { Code, decodeUint, getOption, MessageType, OptionNumber } from '../lib/coap/message.js';
import { readFixtureJson } from './helpers/fixtures.js';

interface BlockVector {
  num: number;
  m: number;
  szx: number;
  block_size: number;
  option_value_hex: string;
  option_value_length: number;
}
const FILE = readFixtureJson<{
  block_option_values_rfc7959: { rule: string; vectors: BlockVector[] };
}>('lwm2m-vectors/coap_messages.json');
const VECTORS = FILE.block_option_values_rfc7959.vectors;

function blockError(value: Uint8Array): BlockOptionError {
  try {
    decodeBlock(value);
  } catch (e) {
    if (e instanceof BlockOptionError) return e;
    throw e;
  }
  throw new Error(`decodeBlock accepted ${toHex(value)}`);
}

describe('block_option_values_rfc7959 vectors', () => {
  it('has the 10 vectors', () => expect(VECTORS.length).toBe(10));
  for (const v of VECTORS) {
    it(`NUM ${v.num} M ${v.m} SZX ${v.szx} <-> '${v.option_value_hex}'`, () => {
      const b: BlockValue = { num: v.num, more: v.m === 1, szx: v.szx };
      const value = encodeBlock(b);
      expect(toHex(value)).toBe(v.option_value_hex);
      expect(value.length).toBe(v.option_value_length);
      expect(decodeBlock(fromHex(v.option_value_hex))).toEqual(b);
      expect(szxToSize(v.szx)).toBe(v.block_size);
      expect(sizeToSzx(v.block_size)).toBe(v.szx);
      expect(blockOffset(b)).toBe(v.num * v.block_size);
      // the same value is the uint NUM << 4 | M << 3 | SZX
      expect(decodeUint(value)).toBe(v.num * 16 + v.m * 8 + v.szx);
    });
  }

  it('carried in a Block2 option through the codec', () => {
    const value = encodeBlock({ num: 4096, more: true, szx: 6 });
    const bytes = encodeMessage({ type: MessageType.ACK, code: Code.Content, messageId: 9, token: Uint8Array.of(1), options: [{ number: OptionNumber.Block2, value }], payload: new Uint8Array(1024) });
    // delta 23 -> 13-ext (10), length 3
    expect(toHex(bytes.subarray(0, 10))).toBe('61450009' + '01' + 'd30a01000e');
    expect(decodeBlock(getOption(decodeMessage(bytes), OptionNumber.Block2)!)).toEqual({ num: 4096, more: true, szx: 6 });
  });
});

describe('block value rules', () => {
  it('SZX 7 is reserved (RFC 7959 §2.2: 4.00 Bad Request in a request)', () => {
    for (const hex of ['07', '0f', '1f', '01007f', 'fffff7', 'ffffff']) expect(blockError(fromHex(hex)).kind).toBe('szx');
    expect(() => encodeBlock({ num: 0, more: false, szx: 7 })).toThrow(BlockOptionError);
    expect(() => szxToSize(7)).toThrow(BlockOptionError);
  });

  it('values longer than 3 bytes are refused; leading zero bytes are accepted (RFC 7252 §3.2)', () => {
    expect(blockError(fromHex('00000000')).kind).toBe('length');
    expect(blockError(fromHex('0100000e')).kind).toBe('length');
    expect(decodeBlock(fromHex('00'))).toEqual({ num: 0, more: false, szx: 0 });
    expect(decodeBlock(fromHex('0000'))).toEqual({ num: 0, more: false, szx: 0 });
    expect(decodeBlock(fromHex('00001e'))).toEqual({ num: 1, more: true, szx: 6 });
  });

  it('NUM must be an integer in 0 .. 2^20-1; SZX an integer in 0..6', () => {
    for (const num of [-1, MAX_BLOCK_NUM + 1, 1.5, Number.NaN]) {
      expect(() => encodeBlock({ num, more: false, szx: 0 })).toThrow(BlockOptionError);
    }
    for (const szx of [-1, 7, 8, 0.5]) expect(() => encodeBlock({ num: 0, more: false, szx })).toThrow(BlockOptionError);
    expect(toHex(encodeBlock({ num: MAX_BLOCK_NUM, more: true, szx: 6 }))).toBe('fffffe');
  });

  it('sizeToSzx for 16..1024 and nothing else; sizeToSzxFloor rounds down', () => {
    expect([16, 32, 64, 128, 256, 512, 1024].map(sizeToSzx)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const bad of [0, 8, 15, 17, 48, 1000, 2048, 4096, -16, 16.5]) expect(() => sizeToSzx(bad)).toThrow(RangeError);
    expect([0, 16, 31, 32, 100, 1023, 1024, 1152, 65536].map(sizeToSzxFloor)).toEqual([0, 0, 0, 1, 2, 5, 6, 6, 6]);
    expect([0, 1, 2, 3, 4, 5, 6].map(szxToSize)).toEqual([16, 32, 64, 128, 256, 512, 1024]);
  });
});

describe('block properties', () => {
  const arbBlock = fc.record({
    num: fc.oneof(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 0, max: MAX_BLOCK_NUM })),
    more: fc.boolean(),
    szx: fc.integer({ min: 0, max: 6 }),
  });

  it('encode -> decode is the identity, and the encoding is minimal', () => {
    fc.assert(
      fc.property(arbBlock, (b) => {
        const v = encodeBlock(b);
        expect(decodeBlock(v)).toEqual(b);
        expect(v.length).toBeLessThanOrEqual(3);
        if (v.length > 0) expect(v[0]).not.toBe(0); // no leading zero byte; all-zero is the empty value
        expect(decodeUint(v)).toBe(b.num * 16 + (b.more ? 8 : 0) + b.szx);
      }),
      { numRuns: 1000 },
    );
  });

  it('any 0-3 byte value decodes (then re-encodes minimally) or is SZX 7; longer ones are refused', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5 }), (value) => {
        let b: BlockValue;
        try {
          b = decodeBlock(value);
        } catch (e) {
          expect(e).toBeInstanceOf(BlockOptionError);
          expect(value.length > 3 || (value.length > 0 && (value[value.length - 1]! & 7) === 7)).toBe(true);
          return;
        }
        expect(value.length).toBeLessThanOrEqual(3);
        expect(b.num).toBeLessThanOrEqual(MAX_BLOCK_NUM);
        expect(decodeUint(encodeBlock(b))).toBe(decodeUint(value));
      }),
      { numRuns: 1000 },
    );
  });
});

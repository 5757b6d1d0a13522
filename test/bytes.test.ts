import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concat, ctEqual, fromHex, latin1, toHex, utf8 } from '../lib/bytes/util.js';
import { DecodeError, Reader } from '../lib/bytes/reader.js';
import { Writer } from '../lib/bytes/writer.js';

describe('utf8() without TextEncoder', () => {
  it('matches TextEncoder on any string, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => toHex(utf8(s)) === toHex(new TextEncoder().encode(s))),
      { numRuns: 3000 },
    );
  });
});

describe('byte helpers', () => {
  it('hex round trip, ctEqual, concat', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => ctEqual(fromHex(toHex(b)), b)));
    expect(() => fromHex('abc')).toThrow(TypeError);
    expect(ctEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(toHex(concat(new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3])))).toBe('010203');
  });

  it('toHex is lowercase hex of every byte, across its 4,096-byte chunks', () => {
    const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => toHex(b) === hex(b)));
    for (const n of [0, 1, 4095, 4096, 4097, 8192, 10_000]) {
      const b = new Uint8Array(n).map((_, i) => (i * 131 + 7) & 255);
      expect(toHex(b)).toBe(hex(b));
    }
  });

  it('Writer.wipe() zeroes what was written and starts over', () => {
    const w = new Writer(4).u32(0xdeadbeef);
    const inside = (w as unknown as { buf: Uint8Array }).buf;
    w.wipe();
    expect(w.length).toBe(0);
    expect([...inside]).toEqual([0, 0, 0, 0]);
    expect(toHex(w.u8(1).finish())).toBe('01');
  });

  it('Reader.bytes: a copy of up to 64 bytes (V8 keeps those on its heap; a view would move them off), a view of more; the same bytes either way, from a Uint8Array or a Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), fc.nat(), fc.boolean(), (data, a, b, asBuffer) => {
        const src = asBuffer ? Buffer.from(data) : data.slice();
        const at = a % data.length;
        const n = b % (data.length - at + 1);
        const r = new Reader(src, at);
        const got = r.bytes(n);
        expect(toHex(got)).toBe(toHex(data.subarray(at, at + n)));
        expect(r.offset).toBe(at + n);
        if (n === 0) return;
        src[at]! ^= 0xff; // a view sees the change, a copy does not
        expect(got[0]).toBe(n > 64 ? data[at]! ^ 0xff : data[at]);
      }),
      { numRuns: 500 },
    );
  });

  it('latin1: one char per byte, whatever the length (one call up to 4 KiB, chunks past it), from a Uint8Array or a Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 9000 }), fc.boolean(), (data, asBuffer) => {
        const s = latin1(asBuffer ? Buffer.from(data) : data);
        expect(s.length).toBe(data.length);
        for (let i = 0; i < data.length; i++) if (s.charCodeAt(i) !== data[i]) expect(s.charCodeAt(i)).toBe(data[i]);
      }),
      { numRuns: 200 },
    );
  });

  it('Writer.written() is a view of what was written, without a copy; finish() is a copy', () => {
    const w = new Writer(4).u16(0x0102).u8(3);
    const v = w.written();
    const f = w.finish();
    expect(toHex(v)).toBe('010203');
    expect(toHex(f)).toBe('010203');
    w.wipe();
    expect(toHex(v)).toBe('000000');
    expect(toHex(f)).toBe('010203');
  });

  it('Writer back-patches vector lengths and Reader reads them back, rejecting trailing bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 2 ** 48 - 1 }), (body, n) => {
        const bytes = new Writer(4).u48(n).vec16((w) => w.bytes(body)).vec8((w) => w.u8(7)).finish();
        const r = new Reader(bytes);
        const ok = r.u48() === n && toHex(r.vec16('v')) === toHex(body) && r.vec8('x').length === 1;
        r.end('all');
        return ok;
      }),
    );
    expect(() => new Reader(new Uint8Array([1, 2])).end('x')).toThrow(DecodeError);
    expect(() => new Reader(new Uint8Array([0, 5, 1])).vec16('v')).toThrow(DecodeError);
  });

  it('u32 is big-endian and unsigned both ways', () => {
    expect(toHex(new Writer(1).u32(0x01020304).u32(0xffffffff).finish())).toBe('01020304ffffffff');
    expect(new Reader(fromHex('ffffffff')).u32()).toBe(0xffffffff);
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => new Reader(new Writer(1).u32(n).finish()).u32() === n));
    expect(() => new Reader(new Uint8Array(3)).u32('lifetime')).toThrow(DecodeError);
  });
});

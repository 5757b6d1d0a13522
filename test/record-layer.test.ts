/**
 * Record layer: anti-replay window (RFC 6347 §4.1.2.6), handshake reassembly
 * (RFC 6347 §4.2.3) and AES-128-CCM_8 record protection (RFC 6655 / RFC 5246 §6.2.3.3).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../lib/bytes/util.js';
import { nodeCrypto } from '../lib/crypto/node.js';
import { CCM8_RECORD_OVERHEAD, openRecord, sealRecord, type TrafficKeys } from '../lib/dtls/record/ccm8-cipher.js';
import { Reassembler } from '../lib/dtls/handshake/reassembler.js';
import { REPLAY_WINDOW_SIZE, ReplayWindow } from '../lib/dtls/record/replay-window.js';
import { ContentType, DTLS_1_2, HandshakeType } from '../lib/dtls/wire/constants.js';
import type { FragmentAt } from '../lib/dtls/wire/handshake.js';
import { splitRecords } from '../lib/dtls/wire/record.js';

const MAX_SEQ = 2 ** 48 - 1;

/** The obvious model: every sequence number ever marked, and the highest one. */
class ModelWindow {
  private readonly seen = new Set<number>();
  private top = -1;
  check(seq: number): boolean {
    if (seq > this.top) return true;
    if (this.top - seq >= REPLAY_WINDOW_SIZE) return false;
    return !this.seen.has(seq);
  }
  mark(seq: number): void {
    this.seen.add(seq);
    if (seq > this.top) this.top = seq;
  }
}

describe('ReplayWindow', () => {
  it('is 64 records wide', () => {
    expect(REPLAY_WINDOW_SIZE).toBe(64);
  });

  it('a fresh window accepts anything, including 0 and 2^48 - 1', () => {
    const w = new ReplayWindow();
    for (const s of [0, 1, 63, 64, 1000, 2 ** 32, MAX_SEQ]) expect(w.check(s)).toBe(true);
  });

  it('rejects duplicates; check() alone does not mark', () => {
    const w = new ReplayWindow();
    expect(w.check(5)).toBe(true);
    expect(w.check(5)).toBe(true);
    w.mark(5);
    expect(w.check(5)).toBe(false);
    w.mark(3);
    expect(w.check(3)).toBe(false);
    expect(w.check(4)).toBe(true);
    expect(w.check(6)).toBe(true);
    w.mark(5); // marking again is harmless
    expect(w.check(4)).toBe(true);
  });

  it('accepts a reordered burst exactly once each', () => {
    const w = new ReplayWindow();
    const order = [10, 3, 7, 0, 63, 11, 12, 5, 40];
    for (const s of order) {
      expect(w.check(s)).toBe(true);
      w.mark(s);
    }
    for (const s of order) expect(w.check(s)).toBe(false);
    for (const s of [1, 2, 4, 6, 8, 9, 13, 62, 64]) expect(w.check(s)).toBe(true);
  });

  for (const shift of [1, 2, 31, 32, 33, 62, 63, 64, 65, 100, 1000, 2 ** 32, 2 ** 40]) {
    it(`slides by ${shift}: old bits move, the window edge is exact`, () => {
      const base = 1000;
      const w = new ReplayWindow();
      // A pattern below the top: base, base-1, base-31, base-32, base-33, base-63 marked.
      const marked = [base, base - 1, base - 31, base - 32, base - 33, base - 63];
      for (const s of marked) w.mark(s);
      const top = base + shift;
      w.mark(top);
      expect(w.check(top)).toBe(false);
      expect(w.check(top + 1)).toBe(true);
      for (const s of marked) expect(w.check(s), `marked ${s}`).toBe(false);
      // Unmarked numbers: fresh exactly when within 63 of the new top.
      for (const s of [base - 2, base - 30, base - 34, base - 62, base + 1, top - 1, top - 63, top - 64, top - 65]) {
        if (s < 0 || marked.includes(s) || s >= top) continue;
        expect(w.check(s), `unmarked ${s} (top ${top})`).toBe(top - s < REPLAY_WINDOW_SIZE);
      }
    });
  }

  it('after a jump beyond the window, everything older is rejected', () => {
    const w = new ReplayWindow();
    for (let s = 0; s < 64; s++) w.mark(s);
    w.mark(10_000);
    for (let s = 0; s < 64; s++) expect(w.check(s)).toBe(false);
    expect(w.check(10_000 - 64)).toBe(false);
    expect(w.check(10_000 - 63)).toBe(true);
    expect(w.check(9_999)).toBe(true);
  });

  it('rejects numbers older than the window even if never seen', () => {
    const w = new ReplayWindow();
    w.mark(200);
    expect(w.check(200 - 64)).toBe(false);
    expect(w.check(0)).toBe(false);
    expect(w.check(200 - 63)).toBe(true);
    w.mark(200 - 100); // marking an ancient number changes nothing
    expect(w.check(200 - 63)).toBe(true);
    expect(w.check(201)).toBe(true);
  });

  it('works at the top of the 48-bit space', () => {
    const w = new ReplayWindow();
    w.mark(MAX_SEQ - 40);
    w.mark(MAX_SEQ);
    expect(w.check(MAX_SEQ)).toBe(false);
    expect(w.check(MAX_SEQ - 40)).toBe(false);
    expect(w.check(MAX_SEQ - 39)).toBe(true);
    expect(w.check(MAX_SEQ - 63)).toBe(true);
    expect(w.check(MAX_SEQ - 64)).toBe(false);
  });

  it('agrees with a Set-based model on random check/mark sequences', () => {
    const op = fc.record({
      mark: fc.boolean(),
      // Mostly near the current top, sometimes a large jump forward.
      delta: fc.oneof(
        { weight: 8, arbitrary: fc.integer({ min: -70, max: 70 }) },
        { weight: 1, arbitrary: fc.integer({ min: 60, max: 200 }) },
        { weight: 1, arbitrary: fc.constantFrom(2 ** 32, 2 ** 31, 2 ** 33 + 7) },
      ),
    });
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 40 }), fc.array(op, { maxLength: 200 }), (start, ops) => {
        const w = new ReplayWindow();
        const m = new ModelWindow();
        let top = start;
        for (const { mark, delta } of ops) {
          const seq = Math.min(MAX_SEQ, Math.max(0, top + delta));
          expect(w.check(seq)).toBe(m.check(seq));
          if (mark) {
            w.mark(seq);
            m.mark(seq);
            top = Math.max(top, seq);
          }
        }
        // Final sweep over the whole window and a little beyond.
        for (let s = Math.max(0, top - 80); s <= Math.min(MAX_SEQ, top + 2); s++) expect(w.check(s)).toBe(m.check(s));
      }),
      { numRuns: 1000 },
    );
  });
});

/** The fragment [start, end) of `msg`, as readFragment() reads one (its bytes in place, in the message itself). */
function frag(msgType: number, messageSeq: number, msg: Uint8Array, start: number, end: number): FragmentAt {
  return { msgType, length: msg.length, messageSeq, fragmentOffset: start, data: msg, bodyAt: start, bodyLength: end - start };
}

function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

describe('Reassembler', () => {
  const T = HandshakeType.certificate;

  it('delivers an unfragmented message, then nothing', () => {
    const r = new Reassembler(0, 1000);
    const msg = bytes(50);
    expect(r.add(frag(T, 0, msg, 0, 50))).toBe('accepted');
    const m = r.poll();
    expect(m).toMatchObject({ msgType: T, messageSeq: 0, body: msg });
    expect(r.poll()).toBeUndefined();
    expect(r.nextSeq).toBe(1);
    expect(r.bufferedBytes).toBe(0);
  });

  it('any cover of a message by fragments, in any order, with overlaps and repeats, delivers it whole, and only once the last byte came', () => {
    const message = fc.uint8Array({ minLength: 1, maxLength: 300 }).chain((msg) =>
      fc.tuple(
        fc.constant(msg),
        // fragments as [start, end) pairs, then enough to cover every byte, shuffled
        fc.array(fc.tuple(fc.nat({ max: msg.length - 1 }), fc.nat({ max: msg.length })), { maxLength: 8 }),
        fc.integer({ min: 1, max: msg.length }),
        fc.infiniteStream(fc.nat()),
      ),
    );
    fc.assert(
      fc.property(message, ([msg, extra, step, order]) => {
        const pieces: Array<[number, number]> = extra.map(([a, b]) => [Math.min(a, b), Math.max(a, b)]);
        for (let o = 0; o < msg.length; o += step) pieces.push([o, Math.min(o + step, msg.length)]);
        const it = order[Symbol.iterator]();
        const shuffled = pieces.map((p) => ({ p, k: it.next().value as number })).sort((x, y) => x.k - y.k).map((x) => x.p);
        const r = new Reassembler(0, 1000);
        const seen = new Uint8Array(msg.length);
        for (const [a, b] of shuffled) {
          expect(r.poll()).toBeUndefined(); // never before every byte came
          expect(r.add(frag(T, 0, msg, a, b))).toBe('accepted');
          seen.fill(1, a, b);
          if (!seen.every((x) => x === 1)) continue;
          const m = r.poll();
          expect(m?.body).toEqual(msg);
          expect(r.poll()).toBeUndefined();
          return;
        }
        throw new Error('the pieces did not cover the message');
      }),
      { numRuns: 300 },
    );
  });

  it('delivers a zero-length message (ServerHelloDone)', () => {
    const r = new Reassembler(2, 1000);
    expect(r.add(frag(HandshakeType.server_hello_done, 2, new Uint8Array(0), 0, 0))).toBe('accepted');
    expect(r.poll()).toMatchObject({ msgType: HandshakeType.server_hello_done, messageSeq: 2, body: new Uint8Array(0) });
  });

  it('reassembles out-of-order fragments and waits until the last hole is filled', () => {
    const r = new Reassembler(0, 1000);
    const msg = bytes(100);
    expect(r.add(frag(T, 0, msg, 70, 100))).toBe('accepted');
    expect(r.poll()).toBeUndefined();
    expect(r.add(frag(T, 0, msg, 0, 30))).toBe('accepted');
    expect(r.poll()).toBeUndefined();
    expect(r.add(frag(T, 0, msg, 30, 70))).toBe('accepted');
    expect(toHex(r.poll()!.body)).toBe(toHex(msg));
  });

  it('reassembles overlapping and duplicated fragments', () => {
    const r = new Reassembler(0, 1000);
    const msg = bytes(100, 3);
    for (const [a, b] of [[0, 60], [40, 80], [40, 80], [0, 10], [79, 100], [10, 41]] as const) {
      expect(r.add(frag(T, 0, msg, a, b))).toBe('accepted');
    }
    expect(toHex(r.poll()!.body)).toBe(toHex(msg));
  });

  it('touching but not overlapping fragments complete the message', () => {
    const r = new Reassembler(0, 1000);
    const msg = bytes(9);
    for (let i = 8; i >= 0; i--) r.add(frag(T, 0, msg, i, i + 1));
    expect(toHex(r.poll()!.body)).toBe(toHex(msg));
  });

  it('delivers strictly in message_seq order, buffering a later message', () => {
    const r = new Reassembler(1, 1000);
    const m1 = bytes(20, 1), m2 = bytes(30, 2);
    expect(r.add(frag(HandshakeType.server_hello_done, 2, m2, 0, 30))).toBe('accepted');
    expect(r.poll()).toBeUndefined();
    expect(r.bufferedBytes).toBe(30);
    expect(r.add(frag(HandshakeType.server_hello, 1, m1, 0, 20))).toBe('accepted');
    expect(r.poll()).toMatchObject({ messageSeq: 1, msgType: HandshakeType.server_hello });
    expect(r.poll()).toMatchObject({ messageSeq: 2, msgType: HandshakeType.server_hello_done });
    expect(r.poll()).toBeUndefined();
    expect(r.bufferedBytes).toBe(0);
  });

  it("answers 'old' for message_seq already delivered (a retransmitted flight)", () => {
    const r = new Reassembler(0, 1000);
    const msg = bytes(10);
    r.add(frag(T, 0, msg, 0, 10));
    r.poll();
    expect(r.add(frag(T, 0, msg, 0, 10))).toBe('old');
    expect(r.add(frag(T, 0, msg, 0, 5))).toBe('old');
    expect(r.poll()).toBeUndefined();
    expect(new Reassembler(5, 1000).add(frag(T, 4, msg, 0, 10))).toBe('old');
  });

  it('drops a fragment whose length or type disagrees with earlier fragments of the message', () => {
    const r = new Reassembler(0, 1000);
    const msg = bytes(100);
    expect(r.add(frag(T, 0, msg, 0, 50))).toBe('accepted');
    const longer = bytes(120);
    expect(r.add(frag(T, 0, longer, 50, 120))).toBe('dropped');
    expect(r.add(frag(HandshakeType.finished, 0, msg, 50, 100))).toBe('dropped');
    expect(r.poll()).toBeUndefined();
    // The original message still completes normally.
    expect(r.add(frag(T, 0, msg, 50, 100))).toBe('accepted');
    expect(toHex(r.poll()!.body)).toBe(toHex(msg));
  });

  it('records the epoch of a message and drops fragments of it from another epoch', () => {
    const r = new Reassembler(3, 1000);
    const fin = bytes(12);
    expect(r.add(frag(HandshakeType.finished, 3, fin, 0, 6), 1)).toBe('accepted');
    expect(r.add(frag(HandshakeType.finished, 3, fin, 6, 12), 0)).toBe('dropped');
    expect(r.poll()).toBeUndefined();
    expect(r.add(frag(HandshakeType.finished, 3, fin, 6, 12), 1)).toBe('accepted');
    expect(r.poll()).toMatchObject({ msgType: HandshakeType.finished, messageSeq: 3, epoch: 1, body: fin });
  });

  it('respects the memory cap and frees it on delivery', () => {
    const r = new Reassembler(0, 100);
    expect(r.add(frag(T, 0, bytes(101), 0, 10))).toBe('dropped');
    expect(r.bufferedBytes).toBe(0);
    const a = bytes(60, 1), b = bytes(60, 2);
    expect(r.add(frag(T, 0, a, 0, 10))).toBe('accepted');
    expect(r.bufferedBytes).toBe(60);
    expect(r.add(frag(T, 1, b, 0, 60))).toBe('dropped'); // 60 + 60 > 100
    expect(r.bufferedBytes).toBe(60);
    expect(r.add(frag(T, 0, a, 10, 60))).toBe('accepted');
    expect(r.poll()?.messageSeq).toBe(0);
    expect(r.bufferedBytes).toBe(0);
    expect(r.add(frag(T, 1, b, 0, 60))).toBe('accepted');
    expect(r.poll()?.messageSeq).toBe(1);
  });

  it('drops messages too far ahead of the next expected message_seq', () => {
    const r = new Reassembler(0, 10_000, 4);
    const msg = bytes(5);
    expect(r.add(frag(T, 3, msg, 0, 5))).toBe('accepted');
    expect(r.add(frag(T, 4, msg, 0, 5))).toBe('dropped');
    expect(r.bufferedBytes).toBe(5);
  });

  it('whole messages of any message_seq, in any order, across many windows: each delivered once, in order, exactly when all before it came; too far ahead dropped, older ones "old"', () => {
    // the messages sit in slots at message_seq % maxAhead: a window that has moved on many
    // times must still tell a message from the one maxAhead before or after it
    const ops = fc.array(fc.tuple(fc.nat(40), fc.boolean()), { maxLength: 120 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.nat(5), ops, (ahead, first, sends) => {
        const r = new Reassembler(first, 1_000_000, ahead);
        const held = new Set<number>();
        let next = first;
        for (const [seq, discard] of sends) {
          const verdict = r.add(frag(T, seq, new Uint8Array([seq & 0xff, seq >> 8]), 0, 2));
          expect(verdict).toBe(seq < next ? 'old' : seq >= next + ahead ? 'dropped' : 'accepted');
          if (verdict === 'accepted') held.add(seq);
          for (let m = r.poll(); m; m = r.poll()) {
            expect(m.messageSeq).toBe(next);
            expect([...m.body]).toEqual([next & 0xff, next >> 8]);
            held.delete(next++);
          }
          expect(held.has(next)).toBe(false); // the next one was not there, or it came out
          expect(r.nextSeq).toBe(next);
          if (discard && seq % 7 === 0) {
            r.discardPending();
            held.clear();
            expect(r.poll()).toBeUndefined();
          }
          expect(r.bufferedBytes).toBe(2 * held.size);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('drops a fragment that would run past the message end', () => {
    const r = new Reassembler(0, 1000);
    expect(r.add({ msgType: T, length: 10, messageSeq: 0, fragmentOffset: 8, data: bytes(5), bodyAt: 0, bodyLength: 5 })).toBe('dropped');
  });

  it('any fragmentation, overlap, duplication and order of a flight reassembles to the original bytes', () => {
    // One to three consecutive messages; each is cut at random points, extra overlapping
    // ranges and duplicates are added, and all fragments of the flight are shuffled together.
    const message = fc.uint8Array({ maxLength: 300 }).chain((body) =>
      fc.record({
        body: fc.constant(body),
        msgType: fc.integer({ min: 0, max: 255 }),
        cuts: fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, body.length - 1) }), { maxLength: 12 }),
        extra: fc.array(fc.tuple(fc.nat({ max: body.length }), fc.nat({ max: body.length })), { maxLength: 4 }),
        dups: fc.array(fc.nat(), { maxLength: 4 }),
      }),
    );
    const flight = fc.record({ firstSeq: fc.nat({ max: 1000 }), messages: fc.array(message, { minLength: 1, maxLength: 3 }) }).chain(
      ({ firstSeq, messages }) => {
        const frags: FragmentAt[] = [];
        messages.forEach((m, i) => {
          const seq = firstSeq + i;
          const points = [0, ...m.cuts.filter((x) => x < m.body.length).sort((a, b) => a - b), m.body.length];
          const mine: FragmentAt[] = [];
          for (let k = 0; k + 1 < points.length; k++) mine.push(frag(m.msgType, seq, m.body, points[k]!, points[k + 1]!));
          for (const [a, b] of m.extra) mine.push(frag(m.msgType, seq, m.body, Math.min(a, b), Math.max(a, b)));
          for (const d of m.dups) mine.push(mine[d % mine.length]!);
          frags.push(...mine);
        });
        return fc.record({
          firstSeq: fc.constant(firstSeq),
          messages: fc.constant(messages),
          frags: fc.shuffledSubarray(frags, { minLength: frags.length, maxLength: frags.length }),
        });
      },
    );
    fc.assert(
      fc.property(flight, ({ firstSeq, messages, frags }) => {
        const r = new Reassembler(firstSeq, 16 * 1024);
        for (const f of frags) expect(r.add(f)).toBe('accepted');
        messages.forEach((m, i) => {
          const got = r.poll();
          expect(got).toBeDefined();
          expect(got!.messageSeq).toBe(firstSeq + i);
          expect(got!.msgType).toBe(m.msgType);
          expect(toHex(got!.body)).toBe(toHex(m.body));
        });
        expect(r.poll()).toBeUndefined();
        expect(r.bufferedBytes).toBe(0);
        // Every fragment is now a retransmission.
        for (const f of frags) expect(r.add(f)).toBe('old');
      }),
      { numRuns: 1000 },
    );
  });
});

describe('sealRecord / openRecord', () => {
  const c = nodeCrypto;
  const keys: TrafficKeys = { key: fromHex('000102030405060708090a0b0c0d0e0f'), iv: fromHex('a1a2a3a4') };
  const header = { type: ContentType.application_data, version: DTLS_1_2, epoch: 1, sequence: 0x0102_0304_0506 };

  it('produces header ‖ epoch ‖ seq ‖ ciphertext ‖ tag and opens again', () => {
    const pt = new TextEncoder().encode('hello, constrained world');
    const record = sealRecord(c, keys, header, pt);
    expect(record.length).toBe(13 + CCM8_RECORD_OVERHEAD + pt.length);
    expect(toHex(record.subarray(0, 13))).toBe(`17fefd0001010203040506${(8 + pt.length + 8).toString(16).padStart(4, '0')}`);
    expect(toHex(record.subarray(13, 21))).toBe('0001010203040506');
    const [rec] = splitRecords(record);
    expect(rec).toMatchObject({ ...header, length: record.length - 13 });
    expect(toHex(openRecord(c, keys, rec!, rec!.fragment)!)).toBe(toHex(pt));
  });

  it('round-trips any plaintext at any epoch and 48-bit sequence number', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 400 }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.oneof(fc.nat({ max: 1000 }), fc.integer({ min: 0, max: MAX_SEQ })),
        fc.constantFrom(ContentType.application_data, ContentType.handshake, ContentType.alert),
        (pt, epoch, sequence, type) => {
          const record = sealRecord(c, keys, { type, version: DTLS_1_2, epoch, sequence }, pt);
          const [rec] = splitRecords(record);
          expect(rec).toMatchObject({ type, epoch, sequence });
          expect(toHex(openRecord(c, keys, rec!, rec!.fragment)!)).toBe(toHex(pt));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fails when the header (AAD) does not match: epoch, sequence, type, version', () => {
    const pt = fromHex('0102030405');
    const record = sealRecord(c, keys, header, pt);
    const [rec] = splitRecords(record);
    expect(openRecord(c, keys, rec!, rec!.fragment)).toBeDefined();
    expect(openRecord(c, keys, { ...rec!, epoch: 2 }, rec!.fragment)).toBeUndefined();
    expect(openRecord(c, keys, { ...rec!, epoch: 0 }, rec!.fragment)).toBeUndefined();
    expect(openRecord(c, keys, { ...rec!, sequence: rec!.sequence + 1 }, rec!.fragment)).toBeUndefined();
    expect(openRecord(c, keys, { ...rec!, sequence: rec!.sequence + 2 ** 32 }, rec!.fragment)).toBeUndefined();
    expect(openRecord(c, keys, { ...rec!, type: ContentType.handshake }, rec!.fragment)).toBeUndefined();
    expect(openRecord(c, keys, { ...rec!, version: 0xfeff }, rec!.fragment)).toBeUndefined();
  });

  it('fails with the wrong key or IV, a changed explicit nonce, or a flipped bit', () => {
    const pt = fromHex('0102030405');
    const record = sealRecord(c, keys, header, pt);
    const [rec] = splitRecords(record);
    expect(openRecord(c, { ...keys, iv: fromHex('a1a2a3a5') }, rec!, rec!.fragment)).toBeUndefined();
    expect(openRecord(c, { ...keys, key: fromHex('000102030405060708090a0b0c0d0e0e') }, rec!, rec!.fragment)).toBeUndefined();
    for (let i = 0; i < rec!.fragment.length; i++) {
      const bad = rec!.fragment.slice();
      bad[i] = bad[i]! ^ 0x80;
      expect(openRecord(c, keys, rec!, bad), `byte ${i}`).toBeUndefined();
    }
  });

  it('rejects fragments shorter than explicit nonce + tag without throwing', () => {
    for (let n = 0; n < CCM8_RECORD_OVERHEAD; n++) {
      expect(openRecord(c, keys, { ...header, length: n }, new Uint8Array(n))).toBeUndefined();
    }
  });
});

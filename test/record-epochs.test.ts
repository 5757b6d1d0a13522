/**
 * The record layer of its own (lib/dtls/record/record-layer.ts): epochs and their protection
 * per direction, 48-bit sequence numbers, the replay window of the read epoch, records of the
 * next epoch held until the peer's ChangeCipherSpec, overflow, wiping, and the per-epoch
 * protection seam (where RFC 9146 tls12_cid records will plug in).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../lib/crypto/node.js';
import { DtlsError } from '../lib/dtls/errors.js';
import { Ccm8Protection, NULL_PROTECTION, type EpochProtection } from '../lib/dtls/record/protection.js';
import { RecordDrop, RecordLayer } from '../lib/dtls/record/record-layer.js';
import { ContentType } from '../lib/dtls/wire/constants.js';
import { RECORD_HEADER_LENGTH, splitRecords, writeHeader, type RawRecord } from '../lib/dtls/wire/record.js';

const c = nodeCrypto;
const keys = () => ({ key: c.random(16), iv: c.random(4) });

/** A writer and a reader sharing epoch-1 keys, as the two ends of one direction. */
function pair(maxEarly = 8) {
  const k = keys();
  const writer = new RecordLayer(maxEarly);
  const reader = new RecordLayer(maxEarly);
  writer.installWrite(new Ccm8Protection(c, { key: k.key.slice(), iv: k.iv.slice() }));
  reader.installRead(new Ccm8Protection(c, { key: k.key.slice(), iv: k.iv.slice() }));
  return { writer, reader, k };
}

const one = (datagram: Uint8Array): RawRecord => {
  const rs = splitRecords(datagram);
  expect(rs).toHaveLength(1);
  return rs[0]!;
};
const data = (n: number) => new Uint8Array(n).map((_, i) => i & 0xff);

describe('RecordLayer: writing', () => {
  it('numbers epoch-0 records from the stateless server\'s start (RFC 6347 §4.2.1), then epoch 1 from 0', () => {
    const rl = new RecordLayer(8);
    rl.startSequence(7);
    expect(one(rl.protect(ContentType.handshake, data(3))).sequence).toBe(7);
    expect(one(rl.protect(ContentType.handshake, data(3))).sequence).toBe(8);
    rl.installWrite(new Ccm8Protection(c, keys()));
    expect(rl.writeEpoch).toBe(0);
    rl.activateWrite();
    expect(rl.writeEpoch).toBe(1);
    const r = one(rl.protect(ContentType.application_data, data(5)));
    expect([r.epoch, r.sequence]).toEqual([1, 0]);
    // a retransmitted flight still seals its ChangeCipherSpec in epoch 0, continuing that epoch's numbers
    const ccs = one(rl.protect(ContentType.change_cipher_spec, new Uint8Array([1]), 0));
    expect([ccs.epoch, ccs.sequence]).toEqual([0, 9]);
    expect(one(rl.protect(ContentType.application_data, data(5))).sequence).toBe(1);
  });

  it('epoch 1 cannot be written or activated before its keys are installed', () => {
    const rl = new RecordLayer(8);
    expect(() => rl.protect(ContentType.handshake, data(1), 1)).toThrow(DtlsError);
    expect(() => rl.activateWrite()).toThrow(DtlsError);
    expect(rl.overhead(0)).toBe(RECORD_HEADER_LENGTH);
  });

  it('refuses to wrap the 48-bit sequence number', () => {
    const rl = new RecordLayer(8);
    rl.startSequence(2 ** 48 - 2);
    expect(one(rl.protect(ContentType.handshake, data(1))).sequence).toBe(2 ** 48 - 2);
    expect(() => rl.protect(ContentType.handshake, data(1))).toThrow(/exhausted/);
  });

  it('never gives two records of one epoch the same sequence number', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(0, 1), { minLength: 1, maxLength: 60 }), (epochs) => {
        const rl = new RecordLayer(8);
        rl.installWrite(new Ccm8Protection(c, keys()));
        const seen = new Set<string>();
        for (const e of epochs) {
          const r = one(rl.protect(ContentType.handshake, data(2), e));
          const k = `${r.epoch}/${r.sequence}`;
          if (seen.has(k)) return false;
          seen.add(k);
        }
        return true;
      }),
    );
  });
});

describe('RecordLayer: reading', () => {
  it('returns epoch-0 fragments as they are (unauthenticated, no window)', () => {
    const rl = new RecordLayer(8);
    const w = new RecordLayer(8);
    const r = one(w.protect(ContentType.handshake, data(4)));
    expect(rl.open(r)).toEqual(data(4));
    expect(rl.open(r)).toEqual(data(4)); // a repeat is the handshake's to judge
  });

  it('holds next-epoch records until activateRead, in order, up to the cap; then opens them', () => {
    const { writer, reader } = pair(3);
    writer.activateWrite();
    const recs = [0, 1, 2, 3].map((i) => one(writer.protect(ContentType.handshake, data(i + 1))));
    expect(recs.map((r) => reader.open(r))).toEqual([RecordDrop.HELD, RecordDrop.HELD, RecordDrop.HELD, RecordDrop.DISCARDED]);
    const held = reader.activateRead();
    expect(held.map((r) => r.sequence)).toEqual([0, 1, 2]);
    expect(held.map((r) => reader.open(r))).toEqual([data(1), data(2), data(3)]);
    expect(reader.open(recs[3]!)).toEqual(data(4));
    expect(reader.readEpoch).toBe(1);
  });

  it('held records are copies: the driver may reuse the datagram buffer', () => {
    const { writer, reader } = pair();
    writer.activateWrite();
    const datagram = writer.protect(ContentType.handshake, data(8));
    expect(reader.open(one(datagram))).toBe(RecordDrop.HELD);
    datagram.fill(0);
    expect(reader.open(reader.activateRead()[0]!)).toEqual(data(8));
  });

  it('drops replays, keeps the window still for forgeries, drops other epochs', () => {
    const { writer, reader } = pair();
    writer.activateWrite();
    reader.activateRead();
    const r0 = one(writer.protect(ContentType.application_data, data(10)));
    const r1 = one(writer.protect(ContentType.application_data, data(11)));
    // a forged record with r1's sequence number fails authentication and does not mark it seen
    const forged = r1.fragment.slice();
    forged[forged.length - 1]! ^= 1;
    expect(reader.open({ ...r1, fragment: forged })).toBe(RecordDrop.BAD_MAC);
    expect(reader.open(r1)).toEqual(data(11));
    expect(reader.open(r0)).toEqual(data(10)); // reordered: still inside the window
    expect(reader.open(r0)).toBe(RecordDrop.DISCARDED); // replay
    expect(reader.open({ ...r0, epoch: 3 })).toBe(RecordDrop.DISCARDED); // neither this epoch nor the next
  });

  it('after stopHolding, next-epoch records are discarded instead of held', () => {
    const { writer, reader } = pair();
    reader.stopHolding();
    writer.activateWrite();
    expect(reader.open(one(writer.protect(ContentType.handshake, data(1))))).toBe(RecordDrop.DISCARDED);
  });

  it('discards a record above the receive limit we announced (RFC 8449 §4)', () => {
    const { writer, reader } = pair();
    writer.activateWrite();
    reader.activateRead();
    reader.receiveLimit = 64;
    expect(reader.open(one(writer.protect(ContentType.application_data, data(64))))).toEqual(data(64));
    expect(reader.open(one(writer.protect(ContentType.application_data, data(65))))).toBe(RecordDrop.DISCARDED);
  });

  it('a lossy, duplicating, reordering link delivers each record exactly once', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(40), { minLength: 1, maxLength: 120 }), (order) => {
        const { writer, reader } = pair();
        writer.activateWrite();
        reader.activateRead();
        const sent = Array.from({ length: 41 }, (_, i) => one(writer.protect(ContentType.application_data, new Uint8Array([i]))));
        const got: number[] = [];
        for (const i of order) {
          const pt = reader.open(sent[i]!);
          if (typeof pt !== 'number') got.push(pt[0]!);
        }
        // each at most once, and every first arrival within the 64-record window accepted
        return new Set(got).size === got.length && got.length === new Set(order).size;
      }),
    );
  });
});

describe('RecordLayer: keys', () => {
  it('wipe() zeroes every key it holds', () => {
    const wk = keys();
    const rk = keys();
    const pk = keys();
    const rl = new RecordLayer(8);
    rl.installWrite(new Ccm8Protection(c, wk));
    rl.installRead(new Ccm8Protection(c, rk));
    rl.activateRead();
    rl.installRead(new Ccm8Protection(c, pk));
    rl.wipe();
    for (const k of [wk, rk, pk]) {
      expect(k.key.every((b) => b === 0)).toBe(true);
      expect(k.iv.every((b) => b === 0)).toBe(true);
    }
    expect(() => rl.protect(ContentType.alert, data(2), 1)).toThrow(DtlsError);
  });

  it('takes any protection per epoch: the seam for another record format', () => {
    // A stand-in format: every record goes out as application_data with the real type as the
    // last byte of its plaintext (the shape of RFC 9146's inner type), XOR "protection".
    const tagged: EpochProtection = {
      overhead: RECORD_HEADER_LENGTH + 1,
      accepts: (r) => r.type === 23,
      seal(type, epoch, sequence, plaintext) {
        const out = new Uint8Array(RECORD_HEADER_LENGTH + plaintext.length + 1);
        writeHeader(out, 0, 23, 0xfefd, epoch, sequence, plaintext.length + 1);
        plaintext.forEach((b, i) => (out[RECORD_HEADER_LENGTH + i] = b ^ 0xaa));
        out[out.length - 1] = type;
        return out;
      },
      open(r) {
        r.type = r.fragment[r.fragment.length - 1]!;
        return r.fragment.subarray(0, -1).map((b) => b ^ 0xaa);
      },
      wipe: () => undefined,
    };
    const w = new RecordLayer(8);
    const rd = new RecordLayer(8);
    w.installWrite(tagged);
    w.activateWrite();
    rd.installRead(tagged);
    rd.activateRead();
    const bytes = w.protect(ContentType.alert, data(6));
    expect(bytes[0]).toBe(23);
    expect(bytes[bytes.length - 1]).toBe(ContentType.alert);
    expect(w.overhead()).toBe(RECORD_HEADER_LENGTH + 1);
    const r = one(bytes);
    expect(rd.open(r)).toEqual(data(6));
    expect(r.type).toBe(ContentType.alert);
    expect(NULL_PROTECTION.overhead).toBe(RECORD_HEADER_LENGTH);
  });
});

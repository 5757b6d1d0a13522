/**
 * The slot structures that keep objects out of churned Maps (issue 13's garbage-collection work):
 * SlotLru (lib/dtls/slot-lru.ts) and the CoAP server's PendingServers
 * (lib/coap/server-exchanges.ts), and the endpoint's DatagramQueue (rewound, not truncated),
 * each against a plain model over random operations; the SessionSlab's slot size (the session cache's records use larger slots than hibernation).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PendingServers, type PendingServer } from '../lib/coap/server-exchanges.js';
import type { CoapMessage } from '../lib/coap/message.js';
import { DatagramQueue } from '../lib/dtls/datagram-queue.js';
import { SessionSlab } from '../lib/dtls/session-slab.js';
import { SlotLru } from '../lib/dtls/slot-lru.js';

type LruOp = { op: 'take' } | { op: 'touch'; pick: number } | { op: 'release'; pick: number } | { op: 'grow'; by: number };

const lruOp: fc.Arbitrary<LruOp> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ op: 'take' as const }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('touch' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('release' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('grow' as const), by: fc.integer({ min: 1, max: 8 }) }) },
);

describe('SlotLru', () => {
  it('keeps use order and a free list like an array model (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(lruOp, { maxLength: 200 }), (first, ops) => {
        const lru = new SlotLru(first);
        let limit = first;
        const order: number[] = []; // least recently used first
        for (const o of ops) {
          if (o.op === 'take') {
            const slot = lru.take();
            if (order.length >= limit) {
              expect(slot).toBe(-1);
              continue;
            }
            expect(slot).toBeGreaterThanOrEqual(0);
            expect(slot).toBeLessThan(limit);
            expect(order).not.toContain(slot); // never a slot in use
            order.push(slot);
          } else if (o.op === 'grow') {
            limit += o.by;
            lru.grow(limit);
          } else if (order.length > 0) {
            const slot = order[o.pick % order.length]!;
            order.splice(order.indexOf(slot), 1);
            if (o.op === 'touch') {
              lru.touch(slot);
              order.push(slot);
            } else lru.release(slot);
          }
          expect(lru.size).toBe(order.length);
          expect(lru.limit).toBe(limit);
          const walked: number[] = [];
          for (let s = lru.first; s >= 0; s = lru.after(s)) walked.push(s);
          expect(walked).toEqual(order);
        }
      }),
    );
  });
});

type PsOp = { op: 'add'; peer: number; con: boolean } | { op: 'settle'; pick: number } | { op: 'dropPeer'; peer: number } | { op: 'tick'; ms: number } | { op: 'back'; ms: number };

const psOp: fc.Arbitrary<PsOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('add' as const), peer: fc.nat({ max: 4 }), con: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('settle' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('dropPeer' as const), peer: fc.nat({ max: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 600 }) }) },
  // the clock going back: later requests get earlier empty-ACK deadlines (inserted in place)
  { weight: 1, arbitrary: fc.record({ op: fc.constant('back' as const), ms: fc.integer({ min: 0, max: 300 }) }) },
);

const REQUEST = {} as CoapMessage;
const ACK_DELAY = 1000;

describe('PendingServers', () => {
  it('finds, counts, orders and times exchanges like a model (property)', () => {
    fc.assert(
      fc.property(fc.array(psOp, { maxLength: 300 }), (ops) => {
        // (the FIFOs empty and are rewound many times in a run: one request at a time does that)
        const ps = new PendingServers<string>();
        const live: Array<PendingServer<string>> = []; // arrival order
        const gone: Array<PendingServer<string>> = [];
        let now = 0;
        for (const o of ops) {
          if (o.op === 'add') {
            const x: PendingServer<string> = { id: ps.newId(), peer: `p${o.peer}`, request: REQUEST, size: 10, deadline: o.con ? now + ACK_DELAY : undefined, done: false, expires: now + 5000 };
            expect(ps.get(x.id)).toBeUndefined();
            ps.add(x);
            live.push(x);
          } else if (o.op === 'settle' && live.length > 0) {
            const [x] = live.splice(o.pick % live.length, 1);
            ps.settle(x!);
            gone.push(x!);
          } else if (o.op === 'dropPeer') {
            ps.dropPeer(`p${o.peer}`);
            for (const x of live.filter((y) => y.peer === `p${o.peer}`)) {
              live.splice(live.indexOf(x), 1);
              gone.push(x);
            }
          } else if (o.op === 'back') {
            now -= o.ms;
          } else if (o.op === 'tick') {
            now += o.ms;
            // empty ACKs come due in deadline order (arrival order among equal ones), for live CON exchanges only
            const due = live.filter((x) => x.deadline !== undefined && x.deadline <= now).sort((a, b) => a.deadline! - b.deadline!);
            const got: Array<PendingServer<string>> = [];
            for (let x = ps.dueAck(now); x; x = ps.dueAck(now)) {
              got.push(x);
              x.deadline = undefined; // the endpoint sends the empty ACK and clears it
            }
            expect(got).toEqual(due);
          }
          expect(ps.size).toBe(live.length);
          expect(ps.oldest()).toBe(live[0]);
          for (const x of live) expect(ps.get(x.id)).toBe(x);
          for (const x of gone) expect(ps.get(x.id)).toBeUndefined();
          for (let p = 0; p <= 4; p++) expect(ps.countOf(`p${p}`)).toBe(live.filter((x) => x.peer === `p${p}`).length);
          const next = live.filter((x) => x.deadline !== undefined).map((x) => x.deadline!);
          expect(ps.nextAckDeadline()).toBe(next.length > 0 ? Math.min(...next) : undefined);
        }
      }),
    );
  });

  it('a thousand peers with one request each at a time: their zero counts are swept, none is lost', () => {
    const ps = new PendingServers<number>();
    for (let round = 0; round < 3; round++) {
      for (let p = 0; p < 1000; p++) {
        const x: PendingServer<number> = { id: ps.newId(), peer: p, request: REQUEST, size: 1, deadline: undefined, done: false, expires: 1e9 };
        ps.add(x);
        expect(ps.countOf(p)).toBe(1);
        ps.settle(x);
        expect(ps.countOf(p)).toBe(0);
      }
    }
    expect(ps.size).toBe(0);
    const counts = (ps as unknown as { perPeer: Map<number, number> }).perPeer;
    expect(counts.size).toBeLessThan(1000); // zeros do not pile up
  });
});

describe('SessionSlab slot size', () => {
  it('keeps records up to slotBytes - 1 in the slot, longer ones beside; wipes both when freed', () => {
    expect(() => new SessionSlab(1)).toThrow(RangeError);
    expect(() => new SessionSlab(256)).toThrow(RangeError);
    const slab = new SessionSlab(161);
    const owner = {};
    const fits = new Uint8Array(160).fill(7);
    const over = new Uint8Array(161).fill(9);
    const a = slab.put(owner, fits);
    const b = slab.put(owner, over);
    expect(slab.read(owner, a).bytes).toEqual(fits);
    expect(slab.read(owner, b).bytes).toEqual(over);
    expect(slab.capacityBytes).toBe(256 * 161);
    expect(() => slab.read({}, a)).toThrow(); // another owner's slot
    slab.free(owner, a);
    slab.free(owner, b);
    expect(slab.size).toBe(0);
    expect(slab.nonZeroBytes()).toBe(0);
  });
});

describe('DatagramQueue', () => {
  type QOp = { op: 'push'; n: number } | { op: 'shift' } | { op: 'drain'; again: number };
  const qOp: fc.Arbitrary<QOp> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('push' as const), n: fc.integer({ min: 1, max: 40 }) }) },
    { weight: 3, arbitrary: fc.constant({ op: 'shift' as const }) },
    // drain, with `again` datagrams queued from inside the first send (re-entrant)
    { weight: 2, arbitrary: fc.record({ op: fc.constant('drain' as const), again: fc.integer({ min: 0, max: 3 }) }) },
  );

  it('hands datagrams over in order, across rewinds and re-entrant pushes, like an array (property)', () => {
    fc.assert(
      fc.property(fc.array(qOp, { maxLength: 200 }), (ops) => {
        const q = new DatagramQueue();
        const model: number[] = [];
        let next = 0;
        const peer = { address: '127.0.0.1', port: 1 };
        const datagram = (k: number) => Uint8Array.of(k & 0xff, k >> 8);
        const id = (d: Uint8Array) => d[0]! | (d[1]! << 8);
        for (const o of ops) {
          if (o.op === 'push') {
            for (let i = 0; i < o.n; i++, next++) {
              q.push(peer, datagram(next));
              model.push(next);
            }
          } else if (o.op === 'shift') {
            const t = q.shift();
            const m = model.shift();
            expect(t && id(t.data)).toBe(m);
          } else {
            const got: number[] = [];
            let again = o.again;
            q.drain((_p, d) => {
              got.push(id(d));
              for (; again > 0; again--, next++) {
                q.push(peer, datagram(next));
                model.push(next);
              }
            });
            expect(got).toEqual(model.splice(0));
          }
          expect(q.isEmpty).toBe(model.length === 0);
        }
      }),
    );
  });
});

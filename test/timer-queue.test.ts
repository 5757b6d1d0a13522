import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimerQueue } from '../lib/timers/timer-queue.js';

/**
 * The reference model: a plain list of (deadline, item) entries with the same lazy deletion
 * (an entry is live while the item's deadline still equals it), searched linearly.
 */
class ModelQueue {
  private entries: Array<{ at: number; item: number }> = [];
  constructor(private readonly current: (item: number) => number | undefined) {}
  schedule(item: number, at: number | undefined): void {
    if (at !== undefined) this.entries.push({ at, item });
  }
  private live(): Array<{ at: number; item: number }> {
    return this.entries.filter((e) => this.current(e.item) === e.at);
  }
  peek(): number | undefined {
    const l = this.live();
    return l.length === 0 ? undefined : Math.min(...l.map((e) => e.at));
  }
  popDue(now: number): Array<{ at: number; item: number }> {
    const due = this.live().filter((e) => e.at <= now);
    this.entries = this.entries.filter((e) => !(e.at <= now) && this.current(e.item) === e.at);
    return due.sort((a, b) => a.at - b.at || a.item - b.item);
  }
}

type Op = { op: 'set'; item: number; at: number | undefined } | { op: 'pop'; now: number } | { op: 'peek' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('set' as const), item: fc.integer({ min: 0, max: 30 }), at: fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('pop' as const), now: fc.integer({ min: 0, max: 220 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('peek' as const) }) },
);

describe('TimerQueue', () => {
  it('orders and drops stale entries like the reference model (property)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), fc.boolean(), (ops, fractional) => {
        const deadline = new Map<number, number>();
        const current = (item: number) => deadline.get(item);
        // a small live count makes the queue compact often (it sweeps past 2 x live + 64)
        const q = new TimerQueue<number>(current, () => deadline.size);
        const m = new ModelQueue(current);
        for (const o of ops) {
          if (o.op === 'set') {
            // as the endpoint does: a new entry whenever an item's deadline changes
            const at = o.at === undefined ? undefined : fractional ? o.at + 0.5 : o.at;
            if (at === undefined) deadline.delete(o.item);
            else deadline.set(o.item, at);
            q.schedule(o.item, at);
            m.schedule(o.item, at);
          } else if (o.op === 'peek') {
            expect(q.peek()).toBe(m.peek());
          } else {
            const want = m.popDue(o.now);
            const got = q.popDue(o.now);
            // deadlines come out in order; equal deadlines in any order
            const ats = got.map((i) => deadline.get(i)!);
            for (let k = 1; k < ats.length; k++) expect(ats[k]!).toBeGreaterThanOrEqual(ats[k - 1]!);
            const key = (i: number) => `${deadline.get(i)}:${i}`;
            expect(got.map(key).sort()).toEqual(want.map((e) => key(e.item)).sort());
            for (const i of got) deadline.delete(i); // fired: the endpoint clears it
          }
        }
        expect(q.peek()).toBe(m.peek());
      }),
      { numRuns: 3000 },
    );
  });

  it('sweeps stale entries once they outnumber twice the live items (plus 64)', () => {
    const deadline = new Map<number, number>();
    const q = new TimerQueue<number>((i) => deadline.get(i), () => deadline.size);
    deadline.set(1, 5);
    for (let k = 0; k < 5000; k++) {
      deadline.set(1, 10 + k);
      q.schedule(1, 10 + k);
    }
    expect(q.size).toBeLessThanOrEqual(2 * 1 + 64 + 1);
    expect(q.peek()).toBe(5009);
    expect(q.popDue(10_000)).toEqual([1]);
    expect(q.size).toBe(0);
    expect(q.peek()).toBeUndefined();
  });

  it('pops many items in deadline order', () => {
    const deadline = new Map<number, number>();
    const q = new TimerQueue<number>((i) => deadline.get(i));
    const ats = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000);
    ats.forEach((at, i) => {
      deadline.set(i, at);
      q.schedule(i, at);
    });
    const out = q.popDue(499);
    expect(out.map((i) => deadline.get(i))).toEqual([...Array(500).keys()]);
    expect(q.peek()).toBe(500);
  });
});

describe('TimerQueue memory', () => {
  it('holds no item past the entries it keeps: popped and swept slots are cleared', () => {
    const deadline = new Map<object, number>();
    const q = new TimerQueue<object>((i) => deadline.get(i), () => deadline.size);
    const held = () => (q as unknown as { items: Array<object | undefined> }).items.filter((x) => x !== undefined).length;
    const items = Array.from({ length: 500 }, () => ({}));
    items.forEach((it, k) => {
      deadline.set(it, k);
      q.schedule(it, k);
    });
    expect(held()).toBe(500);
    const fired = q.popDue(199);
    expect(fired).toHaveLength(200);
    for (const it of fired) deadline.delete(it); // fired: the endpoint clears it
    expect(held()).toBe(300);
    // the rest end (a closed session's deadline goes away): a later schedule sweeps them out
    for (const it of items.slice(200)) deadline.delete(it);
    const next = {};
    deadline.set(next, 1000);
    q.schedule(next, 1000);
    expect(q.size).toBe(1);
    expect(held()).toBe(1);
    expect(q.popDue(1000)).toEqual([next]);
    expect(held()).toBe(0);
  });
});

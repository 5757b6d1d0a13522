/**
 * Observations with notification attributes on the virtual clock: the server writes attributes
 * (object, instance and resource levels, and the Default Minimum/Maximum Period of its /1
 * instance), observes the temperature, the application changes it; every notification the
 * server receives must be the one a small reference model of the TS rules (§5.1.2) predicts,
 * at the time it predicts, with the value it predicts. The model steps a 100 ms clock and knows
 * nothing of the client's deadlines:
 *
 *   each tick: apply the change of this tick;
 *     evaluate when (a change is pending and epmin has passed since the last evaluation) or
 *     epmax has passed since it: the condition is met when the value differs from the last
 *     notified one (no gt/lt/st), or moved by st, or crossed gt or lt (on either side);
 *     notify when (the condition was met and pmin has passed since the last notification)
 *     or pmax has passed since it; a notification restarts both periods and is an evaluation.
 *   pmax is ignored when 0 or below pmin, epmax when 0 or below epmin; pmin and pmax default
 *   to /1/x/2 and /1/x/3.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Code } from '../lib/coap/message.js';
import type { AttributeName } from '../lib/lwm2m/attributes.js';
import { ENDPOINT, MINUTE, SECOND, simSetup } from './helpers/lwm2m-sim-setup.js';

const TICK = 100;
const HORIZON = 40 * SECOND;

type Attrs = Partial<Record<AttributeName, number>>;

interface Scenario {
  object: Attrs;
  instance: Attrs;
  resource: Attrs;
  defaults: { pmin: number; pmax: number };
  /** Changes: tick index (from the Observe) and the new temperature. */
  changes: Array<[number, number]>;
}

/** The reference model: notifications as [ms after the Observe, value]. */
function model(s: Scenario, initial: number): Array<[number, number]> {
  const a: Attrs = { ...s.object, ...s.instance, ...s.resource };
  const pmin = (a.pmin ?? s.defaults.pmin) * SECOND;
  const pmaxRaw = a.pmax ?? (s.defaults.pmax > 0 ? s.defaults.pmax : undefined);
  const pmax = pmaxRaw !== undefined && pmaxRaw > 0 && pmaxRaw * SECOND >= pmin ? pmaxRaw * SECOND : undefined;
  const epmin = (a.epmin ?? 0) * SECOND;
  const epmax = a.epmax !== undefined && a.epmax > 0 && a.epmax * SECOND >= epmin ? a.epmax * SECOND : undefined;
  const met = (last: number, v: number) => {
    if (a.gt === undefined && a.lt === undefined && a.st === undefined) return v !== last;
    return (a.st !== undefined && Math.abs(v - last) >= a.st) || (a.gt !== undefined && last > a.gt !== v > a.gt) || (a.lt !== undefined && last < a.lt !== v < a.lt);
  };
  const changes = new Map(s.changes);
  const out: Array<[number, number]> = [];
  let value = initial;
  let lastSent = 0;
  let lastValue = initial;
  let lastEval = 0;
  let changed = false;
  let pending = false;
  for (let t = 0; t <= HORIZON; t += TICK) {
    const c = changes.get(t / TICK);
    if (c !== undefined) {
      value = c;
      changed = true;
    }
    if ((changed && t >= lastEval + epmin) || (epmax !== undefined && t >= lastEval + epmax)) {
      lastEval = t;
      changed = false;
      if (met(lastValue, value)) pending = true;
    }
    if ((pending && t >= lastSent + pmin) || (pmax !== undefined && t >= lastSent + pmax)) {
      out.push([t, value]);
      lastSent = lastEval = t;
      lastValue = value;
      pending = changed = false;
    }
  }
  return out;
}

/** One scenario on the virtual clock: what the server receives, as [ms after the Observe, value]. */
function run(s: Scenario): { got: Array<[number, number]>; initial: number } {
  const t = simSetup({ seed: 3 });
  const { server, client, net } = t;
  client.act(0, (c) => c.start(0));
  expect(t.runFor(5 * MINUTE, () => server.eventsOf('registered').length > 0)).toBe(true);
  const done = (id: number) => server.events.some((e) => (e.type === 'result' || e.type === 'failed') && e.id === id);
  const op = (f: () => number) => {
    const id = server.act(net.now, f);
    expect(t.runFor(MINUTE, () => done(id))).toBe(true);
    const e = server.events.find((x) => (x.type === 'result' || x.type === 'failed') && x.id === id)!;
    if (e.type === 'failed') throw e.error;
    return e;
  };
  // the server's default periods, then the attributes at each level
  op(() => server.core.write(net.now, ENDPOINT, '/1/0', [{ path: [1, 0, 2], value: s.defaults.pmin }, { path: [1, 0, 3], value: s.defaults.pmax }], { replace: false }));
  for (const [path, attrs] of [['/3303', s.object], ['/3303/0', s.instance], ['/3303/0/5700', s.resource]] as const) {
    if (Object.keys(attrs).length) expect(op(() => server.core.writeAttributes(net.now, ENDPOINT, path, attrs))).toMatchObject({ type: 'result', result: { code: Code.Changed } });
  }
  const initial = client.store.get([3303, 0, 5700]) as number;
  const obs = server.act(net.now, (c) => c.observe(net.now, ENDPOINT, '/3303/0/5700'));
  expect(t.runFor(MINUTE, () => done(obs))).toBe(true);
  // the client answered the Observe one link delay (1 ms) before the server had it
  const t0 = server.events.find((e) => e.type === 'result' && e.id === obs)!.at - 1;
  // a change at its tick comes before the timers due at that instant, as in the model
  for (const [tick, v] of [...s.changes].sort((x, y) => x[0] - y[0])) {
    net.runBefore(t0 + tick * TICK);
    client.store.set([3303, 0, 5700], v);
  }
  net.run(t0 + HORIZON + 1);
  const got = server
    .eventsOf('notification')
    .filter((e) => e.id === obs)
    .map((e): [number, number] => [Math.round(e.at - 1 - t0), e.records[0]!.value as number]);
  return { got, initial };
}

const period = (max: number) => fc.option(fc.integer({ min: 0, max }), { nil: undefined });
const periods = fc.record({ pmin: period(4), pmax: period(9), epmin: period(3), epmax: period(8) }, { requiredKeys: [] });
const strip = (a: Record<string, number | undefined>): Attrs => Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as Attrs;

/** Change conditions that keep lt < gt and lt + 2*st < gt. */
const conditions = fc
  .record({ lt: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }), gap: fc.integer({ min: 1, max: 15 }), gt: fc.boolean(), st: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }) })
  .map(({ lt, gap, gt, st }) => {
    const out: Attrs = {};
    if (lt !== undefined) out.lt = lt;
    if (gt) out.gt = (lt ?? 10) + gap + 2 * (st ?? 0);
    if (st !== undefined) out.st = st;
    return out;
  });

const scenario: fc.Arbitrary<Scenario> = fc.record({
  object: periods.map(strip),
  instance: periods.map(strip),
  resource: fc.tuple(periods.map(strip), conditions).map(([p, c]) => ({ ...p, ...c })),
  defaults: fc.record({ pmin: fc.integer({ min: 0, max: 3 }), pmax: fc.constantFrom(0, 0, 5, 12) }),
  changes: fc.uniqueArray(fc.tuple(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 40 }).map((x) => x / 2)), { maxLength: 25, selector: ([tick]) => tick }),
});

describe('notification attributes on the virtual clock, against the reference model', () => {
  it('pmin holds, pmax forces, gt/lt/st select, epmin/epmax pace the evaluations: every notification as the model says', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { got, initial } = run(s);
        expect(got).toEqual(model(s, initial));
      }),
      { numRuns: 60 },
    );
  });

  const cases: Array<[string, Partial<Scenario>]> = [
    ['pmin=5: changes within 5 s wait for it, and go out with the value of that moment', { resource: { pmin: 5 }, changes: [[10, 21], [20, 22], [30, 23], [120, 24]] }],
    ['pmax=3 without changes: a notification every 3 s', { resource: { pmax: 3 } }],
    ['gt=25: only crossings notify, both ways', { resource: { gt: 25 }, changes: [[10, 24], [20, 26], [30, 27], [40, 24], [50, 25]] }],
    ['lt=15 st=4 (the defaults: pmin 0)', { resource: { lt: 15, st: 4 }, changes: [[10, 22], [20, 24.5], [30, 14], [40, 16], [50, 12]] }],
    ['epmin=2: evaluations at most every 2 s', { resource: { epmin: 2 }, changes: [[5, 21], [10, 22], [12, 21.5], [60, 30]] }],
    ['pmin from the object, pmax from the instance, st on the resource', { object: { pmin: 2 }, instance: { pmax: 7 }, resource: { st: 1 }, changes: [[3, 20.5], [8, 21], [50, 25]] }],
    ['the server defaults: pmin 1, pmax 5', { defaults: { pmin: 1, pmax: 5 }, changes: [[2, 21], [4, 22]] }],
    ['pmax below pmin is ignored', { resource: { pmin: 4, pmax: 2 }, changes: [[1, 30]] }],
  ];
  for (const [name, partial] of cases) {
    it(name, () => {
      const s: Scenario = { object: {}, instance: {}, resource: {}, defaults: { pmin: 0, pmax: 0 }, changes: [], ...partial };
      const { got, initial } = run(s);
      const expected = model(s, initial);
      expect(got).toEqual(expected);
      expect(expected.length).toBeGreaterThan(0);
    });
  }
});

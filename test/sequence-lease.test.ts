/**
 * The nonce lease (lib/dtls/sequence-lease.ts): the plan for each record, and a simulated
 * writer that saves snapshots through a slow store, crashes at random points (a save in
 * flight lands or is lost), is restored from whatever the store then holds (often stale:
 * behind what the writer had sent) and writes again. No (session, epoch, sequence) is ever
 * sent twice. The same simulation with a store that may answer with an older snapshot than
 * one whose save had resolved does repeat a nonce: that is what the rule needs of a store.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DtlsError } from '../lib/dtls/errors.js';
import {
  DEFAULT_LEASE_STEP,
  initialLease,
  leaseSaved,
  leaseSaveFailed,
  leaseSaving,
  planWrite,
  restoredLease,
  restoredWriteSequence,
  SEQUENCE_LIMIT,
  type LeaseState,
} from '../lib/dtls/sequence-lease.js';

describe('planWrite', () => {
  it('a new session saves before its first record past the handshake, then sends until half the step is left, then renews in the background', () => {
    let s = initialLease(1); // the Finished went out as sequence 0
    expect(planWrite(s, 1)).toEqual({ kind: 'save-first', lease: 1 + DEFAULT_LEASE_STEP });
    s = leaseSaving(s, 1025);
    expect(planWrite(s, 1)).toEqual({ kind: 'wait' });
    s = leaseSaved(s, 1025);
    expect(s).toEqual({ saved: 1025, pending: undefined });
    expect(planWrite(s, 1)).toEqual({ kind: 'send', renew: undefined });
    expect(planWrite(s, 512)).toEqual({ kind: 'send', renew: undefined });
    expect(planWrite(s, 513)).toEqual({ kind: 'send', renew: 513 + 1024 }); // 512 left
    s = leaseSaving(s, 1537);
    expect(planWrite(s, 600)).toEqual({ kind: 'send', renew: undefined }); // one save at a time
    expect(planWrite(s, 1025)).toEqual({ kind: 'wait' }); // spent, the renewal not yet saved
    s = leaseSaveFailed(s, 1537);
    expect(planWrite(s, 1025)).toEqual({ kind: 'save-first', lease: 2049 });
  });

  it('a restored writer starts at the lease and saves a new one first', () => {
    const snapshot = { writeSequenceLease: 4096 };
    expect(restoredWriteSequence(snapshot)).toBe(4096);
    expect(planWrite(restoredLease(snapshot), 4096, 100)).toEqual({ kind: 'save-first', lease: 4196 });
  });

  it('never past 2^48: the lease stops there and the writer is exhausted', () => {
    let s = initialLease(SEQUENCE_LIMIT - 3);
    const plan = planWrite(s, SEQUENCE_LIMIT - 3);
    expect(plan).toEqual({ kind: 'save-first', lease: SEQUENCE_LIMIT });
    s = leaseSaved(leaseSaving(s, SEQUENCE_LIMIT), SEQUENCE_LIMIT);
    expect(planWrite(s, SEQUENCE_LIMIT - 1)).toEqual({ kind: 'send', renew: undefined });
    expect(planWrite(s, SEQUENCE_LIMIT)).toEqual({ kind: 'exhausted' });
  });

  it('refuses nonsense (INVALID_ARGUMENT)', () => {
    expect(() => planWrite(initialLease(0), -1)).toThrow(DtlsError);
    expect(() => planWrite(initialLease(0), 0, 1)).toThrow(DtlsError);
    expect(() => planWrite(initialLease(0), 2 ** 48 + 1)).toThrow(DtlsError);
    expect(() => leaseSaving(leaseSaving(initialLease(0), 5), 6)).toThrow(DtlsError);
  });
});

// ---------------------------------------------------------------------------------------
// The crash simulation

type Cmd =
  /** Try to send up to n records (as the plans allow). */
  | { op: 'write'; n: number }
  /** The save in flight reaches the store (its promise has not resolved yet). */
  | { op: 'land' }
  /** The save in flight resolves (having landed). */
  | { op: 'resolve' }
  /** The save in flight rejects (a timeout: it may have landed all the same). */
  | { op: 'fail'; landed: boolean }
  /** The process dies (a save in flight lands or is lost) and a new one restores the session from the store. */
  | { op: 'crash'; landed: boolean; pick: number };

/** What the store answers on restore: its newest snapshot, or (to show the rule needs it) any snapshot it ever held. */
type StoreView = 'newest' | 'any-earlier';

interface Outcome {
  duplicates: string[];
  sent: number;
  restores: number;
}

function simulate(cmds: readonly Cmd[], step: number, view: StoreView): Outcome {
  const sent = new Set<string>();
  const duplicates: string[] = [];
  let restores = 0;
  let session = 0;
  const epoch = 1;
  let next = 0;
  let state: LeaseState = initialLease(0);
  let inflight: { lease: number; landed: boolean } | undefined;
  let landed: number[] = []; // the leases the store held, in order; the last is what it holds

  const send = () => {
    const k = `${session}/${epoch}/${next}`;
    if (sent.has(k)) duplicates.push(k);
    sent.add(k);
    next++;
  };
  const newSession = () => {
    session++;
    landed = [];
    inflight = undefined;
    next = 0;
    send(); // the Finished, sequence 0 of epoch 1, before any snapshot exists
    state = initialLease(next);
  };
  const startSave = (lease: number) => {
    state = leaseSaving(state, lease);
    inflight = { lease, landed: false };
  };
  const land = () => {
    if (inflight && !inflight.landed) {
      landed.push(inflight.lease);
      inflight.landed = true;
    }
  };
  const write = (n: number) => {
    for (let i = 0; i < n; i++) {
      const plan = planWrite(state, next, step);
      if (plan.kind === 'send') {
        send();
        if (plan.renew !== undefined) startSave(plan.renew);
      } else {
        if (plan.kind === 'save-first') startSave(plan.lease);
        return;
      }
    }
  };

  newSession();
  for (const c of cmds) {
    switch (c.op) {
      case 'write':
        write(c.n);
        break;
      case 'land':
        land();
        break;
      case 'resolve':
        if (inflight) {
          land();
          state = leaseSaved(state, inflight.lease);
          inflight = undefined;
        }
        break;
      case 'fail':
        if (inflight) {
          if (c.landed) land();
          state = leaseSaveFailed(state, inflight.lease);
          inflight = undefined;
        }
        break;
      case 'crash': {
        if (c.landed) land();
        inflight = undefined; // nothing of the dead process lands later
        const lease = view === 'newest' ? landed[landed.length - 1] : landed[c.pick % Math.max(1, landed.length)];
        if (lease === undefined) {
          newSession(); // nothing saved: the session is gone, a new handshake makes a new one
        } else {
          restores++;
          state = restoredLease({ writeSequenceLease: lease });
          next = restoredWriteSequence({ writeSequenceLease: lease });
        }
        break;
      }
    }
  }
  // Liveness: with a store that answers, the writer always gets going again.
  const before = sent.size;
  for (let i = 0; i < 3 && sent.size === before; i++) {
    if (inflight) {
      land();
      state = leaseSaved(state, inflight.lease);
      inflight = undefined;
    }
    write(1);
  }
  expect(sent.size).toBe(before + 1);
  return { duplicates, sent: sent.size, restores };
}

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('write' as const), n: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 2, arbitrary: fc.constant({ op: 'land' as const }) },
  { weight: 3, arbitrary: fc.constant({ op: 'resolve' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('fail' as const), landed: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('crash' as const), landed: fc.boolean(), pick: fc.nat() }) },
);
const stepArb = fc.oneof(fc.integer({ min: 2, max: 16 }), fc.constant(DEFAULT_LEASE_STEP));

describe('crashes at random points, restored from stale snapshots', () => {
  it('never sends one (epoch, sequence) twice in a session', () => {
    let restores = 0;
    fc.assert(
      fc.property(fc.array(cmdArb, { maxLength: 150 }), stepArb, (cmds, step) => {
        const o = simulate(cmds, step, 'newest');
        expect(o.duplicates).toEqual([]);
        restores += o.restores;
      }),
      { numRuns: 1000 },
    );
    expect(restores).toBeGreaterThan(100); // the property did exercise restores
  });

  it('a store that answers with a snapshot older than one whose save resolved does repeat nonces (the rule needs the newest)', () => {
    // Step 4: save lease 5, send 1..4 (renewing to 7, saved), send 5 and 6 (renewing to 9, lost in the crash);
    // the store holds 7, but answers with the older 5.
    const cmds: Cmd[] = [{ op: 'write', n: 1 }, { op: 'resolve' }, { op: 'write', n: 6 }, { op: 'resolve' }, { op: 'write', n: 3 }, { op: 'crash', landed: false, pick: 0 }, { op: 'write', n: 1 }, { op: 'resolve' }, { op: 'write', n: 2 }];
    expect(simulate(cmds, 4, 'newest').duplicates).toEqual([]);
    expect(simulate(cmds, 4, 'any-earlier').duplicates).toEqual(['1/1/5', '1/1/6']);
    // And random runs find such a case too.
    const found = fc.check(
      fc.property(fc.array(cmdArb, { maxLength: 150 }), stepArb, (cmds, step) => simulate(cmds, step, 'any-earlier').duplicates.length === 0),
      { numRuns: 1000, seed: 11 },
    );
    expect(found.failed).toBe(true);
  });
});

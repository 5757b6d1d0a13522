import { DtlsError } from './errors.js';
import type { SessionSnapshot } from './session-snapshot.js';

/**
 * The nonce lease (see SessionSnapshot): AES-CCM's nonce is the write IV, the epoch and the
 * 48-bit sequence number (RFC 6655 §3, RFC 6347 §4.1), so a record must never go out twice
 * with one epoch and sequence number under one key. A session that a store can restore in
 * another process keeps a lease: the snapshot in the store says which sequence numbers the
 * writer may have used (all below `writeSequenceLease`), and a restored writer starts at the
 * lease. The rules, pure (the caller owns the store and the promise):
 *
 * 1. A record numbered `next` goes out only if `next < saved`, where `saved` is the lease of
 *    a snapshot whose put has RESOLVED. Otherwise save a snapshot with a higher lease first.
 * 2. At most one save is in flight; a save is renewed early (when fewer than half a step of
 *    numbers is left) so a steady writer rarely waits.
 * 3. A restored writer starts at the snapshot's lease, and (by rule 1) saves a new lease
 *    before its first record.
 *
 * So a snapshot that is stale (older than the writer's progress before a crash) only makes
 * numbers skip. What the store must give: on restore, the newest snapshot whose put resolved,
 * or a newer one whose put was in flight at the crash; never an older one. A store that
 * returns a snapshot older than one whose put had resolved CAN repeat a nonce; the property
 * test shows both.
 *
 * Several writers. The rules above hold for one writer at a time; but a session can be held
 * by two processes at once (two servers behind one address, a client whose NAT or load
 * balancer now reaches another process, a process that still holds a copy after another
 * restored it). So the writer's saves are fenced (session-persistence.ts): every save but a
 * new session's first is an atomic compare-and-set (SessionStore.swap) on the value this
 * writer last wrote, or, for the save that takes a session over from the store (rule 3), on
 * the value it restored from. Then:
 *
 * 4. Of two writers that saved from the same value, one swap wins; the other answers false,
 *    and that writer stops for good (it sends nothing more, not even an alert), so it never
 *    gets past the lease it had saved. A takeover raises the lease past the value it read,
 *    which already covers everything the previous writer may send (rule 1), and a writer that
 *    was taken over cannot save again: the value it expects is gone, and never comes back
 *    (leases only grow, so no later value equals it). So the ranges of successive writers
 *    never overlap, and at most one of them can raise its lease at a time: "the newest
 *    snapshot" is well defined again, and what the store returns on restore is it, or an
 *    older one whose takeover then fails.
 * 5. A save that failed (rejected) may have landed all the same: the writer expects the value
 *    it had, or after a failed first put the one it tried; if it guessed wrong, its next swap
 *    answers false and rule 4 applies (a lost session, never a repeated nonce).
 */

/** 2^48: the first sequence number DTLS 1.2 cannot send (RFC 6347 §4.1: it must not wrap). */
export const SEQUENCE_LIMIT = 2 ** 48;
/** Records reserved by each save: one store round trip per 1024 records. */
export const DEFAULT_LEASE_STEP = 1024;

/** What the writer knows of its lease. */
export interface LeaseState {
  /** The lease of the newest snapshot whose put resolved: numbers below it may be sent. */
  readonly saved: number;
  /** The lease of the save in flight, if any. */
  readonly pending: number | undefined;
}

/** What to do before sending the record numbered `next`. */
export type LeasePlan =
  /** Send now; if `renew` is set, also start saving a snapshot with that lease (do not wait for it). */
  | { readonly kind: 'send'; readonly renew: number | undefined }
  /** Save a snapshot with `lease` and send only once the put resolved (then `leaseSaved`). */
  | { readonly kind: 'save-first'; readonly lease: number }
  /** A save is in flight and the lease is spent: wait for it to resolve, then plan again. */
  | { readonly kind: 'wait' }
  /** 2^48 records sent in this epoch: the session cannot send any more (RFC 6347 §4.1). */
  | { readonly kind: 'exhausted' };

/** A new session that has sent records below `next` and has no snapshot in a store yet. */
export function initialLease(next: number): LeaseState {
  checkSequence('next', next);
  return { saved: next, pending: undefined };
}

/** A writer restored from a snapshot: it starts at the lease (`restoredWriteSequence`). */
export function restoredLease(snapshot: Pick<SessionSnapshot, 'writeSequenceLease'>): LeaseState {
  return initialLease(snapshot.writeSequenceLease);
}

/** The first sequence number a writer restored from `snapshot` may use. */
export function restoredWriteSequence(snapshot: Pick<SessionSnapshot, 'writeSequenceLease'>): number {
  return snapshot.writeSequenceLease;
}

/** The plan for the record numbered `next` (rules 1 and 2). */
export function planWrite(state: LeaseState, next: number, step = DEFAULT_LEASE_STEP): LeasePlan {
  checkSequence('next', next);
  if (!Number.isSafeInteger(step) || step < 2) throw new DtlsError('INVALID_ARGUMENT', `lease step ${step} must be an integer >= 2`);
  if (next >= SEQUENCE_LIMIT) return { kind: 'exhausted' };
  const lease = Math.min(next + step, SEQUENCE_LIMIT);
  if (next < state.saved) {
    const renew = state.pending === undefined && state.saved < SEQUENCE_LIMIT && state.saved - next <= step / 2 ? lease : undefined;
    return { kind: 'send', renew };
  }
  return state.pending === undefined ? { kind: 'save-first', lease } : { kind: 'wait' };
}

/** A save was started (after a plan asked for it). */
export function leaseSaving(state: LeaseState, lease: number): LeaseState {
  checkSequence('lease', lease);
  if (state.pending !== undefined) throw new DtlsError('INVALID_ARGUMENT', 'a lease save is already in flight');
  return { saved: state.saved, pending: lease };
}

/** The save of `lease` resolved: numbers below it may now be sent. */
export function leaseSaved(state: LeaseState, lease: number): LeaseState {
  return { saved: Math.max(state.saved, lease), pending: state.pending === lease ? undefined : state.pending };
}

/** The save of `lease` failed (rejected): the lease stays what it was; plan again to retry. */
export function leaseSaveFailed(state: LeaseState, lease: number): LeaseState {
  return { saved: state.saved, pending: state.pending === lease ? undefined : state.pending };
}

function checkSequence(what: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0 || v > SEQUENCE_LIMIT) throw new DtlsError('INVALID_ARGUMENT', `${what} ${v} is not a sequence number (0..2^48)`);
}

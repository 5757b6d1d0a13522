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
 * or a newer one whose put was in flight at the crash; never an older one (puts of one session
 * land in the order they were issued, and one process writes a session at a time). A store
 * that returns a snapshot older than one whose put had resolved CAN repeat a nonce; the
 * property test shows both.
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

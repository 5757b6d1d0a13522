import type { ServerConnection } from './handshake/server.js';
import type { PeerAddress } from './keystore.js';
import { decodeSessionSnapshot, encodeSessionSnapshot } from './session-snapshot-codec.js';
import type { SessionSnapshot } from './session-snapshot.js';
import { addressKey, cidKey, type SessionStore } from './session-store.js';
import { DEFAULT_LEASE_STEP, leaseSaved, leaseSaveFailed, leaseSaving, planWrite, restoredLease, type LeaseState } from './sequence-lease.js';

/** An answer of the store, applied on the endpoint's next turn (time is an input). */
export type StoreResult =
  | { kind: 'saved'; connection: ServerConnection; lease: number; ok: boolean }
  | { kind: 'found'; key: string; snapshot: SessionSnapshot | undefined };

interface Persisted {
  lease: LeaseState;
  /** The keys the session is stored under (by CID, by address). */
  keys: string[];
}

/**
 * The server's sessions in a session store (lib/dtls/session-store.ts), so that a restart or
 * another process on the same store continues them without a handshake: each established
 * session is saved (session-snapshot-codec.ts) under its CID and its peer's address, and saved
 * again whenever its nonce lease (sequence-lease.ts) must grow; a record for a session this
 * process does not hold looks it up. The store's promises never reach the engine: their
 * results queue here, and the endpoint applies them on its next call (`wake` asks the driver
 * for one). A store that fails costs a session's continuity, never its nonces: records wait
 * (or the session is handshaken anew), a failed lookup is "no session".
 */
export class SessionPersistence {
  private readonly sessions = new Map<ServerConnection, Persisted>();
  private readonly results: StoreResult[] = [];
  /** Lookups in flight, by key: later datagrams for the same key wait with the first. */
  private readonly lookups = new Set<string>();

  constructor(
    private readonly store: SessionStore,
    private readonly ttlMs: number,
    private readonly wake: () => void,
    private readonly leaseStep = DEFAULT_LEASE_STEP,
  ) {}

  /** Whether store answers wait to be applied. */
  get hasResults(): boolean {
    return this.results.length > 0;
  }

  takeResults(): StoreResult[] {
    return this.results.splice(0);
  }

  /**
   * A session was established (or restored) here: its first lease goes to the store. A new
   * session may send below the lease being saved (nothing of it is in any store yet); a
   * restored one waits until the new lease is saved (its snapshot's range may have been used).
   */
  start(now: number, c: ServerConnection, peer: PeerAddress, restored: SessionSnapshot | undefined): void {
    const next = c.nextWriteSequence;
    const lease = Math.min(next + this.leaseStep, 2 ** 48);
    const p: Persisted = { lease: restored ? leaseSaving(restoredLease(restored), lease) : { saved: lease, pending: lease }, keys: [] };
    this.sessions.set(c, p);
    c.setWriteLimit(now, p.lease.saved);
    const cid = c.session?.connectionId?.read;
    if (cid && cid.length > 0) p.keys.push(cidKey(cid));
    p.keys.push(addressKey(peer));
    this.save(c, p, lease);
  }

  /** After the session sent: renew the lease ahead of need, or save before going on. */
  afterOutput(c: ServerConnection): void {
    const p = this.sessions.get(c);
    if (!p) return;
    const plan = planWrite(p.lease, c.nextWriteSequence, this.leaseStep);
    if (plan.kind === 'send' && plan.renew !== undefined) this.save(c, p, plan.renew);
    else if (plan.kind === 'save-first') this.save(c, p, plan.lease);
  }

  /** The store answered a save: records below the new lease may go. */
  saved(now: number, c: ServerConnection, lease: number, ok: boolean): void {
    const p = this.sessions.get(c);
    if (!p) return;
    p.lease = ok ? leaseSaved(p.lease, lease) : leaseSaveFailed(p.lease, lease);
    c.setWriteLimit(now, p.lease.saved);
  }

  /** The session's peer moved (RFC 9146 §6): it is found under the new address from now on. */
  moved(c: ServerConnection, from: PeerAddress, to: PeerAddress): void {
    const p = this.sessions.get(c);
    if (!p) return;
    const old = addressKey(from);
    p.keys = [...p.keys.filter((k) => k !== old), addressKey(to)];
    void this.store.delete(old).catch(() => undefined);
    this.save(c, p, p.lease.pending ?? p.lease.saved, false);
  }

  /** The session ended (closed, failed, timed out): it is gone from the store too. */
  ended(c: ServerConnection): void {
    const p = this.sessions.get(c);
    if (!p) return;
    this.sessions.delete(c);
    for (const k of p.keys) void this.store.delete(k).catch(() => undefined);
  }

  /** Looks `key` up for a record of a session this process does not hold. False when a lookup of it is already in flight. */
  lookup(key: string): boolean {
    if (this.lookups.has(key)) return false;
    this.lookups.add(key);
    this.store
      .get(key)
      .then(
        (v) => {
          let snapshot: SessionSnapshot | undefined;
          try {
            snapshot = v ? decodeSessionSnapshot(v) : undefined;
          } catch {
            snapshot = undefined; // a value that does not decode is no session
          }
          return snapshot && snapshot.role === 'server' ? snapshot : undefined;
        },
        () => undefined,
      )
      .then((snapshot) => {
        this.lookups.delete(key);
        this.results.push({ kind: 'found', key, snapshot });
        this.wake();
      });
    return true;
  }

  private save(c: ServerConnection, p: Persisted, lease: number, counts = true): void {
    const snapshot = c.snapshot('server', lease);
    if (!snapshot) return;
    if (counts && p.lease.pending === undefined) p.lease = leaseSaving(p.lease, lease);
    const value = encodeSessionSnapshot(snapshot);
    Promise.all(p.keys.map((k) => this.store.put(k, value, this.ttlMs))).then(
      () => this.done(c, lease, true, counts),
      () => this.done(c, lease, false, counts),
    );
  }

  private done(c: ServerConnection, lease: number, ok: boolean, counts: boolean): void {
    if (!counts) return;
    this.results.push({ kind: 'saved', connection: c, lease, ok });
    this.wake();
  }
}

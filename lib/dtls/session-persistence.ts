import type { ServerConnection } from './handshake/server.js';
import type { PeerAddress } from './keystore.js';
import { decodeSessionSnapshot, encodeSessionSnapshot } from './session-snapshot-codec.js';
import type { SessionSnapshot } from './session-snapshot.js';
import { addressKey, cidKey, type SessionStore } from './session-store.js';
import { DEFAULT_LEASE_STEP, leaseSaved, leaseSaveFailed, leaseSaving, planWrite, restoredLease, SEQUENCE_LIMIT, type LeaseState } from './sequence-lease.js';

/** An answer of the store, applied on the endpoint's next turn (time is an input). */
export type StoreResult =
  /** A save of an established session answered (ok: the lease is saved). */
  | { kind: 'saved'; connection: ServerConnection; lease: number; ok: boolean }
  /** Another process wrote the session since this one did (its swap answered false): it ends here, silently. */
  | { kind: 'lost'; connection: ServerConnection }
  /** A lookup answered; `value` is what the store held (the takeover swaps on it). */
  | { kind: 'found'; key: string; snapshot: SessionSnapshot | undefined; value: Uint8Array | undefined }
  /** A takeover (takeOver) answered: ok, the session is this process's and its lease is saved; not ok, there is none. */
  | { kind: 'taken'; key: string; connection: ServerConnection; lease: number; ok: boolean };

interface Persisted {
  lease: LeaseState;
  /**
   * The key whose swap decides who holds the session: by CID when the peer's records carry one
   * (it never changes), by address otherwise. The other keys are only ways to find the session.
   */
  fence: string;
  /** The other keys it is stored under (the address of a session with a CID). */
  hints: string[];
  /** Per key, the value this process knows the store holds there: what it last wrote (or, before a takeover, read). */
  written: Map<string, Uint8Array>;
  /** Keys to delete (if they still hold what we wrote) before the next write: an address the peer left. */
  dropped: string[];
  /** A write is in flight: writes of one session go one at a time (each swaps on the value the last one wrote). */
  writing: boolean;
  /** A save asked for while a write was in flight: the lease to write, and whether a lease result is awaited. */
  queued: { lease: number; counts: boolean } | undefined;
  /** The session ended while a write was in flight: delete its keys once it settles. */
  ending: boolean;
  /** The first write of a session restored from the store, by the key it was found under. */
  takeover: string | undefined;
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
 *
 * Fencing (several processes on one store): a new session's first save is a plain put; every
 * later write of a key this process wrote is a swap on the value it last wrote there, and a
 * restored session's first save (the takeover) is a swap on the value it was restored from.
 * The session's fence key (its CID key, or its address key without a CID) decides: a swap
 * there that answers false means another process took the session over since, so this one
 * ends it (`lost`: no alert, no store delete) and sends nothing more (it never got past its
 * saved lease, rule 1). A takeover that answers false is no session: a later record looks the
 * key up again. Deleting keys (the session ended, its peer moved) is a swap too, so a process
 * never deletes what another one wrote.
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
   * A session was established here: its first lease goes to the store (plain puts: nothing of
   * it is in any store yet, so it may also send below the lease being saved).
   */
  start(now: number, c: ServerConnection, peer: PeerAddress): void {
    const lease = Math.min(c.nextWriteSequence + this.leaseStep, SEQUENCE_LIMIT);
    const p = this.persisted(c, peer, { saved: lease, pending: lease }, undefined);
    c.setWriteLimit(now, p.lease.saved);
    this.write(c, p, lease, true);
  }

  /**
   * A session found under `key` (holding `value`) was restored in `c`: take it over, swapping
   * `value` for a snapshot with a new lease. It sends nothing until then (the snapshot's own
   * range may have been used); the answer is a `taken` result.
   */
  takeOver(c: ServerConnection, peer: PeerAddress, key: string, restored: SessionSnapshot, value: Uint8Array): void {
    const lease = Math.min(c.nextWriteSequence + this.leaseStep, SEQUENCE_LIMIT);
    const p = this.persisted(c, peer, leaseSaving(restoredLease(restored), lease), key);
    // the fence swaps on what was read, even when it was read under another key: if that key
    // held a stale value (one the fence has moved on from), the takeover fails, as it should
    p.written.set(p.fence, value);
    this.write(c, p, lease, true);
  }

  /** After the session sent: renew the lease ahead of need, or save before going on. */
  afterOutput(c: ServerConnection): void {
    const p = this.sessions.get(c);
    if (!p || p.takeover !== undefined) return;
    const plan = planWrite(p.lease, c.nextWriteSequence, this.leaseStep);
    if (plan.kind === 'send' && plan.renew !== undefined) this.save(c, p, plan.renew, true);
    else if (plan.kind === 'save-first') this.save(c, p, plan.lease, true);
  }

  /** The store answered a save (or a takeover): records below the new lease may go. */
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
    const fresh = addressKey(to);
    if (old === p.fence || fresh === p.fence) return; // (a session without a CID never moves)
    p.hints = [...p.hints.filter((k) => k !== old && k !== fresh), fresh];
    if (!p.dropped.includes(old)) p.dropped.push(old);
    this.save(c, p, p.lease.pending ?? p.lease.saved, false);
  }

  /** The session ended (closed, failed, timed out): it is gone from the store too, where the store still holds what this process wrote. */
  ended(c: ServerConnection): void {
    const p = this.sessions.get(c);
    if (!p) return;
    this.sessions.delete(c);
    if (p.writing) p.ending = true;
    else this.deleteKeys(p);
  }

  /** Drops what this process knows of a session, writing and deleting nothing more. */
  forget(c: ServerConnection): void {
    this.sessions.delete(c);
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
          return snapshot && snapshot.role === 'server' ? { snapshot, value: v } : { snapshot: undefined, value: undefined };
        },
        () => ({ snapshot: undefined, value: undefined }),
      )
      .then(({ snapshot, value }) => {
        this.lookups.delete(key);
        this.results.push({ kind: 'found', key, snapshot, value });
        this.wake();
      });
    return true;
  }

  private persisted(c: ServerConnection, peer: PeerAddress, lease: LeaseState, takeover: string | undefined): Persisted {
    const cid = c.session?.connectionId?.read;
    const address = addressKey(peer);
    const fence = cid && cid.length > 0 ? cidKey(cid) : address;
    const p: Persisted = { lease, fence, hints: fence === address ? [] : [address], written: new Map(), dropped: [], writing: false, queued: undefined, ending: false, takeover };
    this.sessions.set(c, p);
    return p;
  }

  /** Saves a snapshot with `lease` now, or after the write in flight (one write at a time). */
  private save(c: ServerConnection, p: Persisted, lease: number, counts: boolean): void {
    if (counts && p.lease.pending === undefined) p.lease = leaseSaving(p.lease, lease);
    if (!p.writing) {
      this.write(c, p, lease, counts);
      return;
    }
    const q = p.queued;
    p.queued = q ? { lease: Math.max(q.lease, lease), counts: q.counts || counts } : { lease, counts };
  }

  /**
   * Writes a snapshot with `lease` under every key: a swap where this process knows what the key
   * holds, a put where it does not. The fence's answer decides; the others only update what
   * this process knows (a key another process wrote since is dropped from the session's keys).
   */
  private write(c: ServerConnection, p: Persisted, lease: number, counts: boolean): void {
    for (const k of p.dropped.splice(0)) this.deleteKey(p, k);
    const snapshot = c.snapshot('server', lease);
    if (!snapshot) {
      this.answered(c, p, lease, counts, 'failed');
      return;
    }
    const value = encodeSessionSnapshot(snapshot);
    p.writing = true;
    const fence = this.writeKey(p, p.fence, value);
    const hints = p.hints.map((k) =>
      this.writeKey(p, k, value).then((r) => {
        if (r === 'lost') {
          p.written.delete(k);
          p.hints = p.hints.filter((h) => h !== k);
        }
      }),
    );
    void Promise.all([fence, ...hints]).then(([r]) => {
      p.writing = false;
      this.answered(c, p, lease, counts, r);
    });
  }

  /** Writes `value` under `key`; what the store answered, never a rejection. */
  private writeKey(p: Persisted, key: string, value: Uint8Array): Promise<'ok' | 'lost' | 'failed'> {
    const expected = p.written.get(key);
    const op = expected ? this.store.swap(key, expected, value, this.ttlMs) : this.store.put(key, value, this.ttlMs).then(() => true);
    return op.then(
      (ok) => {
        if (!ok) return 'lost';
        p.written.set(key, value);
        return 'ok';
      },
      () => {
        // A put that failed may have landed all the same, and another process may have taken
        // the session over from it since: a second put could overwrite that. From now on this
        // key is written by swaps on this value (if it never landed, the next swap answers
        // false: the session is lost here, its nonces safe). A swap that failed leaves the
        // value it expected: the store holds that one, or this one (then the next swap loses).
        if (!expected) p.written.set(key, value);
        return 'failed';
      },
    );
  }

  private answered(c: ServerConnection, p: Persisted, lease: number, counts: boolean, r: 'ok' | 'lost' | 'failed'): void {
    const takeover = p.takeover;
    p.takeover = undefined;
    if (p.ending) {
      p.ending = false;
      this.deleteKeys(p);
      return;
    }
    if (this.sessions.get(c) !== p) return;
    if (takeover !== undefined) {
      // the session is this process's only if the swap on what it read won
      if (r !== 'ok') this.sessions.delete(c);
      this.results.push({ kind: 'taken', key: takeover, connection: c, lease, ok: r === 'ok' });
    } else if (r === 'lost') {
      this.sessions.delete(c); // another process holds it: no more writes, no deletes
      this.results.push({ kind: 'lost', connection: c });
    } else if (counts) {
      this.results.push({ kind: 'saved', connection: c, lease, ok: r === 'ok' });
    }
    if (this.sessions.get(c) === p && p.queued) {
      const q = p.queued;
      p.queued = undefined;
      this.write(c, p, q.lease, q.counts);
    }
    this.wake();
  }

  /** Deletes every key of an ended session that still holds what this process wrote there. */
  private deleteKeys(p: Persisted): void {
    for (const k of [p.fence, ...p.hints, ...p.dropped]) this.deleteKey(p, k);
  }

  private deleteKey(p: Persisted, key: string): void {
    const v = p.written.get(key);
    p.written.delete(key);
    if (v) void this.store.swap(key, v, undefined, this.ttlMs).catch(() => false);
  }
}

import { toHex } from '../bytes/util.js';
import type { ConnectionConfig } from './config.js';
import { startUnverified } from './endpoint-moves.js';
import { Entry, type EndpointCore } from './endpoint-sessions.js';
import { DtlsError } from './errors.js';
import { ServerConnection } from './handshake/server.js';
import type { PeerAddress } from './keystore.js';
import type { SessionPersistence } from './session-persistence.js';
import type { SessionSnapshot } from './session-snapshot.js';

/** Store keys whose lookups (and waiting datagrams) may be in flight at once. */
const MAX_RESTORING = 1024;

/**
 * The endpoint's side of a session store (EndpointOptions.sessionStore): records of sessions
 * this process does not hold wait while the store is asked; a session found there is taken over
 * (a compare-and-set) if one of them authenticates, and continues here with them. The store's
 * other answers come here too: leases saved, and sessions another process took over.
 */
export class StoreRestores {
  /** Datagrams of sessions being looked up in the store, by store key. */
  private readonly restoring = new Map<string, Array<{ peer: PeerAddress; data: Uint8Array }>>();

  constructor(
    private readonly core: EndpointCore,
    private readonly p: SessionPersistence,
    /** Whether the endpoint hands out CIDs (then a session stored by CID must have one). */
    private readonly cidOn: boolean,
  ) {}

  /**
   * A record of a session this process does not hold: look it up in the session store (the
   * datagram waits, with a few more for the same key). False when too much already waits.
   */
  hold(key: string, peer: PeerAddress, datagram: Uint8Array): boolean {
    let waiting = this.restoring.get(key);
    if (!waiting) {
      if (this.restoring.size >= MAX_RESTORING) return false;
      this.restoring.set(key, (waiting = []));
      this.p.lookup(key);
    }
    if (waiting.length >= 8) return false;
    waiting.push({ peer, data: datagram.slice() });
    return true;
  }

  /**
   * The store answered: leases saved (held records may go), sessions lost to another process
   * (they end here), sessions found (this process takes them over), takeovers (they continue here).
   */
  applyResults(now: number): void {
    const p = this.p;
    if (!p.hasResults) return;
    const { cfg, sessions, stats } = this.core;
    for (const r of p.takeResults()) {
      switch (r.kind) {
        case 'saved': {
          const e = sessions.of(r.connection);
          if (!e) continue;
          p.saved(now, r.connection, r.lease, r.ok);
          this.core.collect(e, now);
          continue;
        }
        case 'lost': {
          const e = sessions.of(r.connection);
          if (!e) continue;
          // Another process swapped the session's value since we wrote it: it sends from a lease
          // we may not cross, so this copy ends without a word (no alert, no close_notify: the
          // peer's session goes on there) and deletes nothing of the store.
          stats.sessionsTakenOver++;
          while (e.connection.pollTransmit());
          this.core.remove(e, { type: 'failed', error: new DtlsError('TAKEN_OVER', 'another process on the session store continues this session') });
          continue;
        }
        case 'found': {
          const waiting = this.restoring.get(r.key) ?? [];
          const first = waiting[0];
          const snap = r.snapshot;
          const cidHex = snap?.readCid && toHex(snap.readCid);
          if (!snap || !r.value || !first || (cidHex !== undefined && sessions.hasCid(cidHex)) || (this.cidOn && cidHex === undefined && r.key.startsWith('cid:'))) {
            this.restoring.delete(r.key);
            stats.datagramsDropped += waiting.length;
            continue;
          }
          // Only a record that authenticates under the session's keys, newer than the stored
          // window, takes the session over: a forged datagram (a CID is on the wire for anyone to
          // copy) must not move a session away from the process that holds it.
          if (!waiting.some((d) => authenticates(cfg, now, snap, d.data))) {
            this.restoring.delete(r.key);
            stats.datagramsDropped += waiting.length;
            continue;
          }
          // the datagrams wait (with any more for this key) until the takeover is answered
          p.takeOver(ServerConnection.restore(cfg, now, snap), first.peer, r.key, snap, r.value);
          continue;
        }
        case 'taken':
          this.taken(now, r.key, r.connection, r.lease, r.ok);
          continue;
      }
    }
  }

  /** A takeover answered: if it won, the session continues here with the records that waited; if not, they are dropped. */
  private taken(now: number, storeKey: string, connection: ServerConnection, lease: number, ok: boolean): void {
    const { sessions, stats } = this.core;
    const waiting = this.restoring.get(storeKey) ?? [];
    this.restoring.delete(storeKey);
    const first = waiting[0];
    const read = connection.session?.connectionId?.read;
    const cidHex = read && read.length > 0 ? toHex(read) : undefined;
    if (!ok || !first || (cidHex !== undefined && sessions.hasCid(cidHex))) {
      if (ok) this.p.forget(connection);
      stats.datagramsDropped += waiting.length;
      return;
    }
    const old = sessions.at(first.peer);
    if (old) this.core.remove(old, { type: 'failed', error: new DtlsError('REPLACED', 'a stored session of this address continues') });
    const e = new Entry(first.peer, connection, -1, -1, undefined, cidHex);
    // found by CID from wherever: bounded like a moved peer until a second fresh record
    if (storeKey.startsWith('cid:')) startUnverified(e);
    sessions.add(e);
    stats.sessionsRestored++;
    this.p.saved(now, connection, lease, true);
    this.core.events.push({ type: 'connected', session: connection.session!, peer: e.peer, connection });
    for (const d of waiting) this.core.feed(e, now, d.data, d.peer);
  }
}

/** Whether `datagram` holds a record of the stored session `snap` that authenticates and is newer than its window (on a throwaway copy). */
function authenticates(cfg: ConnectionConfig, now: number, snap: SessionSnapshot, datagram: Uint8Array): boolean {
  const trial = ServerConnection.restore(cfg, now, snap);
  try {
    trial.handleDatagram(now, datagram);
  } catch {
    return false;
  }
  return trial.lastDatagramAdvanced;
}

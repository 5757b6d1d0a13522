import { DtlsError } from './errors.js';
import type { KeyStoreErrorEvent } from './endpoint-events.js';
import type { EndpointCore, Entry } from './endpoint-sessions.js';
import type { KeyStore, PskLookup } from './keystore.js';
import { verifyPeer, type PeerCredential, type PeerVerdict } from './trust.js';

interface KeyStoreFailure {
  lookup: KeyStoreErrorEvent['lookup'];
  identity?: Uint8Array;
  cause: unknown;
}

type Answer = { psk: Uint8Array | undefined } | { verdict: PeerVerdict; lookup: 'rpk' | 'x509' } | { failed: KeyStoreFailure };

/**
 * The server's key store lookups for its handshakes: a PSK by identity, a client's raw public
 * key or certificate chain. Each may answer at once or later (a Promise): a later answer waits
 * in a queue, the driver is woken, and it is applied at the endpoint's next call. A lookup that
 * throws, rejects or outlives keyLookupTimeoutMs ends its handshake (keyStoreFailed()).
 */
export class KeyLookups {
  private readonly resolved: Array<{ entry: Entry; answer: Answer }> = [];

  constructor(
    private readonly core: EndpointCore,
    private readonly store: KeyStore,
    private readonly timeoutMs: number,
    /** Tells the driver an answer waits (EndpointOptions.wake). */
    private readonly wake: () => void,
  ) {}

  psk(e: Entry, identity: Uint8Array, now: number): void {
    let r: ReturnType<PskLookup>;
    try {
      r = this.store.psk ? this.store.psk(identity, e.peer) : undefined;
    } catch (cause) {
      this.keyStoreFailed(e, now, { lookup: 'psk', identity, cause });
      return;
    }
    if (r instanceof Promise) {
      // what an answer still to come waits under (a store that answers at once needs none)
      e.lookup = { kind: 'psk', identity, deadline: now + this.timeoutMs };
      r.then(
        (key) => this.resolved.push({ entry: e, answer: { psk: key } }),
        (cause: unknown) => this.resolved.push({ entry: e, answer: { failed: { lookup: 'psk', identity, cause } } }),
      ).finally(() => this.wake());
      return;
    }
    this.pskAnswered(e, now, r, identity);
  }

  verify(e: Entry, credential: PeerCredential, now: number): void {
    e.lookup = { kind: credential.kind, identity: undefined, deadline: now + this.timeoutMs };
    const v = verifyPeer(this.store, credential, e.peer, { crypto: this.core.cfg.crypto, purpose: 'clientAuth' });
    if (v instanceof Promise) {
      void v.then((verdict) => {
        this.resolved.push({ entry: e, answer: { verdict, lookup: credential.kind } });
        this.wake();
      });
      return;
    }
    this.resolvePeer(e, now, v, credential.kind);
  }

  /** Applies the answers that came since the last call, to the sessions still here. */
  applyResolved(now: number): void {
    while (this.resolved.length > 0) {
      const { entry, answer } = this.resolved.shift()!;
      if (!this.core.sessions.isLive(entry)) continue;
      if ('failed' in answer) {
        this.keyStoreFailed(entry, now, answer.failed);
        continue;
      }
      if ('verdict' in answer) {
        this.resolvePeer(entry, now, answer.verdict, answer.lookup);
        continue;
      }
      this.pskAnswered(entry, now, answer.psk);
    }
  }

  /** If the session's lookup is past its deadline, ends the handshake as a failure of the store (true). */
  expire(e: Entry, now: number): boolean {
    if (!e.lookup || now < e.lookup.deadline) return false;
    const { kind, identity } = e.lookup;
    const cause = new DtlsError('KEY_STORE_FAILURE', `no answer within ${this.timeoutMs} ms`);
    this.keyStoreFailed(e, now, identity ? { lookup: kind, identity, cause } : { lookup: kind, cause });
    return true;
  }

  /** The key store's answer: a key, undefined (an unknown identity), or a wrong type (a failure of the store). */
  private pskAnswered(e: Entry, now: number, key: unknown, identity = e.lookup?.identity): void {
    if (key !== undefined && !(key instanceof Uint8Array)) {
      const cause = new DtlsError('INVALID_ARGUMENT', `the PSK lookup answered ${typeof key === 'string' ? 'a string' : `a ${typeof key}`}, not bytes (a Uint8Array) or undefined`);
      this.keyStoreFailed(e, now, identity ? { lookup: 'psk', identity, cause } : { lookup: 'psk', cause });
      return;
    }
    e.lookup = undefined;
    e.connection.providePsk(now, key);
    this.core.collect(e, now);
  }

  /** A lookup threw or rejected: the handshake ends with internal_error; the event says why. */
  private keyStoreFailed(e: Entry, now: number, f: KeyStoreFailure): void {
    e.lookup = undefined;
    const ev: KeyStoreErrorEvent = { type: 'key-store-error', peer: e.peer, connection: e.connection, lookup: f.lookup, cause: f.cause };
    if (f.identity) ev.identity = f.identity;
    this.core.events.push(ev);
    const what = f.lookup === 'psk' ? 'PSK lookup' : f.lookup === 'rpk' ? 'raw public key lookup' : 'certificate authorization';
    const reason = f.cause instanceof Error ? f.cause.message : String(f.cause);
    e.connection.abort(now, new DtlsError('KEY_STORE_FAILURE', `the key store failed (${what}): ${reason}`, { cause: f.cause }));
    this.core.collect(e, now);
  }

  private resolvePeer(e: Entry, now: number, verdict: PeerVerdict, lookup: 'rpk' | 'x509'): void {
    e.lookup = undefined;
    if (!verdict.ok && verdict.error.code === 'KEY_STORE_FAILURE') {
      this.keyStoreFailed(e, now, { lookup, cause: verdict.error.cause });
      return;
    }
    e.connection.resolvePeer(now, verdict);
    this.core.collect(e, now);
  }
}

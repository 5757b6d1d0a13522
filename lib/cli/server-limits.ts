import { DtlsError } from '../dtls/errors.js';
import type { PeerAddress } from '../dtls/keystore.js';
import { parseIntArg } from './args.js';
import { describeError, printable } from './describe.js';
import type { Flag } from './flags.js';

/** The DTLS server's limits as flags (`coaps dtls server`, `coaps serve`). */
export const SERVER_LIMIT_FLAGS = [
  { name: 'max-sessions', kind: 'string', arg: 'N', default: '10000', description: 'established sessions at most; a new client beyond it is refused (and logged)' },
  { name: 'max-handshakes', kind: 'string', arg: 'N', default: '1000', description: 'handshakes in progress at most; when full, the one whose client is silent longest makes room' },
  { name: 'max-handshakes-per-address', kind: 'string', arg: 'N', default: '64', description: 'handshakes in progress from one IP address at most (the same rule within it)' },
  { name: 'handshake-timeout', kind: 'string', arg: 'MS', default: '30000', description: 'give up a handshake not finished after MS milliseconds' },
] as const satisfies readonly Flag[];

export interface ServerLimitFlags {
  'max-sessions'?: string | undefined;
  'max-handshakes'?: string | undefined;
  'max-handshakes-per-address'?: string | undefined;
  'handshake-timeout'?: string | undefined;
}

/** The endpoint options the limit flags name. */
export function serverLimits(v: ServerLimitFlags): { maxSessions?: number; maxHandshakes?: number; maxHandshakesPerAddress?: number; handshakeTimeoutMs?: number } {
  const out: { maxSessions?: number; maxHandshakes?: number; maxHandshakesPerAddress?: number; handshakeTimeoutMs?: number } = {};
  const set = (k: keyof typeof out, flag: keyof ServerLimitFlags, max: number) => {
    const n = parseIntArg(v[flag], `--${flag}`, 1, max);
    if (n !== undefined) out[k] = n;
  };
  set('maxSessions', 'max-sessions', 10_000_000);
  set('maxHandshakes', 'max-handshakes', 1_000_000);
  set('maxHandshakesPerAddress', 'max-handshakes-per-address', 1_000_000);
  set('handshakeTimeoutMs', 'handshake-timeout', 3_600_000);
  return out;
}

/**
 * Logs refused (or evicted) handshakes without flooding the log: the first of each reason at
 * once, then one line per interval with how many followed and from how many addresses.
 */
export function refusalLogger(log: (line: string) => void, intervalMs = 10_000, now: () => number = () => Date.now(), verb = 'refused'): (peer: PeerAddress, reason: string) => void {
  const pending = new Map<string, { count: number; addresses: Set<string>; since: number }>();
  return (peer, reason) => {
    const t = now();
    let p = pending.get(reason);
    if (!p) {
      log(`${verb} a handshake from ${peer.address}:${peer.port}: ${reason} (more are summed up every ${intervalMs / 1000} s)`);
      pending.set(reason, { count: 0, addresses: new Set(), since: t });
      return;
    }
    p.count++;
    if (p.addresses.size < 10_000) p.addresses.add(peer.address);
    if (t - p.since >= intervalMs) {
      log(`${verb} ${p.count} more handshake(s) from ${p.addresses.size} address(es) in ${Math.round((t - p.since) / 1000)} s: ${reason}`);
      p = { count: 0, addresses: new Set(), since: t };
      pending.set(reason, p);
    }
  };
}

/** What a DTLS server (`DtlsServer`, or a `CoapServer` on coaps://) emits about its limits and key store. */
export interface LimitEvents {
  on(event: 'handshakeRefused', f: (peer: PeerAddress, reason: string) => void): unknown;
  on(event: 'handshakeError', f: (e: DtlsError, peer: PeerAddress) => void): unknown;
  on(event: 'keyStoreError', f: (info: { lookup: string; identity?: Uint8Array; cause: unknown; peer: PeerAddress }) => void): unknown;
}

/**
 * Logs what the limits cost (`coaps dtls server`, `coaps serve`): refused handshakes (a full
 * server) and evicted stalled ones, summed up as refusalLogger does; a key store that failed,
 * with the identity and the cause; other failed handshakes when `handshakeErrors`.
 */
export function logServerLimits(server: LimitEvents, log: (line: string) => void, o: { handshakeErrors?: boolean } = {}): void {
  const refused = refusalLogger(log);
  const evicted = refusalLogger(log, 10_000, Date.now, 'evicted');
  server.on('handshakeRefused', (peer, reason) => refused(peer, reason));
  server.on('keyStoreError', (i) => log(`key store failed (${i.lookup}${i.identity ? ` identity=${printable(i.identity)}` : ''}) for ${i.peer.address}:${i.peer.port}: ${describeError(i.cause)}`));
  server.on('handshakeError', (e, peer) => {
    // stalled handshakes making room come in floods: summed up like refusals
    if (e instanceof DtlsError && e.code === 'EVICTED') evicted(peer, 'stalled, it made room for a new one');
    else if (o.handshakeErrors) log(`handshake failed ${peer.address}:${peer.port} ${describeError(e)}`);
  });
}

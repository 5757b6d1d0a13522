import { equal } from '../bytes/util.js';
import { decodeClientResumption } from '../dtls/resumption.js';
import type { SecurityConfig } from './security.js';

/**
 * How the LwM2M client keeps its DTLS sessions with its servers through what a cellular device
 * lives through: a NAT that rebinds (RFC 9146 Connection ID: the server finds the session by the
 * CID in our records, whatever address they come from) and a reboot (RFC 5246 §7.3 / RFC 5077
 * resumption: the first handshake after it is an abbreviated one, from a blob the application
 * kept in flash). The policy lives here and in the core; the drivers open the sessions and call
 * the application's {@link ResumptionStorage}.
 */

/**
 * RFC 9146 Connection ID for the client's coaps:// sessions: `true` offers it (we ask for no
 * CID in the server's records, and put the server's CID in ours), a number asks for a random CID
 * of that length; per server URI with a function (undefined or false: not offered).
 */
export type ConnectionIdOption = boolean | number | ((serverUri: string) => boolean | number | undefined);

/**
 * Where the application keeps the client's resumption blobs across a restart, one per server
 * URI: `load` at boot (when the client opens a session to that server), `save` after a
 * handshake gave a new one (undefined: forget it). The client writes only when the blob changed
 * (a full handshake, a new ticket), not on every resumed session.
 *
 * **A blob holds the session's master secret**: whoever reads it can decrypt that session and
 * its resumptions and pass for the device. Keep it where the PSK or private key is kept.
 */
export interface ResumptionStorage {
  load(serverUri: string): Uint8Array | undefined | Promise<Uint8Array | undefined>;
  save(serverUri: string, blob: Uint8Array | undefined): void | Promise<void>;
}

/** What a channel's DTLS session is opened with besides the account's credentials (ConnectionOptions fields). */
export interface ChannelSession {
  connectionId?: boolean | number;
  sessionTickets?: boolean;
  /** The blob to resume (a secret: to the DTLS layer only). */
  resume?: Uint8Array;
}

export interface SessionPolicy {
  connectionId?: ConnectionIdOption;
  sessionTickets?: boolean;
}

/**
 * The session options of a channel to `uri` with `security`, and whether the saved blob is
 * offered: only when it reads as a resumption blob and was made with this account's identity
 * (the PSK identity, or the server's raw public key): after a bootstrap that changed the
 * credentials, a session of the old ones is not resumed. `refused` says why it was not.
 */
export function channelSession(p: SessionPolicy, uri: string, security: SecurityConfig, saved: Uint8Array | undefined): { session: ChannelSession; refused?: string } {
  if (security.mode === 'nosec') return { session: {} };
  const cid = typeof p.connectionId === 'function' ? p.connectionId(uri) : p.connectionId;
  const session: ChannelSession = {
    ...(cid !== undefined && cid !== false ? { connectionId: cid } : {}),
    ...(p.sessionTickets ? { sessionTickets: true } : {}),
  };
  if (!saved) return { session };
  const refused = checkSaved(security, saved);
  return refused ? { session, refused } : { session: { ...session, resume: saved } };
}

function checkSaved(security: Exclude<SecurityConfig, { mode: 'nosec' }>, saved: Uint8Array): string | undefined {
  let peer;
  try {
    peer = decodeClientResumption(saved).session.peer;
  } catch (e) {
    return `not a resumption blob (${e instanceof Error ? e.message : String(e)})`;
  }
  const same = security.mode === 'psk' ? peer.kind === 'psk' && equal(peer.identity, security.identity) : peer.kind === 'rpk' && equal(peer.spki, security.serverKey);
  return same ? undefined : 'made with other credentials';
}

/** Whether the blob a handshake left differs from the saved one (and so is worth a write). */
export function resumptionChanged(saved: Uint8Array | undefined, now: Uint8Array | undefined): boolean {
  if (!saved || !now) return saved !== now;
  return !equal(saved, now);
}

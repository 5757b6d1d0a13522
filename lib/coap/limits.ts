import type { OutgoingResponse } from './endpoint.js';
import { CoapError } from './errors.js';
import { Code, encodeUint, OptionNumber } from './message.js';

/**
 * Caps on what peers can make a CoAP server hold. Each has a clear answer when reached: a
 * request, an observation or an upload that would exceed one gets 5.03 Service Unavailable
 * with Max-Age (RFC 7252 §5.9.3.4: "try again in Max-Age seconds"); a body over the size cap
 * gets 4.13 with Size1; kept representations are dropped oldest first (a follow-up then runs
 * the handler again); a CON beyond the queue cap fails at once.
 */
export interface ServerLimits {
  /** Observations (RFC 7641) in all, and from one peer (a DTLS session, a UDP address). */
  maxObservers: number;
  maxObserversPerPeer: number;
  /** Requests handed to the application and not answered yet, in all and from one peer. */
  maxPendingRequests: number;
  maxPendingRequestsPerPeer: number;
  /** Block1 uploads in progress (RFC 7959 §2.5), in all, from one peer, and their buffered bytes in all. */
  maxUploads: number;
  maxUploadsPerPeer: number;
  maxUploadBytes: number;
  /** Block2 representations kept for follow-up requests, in all and for one peer. */
  maxCachedBodies: number;
  maxCachedBodiesPerPeer: number;
  /** CONs waiting behind NSTART for one peer (separate responses, CON notifications). */
  maxQueuedPerPeer: number;
  /** The Max-Age of a 5.03 sent at a cap, seconds. */
  retryAfterSeconds: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  maxObservers: 10_000,
  maxObserversPerPeer: 32,
  maxPendingRequests: 10_000,
  maxPendingRequestsPerPeer: 32,
  maxUploads: 1_000,
  maxUploadsPerPeer: 4,
  maxUploadBytes: 64 * 1024 * 1024,
  maxCachedBodies: 1_000,
  maxCachedBodiesPerPeer: 8,
  maxQueuedPerPeer: 64,
  retryAfterSeconds: 5,
};

/** Checks caller-given limits: positive integers (CoapError INVALID_ARGUMENT otherwise, before anything runs). */
export function resolveLimits(given: Partial<ServerLimits> = {}): ServerLimits {
  const l = { ...DEFAULT_SERVER_LIMITS };
  for (const [k, v] of Object.entries(given) as Array<[keyof ServerLimits, number | undefined]>) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_SERVER_LIMITS)) throw new CoapError('INVALID_ARGUMENT', `unknown limit ${k}`);
    if (!Number.isSafeInteger(v) || v < 1) throw new CoapError('INVALID_ARGUMENT', `limit ${k} must be a positive integer, got ${String(v)}`);
    l[k] = v;
  }
  return l;
}

/** 5.03 Service Unavailable with Max-Age: a cap was reached, try again later. */
export function serviceUnavailable(retryAfterSeconds: number): OutgoingResponse {
  return { code: Code.ServiceUnavailable, options: [{ number: OptionNumber.MaxAge, value: encodeUint(retryAfterSeconds) }] };
}

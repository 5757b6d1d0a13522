/**
 * RFC 7641 §4.4 freshness: a notification with sequence V2 received at T2 is newer than
 * (V1, T1) if (V1 < V2 and V2 - V1 < 2^23) or (V1 > V2 and V1 - V2 > 2^23) or T2 > T1 + 128 s.
 */
export const OBSERVE_WINDOW = 2 ** 23;
export const OBSERVE_FRESHNESS_MS = 128_000;

export function isNewer(v1: number, t1: number, v2: number, t2: number): boolean {
  return (v1 < v2 && v2 - v1 < OBSERVE_WINDOW) || (v1 > v2 && v1 - v2 > OBSERVE_WINDOW) || t2 > t1 + OBSERVE_FRESHNESS_MS;
}

/** Observe option values are 24-bit. */
export const OBSERVE_MODULO = 2 ** 24;

/** RFC 7641 §4.5: a notification is sent as CON at least every 24 hours. */
export const CON_NOTIFICATION_INTERVAL_MS = 24 * 3600 * 1000;

/** Keeps notifications in order: accept() is true for the first and for each newer one. */
export class NotificationOrder {
  private last: { seq: number; at: number } | undefined;
  accept(seq: number, at: number): boolean {
    if (this.last && !isNewer(this.last.seq, this.last.at, seq, at)) return false;
    this.last = { seq, at };
    return true;
  }
}

import type { Handshake } from './state.js';

/**
 * Time for lifetimes that outlive a process (a resumable session, a ticket): the wall clock the
 * driver gives (`wallClock`, ms since the epoch), else the connection's own clock.
 */
export function wallTime(hs: Handshake): number {
  return hs.cfg.wallClock?.() ?? hs.now;
}

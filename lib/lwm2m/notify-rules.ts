import type { EffectiveAttributes } from './attributes.js';

/**
 * When an observation notifies (OMA-TS-LightweightM2M-Core §5.1.2 <NOTIFICATION> attributes,
 * the Observe response being the first notification), as pure functions of time:
 *
 * - An evaluation reads the value and checks the change condition against the value last
 *   notified: without gt, lt or st (or when the value is not one number), any change of the
 *   value; with them, |value - last| >= st, or the value crossing gt or lt (last and value on
 *   either side: last > gt vs value > gt, last < lt vs value < lt), whichever is given.
 * - A change of the value is evaluated at once, or, within epmin of the last evaluation, when
 *   epmin has passed; without any change an evaluation comes epmax after the last one (epmax
 *   ignored when 0 or below epmin).
 * - A met condition notifies at once, or, within pmin of the last notification, as soon as
 *   pmin has passed (with the value of that moment); pmax after the last notification a
 *   notification goes out whatever the value (pmax ignored when 0 or below pmin).
 * - A notification restarts both periods and counts as an evaluation.
 *
 * Times are milliseconds; attributes are seconds.
 */

/** A value as an evaluation sees it: a key to compare, and the number for gt/lt/st. */
export interface Sample {
  key: string;
  number: number | undefined;
}

export interface NotifyClock {
  /** When the last notification (or the Observe response) went out, and with what. */
  lastSent: number;
  lastValue: Sample;
  lastEval: number;
  /** A change of the value not evaluated yet. */
  changed: boolean;
  /** The condition was met: a notification waits for pmin. */
  pending: boolean;
}

const S = 1000;

/** pmax in ms when it applies, else undefined. */
export function pmaxMs(a: EffectiveAttributes): number | undefined {
  return a.pmax !== undefined && a.pmax > 0 && a.pmax >= a.pmin ? a.pmax * S : undefined;
}

/** epmax in ms when it applies, else undefined. */
export function epmaxMs(a: EffectiveAttributes): number | undefined {
  const epmin = a.epmin ?? 0;
  return a.epmax !== undefined && a.epmax > 0 && a.epmax >= epmin ? a.epmax * S : undefined;
}

/** The observation's clock right after its Observe response. */
export function startClock(now: number, value: Sample): NotifyClock {
  return { lastSent: now, lastValue: value, lastEval: now, changed: false, pending: false };
}

/** Whether the change from `last` to `value` meets the change condition. */
export function conditionMet(a: EffectiveAttributes, last: Sample, value: Sample): boolean {
  const valueRules = a.gt !== undefined || a.lt !== undefined || a.st !== undefined;
  if (!valueRules || last.number === undefined || value.number === undefined) return value.key !== last.key;
  const [p, v] = [last.number, value.number];
  if (a.st !== undefined && Math.abs(v - p) >= a.st) return true;
  if (a.gt !== undefined && p > a.gt !== v > a.gt) return true;
  if (a.lt !== undefined && p < a.lt !== v < a.lt) return true;
  return false;
}

/** When something is next due for this observation (an evaluation or a notification). */
export function nextDue(c: NotifyClock, a: EffectiveAttributes): number | undefined {
  const due: number[] = [];
  if (c.pending) due.push(c.lastSent + a.pmin * S);
  if (c.changed) due.push(c.lastEval + (a.epmin ?? 0) * S);
  const pmax = pmaxMs(a);
  if (pmax !== undefined) due.push(c.lastSent + pmax);
  const epmax = epmaxMs(a);
  if (epmax !== undefined) due.push(c.lastEval + epmax);
  return due.length ? Math.min(...due) : undefined;
}

/**
 * Runs what is due at `now`: an evaluation (reading the value with `sample`), then says whether
 * to notify. The caller sends the notification and then calls {@link notified}.
 */
export function step(c: NotifyClock, a: EffectiveAttributes, now: number, sample: () => Sample): { clock: NotifyClock; notify: boolean } {
  let next = c;
  const epmax = epmaxMs(a);
  if ((c.changed && now >= c.lastEval + (a.epmin ?? 0) * S) || (epmax !== undefined && now >= c.lastEval + epmax)) {
    const v = sample();
    next = { ...next, lastEval: now, changed: false, pending: next.pending || conditionMet(a, next.lastValue, v) };
  }
  const pmax = pmaxMs(a);
  const notify = (next.pending && now >= next.lastSent + a.pmin * S) || (pmax !== undefined && now >= next.lastSent + pmax);
  return { clock: next, notify };
}

/** A notification went out at `now` with `value`. */
export function notified(now: number, value: Sample): NotifyClock {
  return startClock(now, value);
}

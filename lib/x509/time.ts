/**
 * Certificate validity times (RFC 5280 §4.1.2.5):
 * ```
 * Validity ::= SEQUENCE { notBefore Time, notAfter Time }
 * Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }
 * ```
 * §4.1.2.5.1: UTCTime is exactly YYMMDDHHMMSSZ (seconds present, Zulu); YY >= 50 is 19YY,
 * YY < 50 is 20YY. §4.1.2.5.2: GeneralizedTime is exactly YYYYMMDDHHMMSSZ (no fractional
 * seconds). Anything else (offsets, missing seconds, fractions, impossible dates) is refused.
 * Both are accepted for any year (the 2050 switch is a rule for issuers).
 */
import { Tag, type Tlv } from '../bytes/der.js';
import { DecodeError } from '../bytes/reader.js';

/** The time as milliseconds since 1970-01-01T00:00:00Z. */
export function decodeTime(t: Tlv): number {
  const v = t.value;
  let year: number;
  let at: number;
  if (t.tag === Tag.UTC_TIME) {
    if (v.length !== 13) throw new DecodeError('UTCTime must be YYMMDDHHMMSSZ');
    const yy = digits(v, 0, 2);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    at = 2;
  } else if (t.tag === Tag.GENERALIZED_TIME) {
    if (v.length !== 15) throw new DecodeError('GeneralizedTime must be YYYYMMDDHHMMSSZ');
    year = digits(v, 0, 4);
    at = 4;
  } else {
    throw new DecodeError('Time is neither UTCTime nor GeneralizedTime');
  }
  const month = digits(v, at, 2);
  const day = digits(v, at + 2, 2);
  const hour = digits(v, at + 4, 2);
  const minute = digits(v, at + 6, 2);
  const second = digits(v, at + 8, 2);
  if (v[at + 10] !== 0x5a /* Z */) throw new DecodeError('Time must end in Z');
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    throw new DecodeError('Time is not a valid date');
  }
  return ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60_000 + second * 1000;
}

function digits(v: Uint8Array, at: number, n: number): number {
  let x = 0;
  for (let i = at; i < at + n; i++) {
    const d = v[i]! - 0x30;
    if (d < 0 || d > 9) throw new DecodeError('Time has a non-digit');
    x = x * 10 + d;
  }
  return x;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (the civil-from-days inverse, shifted to March-based years). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

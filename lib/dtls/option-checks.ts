import { utf8 } from '../bytes/util.js';
import { DtlsError } from './errors.js';

/**
 * Checks of public options, so that a wrong type fails at once with a typed INVALID_ARGUMENT
 * naming the option, before any datagram is sent, instead of surfacing later as a peer's
 * bad_record_mac. Strings are accepted only where their meaning is clear: an identity or a
 * hint is text (UTF-8); a key never is (hex? base64? the bytes of the text?), so it must be bytes.
 */

const invalid = (message: string) => new DtlsError('INVALID_ARGUMENT', message);

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return `a string (${v.length} characters)`;
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? `an object (${(v as object).constructor?.name ?? 'no prototype'})` : `a ${typeof v}`;
}

/** Bytes (a Uint8Array, a Node Buffer included), or text taken as UTF-8 when `text` allows it. */
export function bytesOption(name: string, v: unknown, o: { text?: boolean; min?: number; max?: number } = {}): Uint8Array {
  let b: Uint8Array;
  if (v instanceof Uint8Array) b = v;
  else if (typeof v === 'string' && o.text) b = utf8(v);
  else if (typeof v === 'string') throw invalid(`${name} must be bytes (a Uint8Array), not a string: a key written as text is ambiguous (hex? base64?); decode it first (e.g. fromHex)`);
  else throw invalid(`${name} must be ${o.text ? 'bytes (a Uint8Array) or a string (UTF-8)' : 'bytes (a Uint8Array)'}, got ${describe(v)}`);
  const min = o.min ?? 0;
  if (b.length < min || (o.max !== undefined && b.length > o.max)) {
    throw invalid(`${name} must be ${min}..${o.max ?? '∞'} bytes, got ${b.length}`);
  }
  return b;
}

export function integerOption(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(`${name} must be an integer in ${min}..${max}, got ${typeof v === 'number' ? v : describe(v)}`);
  return v;
}

export function booleanOption(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw invalid(`${name} must be true or false, got ${describe(v)}`);
  return v;
}

export function functionOption<F>(name: string, v: unknown): F {
  if (typeof v !== 'function') throw invalid(`${name} must be a function, got ${describe(v)}`);
  return v as F;
}

export function stringOption(name: string, v: unknown): string {
  if (typeof v !== 'string') throw invalid(`${name} must be a string, got ${describe(v)}`);
  return v;
}

export function oneOf<T extends string | number>(name: string, v: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) throw invalid(`${name} must be one of ${allowed.map(String).join(', ')}, got ${typeof v === 'string' || typeof v === 'number' ? String(v) : describe(v)}`);
  return v as T;
}

export function arrayOf<T>(name: string, v: unknown, each: (name: string, x: unknown) => T): T[] {
  if (!Array.isArray(v)) throw invalid(`${name} must be an array, got ${describe(v)}`);
  return v.map((x, i) => each(`${name}[${i}]`, x));
}

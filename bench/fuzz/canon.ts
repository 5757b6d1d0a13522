/**
 * Exact structural comparison for round-trip oracles: a canonical string of any decoded value
 * (bytes as hex, bigint vs number, -0, NaN, Maps in order, class names of wrapper objects).
 */
import { toHex } from './engine.js';

export function canon(x: unknown, depth = 0): string {
  if (depth > 200) return '…';
  if (x === undefined) return 'u';
  if (x === null) return 'null';
  switch (typeof x) {
    case 'number':
      return Object.is(x, -0) ? 'num:-0' : `num:${String(x)}`;
    case 'bigint':
      return `big:${x}`;
    case 'string':
      return JSON.stringify(x);
    case 'boolean':
      return String(x);
    case 'object':
      break;
    default:
      return typeof x;
  }
  if (x instanceof Uint8Array) return `b:${toHex(x)}`;
  if (Array.isArray(x)) return `[${x.map((v) => canon(v, depth + 1)).join(',')}]`;
  if (x instanceof Map) return `M{${[...x].map(([k, v]) => `${canon(k, depth + 1)}=>${canon(v, depth + 1)}`).join(',')}}`;
  const o = x as Record<string, unknown>;
  const name = (x as object).constructor?.name ?? 'Object';
  return `${name === 'Object' ? '' : name}{${Object.keys(o)
    .sort()
    .map((k) => `${k}:${canon(o[k], depth + 1)}`)
    .join(',')}}`;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A short hex view for messages. */
export function hexHead(b: Uint8Array, n = 48): string {
  const h = toHex(b.subarray(0, n));
  return b.length > n ? `${h}… (${b.length} bytes)` : h;
}

import { Reader } from '../../bytes/reader.js';

/**
 * RFC 5246 §7.2:
 * ```
 * struct {
 *   AlertLevel level;
 *   AlertDescription description;
 * } Alert;
 * ```
 */
export interface Alert {
  level: number;
  description: number;
}

export function decodeAlert(body: Uint8Array): Alert {
  const r = new Reader(body);
  const level = r.u8('alert level');
  const description = r.u8('alert description');
  r.end('Alert');
  return { level, description };
}

export function encodeAlert(a: Alert): Uint8Array {
  return new Uint8Array([a.level, a.description]);
}

import { DecodeError, Reader } from '../../bytes/reader.js';
import type { Writer } from '../../bytes/writer.js';

/**
 * RFC 5246 §7.4.1.4:
 * ```
 * struct {
 *   ExtensionType extension_type;
 *   opaque extension_data<0..2^16-1>;
 * } Extension;
 * ```
 * Unknown extensions are kept as raw bytes and ignored by the handshake.
 */
export interface Extension {
  type: number;
  data: Uint8Array;
}

/** Reads `Extension extensions<0..2^16-1>` if present (it is optional at the end of a hello). */
export function decodeExtensions(r: Reader): Extension[] {
  if (r.remaining === 0) return [];
  const block = r.vec16('extensions');
  const er = new Reader(block);
  const out: Extension[] = [];
  const seen = new Set<number>();
  while (er.remaining > 0) {
    const type = er.u16('extension_type');
    const data = er.vec16('extension_data');
    // RFC 5246 §7.4.1.4: "There MUST NOT be more than one extension of the same type."
    if (seen.has(type)) throw new DecodeError(`duplicate extension ${type}`);
    seen.add(type);
    out.push({ type, data });
  }
  return out;
}

export function encodeExtensions(w: Writer, exts: readonly Extension[]): void {
  if (exts.length === 0) return;
  w.vec16((w) => {
    for (const e of exts) w.u16(e.type).vec16((w) => w.bytes(e.data));
  });
}

export function findExtension(exts: readonly Extension[], type: number): Extension | undefined {
  for (const e of exts) if (e.type === type) return e;
  return undefined;
}

/**
 * RFC 5746 §3.2: struct { opaque renegotiated_connection<0..255>; } RenegotiationInfo;
 * On an initial handshake it must be empty; returns false when it is not.
 */
export function isEmptyRenegotiationInfo(data: Uint8Array): boolean {
  return data.length === 1 && data[0] === 0;
}
export const EMPTY_RENEGOTIATION_INFO = new Uint8Array([0]);

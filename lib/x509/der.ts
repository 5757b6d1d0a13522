import { DecodeError } from '../bytes/reader.js';

/** One DER TLV: tag byte, and a view of its contents. */
export interface Tlv {
  tag: number;
  contents: Uint8Array;
  /** Offset just past this TLV in the parent buffer. */
  end: number;
}

/** Reads one DER TLV at `at` (definite lengths only, as DER requires). */
export function readTlv(buf: Uint8Array, at: number): Tlv {
  if (at + 2 > buf.length) throw new DecodeError('DER: truncated');
  const tag = buf[at]!;
  if ((tag & 0x1f) === 0x1f) throw new DecodeError('DER: multi-byte tags are not used here');
  let len = buf[at + 1]!;
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3) throw new DecodeError('DER: unsupported length');
    len = 0;
    for (let i = 0; i < n; i++) {
      if (p >= buf.length) throw new DecodeError('DER: truncated length');
      len = (len << 8) | buf[p++]!;
    }
  }
  if (p + len > buf.length) throw new DecodeError('DER: truncated contents');
  return { tag, contents: buf.subarray(p, p + len), end: p + len };
}

/** The TLVs inside a constructed value. */
export function children(contents: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  for (let at = 0; at < contents.length; ) {
    const t = readTlv(contents, at);
    out.push(t);
    at = t.end;
  }
  return out;
}

/** Dotted form of an OBJECT IDENTIFIER's contents. */
export function oidToString(c: Uint8Array): string {
  if (c.length === 0) throw new DecodeError('DER: empty OID');
  const parts = [Math.floor(c[0]! / 40), c[0]! % 40];
  let v = 0;
  for (let i = 1; i < c.length; i++) {
    v = v * 128 + (c[i]! & 0x7f);
    if (!(c[i]! & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/**
 * The keyUsage bits of a certificate (RFC 5280 §4.2.1.3), or undefined when the extension is
 * absent. Bit 0 is digitalSignature, bit 5 keyCertSign.
 * ```
 * Certificate ::= SEQUENCE { tbsCertificate TBSCertificate, ... }
 * TBSCertificate ::= SEQUENCE { version [0], serialNumber, signature, issuer, validity,
 *   subject, subjectPublicKeyInfo, issuerUniqueID [1], subjectUniqueID [2], extensions [3] }
 * Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
 * ```
 */
export function keyUsageBits(der: Uint8Array): Set<number> | undefined {
  const value = extensionValue(der, '2.5.29.15');
  if (!value) return undefined;
  {
    const bits = readTlv(value, 0);
    if (bits.tag !== 0x03 || bits.contents.length < 1) throw new DecodeError('keyUsage is not a BIT STRING');
    const unused = bits.contents[0]!;
    const out = new Set<number>();
    const bytes = bits.contents.subarray(1);
    for (let i = 0; i < bytes.length * 8 - unused; i++) if (bytes[i >> 3]! & (0x80 >> (i & 7))) out.add(i);
    return out;
  }
}

/** The extnValue contents of the extension with this OID, if present. */
function extensionValue(der: Uint8Array, oid: string): Uint8Array | undefined {
  const cert = readTlv(der, 0);
  const tbs = children(cert.contents)[0];
  if (!tbs) throw new DecodeError('DER: no TBSCertificate');
  const exts = children(tbs.contents).find((t) => t.tag === 0xa3);
  if (!exts) return undefined;
  const list = children(exts.contents)[0];
  if (!list) return undefined;
  for (const ext of children(list.contents)) {
    const f = children(ext.contents);
    if (f[0]?.tag !== 0x06 || oidToString(f[0].contents) !== oid) continue;
    const value = f[f.length - 1]!;
    if (value.tag !== 0x04) throw new DecodeError('extnValue is not an OCTET STRING');
    return value.contents;
  }
  return undefined;
}

/**
 * RFC 5280 §4.2.1.9:
 * `BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL }`.
 * Returns the pathLenConstraint, or undefined when absent (no limit).
 */
export function pathLenConstraint(der: Uint8Array): number | undefined {
  const value = extensionValue(der, '2.5.29.19');
  if (!value) return undefined;
  const seq = readTlv(value, 0);
  if (seq.tag !== 0x30) throw new DecodeError('basicConstraints is not a SEQUENCE');
  const n = children(seq.contents).find((t) => t.tag === 0x02);
  if (!n) return undefined;
  if (n.contents.length === 0 || n.contents.length > 4 || n.contents[0]! & 0x80) throw new DecodeError('bad pathLenConstraint');
  let v = 0;
  for (const b of n.contents) v = v * 256 + b;
  return v;
}

export const KeyUsage = { digitalSignature: 0, keyAgreement: 4, keyCertSign: 5 } as const;

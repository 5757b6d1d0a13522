/**
 * IP address literals, parsed without node:net: dotted-quad IPv4 (RFC 791 text form, no leading
 * zeros, as Node's isIPv4 accepts) and IPv6 (RFC 4291 §2.2: eight groups of 1-4 hex digits,
 * one "::" standing for one or more zero groups, an optional dotted-quad tail, and an optional
 * RFC 6874-style zone "%eth0", which is local and dropped). Returns the 4 or 16 address bytes
 * an iPAddress subjectAltName carries (RFC 5280 §4.2.1.6), or undefined for anything else.
 */
export function parseIpAddress(s: string): Uint8Array | undefined {
  return parseIpv4(s) ?? parseIpv6(s);
}

const DEC_OCTET = /^(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])$/;

export function parseIpv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!DEC_OCTET.test(parts[i]!)) return undefined;
    out[i] = Number(parts[i]);
  }
  return out;
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const ZONE = /^[0-9a-zA-Z\-.:]+$/;

export function parseIpv6(s: string): Uint8Array | undefined {
  const pct = s.indexOf('%');
  if (pct >= 0) {
    if (!ZONE.test(s.slice(pct + 1))) return undefined;
    s = s.slice(0, pct);
  }
  const gap = s.indexOf('::');
  if (gap >= 0 && s.indexOf('::', gap + 1) >= 0) return undefined;
  const head = gap >= 0 ? s.slice(0, gap) : s;
  const tail = gap >= 0 ? s.slice(gap + 2) : '';
  const left = groups(head, gap < 0);
  const right = gap >= 0 ? groups(tail, true) : [];
  if (left === undefined || right === undefined) return undefined;
  const n = left.length + right.length;
  if (gap >= 0 ? n > 7 : n !== 8) return undefined;
  const all = [...left, ...new Array<number>(8 - n).fill(0), ...right];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Colon-separated groups; the last may be a dotted quad (two groups) when `mayEndInIpv4`. */
function groups(s: string, mayEndInIpv4: boolean): number[] | undefined {
  if (s === '') return [];
  const parts = s.split(':');
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (i === parts.length - 1 && mayEndInIpv4 && p.includes('.')) {
      const v4 = parseIpv4(p);
      if (!v4) return undefined;
      out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else {
      if (!HEX_GROUP.test(p)) return undefined;
      out.push(parseInt(p, 16));
    }
  }
  return out;
}

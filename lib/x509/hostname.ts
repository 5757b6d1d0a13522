/**
 * Does a certificate name the host we meant to reach? RFC 6125 §6.4 for DNS names, RFC 5280
 * §4.2.1.6 for IP addresses; no node:net, no OpenSSL.
 *
 * - An IP address literal (ip-address.ts) matches iPAddress subjectAltNames byte for byte
 *   (never the CN, and an IPv4 address never matches an IPv4-mapped IPv6 one).
 * - Otherwise the name is a DNS name, compared ASCII case-insensitively with each dNSName
 *   (§6.4.1). A wildcard is honoured only as the complete leftmost label of a name with at
 *   least two more labels ("*.example.com", §6.4.3; no "f*o.example.com", no "*.com"), and
 *   it matches exactly one non-empty label of letters, digits and hyphens. Any other '*' is
 *   a literal character.
 * - The subject CN is consulted only when the certificate has no dNSName at all (§6.4.4),
 *   which is also what Node's checkHost does by default.
 * A name starting with '.', an empty name or one containing NUL matches nothing.
 */
import { equal, utf8 } from '../bytes/util.js';
import type { Certificate } from './certificate.js';
import { parseIpAddress } from './ip-address.js';
import { OID_COMMON_NAME } from './name.js';

/** Whether `cert` carries `name` (an IP literal or a DNS name). */
export function certificateMatchesName(cert: Certificate, name: string): boolean {
  const ip = parseIpAddress(name);
  return ip ? matchesIpAddress(cert, ip) : matchesHostname(cert, name);
}

/** Whether an iPAddress subjectAltName equals `address` (4 or 16 bytes). */
export function matchesIpAddress(cert: Certificate, address: Uint8Array): boolean {
  return (cert.extensions.subjectAltName?.ipAddresses ?? []).some((a) => equal(a, address));
}

/** Whether a dNSName (or, without any dNSName, a subject CN) matches the DNS name `host`. */
export function matchesHostname(cert: Certificate, host: string): boolean {
  const subject = utf8(host);
  if (subject.length === 0 || subject[0] === 0x2e || subject.includes(0)) return false;
  const dns = cert.extensions.subjectAltName?.dnsNames ?? [];
  if (dns.length > 0) return dns.some((p) => matchesPattern(bytesOf(p), subject));
  for (const rdn of cert.subject.rdns) {
    for (const a of rdn) if (a.type === OID_COMMON_NAME && a.isString && matchesPattern(utf8(a.value), subject)) return true;
  }
  return false;
}

/** A dNSName's IA5String bytes back from its one-character-per-byte string. */
function bytesOf(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const lower = (c: number) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
const isAlnum = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const DOT = 0x2e;
const HYPHEN = 0x2d;
const STAR = 0x2a;

/** ASCII case-insensitive equality of `a` and `b[from..]` over `n` bytes; a NUL in the pattern never matches. */
function sameNoCase(a: Uint8Array, aFrom: number, b: Uint8Array, bFrom: number, n: number): boolean {
  for (let i = 0; i < n; i++) {
    const x = a[aFrom + i]!;
    if (x === 0 || lower(x) !== lower(b[bFrom + i]!)) return false;
  }
  return true;
}

/** One presented identifier against the reference identifier (both as bytes). */
function matchesPattern(p: Uint8Array, s: Uint8Array): boolean {
  if (p.length === 0) return false;
  if (isLeftmostWildcard(p)) {
    // "*" + suffix: the suffix matches the end of s, the rest of s is one non-empty label.
    const suffix = p.length - 1;
    const label = s.length - suffix;
    if (label < 1 || !sameNoCase(p, 1, s, label, suffix)) return false;
    if (label === 1 && s[0] === STAR) return true;
    for (let i = 0; i < label; i++) if (!isAlnum(s[i]!) && s[i] !== HYPHEN) return false;
    return true;
  }
  return p.length === s.length && sameNoCase(p, 0, s, 0, p.length);
}

/**
 * "*." followed by at least two labels of letters, digits and hyphens, none starting or
 * ending with a hyphen, and no trailing dot.
 */
function isLeftmostWildcard(p: Uint8Array): boolean {
  if (p.length < 2 || p[0] !== STAR || p[1] !== DOT) return false;
  let labels = 0;
  let labelStart = true;
  let lastHyphen = false;
  for (let i = 2; i < p.length; i++) {
    const c = p[i]!;
    if (c === DOT) {
      if (labelStart || lastHyphen) return false;
      labelStart = true;
      labels++;
    } else if (c === HYPHEN) {
      if (labelStart) return false;
      lastHyphen = true;
    } else if (isAlnum(c)) {
      labelStart = false;
      lastHyphen = false;
    } else {
      return false;
    }
  }
  if (labelStart || lastHyphen) return false;
  return labels + 1 >= 2;
}

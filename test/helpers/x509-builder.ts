/**
 * Test-only: a small DER encoder and an X.509 certificate builder that signs with node:crypto,
 * to make certificates the OpenSSL fixtures do not cover (RSA / P-384 / Ed25519 issuers,
 * wildcard and IPv6 names, odd name strings, unknown critical extensions, GeneralizedTime) and
 * to feed the differential test against node:crypto's X509Certificate.
 */
import { createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { concat, utf8 } from '../../lib/bytes/util.js';

export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = concat(...parts);
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return concat(new Uint8Array([tag, ...len]), body);
}

export const seq = (...p: Uint8Array[]) => tlv(0x30, ...p);
export const set = (...p: Uint8Array[]) => tlv(0x31, ...p);
export const octets = (b: Uint8Array) => tlv(0x04, b);
export const bool = (v: boolean) => tlv(0x01, new Uint8Array([v ? 0xff : 0]));
export const derNull = () => new Uint8Array([0x05, 0x00]);
export const bits = (b: Uint8Array, unused = 0) => tlv(0x03, new Uint8Array([unused]), b);
export const explicit = (n: number, ...p: Uint8Array[]) => tlv(0xa0 | n, ...p);

/** A non-negative INTEGER (or raw contents). */
export function int(n: number | bigint | Uint8Array): Uint8Array {
  if (n instanceof Uint8Array) return tlv(0x02, n);
  let x = BigInt(n);
  const out: number[] = [];
  do {
    out.unshift(Number(x & 0xffn));
    x >>= 8n;
  } while (x > 0n);
  if (out[0]! & 0x80) out.unshift(0);
  return tlv(0x02, new Uint8Array(out));
}

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const sub = [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)];
  const out: number[] = [];
  for (const s of sub) {
    const chunk: number[] = [];
    let x = s;
    do {
      chunk.unshift(Number(x & 0x7fn));
      x >>= 7n;
    } while (x > 0n);
    for (let i = 0; i < chunk.length - 1; i++) chunk[i]! |= 0x80;
    out.push(...chunk);
  }
  return tlv(0x06, new Uint8Array(out));
}

/** A string value with its ASN.1 tag; a JS string is UTF-8 for UTF8String and Latin-1 otherwise. */
export function str(tag: number, value: string | Uint8Array): Uint8Array {
  if (value instanceof Uint8Array) return tlv(tag, value);
  if (tag === 0x0c) return tlv(tag, utf8(value));
  if (tag === 0x1e) return tlv(tag, new Uint8Array([...value].flatMap((c) => [c.charCodeAt(0) >> 8, c.charCodeAt(0) & 0xff])));
  return tlv(tag, Uint8Array.from(value, (c) => c.charCodeAt(0)));
}

/** A Name: RDNs of [type OID, value TLV]. */
export type NameSpec = Array<Array<[string, Uint8Array]>>;
export const name = (rdns: NameSpec) => seq(...rdns.map((rdn) => set(...rdn.map(([t, v]) => seq(oid(t), v)))));
export const simpleName = (cn: string, o = 'coaps tests') => name([[['2.5.4.10', str(0x0c, o)]], [['2.5.4.3', str(0x0c, cn)]]]);

function two(n: number) {
  return String(n).padStart(2, '0');
}
export function utcTime(d: Date): Uint8Array {
  const s = `${two(d.getUTCFullYear() % 100)}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  return str(0x17, s);
}
export function generalizedTime(d: Date): Uint8Array {
  const s = `${String(d.getUTCFullYear()).padStart(4, '0')}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  return str(0x18, s);
}
/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
export const time = (d: Date) => (d.getUTCFullYear() < 2050 && d.getUTCFullYear() >= 1950 ? utcTime(d) : generalizedTime(d));

export interface Ext {
  oid: string;
  critical?: boolean;
  value: Uint8Array;
}
export const extension = (e: Ext) => seq(oid(e.oid), ...(e.critical ? [bool(true)] : []), octets(e.value));
export const basicConstraints = (cA: boolean, pathLen?: number, critical = true): Ext => ({
  oid: '2.5.29.19',
  critical,
  value: seq(...(cA ? [bool(true)] : []), ...(pathLen !== undefined ? [int(pathLen)] : [])),
});
export function keyUsage(bitNumbers: number[], critical = true): Ext {
  const max = Math.max(...bitNumbers);
  const bytes = new Uint8Array((max >> 3) + 1);
  for (const b of bitNumbers) bytes[b >> 3]! |= 0x80 >> (b & 7);
  return { oid: '2.5.29.15', critical, value: bits(bytes, 7 - (max & 7)) };
}
export const extKeyUsage = (oids: string[]): Ext => ({ oid: '2.5.29.37', value: seq(...oids.map(oid)) });
export const subjectAltName = (o: { dns?: string[]; ip?: Uint8Array[]; other?: Uint8Array[] }): Ext => ({
  oid: '2.5.29.17',
  value: seq(...(o.dns ?? []).map((d) => str(0x82, d)), ...(o.ip ?? []).map((a) => tlv(0x87, a)), ...(o.other ?? [])),
});
export const subjectKeyId = (id: Uint8Array): Ext => ({ oid: '2.5.29.14', value: octets(id) });
export const authorityKeyId = (id: Uint8Array): Ext => ({ oid: '2.5.29.35', value: seq(tlv(0x80, id)) });

/** A signing key and how it signs certificates. */
export interface Signer {
  key: KeyObject;
  /** DER SubjectPublicKeyInfo of its public key. */
  spki: Uint8Array;
  /** signatureAlgorithm. */
  algorithm: Uint8Array;
  hash: string | null;
}

export function signer(kind: 'p256' | 'p384' | 'rsa' | 'ed25519', hash?: string): Signer {
  const pair =
    kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : kind === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: kind === 'p256' ? 'prime256v1' : 'secp384r1' });
  return signerFrom(pair.privateKey, hash);
}

export function signerFrom(key: KeyObject, hash?: string): Signer {
  const spki = new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' }));
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return { key, spki, algorithm: seq(oid('1.3.101.112')), hash: null };
  if (type === 'rsa') {
    const h = hash ?? 'sha256';
    const o = { sha256: '1.2.840.113549.1.1.11', sha384: '1.2.840.113549.1.1.12', sha512: '1.2.840.113549.1.1.13' }[h]!;
    return { key, spki, algorithm: seq(oid(o), derNull()), hash: h };
  }
  const h = hash ?? (key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'sha384' : 'sha256');
  const o = { sha256: '1.2.840.10045.4.3.2', sha384: '1.2.840.10045.4.3.3', sha512: '1.2.840.10045.4.3.4' }[h]!;
  return { key, spki, algorithm: seq(oid(o)), hash: h };
}

export interface CertSpec {
  /** 1, 2 or 3 (default 3). */
  version?: number;
  serial?: number | bigint | Uint8Array;
  issuer: Uint8Array;
  subject: Uint8Array;
  notBefore?: Uint8Array;
  notAfter?: Uint8Array;
  /** The subject's SubjectPublicKeyInfo (DER). */
  spki: Uint8Array;
  extensions?: Ext[];
  /** Raw TBS fields after the SPKI instead of `extensions` (for malformed cases). */
  tail?: Uint8Array[];
  /** The signature AlgorithmIdentifier inside the TBS, when it should differ from the outer one. */
  innerAlgorithm?: Uint8Array;
}

export const VALID_FROM = new Date('2025-01-01T00:00:00Z');
export const VALID_TO = new Date('2045-01-01T00:00:00Z');

/** TBSCertificate DER. */
export function tbsCertificate(s: CertSpec, algorithm: Uint8Array): Uint8Array {
  const v = s.version ?? 3;
  return seq(
    ...(v !== 1 ? [explicit(0, int(v - 1))] : []),
    int(s.serial ?? 0x1234),
    s.innerAlgorithm ?? algorithm,
    s.issuer,
    seq(s.notBefore ?? time(VALID_FROM), s.notAfter ?? time(VALID_TO)),
    s.subject,
    s.spki,
    ...(s.tail ?? (s.extensions?.length ? [explicit(3, seq(...s.extensions.map(extension)))] : [])),
  );
}

/** A certificate signed by `by`. */
export function certificate(s: CertSpec, by: Signer): Uint8Array {
  const tbs = tbsCertificate(s, by.algorithm);
  const sig = new Uint8Array(sign(by.hash, tbs, by.key.asymmetricKeyType === 'ec' ? { key: by.key, dsaEncoding: 'der' } : by.key));
  return seq(tbs, by.algorithm, bits(sig));
}

/** A CA: its key and its self-signed certificate. */
export function selfSignedCa(by: Signer, cn: string, extra: Ext[] = []): Uint8Array {
  const n = simpleName(cn);
  return certificate({ issuer: n, subject: n, spki: by.spki, extensions: [basicConstraints(true), keyUsage([5, 6]), ...extra] }, by);
}

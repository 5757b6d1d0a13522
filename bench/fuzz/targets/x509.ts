/**
 * X.509 and DER: parseCertificate / parseCertificates / parseSubjectPublicKeyInfo
 * (lib/x509/certificate.ts, with names, times and extensions behind it), verifyChain on a
 * share of the certificates that parse, and the DER reader and primitive decoders
 * (lib/bytes/der.ts) walked over any input.
 *
 * Oracle: parse errors are X509Error (DecodeError from the DER layer and the SPKI parser);
 * a parsed certificate keeps exactly the input bytes (and its tbsCertificate is a view of them);
 * the DER walk's values cover the input exactly. Mutations are DER-aware: a value anywhere in
 * the tree is changed, removed, duplicated or given a new tag, and every length above it is
 * recomputed, so mutants get past the outer framing into names, extensions and times.
 */
import { DecodeError } from '../../../lib/bytes/reader.js';
import { decodeBitString, decodeBoolean, decodeInteger, decodeNonNegativeInteger, decodeNull, decodeOctetAlignedBitString, decodeOid, readTlvs, Tag, type Tlv } from '../../../lib/bytes/der.js';
import { nodeCrypto } from '../../../lib/crypto/node.js';
import { OID_EC_PUBLIC_KEY, OID_SECP256R1, parseCertificate, parseCertificates, parseSubjectPublicKeyInfo, type Certificate } from '../../../lib/x509/certificate.js';
import { X509Error } from '../../../lib/x509/errors.js';
import { certificateMatchesName } from '../../../lib/x509/hostname.js';
import { verifyChain } from '../../../lib/x509/verify.js';
import { hexHead, sameBytes } from '../canon.js';
import { pkiCertificates } from '../fixtures.js';
import { mutateBytes, type MutationContext } from '../mutate.js';
import { allowed, inputHash } from '../oracles.js';
import type { Rng } from '../rng.js';
import { Violation, type FuzzTarget } from '../target.js';

// ------------------------------------------------------------------------------ DER mutation

interface Node {
  tag: number;
  /** Constructed: children; primitive: contents. */
  children?: Node[];
  value: Uint8Array;
}

function tree(b: Uint8Array, depth = 0): Node[] {
  return readTlvs(b).map((t: Tlv) => {
    if (t.tag & 0x20 && depth < 24) {
      try {
        return { tag: t.tag, children: tree(t.value, depth + 1), value: t.value };
      } catch {
        /* not a tree inside: keep the bytes */
      }
    }
    return { tag: t.tag, value: t.value };
  });
}

function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) out.unshift(x & 0xff);
  return [0x80 | out.length, ...out];
}

function encodeTree(nodes: readonly Node[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const n of nodes) {
    const v = n.children ? encodeTree(n.children) : n.value;
    parts.push(new Uint8Array([n.tag, ...lengthBytes(v.length)]), v);
  }
  const out = new Uint8Array(parts.reduce((k, p) => k + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function allNodes(nodes: Node[], out: Array<{ list: Node[]; i: number }> = []): Array<{ list: Node[]; i: number }> {
  nodes.forEach((n, i) => {
    out.push({ list: nodes, i });
    if (n.children) allNodes(n.children, out);
  });
  return out;
}

const TAGS = [Tag.INTEGER, Tag.BIT_STRING, Tag.OCTET_STRING, Tag.NULL, Tag.OID, Tag.SEQUENCE, Tag.SET, 0x01, 0x0c, 0x13, 0x16, 0x17, 0x18, 0x1e, 0x80, 0x81, 0x82, 0x86, 0x87, 0xa0, 0xa3];

export function mutateDer(b: Uint8Array, rng: Rng, ctx: MutationContext): Uint8Array | undefined {
  let nodes: Node[];
  try {
    nodes = tree(b);
  } catch {
    return undefined;
  }
  const all = allNodes(nodes);
  if (all.length === 0) return undefined;
  const { list, i } = rng.pick(all);
  const n = list[i]!;
  switch (rng.below(6)) {
    case 0:
      list.splice(i, 1);
      break;
    case 1:
      list.splice(i, 0, { ...n });
      break;
    case 2:
      list[i] = { ...n, tag: rng.pick(TAGS) };
      break;
    case 3: {
      // a value from elsewhere in the tree (an OID where a string was, a SEQUENCE in a SET, ...)
      // (a copy through its bytes: the other value may be an ancestor of this one)
      const other = rng.pick(all);
      list[i] = tree(encodeTree([other.list[other.i]!]))[0]!;
      break;
    }
    default:
      list[i] = { tag: n.tag, value: n.children && rng.chance(0.3) ? new Uint8Array(0) : mutateBytes(n.children ? encodeTree(n.children) : n.value, rng, { ...ctx, maxLength: 4096 }) };
  }
  return encodeTree(nodes);
}

// -------------------------------------------------------------------------------------- x509

const pki = () => pkiCertificates().map(([, der]) => der);
let anchors: Certificate[] | undefined;
const CLOCK = () => new Date(Date.UTC(2030, 0, 1));

/**
 * The key of a parsed certificate as a coverage class: the curve or algorithm when it is one we
 * know, else "other". Not the OID itself: mutated OIDs are endless (and some thousands of
 * characters long), so each one a new feature grew the coverage set without bound (the 10M run's
 * out-of-memory finding: ~1 KB per feature, a million features).
 */
function keyClass(cert: Certificate): string {
  const spki = cert.subjectPublicKeyInfo;
  if (spki.namedCurve !== undefined) return KNOWN_OIDS.has(spki.namedCurve) ? spki.namedCurve : 'other-curve';
  return KNOWN_OIDS.has(spki.algorithm.oid) ? spki.algorithm.oid : 'other-algorithm';
}
const KNOWN_OIDS = new Set([OID_EC_PUBLIC_KEY, OID_SECP256R1, '1.2.840.113549.1.1.1', '1.3.101.112', '1.3.132.0.34', '1.3.132.0.35']);

const x509: FuzzTarget = {
  name: 'x509',
  about: 'parseCertificate / parseCertificates (DER and PEM) / parseSubjectPublicKeyInfo, name matching, verifyChain on 1/4 of what parses; X509Error only',
  maxLength: 4096,
  seeds: () => {
    const s = pki();
    return s.length ? s : [new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])];
  },
  mutate: mutateDer,
  run(b) {
    const f: string[] = [];
    let cert: Certificate;
    try {
      cert = parseCertificate(b);
    } catch (e) {
      f.push(allowed(e, X509Error));
      try {
        parseCertificates(b);
      } catch (e2) {
        f.push(allowed(e2, X509Error));
      }
      return f;
    }
    if (!sameBytes(cert.der, b) || !sameBytes(cert.tbs, b.subarray(cert.tbs.byteOffset - cert.der.byteOffset, cert.tbs.byteOffset - cert.der.byteOffset + cert.tbs.length))) {
      throw new Violation('x509', `a parsed certificate does not keep its bytes: ${hexHead(b)}`);
    }
    f.push(`ok:v${cert.version}:${cert.extensions.all.length > 0}:${keyClass(cert)}`);
    try {
      parseSubjectPublicKeyInfo(cert.subjectPublicKeyInfo.der);
    } catch (e) {
      f.push(allowed(e, DecodeError));
    }
    for (const name of ['localhost', '127.0.0.1', '::1', 'client.example', '*.example', '']) certificateMatchesName(cert, name);
    if ((inputHash(b) & 3) === 0) {
      anchors ??= pki().flatMap((d) => {
        try {
          return [parseCertificate(d)];
        } catch {
          return [];
        }
      });
      try {
        verifyChain([b], { crypto: nodeCrypto, anchors, purpose: 'serverAuth', expectedName: 'localhost', clock: CLOCK });
        f.push('verified');
      } catch (e) {
        f.push(`verify:${allowed(e, X509Error)}`);
      }
    }
    return f;
  },
};

// --------------------------------------------------------------------------------------- der

function walk(b: Uint8Array, depth: number, f: string[]): void {
  let tlvs: Tlv[];
  try {
    tlvs = readTlvs(b);
  } catch (e) {
    f.push(allowed(e, DecodeError));
    return;
  }
  let at = 0;
  for (const t of tlvs) {
    if (t.der.byteOffset - b.byteOffset !== at || !sameBytes(t.der, b.subarray(at, at + t.der.length))) throw new Violation('der', `values do not cover the input in order at ${at}: ${hexHead(b)}`);
    if (t.value.byteOffset + t.value.length !== t.der.byteOffset + t.der.length) throw new Violation('der', `contents are not at the end of their value at ${at}`);
    at += t.der.length;
    f.push(`tag:${t.tag.toString(16)}`);
    if (t.tag & 0x20) {
      if (depth < 32) walk(t.value, depth + 1, f);
      continue;
    }
    const v = t.value;
    const tryDecode = (g: () => unknown) => {
      try {
        g();
      } catch (e) {
        f.push(allowed(e, DecodeError));
      }
    };
    switch (t.tag) {
      case Tag.INTEGER:
        tryDecode(() => decodeInteger(v));
        tryDecode(() => decodeNonNegativeInteger(v));
        break;
      case Tag.OID:
        tryDecode(() => decodeOid(v));
        break;
      case Tag.BIT_STRING:
        tryDecode(() => decodeBitString(v));
        tryDecode(() => decodeOctetAlignedBitString(v));
        break;
      case Tag.NULL:
        tryDecode(() => decodeNull(v));
        break;
      case 0x01:
        tryDecode(() => decodeBoolean(v));
        break;
    }
  }
  if (at !== b.length) throw new Violation('der', `values cover ${at} of ${b.length} bytes`);
}

const der: FuzzTarget = {
  name: 'der',
  about: 'the DER reader (readTlvs) walked into every constructed value, every primitive through its decoder: DecodeError only, values cover the input exactly',
  maxLength: 4096,
  seeds: () => {
    const s = pki();
    return s.length ? s : [new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])];
  },
  mutate: mutateDer,
  run(b) {
    const f: string[] = [];
    walk(b, 0, f);
    return f;
  },
};

export const X509_TARGETS: FuzzTarget[] = [x509, der];

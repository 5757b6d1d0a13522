import { X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { DtlsError } from '../dtls/errors.js';
import { KeyUsage, keyUsageBits, pathLenConstraint } from './der.js';

/** EKU OIDs (RFC 5280 §4.2.1.12). */
const EKU = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2', any: '2.5.29.37.0' } as const;
const MAX_DEPTH = 8;

export interface ChainOptions {
  /** Trust anchors (parsed once, see parseCertificates). */
  anchors: readonly X509Certificate[];
  /** What the leaf must be good for. */
  purpose: 'serverAuth' | 'clientAuth';
  /** DNS name or IP address the leaf must carry (client side); omitted: no name check. */
  expectedName?: string;
  /**
   * The clock for validity periods: a function (injectable for tests) or 'none' for a device
   * without a clock, which then skips validity checks explicitly. Default: the system clock.
   */
  clock?: (() => Date) | 'none';
}

export interface VerifiedChain {
  leaf: X509Certificate;
  /** The leaf's subject, as the peer identity. */
  subject: string;
  /** The leaf's public key. */
  publicKey: KeyObject;
}

/** PEM (one or many) or DER -> parsed certificates. */
export function parseCertificates(input: string | Uint8Array): X509Certificate[] {
  if (typeof input !== 'string') return [new X509Certificate(input)];
  const blocks = input.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new DtlsError('INVALID_ARGUMENT', 'no PEM certificate found');
  return blocks.map((b) => new X509Certificate(b));
}

/**
 * Validates a peer's chain (leaf first, as sent in Certificate) up to a trust anchor:
 * signatures, issuer/subject links, CA flags and keyCertSign on issuers, validity periods,
 * the leaf's keyUsage (digitalSignature) and extendedKeyUsage (purpose), and its name.
 * Throws DtlsError with the matching alert code.
 */
export function verifyChain(chainDer: readonly Uint8Array[], o: ChainOptions): VerifiedChain {
  if (chainDer.length === 0) throw new DtlsError('BAD_CERTIFICATE', 'the peer sent no certificate');
  let chain: X509Certificate[];
  try {
    chain = chainDer.map((d) => new X509Certificate(d));
  } catch {
    throw new DtlsError('BAD_CERTIFICATE', 'a certificate does not parse');
  }
  const leaf = chain[0]!;
  const now = o.clock === 'none' ? undefined : (o.clock ?? (() => new Date()))();
  const checkValidity = (c: X509Certificate) => {
    if (!now) return;
    if (now < new Date(c.validFrom)) throw new DtlsError('CERTIFICATE_EXPIRED', `certificate "${c.subject}" is not yet valid`);
    if (now > new Date(c.validTo)) throw new DtlsError('CERTIFICATE_EXPIRED', `certificate "${c.subject}" expired on ${c.validTo}`);
  };

  // Path to an anchor first: an untrusted chain is unknown_ca whatever its contents
  let cur = leaf;
  const used = new Set<X509Certificate>([leaf]);
  // RFC 5280 §6.1.4 (l)/(m): a CA's pathLenConstraint limits the CA certificates below it
  // (not counting the leaf).
  const checkPathLen = (ca: X509Certificate, casBelow: number) => {
    const max = pathLenConstraint(new Uint8Array(ca.raw));
    if (max !== undefined && casBelow > max) throw new DtlsError('BAD_CERTIFICATE', `path length constraint of "${ca.subject}" exceeded`);
  };
  path: for (let depth = 0; ; depth++) {
    if (depth > MAX_DEPTH) throw new DtlsError('UNKNOWN_CA', 'certificate chain too long');
    checkValidity(cur);
    if (o.anchors.some((a) => a.fingerprint256 === cur.fingerprint256)) break path;
    const anchor = o.anchors.find((a) => cur.checkIssued(a) && cur.verify(a.publicKey));
    if (anchor) {
      checkValidity(anchor);
      checkPathLen(anchor, depth);
      break path;
    }
    const issuer = chain.find((c) => !used.has(c) && cur.checkIssued(c) && cur.verify(c.publicKey));
    if (!issuer) throw new DtlsError('UNKNOWN_CA', `no trusted issuer for "${cur.subject}"`);
    if (!issuer.ca) throw new DtlsError('BAD_CERTIFICATE', `issuer "${issuer.subject}" is not a CA`);
    const iku = keyUsageBits(new Uint8Array(issuer.raw));
    if (iku && !iku.has(KeyUsage.keyCertSign)) throw new DtlsError('BAD_CERTIFICATE', `issuer "${issuer.subject}" may not sign certificates`);
    checkPathLen(issuer, depth);
    used.add(issuer);
    cur = issuer;
  }

  // Leaf: usable for this purpose, by this name
  if (leaf.publicKey.asymmetricKeyType !== 'ec' || leaf.publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new DtlsError('UNSUPPORTED_CERTIFICATE', 'the peer certificate key is not P-256');
  }
  const ku = keyUsageBits(new Uint8Array(leaf.raw));
  if (ku && !ku.has(KeyUsage.digitalSignature)) throw new DtlsError('UNSUPPORTED_CERTIFICATE', 'keyUsage lacks digitalSignature');
  const eku = leaf.keyUsage;
  if (eku && eku.length > 0 && !eku.includes(EKU[o.purpose]) && !eku.includes(EKU.any)) {
    throw new DtlsError('UNSUPPORTED_CERTIFICATE', `extendedKeyUsage lacks ${o.purpose}`);
  }
  if (o.expectedName !== undefined) {
    const ok = isIP(o.expectedName) ? leaf.checkIP(o.expectedName) !== undefined : leaf.checkHost(o.expectedName) !== undefined;
    if (!ok) throw new DtlsError('CERTIFICATE_UNKNOWN', `certificate does not match the name "${o.expectedName}"`);
  }

  return done();

  function done(): VerifiedChain {
    return { leaf, subject: leaf.subject, publicKey: leaf.publicKey };
  }
}

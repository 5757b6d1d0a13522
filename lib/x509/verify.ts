/**
 * Certificate path validation (RFC 5280 §6.1, the parts a DTLS peer needs), on our own parser
 * and through the CryptoProvider, so the pure provider validates chains too:
 *
 * - a path from the leaf, through the certificates the peer sent (in any order, unrelated ones
 *   ignored), to a trust anchor: issuer name = subject name (DER), the authority key identifier
 *   when both sides carry one, and each signature checked with the issuer's key;
 * - every issuer in the chain is a CA (basicConstraints cA) allowed to sign certificates
 *   (keyUsage keyCertSign when present), within every pathLenConstraint above it (§6.1.4 (l)/(m));
 *   an anchor that issues is not marked cA=false and may sign certificates;
 * - every certificate on the path within its validity period by the injected clock, or no
 *   validity checks at all with clock 'none' (a device without a clock);
 * - the leaf: a P-256 key, keyUsage digitalSignature (when present), extendedKeyUsage for the
 *   purpose (when present), and the expected name (hostname.ts).
 *
 * Errors are X509Error; lib/dtls/trust.ts turns them into alerts.
 */
import { equal } from '../bytes/util.js';
import { pointFromSpki } from '../crypto/p256-spki.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { OID_EC_PUBLIC_KEY, OID_SECP256R1, parseCertificate, type Certificate } from './certificate.js';
import { X509Error } from './errors.js';
import { KeyPurpose, KeyUsage } from './extensions.js';
import { certificateMatchesName } from './hostname.js';
import { checkSignature } from './signature.js';

export { parseCertificates } from './certificate.js';

const MAX_DEPTH = 8;

/** The clock for validity periods: the current time, or 'none' to skip validity checks (a device without a clock). */
export type Clock = (() => Date) | 'none';

export interface ChainOptions {
  /** Signature checks go through this provider. */
  crypto: CryptoProvider;
  /** Trust anchors (see parseCertificates). */
  anchors: readonly Certificate[];
  /** What the leaf must be good for. */
  purpose: 'serverAuth' | 'clientAuth';
  /** DNS name or IP address the leaf must carry (client side); omitted: no name check. */
  expectedName?: string;
  /**
   * Required: the time source for validity periods, or 'none'. The engine never reads the wall
   * clock itself; without a clock, verification fails with INVALID_ARGUMENT.
   */
  clock?: Clock;
}

export interface VerifiedChain {
  leaf: Certificate;
  /** The validated path, leaf first, ending with the trust anchor (just the leaf when the leaf itself is an anchor). */
  path: Certificate[];
  /** The leaf's subject, as the peer identity ("O=...\nCN=..."). */
  subject: string;
  /** The leaf's P-256 key: DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
}

const show = (c: Certificate) => c.subject.text.replace(/\n/g, ', ');

/**
 * Validates a peer's chain (leaf first, as sent in Certificate) up to a trust anchor; see the
 * file comment for what is checked. Throws X509Error.
 */
export function verifyChain(chainDer: readonly Uint8Array[], o: ChainOptions): VerifiedChain {
  const now = currentTime(o.clock);
  if (chainDer.length === 0) throw new X509Error('BAD_CERTIFICATE', 'the peer sent no certificate');
  const chain = chainDer.map((d) => parseCertificate(d));
  const leaf = chain[0]!;

  const checkValidity = (c: Certificate) => {
    if (now === undefined) return;
    if (now < c.validity.notBefore) throw new X509Error('CERTIFICATE_EXPIRED', `certificate "${show(c)}" is not valid before ${new Date(c.validity.notBefore).toISOString()}`);
    if (now > c.validity.notAfter) throw new X509Error('CERTIFICATE_EXPIRED', `certificate "${show(c)}" expired on ${new Date(c.validity.notAfter).toISOString()}`);
  };
  // RFC 5280 §6.1.4 (l)/(m): a CA's pathLenConstraint limits the CA certificates below it
  // (not counting the leaf).
  const checkPathLen = (ca: Certificate, casBelow: number) => {
    const max = ca.extensions.basicConstraints?.pathLenConstraint;
    if (max !== undefined && casBelow > max) throw new X509Error('BAD_CERTIFICATE', `path length constraint of "${show(ca)}" exceeded`);
  };

  // Path to an anchor first: an untrusted chain is unknown_ca whatever its contents.
  let cur = leaf;
  const path = [leaf];
  const used = new Set<Certificate>([leaf]);
  for (let depth = 0; ; depth++) {
    if (depth > MAX_DEPTH) throw new X509Error('UNKNOWN_CA', 'certificate chain too long');
    checkValidity(cur);
    if (o.anchors.some((a) => equal(a.der, cur.der))) break;
    const seen = { invalid: false, unsupported: false };
    const signed = (issuer: Certificate): boolean => {
      const r = checkSignature(o.crypto, cur, issuer);
      if (r === 'invalid') seen.invalid = true;
      if (r === 'unsupported') seen.unsupported = true;
      return r === 'valid';
    };
    const anchor = o.anchors.find((a) => mayHaveIssued(a, cur) && a.extensions.basicConstraints?.cA !== false && signed(a));
    if (anchor) {
      checkValidity(anchor);
      checkPathLen(anchor, depth);
      path.push(anchor);
      break;
    }
    const issuer = chain.find((c) => !used.has(c) && mayHaveIssued(c, cur) && signed(c));
    if (!issuer) {
      if (seen.unsupported) {
        throw new X509Error('UNSUPPORTED_CERTIFICATE', `the signature algorithm ${cur.signatureAlgorithm.oid} of "${show(cur)}" is not supported by the ${o.crypto.name} crypto provider`);
      }
      if (seen.invalid) throw new X509Error('BAD_CERTIFICATE', `the signature of "${show(cur)}" does not verify`);
      throw new X509Error('UNKNOWN_CA', `no trusted issuer for "${show(cur)}"`);
    }
    if (!issuer.extensions.basicConstraints?.cA) throw new X509Error('BAD_CERTIFICATE', `issuer "${show(issuer)}" is not a CA`);
    checkPathLen(issuer, depth);
    used.add(issuer);
    path.push(issuer);
    cur = issuer;
  }

  // Leaf: usable for this purpose, by this name
  const spki = leaf.subjectPublicKeyInfo;
  if (spki.algorithm.oid !== OID_EC_PUBLIC_KEY || spki.namedCurve !== OID_SECP256R1) throw new X509Error('UNSUPPORTED_CERTIFICATE', 'the peer certificate key is not P-256');
  try {
    pointFromSpki(spki.der);
  } catch {
    throw new X509Error('UNSUPPORTED_CERTIFICATE', 'the peer certificate key is not an uncompressed P-256 point');
  }
  const ku = leaf.extensions.keyUsage;
  if (ku && !ku.has(KeyUsage.digitalSignature)) throw new X509Error('UNSUPPORTED_CERTIFICATE', 'keyUsage lacks digitalSignature');
  const eku = leaf.extensions.extKeyUsage;
  if (eku && !eku.includes(KeyPurpose[o.purpose]) && !eku.includes(KeyPurpose.anyExtendedKeyUsage)) {
    throw new X509Error('UNSUPPORTED_CERTIFICATE', `extendedKeyUsage lacks ${o.purpose}`);
  }
  if (o.expectedName !== undefined && !certificateMatchesName(leaf, o.expectedName)) {
    throw new X509Error('CERTIFICATE_UNKNOWN', `certificate does not match the name "${o.expectedName}"`);
  }
  return { leaf, path, subject: leaf.subject.text, spki: spki.der.slice() };
}

/** What to do without a clock (the engine never reads the wall clock itself). */
export const NO_CLOCK =
  "X.509 validity needs a clock: pass clock, a function returning the current Date (the Node drivers pass the system clock), or clock: 'none' on a device without a clock, which skips validity checks";

/** The time to judge validity by: ms since the epoch, or undefined for 'none'. */
function currentTime(clock: Clock | undefined): number | undefined {
  if (clock === 'none') return undefined;
  if (typeof clock !== 'function') {
    throw new X509Error('INVALID_ARGUMENT', NO_CLOCK);
  }
  const d = clock();
  const t = d instanceof Date ? d.getTime() : NaN;
  if (Number.isNaN(t)) throw new X509Error('INVALID_ARGUMENT', 'the clock did not return a valid Date');
  return t;
}

/**
 * Whether `issuer` may have issued `cert` (before any signature check): the names match, the
 * key identifiers do not contradict each other, and a keyUsage, if present, allows keyCertSign.
 */
function mayHaveIssued(issuer: Certificate, cert: Certificate): boolean {
  if (!equal(issuer.subject.der, cert.issuer.der)) return false;
  const akid = cert.extensions.authorityKeyIdentifier;
  const skid = issuer.extensions.subjectKeyIdentifier;
  if (akid && skid && !equal(akid, skid)) return false;
  const ku = issuer.extensions.keyUsage;
  return !ku || ku.has(KeyUsage.keyCertSign);
}

/**
 * Our X.509 v3 certificate parser (RFC 5280 §4.1):
 * ```
 * Certificate ::= SEQUENCE {
 *   tbsCertificate       TBSCertificate,
 *   signatureAlgorithm   AlgorithmIdentifier,
 *   signatureValue       BIT STRING }
 *
 * TBSCertificate ::= SEQUENCE {
 *   version         [0]  EXPLICIT Version DEFAULT v1,
 *   serialNumber         CertificateSerialNumber,
 *   signature            AlgorithmIdentifier,
 *   issuer               Name,
 *   validity             Validity,
 *   subject              Name,
 *   subjectPublicKeyInfo SubjectPublicKeyInfo,
 *   issuerUniqueID  [1]  IMPLICIT UniqueIdentifier OPTIONAL,  -- v2 or v3
 *   subjectUniqueID [2]  IMPLICIT UniqueIdentifier OPTIONAL,  -- v2 or v3
 *   extensions      [3]  EXPLICIT Extensions OPTIONAL }       -- v3
 *
 * Version ::= INTEGER { v1(0), v2(1), v3(2) }
 * CertificateSerialNumber ::= INTEGER
 * AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY DEFINED BY algorithm OPTIONAL }
 * SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
 * ```
 * Names: name.ts; Validity: time.ts; Extensions: extensions.ts. Every malformed input is an
 * X509Error BAD_CERTIFICATE; an unknown critical extension is UNSUPPORTED_CERTIFICATE.
 */
import { decodeInteger, decodeOctetAlignedBitString, decodeOid, DerReader, readOne, Tag, type Tlv } from '../bytes/der.js';
import { looksLikePem, readPem, type PemBlock } from '../bytes/pem.js';
import { DecodeError } from '../bytes/reader.js';
import { equal, latin1, toHex } from '../bytes/util.js';
import { X509Error } from './errors.js';
import { decodeExtensions, type Extensions } from './extensions.js';
import { decodeName, type Name } from './name.js';
import { decodeTime } from './time.js';

export interface AlgorithmIdentifier {
  /** The algorithm OID, dotted. */
  readonly oid: string;
  /** The parameters as a whole DER value, when present. */
  readonly parameters: Uint8Array | undefined;
  /** The whole AlgorithmIdentifier DER. */
  readonly der: Uint8Array;
}

export interface SubjectPublicKeyInfo {
  /** The whole SubjectPublicKeyInfo DER (what a raw public key or a key import uses). */
  readonly der: Uint8Array;
  readonly algorithm: AlgorithmIdentifier;
  /** For id-ecPublicKey with a namedCurve parameter: the curve OID. */
  readonly namedCurve: string | undefined;
  /** The subjectPublicKey bits (an EC point, an RSAPublicKey, ...). */
  readonly publicKey: Uint8Array;
}

export interface Validity {
  /** Milliseconds since the epoch. The period includes both ends (§4.1.2.5). */
  readonly notBefore: number;
  readonly notAfter: number;
}

export interface Certificate {
  /** The whole DER encoding (our own copy). */
  readonly der: Uint8Array;
  /** The DER of tbsCertificate: the signed bytes. */
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: AlgorithmIdentifier;
  /** signatureValue (an octet-aligned BIT STRING's bytes). */
  readonly signature: Uint8Array;
  readonly version: 1 | 2 | 3;
  /** serialNumber's INTEGER contents (two's complement, as encoded). */
  readonly serialNumber: Uint8Array;
  readonly issuer: Name;
  readonly subject: Name;
  readonly validity: Validity;
  readonly subjectPublicKeyInfo: SubjectPublicKeyInfo;
  readonly extensions: Extensions;
}

export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const OID_SECP256R1 = '1.2.840.10045.3.1.7';

/** Parses one DER certificate (exactly one, nothing after it). */
export function parseCertificate(input: Uint8Array): Certificate {
  try {
    return decodeCertificate(input.slice());
  } catch (e) {
    if (e instanceof DecodeError) throw new X509Error('BAD_CERTIFICATE', `malformed certificate: ${e.message}`);
    throw e;
  }
}

function decodeCertificate(der: Uint8Array): Certificate {
  const cert = new DerReader(readOne(der, Tag.SEQUENCE, 'Certificate').value);
  const tbsTlv = cert.next(Tag.SEQUENCE, 'tbsCertificate');
  const signatureAlgorithm = decodeAlgorithm(cert.next(Tag.SEQUENCE, 'signatureAlgorithm'));
  const signature = decodeOctetAlignedBitString(cert.next(Tag.BIT_STRING, 'signatureValue').value);
  cert.end('Certificate');

  const tbs = new DerReader(tbsTlv.value);
  const v = tbs.optional(0xa0);
  let version: 1 | 2 | 3 = 1;
  if (v) {
    const n = decodeInteger(readOne(v.value, Tag.INTEGER, 'Version').value);
    if (n.length !== 1 || n[0]! > 2) throw new DecodeError('unknown certificate version');
    version = (n[0]! + 1) as 1 | 2 | 3;
  }
  const serialNumber = decodeInteger(tbs.next(Tag.INTEGER, 'serialNumber').value);
  const innerAlgorithm = tbs.next(Tag.SEQUENCE, 'signature');
  // §4.1.1.2: signatureAlgorithm "MUST contain the same algorithm identifier as the signature field".
  if (!equal(innerAlgorithm.der, signatureAlgorithm.der)) throw new DecodeError('signatureAlgorithm differs from tbsCertificate.signature');
  const issuer = decodeName(tbs.next(Tag.SEQUENCE, 'issuer'));
  const validity = new DerReader(tbs.next(Tag.SEQUENCE, 'validity').value);
  const notBefore = decodeTime(validity.next(undefined, 'notBefore'));
  const notAfter = decodeTime(validity.next(undefined, 'notAfter'));
  validity.end('Validity');
  const subject = decodeName(tbs.next(Tag.SEQUENCE, 'subject'));
  const subjectPublicKeyInfo = decodeSpki(tbs.next(Tag.SEQUENCE, 'subjectPublicKeyInfo'));
  if (tbs.optional(0x81) && version === 1) throw new DecodeError('issuerUniqueID in a v1 certificate');
  if (tbs.optional(0x82) && version === 1) throw new DecodeError('subjectUniqueID in a v1 certificate');
  const ext = tbs.optional(0xa3);
  if (ext && version !== 3) throw new DecodeError('extensions in a certificate before v3');
  const extensions = ext ? decodeExtensions(ext.value) : { all: [] };
  tbs.end('TBSCertificate');

  return {
    der,
    tbs: tbsTlv.der,
    signatureAlgorithm,
    signature,
    version,
    serialNumber,
    issuer,
    subject,
    validity: { notBefore, notAfter },
    subjectPublicKeyInfo,
    extensions,
  };
}

function decodeAlgorithm(t: Tlv): AlgorithmIdentifier {
  const r = new DerReader(t.value);
  const oid = decodeOid(r.next(Tag.OID, 'algorithm').value);
  const parameters = r.done ? undefined : r.next(undefined, 'parameters').der;
  r.end('AlgorithmIdentifier');
  return { oid, parameters, der: t.der };
}

function decodeSpki(t: Tlv): SubjectPublicKeyInfo {
  const r = new DerReader(t.value);
  const algorithm = decodeAlgorithm(r.next(Tag.SEQUENCE, 'algorithm'));
  const publicKey = decodeOctetAlignedBitString(r.next(Tag.BIT_STRING, 'subjectPublicKey').value);
  r.end('SubjectPublicKeyInfo');
  let namedCurve: string | undefined;
  if (algorithm.oid === OID_EC_PUBLIC_KEY && algorithm.parameters?.[0] === Tag.OID) namedCurve = decodeOid(readOne(algorithm.parameters, Tag.OID).value);
  return { der: t.der, algorithm, namedCurve, publicKey };
}

/** Reads a DER SubjectPublicKeyInfo on its own (a raw public key, RFC 7250); DecodeError if malformed. */
export function parseSubjectPublicKeyInfo(der: Uint8Array): SubjectPublicKeyInfo {
  const r = new DerReader(der);
  const spki = decodeSpki(r.next(Tag.SEQUENCE, 'SubjectPublicKeyInfo'));
  r.end('SubjectPublicKeyInfo');
  return spki;
}

/**
 * Certificates from PEM text (every "CERTIFICATE" block, in order) or DER (one certificate;
 * bytes that are not DER are read as PEM text). Text without a certificate is an X509Error
 * INVALID_ARGUMENT; a certificate that does not parse, BAD_CERTIFICATE.
 */
export function parseCertificates(input: string | Uint8Array): Certificate[] {
  if (typeof input !== 'string' && !looksLikePem(input)) return [parseCertificate(input)];
  const text = typeof input === 'string' ? input : latin1(input);
  let blocks: PemBlock[];
  try {
    blocks = readPem(text).filter((b) => b.label === 'CERTIFICATE');
  } catch (e) {
    throw new X509Error('BAD_CERTIFICATE', `malformed PEM: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (blocks.length === 0) throw new X509Error('INVALID_ARGUMENT', 'no PEM certificate found');
  return blocks.map((b) => parseCertificate(b.der));
}

/** The SHA-256 fingerprint of the DER, lowercase hex (as a peer identity shows it), through the provider's SHA-256. */
export function certificateFingerprint(crypto: { sha256(data: Uint8Array): Uint8Array }, cert: Certificate): string {
  return toHex(crypto.sha256(cert.der));
}

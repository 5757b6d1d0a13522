/**
 * The certificate extensions path validation needs (RFC 5280 §4.2):
 * ```
 * Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension
 * Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE,
 *   extnValue OCTET STRING -- contains the DER encoding of an ASN.1 value }
 * ```
 * "A certificate MUST NOT include more than one instance of a particular extension" and a
 * system "MUST reject the certificate if it encounters a critical extension it does not
 * recognize or a critical extension that contains information that it cannot process": both
 * are refused here. Non-critical extensions we do not know are skipped.
 */
import {
  decodeBitString,
  decodeBoolean,
  decodeNonNegativeInteger,
  decodeOid,
  DerReader,
  readerOf,
  readOne,
  Tag,
  type Tlv,
} from '../bytes/der.js';
import { DecodeError } from '../bytes/reader.js';
import { latin1 } from '../bytes/util.js';
import { X509Error } from './errors.js';

export const ExtensionOid = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
} as const;

/** KeyUsage bit numbers (RFC 5280 §4.2.1.3). */
export const KeyUsage = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
  encipherOnly: 7,
  decipherOnly: 8,
} as const;

/** KeyPurposeId OIDs (RFC 5280 §4.2.1.12). */
export const KeyPurpose = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  anyExtendedKeyUsage: '2.5.29.37.0',
} as const;

/** `BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL }` (§4.2.1.9). */
export interface BasicConstraints {
  cA: boolean;
  /** Undefined: no limit. */
  pathLenConstraint: number | undefined;
}

/** The parts of `GeneralNames` (§4.2.1.6) a name check uses. */
export interface SubjectAltName {
  /** dNSName entries (IA5String), as written. */
  dnsNames: string[];
  /** iPAddress entries: 4 bytes (IPv4) or 16 bytes (IPv6). */
  ipAddresses: Uint8Array[];
}

export interface Extension {
  oid: string;
  critical: boolean;
  /** The extnValue contents: the DER of the extension's own value. */
  value: Uint8Array;
}

export interface Extensions {
  /** Every extension, as encoded. */
  all: Extension[];
  basicConstraints?: BasicConstraints;
  /** The asserted KeyUsage bits (see {@link KeyUsage}); undefined when the extension is absent. */
  keyUsage?: ReadonlySet<number>;
  /** The KeyPurposeId OIDs; undefined when the extension is absent. */
  extKeyUsage?: string[];
  subjectAltName?: SubjectAltName;
  subjectKeyIdentifier?: Uint8Array;
  /** The keyIdentifier of AuthorityKeyIdentifier, when present. */
  authorityKeyIdentifier?: Uint8Array;
}

/**
 * Reads the `[3] EXPLICIT Extensions` contents. Malformed input is a DecodeError; an unknown
 * critical extension an X509Error UNSUPPORTED_CERTIFICATE.
 */
export function decodeExtensions(explicit: Uint8Array): Extensions {
  const list = readerOf(explicit, Tag.SEQUENCE, 'Extensions');
  const out: Extensions = { all: [] };
  const seen = new Set<string>();
  if (list.done) throw new DecodeError('Extensions: empty SEQUENCE');
  while (!list.done) {
    const ext = new DerReader(list.next(Tag.SEQUENCE, 'Extension').value);
    const oid = decodeOid(ext.next(Tag.OID, 'extnID').value);
    const crit = ext.optional(Tag.BOOLEAN);
    const critical = crit ? decodeBoolean(crit.value) : false;
    const value = ext.next(Tag.OCTET_STRING, 'extnValue').value;
    ext.end('Extension');
    if (seen.has(oid)) throw new DecodeError(`extension ${oid} appears twice`);
    seen.add(oid);
    out.all.push({ oid, critical, value });
    switch (oid) {
      case ExtensionOid.basicConstraints:
        out.basicConstraints = decodeBasicConstraints(value);
        break;
      case ExtensionOid.keyUsage:
        out.keyUsage = decodeKeyUsage(value);
        break;
      case ExtensionOid.extKeyUsage:
        out.extKeyUsage = decodeExtKeyUsage(value);
        break;
      case ExtensionOid.subjectAltName:
        out.subjectAltName = decodeSubjectAltName(value);
        break;
      case ExtensionOid.subjectKeyIdentifier:
        out.subjectKeyIdentifier = readOne(value, Tag.OCTET_STRING, 'SubjectKeyIdentifier').value;
        break;
      case ExtensionOid.authorityKeyIdentifier: {
        const kid = decodeAuthorityKeyIdentifier(value);
        if (kid) out.authorityKeyIdentifier = kid;
        break;
      }
      default:
        if (critical) throw new X509Error('UNSUPPORTED_CERTIFICATE', `unsupported critical extension ${oid}`);
    }
  }
  return out;
}

function decodeBasicConstraints(v: Uint8Array): BasicConstraints {
  const r = readerOf(v, Tag.SEQUENCE, 'BasicConstraints');
  const ca = r.optional(Tag.BOOLEAN);
  const len = r.optional(Tag.INTEGER);
  r.end('BasicConstraints');
  const cA = ca ? decodeBoolean(ca.value) : false;
  // §4.2.1.9: "CAs MUST NOT include the pathLenConstraint field unless the cA boolean is
  // asserted" (OpenSSL marks such a certificate invalid too).
  if (len && !cA) throw new DecodeError('BasicConstraints: pathLenConstraint without cA');
  return { cA, pathLenConstraint: len ? decodeNonNegativeInteger(len.value) : undefined };
}

/** `KeyUsage ::= BIT STRING { digitalSignature (0), ..., decipherOnly (8) }` (§4.2.1.3). */
function decodeKeyUsage(v: Uint8Array): Set<number> {
  const bits = decodeBitString(readOne(v, Tag.BIT_STRING, 'KeyUsage').value);
  const out = new Set<number>();
  const n = bits.bytes.length * 8 - bits.unusedBits;
  for (let i = 0; i < n; i++) if (bits.bytes[i >> 3]! & (0x80 >> (i & 7))) out.add(i);
  return out;
}

/** `ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId`, `KeyPurposeId ::= OBJECT IDENTIFIER` (§4.2.1.12). */
function decodeExtKeyUsage(v: Uint8Array): string[] {
  const r = readerOf(v, Tag.SEQUENCE, 'ExtKeyUsageSyntax');
  const out: string[] = [];
  while (!r.done) out.push(decodeOid(r.next(Tag.OID, 'KeyPurposeId').value));
  if (out.length === 0) throw new DecodeError('ExtKeyUsageSyntax: empty');
  return out;
}

/**
 * ```
 * GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName
 * GeneralName ::= CHOICE { otherName [0] OtherName, rfc822Name [1] IA5String,
 *   dNSName [2] IA5String, x400Address [3] ORAddress, directoryName [4] Name,
 *   ediPartyName [5] EDIPartyName, uniformResourceIdentifier [6] IA5String,
 *   iPAddress [7] OCTET STRING, registeredID [8] OBJECT IDENTIFIER }
 * ```
 * (implicit tags). iPAddress is exactly 4 or 16 octets in a certificate (§4.2.1.6).
 */
function decodeSubjectAltName(v: Uint8Array): SubjectAltName {
  const r = readerOf(v, Tag.SEQUENCE, 'GeneralNames');
  const out: SubjectAltName = { dnsNames: [], ipAddresses: [] };
  if (r.done) throw new DecodeError('GeneralNames: empty');
  while (!r.done) {
    const g: Tlv = r.next(undefined, 'GeneralName');
    switch (g.tag) {
      case 0x82:
        out.dnsNames.push(latin1(g.value));
        break;
      case 0x87:
        if (g.value.length !== 4 && g.value.length !== 16) throw new DecodeError('iPAddress must be 4 or 16 octets');
        out.ipAddresses.push(g.value);
        break;
      case 0xa0: // otherName
      case 0x81: // rfc822Name
      case 0xa3: // x400Address
      case 0xa4: // directoryName
      case 0xa5: // ediPartyName
      case 0x86: // uniformResourceIdentifier
      case 0x88: // registeredID
        break;
      default:
        throw new DecodeError(`GeneralName: unknown tag 0x${g.tag.toString(16)}`);
    }
  }
  return out;
}

/**
 * ```
 * AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] KeyIdentifier OPTIONAL,
 *   authorityCertIssuer [1] GeneralNames OPTIONAL, authorityCertSerialNumber [2] CertificateSerialNumber OPTIONAL }
 * ```
 * (§4.2.1.1). Only the keyIdentifier is used (to pick among issuers with the same name).
 */
function decodeAuthorityKeyIdentifier(v: Uint8Array): Uint8Array | undefined {
  const r = readerOf(v, Tag.SEQUENCE, 'AuthorityKeyIdentifier');
  const kid = r.optional(0x80);
  r.optional(0xa1);
  r.optional(0x82);
  r.end('AuthorityKeyIdentifier');
  return kid?.value;
}

/**
 * Distinguished names (RFC 5280 §4.1.2.4):
 * ```
 * Name ::= CHOICE { rdnSequence RDNSequence }
 * RDNSequence ::= SEQUENCE OF RelativeDistinguishedName
 * RelativeDistinguishedName ::= SET SIZE (1..MAX) OF AttributeTypeAndValue
 * AttributeTypeAndValue ::= SEQUENCE { type AttributeType, value AttributeValue }
 * AttributeType ::= OBJECT IDENTIFIER
 * AttributeValue ::= ANY -- DEFINED BY AttributeType
 * DirectoryString ::= CHOICE { teletexString TeletexString, printableString PrintableString,
 *   universalString UniversalString, utf8String UTF8String, bmpString BMPString }
 * ```
 * Names are compared as DER bytes (the issuer of one certificate against the subject of the
 * next). The text form is the one Node's `X509Certificate.subject` gives (OpenSSL's
 * X509_NAME_print_ex with RFC 2253 escaping, short names, one RDN per line, " + " between the
 * values of a multi-valued RDN), so a peer identity reads the same as it always did:
 * "O=coaps tests\nCN=localhost".
 */
import { decodeBitString, decodeOid, DerReader, readOne, Tag, type Tlv } from '../bytes/der.js';
import { DecodeError } from '../bytes/reader.js';
import { latin1 } from '../bytes/util.js';

/** One AttributeTypeAndValue. */
export interface NameAttribute {
  /** The attribute type OID, dotted. */
  readonly type: string;
  /** The value's ASN.1 tag (UTF8String, PrintableString, ...). */
  readonly tag: number;
  /** The value as text (strings decoded; other types byte by byte). */
  readonly value: string;
  /** Whether the value is a character string (only those can name a host as a CN). */
  readonly isString: boolean;
}

export interface Name {
  /** The whole DER encoding, for comparison. */
  readonly der: Uint8Array;
  /** The RDNs in encoding order, each with its attributes. */
  readonly rdns: readonly (readonly NameAttribute[])[];
  /** The text form, as Node's X509Certificate prints it. */
  readonly text: string;
}

export const OID_COMMON_NAME = '2.5.4.3';

/** OpenSSL's short names for the attribute types Node prints by name; other types print as dotted OIDs. */
const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'street',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.13': 'description',
  '2.5.4.15': 'businessCategory',
  '2.5.4.17': 'postalCode',
  '2.5.4.41': 'name',
  '2.5.4.42': 'GN',
  '2.5.4.43': 'initials',
  '2.5.4.44': 'generationQualifier',
  '2.5.4.45': 'x500UniqueIdentifier',
  '2.5.4.46': 'dnQualifier',
  '2.5.4.65': 'pseudonym',
  '2.5.4.72': 'role',
  '2.5.4.97': 'organizationIdentifier',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'emailAddress',
  '1.3.6.1.4.1.311.60.2.1.1': 'jurisdictionL',
  '1.3.6.1.4.1.311.60.2.1.2': 'jurisdictionST',
  '1.3.6.1.4.1.311.60.2.1.3': 'jurisdictionC',
};

/** Decodes a Name (a SEQUENCE); malformed input is a DecodeError. */
export function decodeName(t: Tlv): Name {
  if (t.tag !== Tag.SEQUENCE) throw new DecodeError('Name is not a SEQUENCE');
  const rdns: NameAttribute[][] = [];
  for (const seq = new DerReader(t.value); !seq.done; ) {
    const set = new DerReader(seq.next(Tag.SET, 'RelativeDistinguishedName').value);
    const rdn: NameAttribute[] = [];
    while (!set.done) {
      const atv = new DerReader(set.next(Tag.SEQUENCE, 'AttributeTypeAndValue').value);
      const type = decodeOid(atv.next(Tag.OID, 'AttributeType').value);
      const v = atv.next(undefined, 'AttributeValue');
      atv.end('AttributeTypeAndValue');
      const { text, isString } = decodeAttributeValue(v);
      rdn.push({ type, tag: v.tag, value: text, isString });
    }
    if (rdn.length === 0) throw new DecodeError('empty RelativeDistinguishedName');
    rdns.push(rdn);
  }
  return { der: t.der, rdns, text: nameText(rdns) };
}

/** Reads a Name from a whole DER encoding. */
export function decodeNameDer(der: Uint8Array): Name {
  return decodeName(readOne(der, Tag.SEQUENCE, 'Name'));
}

/**
 * An AttributeValue as text. The character strings: UTF8String must be valid UTF-8, BMPString
 * UCS-2 and UniversalString UCS-4 (no surrogates); PrintableString, IA5String, NumericString and
 * TeletexString are read byte by byte (Latin-1), as OpenSSL does. The other types OpenSSL
 * accepts in a name print byte by byte too (a BIT STRING its bits, a SEQUENCE its whole
 * encoding); any other type is refused, as OpenSSL refuses it.
 */
export function decodeAttributeValue(t: Tlv): { text: string; isString: boolean } {
  switch (t.tag) {
    case Tag.UTF8_STRING:
      return { text: decodeUtf8(t.value), isString: true };
    case Tag.BMP_STRING:
      return { text: decodeUcs(t.value, 2), isString: true };
    case Tag.UNIVERSAL_STRING:
      return { text: decodeUcs(t.value, 4), isString: true };
    case Tag.PRINTABLE_STRING:
    case Tag.IA5_STRING:
    case Tag.NUMERIC_STRING:
    case Tag.T61_STRING:
      return { text: latin1(t.value), isString: true };
    case Tag.BIT_STRING: {
      const b = decodeBitString(t.value);
      const bytes = b.bytes.slice();
      if (bytes.length > 0) bytes[bytes.length - 1]! &= 0xff << b.unusedBits;
      return { text: latin1(bytes), isString: false };
    }
    case Tag.SEQUENCE:
      return { text: latin1(t.der), isString: false };
    case 0x07: // ObjectDescriptor
    case 0x08: // EXTERNAL
    case 0x09: // REAL
    case 0x0b: // EMBEDDED PDV
    case 0x0d: // RELATIVE-OID
    case 0x0e: // TIME
    case 0x0f: // reserved
    case 0x1d: // CHARACTER STRING
      return { text: latin1(t.value), isString: false };
    default:
      throw new DecodeError(`AttributeValue: unsupported type (tag 0x${t.tag.toString(16)})`);
  }
}

/** Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
export function decodeUtf8(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; ) {
    const c = b[i++]!;
    let cp: number;
    let n: number;
    let min: number;
    if (c < 0x80) {
      s += String.fromCharCode(c);
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) [cp, n, min] = [c & 0x1f, 1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [cp, n, min] = [c & 0x0f, 2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [cp, n, min] = [c & 0x07, 3, 0x10000];
    else throw new DecodeError('UTF8String: invalid UTF-8');
    if (i + n > b.length) throw new DecodeError('UTF8String: truncated UTF-8');
    for (let k = 0; k < n; k++) {
      const cc = b[i++]!;
      if ((cc & 0xc0) !== 0x80) throw new DecodeError('UTF8String: invalid UTF-8');
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new DecodeError('UTF8String: invalid UTF-8');
    s += String.fromCodePoint(cp);
  }
  return s;
}

function decodeUcs(b: Uint8Array, width: 2 | 4): string {
  if (b.length % width !== 0) throw new DecodeError(`${width === 2 ? 'BMPString' : 'UniversalString'}: length is not a multiple of ${width}`);
  let s = '';
  for (let i = 0; i < b.length; i += width) {
    const cp = width === 2 ? (b[i]! << 8) | b[i + 1]! : ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new DecodeError('string holds an invalid code point');
    s += String.fromCodePoint(cp);
  }
  return s;
}

function nameText(rdns: readonly (readonly NameAttribute[])[]): string {
  return rdns.map((rdn) => rdn.map((a) => `${SHORT_NAMES[a.type] ?? a.type}=${escapeValue(a.value)}`).join(' + ')).join('\n');
}

const HEX = '0123456789ABCDEF';

/**
 * RFC 2253 escaping as OpenSSL does it (ASN1_STRFLGS_ESC_2253 | ESC_CTRL, non-ASCII left as
 * UTF-8): a backslash before , + " \ < > ; and before a leading space or '#' or a trailing
 * space; control characters as \XX. The last character counts as trailing, not leading.
 */
function escapeValue(s: string): string {
  let out = '';
  const last = s.length - 1;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const c = s.charCodeAt(i);
    if (c >= 0x80) out += ch;
    else if (',+"\\<>;'.includes(ch) || (i === last ? ch === ' ' : i === 0 && (ch === ' ' || ch === '#'))) out += '\\' + ch;
    else if (c < 0x20 || c === 0x7f) out += '\\' + HEX[c >> 4]! + HEX[c & 15]!;
    else out += ch;
  }
  return out;
}

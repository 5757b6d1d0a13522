/**
 * CoAP over UDP message codec (RFC 7252 §3): a strict validating scan of ours in front of
 * coap-packet 1.1.1, which does the field extraction and the byte generation.
 *
 * Why the scan: coap-packet 1.1.1 `parse()` accepts truncated tokens and option values (it
 * slices short), TKL 9-12 (and treats TKL 13/14 as RFC 8974 extended tokens), a payload
 * marker followed by nothing, and reserved code classes; on some truncations it throws a
 * Node RangeError instead of a format error. `generate()` writes 269+ byte tokens with a
 * wrong TKL, turns code `0` into 0.01 and defaults to a 1280-byte limit. Everything it is
 * given here has been validated first, and its output is cross-checked, so none of that
 * can reach the message layer.
 *
 * The encoding is canonical: every datagram `decodeMessage` accepts re-encodes to the same
 * bytes (the delta/length extensions have exactly one form each, an empty payload has no
 * marker, an Empty message is exactly 4 bytes).
 *
 * Returned token/option/payload arrays are views into the decoded datagram (no copy).
 */
import { generate, parse } from 'coap-packet';
import { codeText, MessageType, type CoapMessage, type CoapOption } from './message.js';

export type CoapFormatErrorKind =
  /** shorter than the 4-byte header, or a token / option extension / option value runs past the end */
  | 'truncated'
  /** version field is not 1 (RFC 7252 §3: such messages MUST be silently ignored, never RST) */
  | 'version'
  /** TKL 9-15 (RFC 7252 §3; RFC 8974 extended tokens are not negotiated) */
  | 'token-length'
  /** reserved delta/length nibble 15, option number past 65535, value too long (encode) */
  | 'option'
  /** 0xFF payload marker followed by a zero-length payload */
  | 'payload-marker'
  /** reserved code class 1, 6 or 7 (RFC 7252 §12.1), or a code outside 0..255 (encode) */
  | 'code'
  /** Empty message (0.00) with a token, options or payload (RFC 7252 §4.1) */
  | 'empty-message'
  /** encode only: messageId outside 0..65535 */
  | 'message-id'
  /** encode only: type outside 0..3 */
  | 'type'
  /** encode only: a field of the wrong JS type (token/value/payload not a Uint8Array, ...) */
  | 'field'
  /** coap-packet disagreed with our scan, or threw: a bug, never a peer's fault */
  | 'internal';

/**
 * A CoAP message format error (RFC 7252 §4.2/§4.3: reject a malformed CON with RST, silently
 * ignore anything else). `messageId` and `type` are set whenever the 4-byte header was
 * readable, including for kind 'version' (which must be ignored, not reset: see
 * {@link resetForFormatError}).
 */
export class CoapFormatError extends Error {
  override readonly name = 'CoapFormatError';
  constructor(
    message: string,
    readonly kind: CoapFormatErrorKind,
    readonly messageId?: number,
    readonly type?: MessageType,
  ) {
    super(message);
  }
}

export interface CoapHeader {
  /** 2-bit version field (1 for RFC 7252). */
  version: number;
  type: MessageType;
  code: number;
  messageId: number;
  /** TKL nibble, 0..15 as on the wire (only 0..8 are valid). */
  tokenLength: number;
}

/** The fixed 4-byte header fields, or undefined when the datagram is shorter than 4 bytes. */
export function peekHeader(datagram: Uint8Array): CoapHeader | undefined {
  if (datagram.length < 4) return undefined;
  const b0 = datagram[0]!;
  return {
    version: b0 >> 6,
    type: ((b0 >> 4) & 3) as MessageType,
    code: datagram[1]!,
    messageId: (datagram[2]! << 8) | datagram[3]!,
    tokenLength: b0 & 15,
  };
}

/**
 * RFC 7252 §4.2/§4.3: the RST that rejects a malformed message, or undefined when it must be
 * silently ignored (not a CON, header unreadable, or an unknown version, RFC 7252 §3).
 */
export function resetForFormatError(err: CoapFormatError): CoapMessage | undefined {
  if (err.kind === 'version' || err.messageId === undefined || err.type !== MessageType.CON) return undefined;
  return { type: MessageType.RST, code: 0, messageId: err.messageId, token: EMPTY, options: [], payload: EMPTY };
}

/** Option value length limit of the wire format: 14-extension (65535) + 269. */
export const MAX_OPTION_VALUE_LENGTH = 65535 + 269;
export const MAX_TOKEN_LENGTH = 8;

/**
 * Permitted value lengths of the registered options (RFC 7252 §5.10, RFC 7641 §2, RFC 7959
 * §2.1/§4, RFC 7967 §2). RFC 7252 §5.4.3: a value whose length is out of range is NOT a
 * format error; the option MUST be treated like an unrecognized option (elective: ignored,
 * critical: 4.02 Bad Option / reject). The codec therefore decodes such options, and the
 * request layer asks {@link optionValueLengthOk}.
 */
export const OPTION_VALUE_LENGTHS: ReadonlyMap<number, readonly [min: number, max: number]> = new Map([
  [1, [0, 8]], // If-Match
  [3, [1, 255]], // Uri-Host
  [4, [1, 8]], // ETag
  [5, [0, 0]], // If-None-Match
  [6, [0, 3]], // Observe
  [7, [0, 2]], // Uri-Port
  [8, [0, 255]], // Location-Path
  [11, [0, 255]], // Uri-Path
  [12, [0, 2]], // Content-Format
  [14, [0, 4]], // Max-Age
  [15, [0, 255]], // Uri-Query
  [17, [0, 2]], // Accept
  [20, [0, 255]], // Location-Query
  [23, [0, 3]], // Block2
  [27, [0, 3]], // Block1
  [28, [0, 4]], // Size2
  [35, [1, 1034]], // Proxy-Uri
  [39, [1, 255]], // Proxy-Scheme
  [60, [0, 4]], // Size1
  [258, [0, 1]], // No-Response
]);

/** Whether a value length is permitted for the option (true for options without a registered range). */
export function optionValueLengthOk(number: number, length: number): boolean {
  const r = OPTION_VALUE_LENGTHS.get(number);
  return r === undefined || (length >= r[0] && length <= r[1]);
}

const EMPTY = new Uint8Array(0);

/** coap-packet 1.1.1's option names (its OPTIONS_BY_NAME); any other number comes back as its decimal string. */
const COAP_PACKET_OPTION_NAMES: ReadonlyMap<string, number> = new Map([
  ['If-Match', 1],
  ['Uri-Host', 3],
  ['ETag', 4],
  ['If-None-Match', 5],
  ['Observe', 6],
  ['Uri-Port', 7],
  ['Location-Path', 8],
  ['OSCORE', 9],
  ['Uri-Path', 11],
  ['Content-Format', 12],
  ['Max-Age', 14],
  ['Uri-Query', 15],
  ['Hop-Limit', 16],
  ['Accept', 17],
  ['Q-Block1', 19],
  ['Location-Query', 20],
  ['Block2', 23],
  ['Block1', 27],
  ['Size2', 28],
  ['Q-Block2', 31],
  ['Proxy-Uri', 35],
  ['Proxy-Scheme', 39],
  ['Size1', 60],
  ['No-Response', 258],
  ['OCF-Accept-Content-Format-Version', 2049],
  ['OCF-Content-Format-Version', 2053],
]);

function optionNumberFromName(name: unknown): number | undefined {
  if (typeof name === 'number') return Number.isInteger(name) && name >= 0 && name <= 0xffff ? name : undefined;
  if (typeof name !== 'string') return undefined;
  const n = COAP_PACKET_OPTION_NAMES.get(name);
  if (n !== undefined) return n;
  if (!/^(0|[1-9][0-9]{0,4})$/.test(name)) return undefined;
  const v = Number(name);
  return v <= 0xffff ? v : undefined;
}

/** RFC 7252 §12.1: classes 1, 6 and 7 are reserved. */
const reservedClass = (code: number) => {
  const c = code >> 5;
  return c === 1 || c === 6 || c === 7;
};

interface ScannedOption {
  number: number;
  start: number;
  end: number;
}

interface Scan {
  type: MessageType;
  code: number;
  messageId: number;
  tokenLength: number;
  options: ScannedOption[];
  /** Offset of the payload's first byte; the datagram length when there is no payload. */
  payloadStart: number;
}

/** The strict RFC 7252 §3 format check, independent of coap-packet. */
function scan(d: Uint8Array): Scan {
  const len = d.length;
  if (len < 4) throw new CoapFormatError(`datagram of ${len} bytes is shorter than the 4-byte CoAP header`, 'truncated');
  const b0 = d[0]!;
  const type = ((b0 >> 4) & 3) as MessageType;
  const tkl = b0 & 15;
  const code = d[1]!;
  const messageId = (d[2]! << 8) | d[3]!;
  const fail = (message: string, kind: CoapFormatErrorKind) => new CoapFormatError(message, kind, messageId, type);

  if (b0 >> 6 !== 1) throw fail(`unsupported CoAP version ${b0 >> 6}`, 'version');
  if (tkl > MAX_TOKEN_LENGTH) throw fail(`token length ${tkl} is reserved`, 'token-length');
  if (reservedClass(code)) throw fail(`code ${codeText(code)} has a reserved class`, 'code');
  if (code === 0) {
    if (tkl !== 0) throw fail(`Empty message with a ${tkl}-byte token`, 'empty-message');
    if (len !== 4) throw fail(`Empty message with ${len - 4} bytes after the header`, 'empty-message');
    return { type, code, messageId, tokenLength: 0, options: [], payloadStart: 4 };
  }
  let pos = 4 + tkl;
  if (pos > len) throw fail(`token of ${tkl} bytes runs past the end (${len - 4} bytes left)`, 'truncated');

  const options: ScannedOption[] = [];
  let number = 0;
  let payloadStart = len;
  while (pos < len) {
    const b = d[pos]!;
    if (b === 0xff) {
      if (pos + 1 === len) throw fail('payload marker followed by an empty payload', 'payload-marker');
      payloadStart = pos + 1;
      break;
    }
    pos++;
    let delta = b >> 4;
    let length = b & 15;
    if (delta === 15) throw fail('reserved option delta 15', 'option');
    if (length === 15) throw fail('reserved option length 15', 'option');
    if (delta === 13) {
      if (pos + 1 > len) throw fail('option delta extension runs past the end', 'truncated');
      delta = d[pos]! + 13;
      pos += 1;
    } else if (delta === 14) {
      if (pos + 2 > len) throw fail('option delta extension runs past the end', 'truncated');
      delta = ((d[pos]! << 8) | d[pos + 1]!) + 269;
      pos += 2;
    }
    if (length === 13) {
      if (pos + 1 > len) throw fail('option length extension runs past the end', 'truncated');
      length = d[pos]! + 13;
      pos += 1;
    } else if (length === 14) {
      if (pos + 2 > len) throw fail('option length extension runs past the end', 'truncated');
      length = ((d[pos]! << 8) | d[pos + 1]!) + 269;
      pos += 2;
    }
    number += delta;
    if (number > 0xffff) throw fail(`option number ${number} exceeds 65535`, 'option');
    if (pos + length > len) throw fail(`option ${number} value of ${length} bytes runs past the end`, 'truncated');
    options.push({ number, start: pos, end: pos + length });
    pos += length;
  }
  return { type, code, messageId, tokenLength: tkl, options, payloadStart };
}

/** A Buffer (what coap-packet needs) sharing the bytes of a Uint8Array. */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** A plain Uint8Array view of coap-packet's Buffer slices. */
function asView(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Decodes one CoAP-over-UDP datagram. Throws only CoapFormatError, whatever the input.
 * Option semantics (unknown critical options, value length ranges of §5.10, type/code
 * combinations such as a NON Empty message or an ACK carrying a request) are left to the
 * message and request layers.
 */
export function decodeMessage(datagram: Uint8Array): CoapMessage {
  const s = scan(datagram);
  const internal = (what: string) => new CoapFormatError(`coap-packet disagrees with the format scan: ${what}`, 'internal', s.messageId, s.type);
  const buf = asBuffer(datagram);
  let p: ReturnType<typeof parse>;
  try {
    p = parse(buf);
  } catch (e) {
    throw internal(`parse() threw ${e instanceof Error ? e.message : String(e)}`);
  }
  // coap-packet's answer, checked field by field against the scan
  const type = p.confirmable ? 0 : p.ack ? 2 : p.reset ? 3 : 1;
  if (type !== s.type || [p.confirmable, p.ack, p.reset].filter(Boolean).length > 1) throw internal('type');
  if (p.messageId !== s.messageId) throw internal('message id');
  if (p.code !== codeText(s.code)) throw internal(`code ${String(p.code)}`);
  const at = (b: unknown, start: number, length: number) =>
    b instanceof Uint8Array && b.byteLength === length && (length === 0 || (b.buffer === datagram.buffer && b.byteOffset === datagram.byteOffset + start));
  if (!at(p.token, 4, s.tokenLength)) throw internal('token');
  const payloadLength = datagram.length - s.payloadStart;
  if (!at(p.payload, s.payloadStart, payloadLength)) throw internal('payload');
  if (!Array.isArray(p.options) || p.options.length !== s.options.length) throw internal('option count');
  const options: CoapOption[] = new Array<CoapOption>(s.options.length);
  for (let i = 0; i < s.options.length; i++) {
    const o = p.options[i]!;
    const so = s.options[i]!;
    const number = optionNumberFromName(o.name);
    if (number !== so.number) throw internal(`option ${i}: name ${String(o.name)} for number ${so.number}`);
    if (!at(o.value, so.start, so.end - so.start)) throw internal(`option ${i} value`);
    options[i] = { number, value: asView(o.value) };
  }
  return {
    type: s.type,
    code: s.code,
    messageId: s.messageId,
    token: asView(p.token),
    options,
    payload: payloadLength === 0 ? EMPTY : asView(p.payload),
  };
}

const extLength = (n: number) => (n < 13 ? 0 : n < 269 ? 1 : 2);

/**
 * Encodes a message (RFC 7252 §3). Validates first and throws CoapFormatError on: token
 * longer than 8 bytes, options not in ascending order or numbers outside 0..65535, a value
 * longer than 65804 bytes (the wire format's limit; the per-option ranges of §5.10 are the
 * caller's business, see {@link optionValueLengthOk}), messageId outside 0..65535, type
 * outside 0..3, code outside 0..255 or of a reserved class (1, 6, 7), an Empty message
 * (0.00) with a token, options or payload. No limit on the total size (the transport's).
 */
export function encodeMessage(m: CoapMessage): Uint8Array {
  const { type, code, messageId, token, options, payload } = m;
  const fail = (message: string, kind: CoapFormatErrorKind) =>
    new CoapFormatError(message, kind, Number.isInteger(messageId) && messageId >= 0 && messageId <= 0xffff ? messageId : undefined, type);
  if (!Number.isInteger(type) || type < 0 || type > 3) throw fail(`message type ${String(type)} is not 0..3`, 'type');
  if (!Number.isInteger(code) || code < 0 || code > 255) throw fail(`code ${String(code)} is not 0..255`, 'code');
  if (reservedClass(code)) throw fail(`code ${codeText(code)} has a reserved class`, 'code');
  if (!Number.isInteger(messageId) || messageId < 0 || messageId > 0xffff) throw fail(`message id ${String(messageId)} is not 0..65535`, 'message-id');
  if (!(token instanceof Uint8Array)) throw fail('token is not a Uint8Array', 'field');
  if (token.length > MAX_TOKEN_LENGTH) throw fail(`token of ${token.length} bytes (max 8)`, 'token-length');
  if (!(payload instanceof Uint8Array)) throw fail('payload is not a Uint8Array', 'field');
  if (!Array.isArray(options)) throw fail('options is not an array', 'field');
  if (code === 0 && (token.length !== 0 || options.length !== 0 || payload.length !== 0)) {
    throw fail('Empty message (0.00) must have no token, options or payload', 'empty-message');
  }
  let length = 4 + token.length + (payload.length > 0 ? 1 + payload.length : 0);
  let prev = 0;
  for (const o of options) {
    const n: unknown = o?.number;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffff) throw fail(`option number ${String(n)} is not 0..65535`, 'option');
    if (n < prev) throw fail(`option ${n} after option ${prev}: options must be in ascending order`, 'option');
    if (!(o.value instanceof Uint8Array)) throw fail(`option ${n} value is not a Uint8Array`, 'field');
    if (o.value.length > MAX_OPTION_VALUE_LENGTH) throw fail(`option ${n} value of ${o.value.length} bytes (max ${MAX_OPTION_VALUE_LENGTH})`, 'option');
    length += 1 + extLength(n - prev) + extLength(o.value.length) + o.value.length;
    prev = n;
  }
  let out: Buffer;
  try {
    out = generate(
      {
        // always the "c.dd" string: coap-packet maps a falsy code (0) to 0.01, and decides "Empty" by this string
        code: codeText(code),
        messageId,
        token: asBuffer(token),
        // numeric names are accepted by generate(); it sorts stably by number (already in order)
        options: options.map((o) => ({ name: o.number, value: asBuffer(o.value) })),
        payload: asBuffer(payload),
        confirmable: type === 0,
        ack: type === 2,
        reset: type === 3,
      },
      Number.MAX_SAFE_INTEGER, // default limit is 1280
    );
  } catch (e) {
    throw fail(`coap-packet generate() threw ${e instanceof Error ? e.message : String(e)}`, 'internal');
  }
  if (out.length !== length) throw fail(`coap-packet generate() wrote ${out.length} bytes, expected ${length}`, 'internal');
  return asView(out);
}

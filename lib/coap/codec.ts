/**
 * CoAP over UDP message codec (RFC 7252 §3): a strict validating single-pass decoder and a
 * single-pass encoder into one preallocated Uint8Array. Plain ECMAScript (no Buffer, no node:
 * imports), so the same engine runs on embedded runtimes such as QuickJS.
 *
 * coap-packet 1.1.1 is no longer used here (it needs Buffer, and its code string round trip,
 * option reordering and Buffer wrapping cost several microseconds a message). It stays a
 * devDependency: test/coap-codec-differential.test.ts compares both codecs on random valid
 * messages and pins the cases where coap-packet is wrong (it accepts truncated tokens and
 * option values, TKL 9-15, a payload marker followed by nothing, reserved code classes, option
 * numbers past 65535; it throws RangeError on some truncations; its generate() writes 13+ byte
 * tokens with an RFC 8974 TKL, turns a numeric code 0 into 0.01 and has a 1280-byte limit).
 *
 * The encoding is canonical: every datagram `decodeMessage` accepts re-encodes to the same
 * bytes (the delta/length extensions have exactly one form each, an empty payload has no
 * marker, an Empty message is exactly 4 bytes).
 *
 * Returned token/option/payload arrays are plain Uint8Array views into the decoded datagram
 * (no copy), also when the datagram is a Uint8Array subclass such as a Node Buffer.
 */
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
  /** encode only: the encoder wrote a different number of bytes than it computed (a codec bug, never a caller's or peer's fault) */
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
 * §2.1/§4, RFC 7967 §2, RFC 9175 §2.2). RFC 7252 §5.4.3: a value whose length is out of range is NOT a
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
  [252, [1, 40]], // Echo (RFC 9175)
  [258, [0, 1]], // No-Response
]);

/** Whether a value length is permitted for the option (true for options without a registered range). */
export function optionValueLengthOk(number: number, length: number): boolean {
  const r = OPTION_VALUE_LENGTHS.get(number);
  return r === undefined || (length >= r[0] && length <= r[1]);
}

const EMPTY = new Uint8Array(0);

/** RFC 7252 §12.1: classes 1, 6 and 7 are reserved. */
const reservedClass = (code: number) => {
  const c = code >> 5;
  return c === 1 || c === 6 || c === 7;
};

/** A plain Uint8Array view of `length` bytes of `d` at `start` (plain even when `d` is a subclass). */
const view = (d: Uint8Array, start: number, length: number) => new Uint8Array(d.buffer, d.byteOffset + start, length);

/**
 * Decodes one CoAP-over-UDP datagram: the strict RFC 7252 §3 format check and the field
 * extraction in one pass. Throws only CoapFormatError, whatever the input. Option semantics
 * (unknown critical options, value length ranges of §5.10, type/code combinations such as a
 * NON Empty message or an ACK carrying a request) are left to the message and request layers.
 */
export function decodeMessage(datagram: Uint8Array): CoapMessage {
  const d = datagram;
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
    return { type, code, messageId, token: view(d, 4, 0), options: [], payload: EMPTY };
  }
  let pos = 4 + tkl;
  if (pos > len) throw fail(`token of ${tkl} bytes runs past the end (${len - 4} bytes left)`, 'truncated');

  const options: CoapOption[] = [];
  let number = 0;
  let payload: Uint8Array = EMPTY;
  while (pos < len) {
    const b = d[pos]!;
    if (b === 0xff) {
      if (pos + 1 === len) throw fail('payload marker followed by an empty payload', 'payload-marker');
      payload = view(d, pos + 1, len - pos - 1);
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
    options.push({ number, value: view(d, pos, length) });
    pos += length;
  }
  return { type, code, messageId, token: view(d, 4, tkl), options, payload };
}

/** Bytes of a delta/length extension (RFC 7252 §3.1): none below 13, one below 269, else two. */
const extLength = (n: number) => (n < 13 ? 0 : n < 269 ? 1 : 2);
/** The 4-bit delta/length nibble for a value (13/14 announce a 1/2-byte extension). */
const nibble = (n: number) => (n < 13 ? n : n < 269 ? 13 : 14);

/**
 * The size {@link encodeMessage} would produce for a message with this token length, these
 * options (in any order: sorted here when they are not) and a payload of this length, without
 * encoding it: 4 + TKL + each option's header, extensions and value + (0xFF + payload).
 */
export function encodedSize(tokenLength: number, options: readonly CoapOption[], payloadLength: number): number {
  let sorted = options;
  for (let i = 1; i < options.length; i++) {
    if (options[i]!.number < options[i - 1]!.number) {
      sorted = [...options].sort((a, b) => a.number - b.number);
      break;
    }
  }
  let size = 4 + tokenLength + (payloadLength > 0 ? 1 + payloadLength : 0);
  let prev = 0;
  for (let i = 0; i < sorted.length; i++) {
    const o = sorted[i]!;
    const vl = o.value.length;
    size += 1 + extLength(o.number - prev) + extLength(vl) + vl;
    prev = o.number;
  }
  return size;
}

/** Copies `src` into `out` at `pos` (a byte loop for the short values of the hot path, set() otherwise). */
function put(out: Uint8Array, pos: number, src: Uint8Array): void {
  const n = src.length;
  if (n > 16) out.set(src, pos);
  else for (let i = 0; i < n; i++) out[pos + i] = src[i]!;
}

/**
 * Encodes a message (RFC 7252 §3) into one exactly-sized Uint8Array. Validates first and
 * throws CoapFormatError on: token longer than 8 bytes, options not in ascending order (the
 * encoder never reorders; callers sort, see endpoint.ts `sortOptions`) or numbers outside
 * 0..65535, a value longer than 65804 bytes (the wire format's limit; the per-option ranges
 * of §5.10 are the caller's business, see {@link optionValueLengthOk}), messageId outside
 * 0..65535, type outside 0..3, code outside 0..255 or of a reserved class (1, 6, 7), an Empty
 * message (0.00) with a token, options or payload, or a token/value/payload that is not a
 * Uint8Array. Repeated options keep their order. No limit on the total size (the transport's).
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
  const tkl = token.length;
  if (tkl > MAX_TOKEN_LENGTH) throw fail(`token of ${tkl} bytes (max 8)`, 'token-length');
  if (!(payload instanceof Uint8Array)) throw fail('payload is not a Uint8Array', 'field');
  if (!Array.isArray(options)) throw fail('options is not an array', 'field');
  const optionCount = options.length;
  const payloadLength = payload.length;
  if (code === 0 && (tkl !== 0 || optionCount !== 0 || payloadLength !== 0)) {
    throw fail('Empty message (0.00) must have no token, options or payload', 'empty-message');
  }

  // pass 1: validate the options and compute the exact size
  let size = 4 + tkl + (payloadLength > 0 ? 1 + payloadLength : 0);
  let prev = 0;
  for (let i = 0; i < optionCount; i++) {
    const o = options[i];
    const n: unknown = o?.number;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffff) throw fail(`option number ${String(n)} is not 0..65535`, 'option');
    if (n < prev) throw fail(`option ${n} after option ${prev}: options must be in ascending order`, 'option');
    const value: unknown = o!.value;
    if (!(value instanceof Uint8Array)) throw fail(`option ${n} value is not a Uint8Array`, 'field');
    const vl = value.length;
    if (vl > MAX_OPTION_VALUE_LENGTH) throw fail(`option ${n} value of ${vl} bytes (max ${MAX_OPTION_VALUE_LENGTH})`, 'option');
    size += 1 + extLength(n - prev) + extLength(vl) + vl;
    prev = n;
  }

  // pass 2: write
  const out = new Uint8Array(size);
  out[0] = 0x40 | (type << 4) | tkl;
  out[1] = code;
  out[2] = messageId >> 8;
  out[3] = messageId & 0xff;
  put(out, 4, token);
  let pos = 4 + tkl;
  prev = 0;
  for (let i = 0; i < optionCount; i++) {
    const o = options[i]!;
    const n = o.number;
    const value = o.value;
    const delta = n - prev;
    const vl = value.length;
    out[pos++] = (nibble(delta) << 4) | nibble(vl);
    if (delta >= 269) {
      out[pos++] = (delta - 269) >> 8;
      out[pos++] = (delta - 269) & 0xff;
    } else if (delta >= 13) out[pos++] = delta - 13;
    if (vl >= 269) {
      out[pos++] = (vl - 269) >> 8;
      out[pos++] = (vl - 269) & 0xff;
    } else if (vl >= 13) out[pos++] = vl - 13;
    put(out, pos, value);
    pos += vl;
    prev = n;
  }
  if (payloadLength > 0) {
    out[pos++] = 0xff;
    put(out, pos, payload);
    pos += payloadLength;
  }
  if (pos !== size) throw fail(`encoder wrote ${pos} bytes, computed ${size}`, 'internal');
  return out;
}

/**
 * A CoAP message (RFC 7252 §3):
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Ver| T |  TKL  |      Code     |          Message ID           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Token (if any, TKL bytes) ...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Options (if any) ...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |1 1 1 1 1 1 1 1|    Payload (if any) ...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * Options are kept in wire order (ascending number; repeated options in their order).
 */
export const MessageType = { CON: 0, NON: 1, ACK: 2, RST: 3 } as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export interface CoapOption {
  number: number;
  value: Uint8Array;
}

export interface CoapMessage {
  type: MessageType;
  /** class << 5 | detail, e.g. 0x01 GET, 0x45 2.05 Content. */
  code: number;
  messageId: number;
  /** 0..8 bytes. */
  token: Uint8Array;
  options: CoapOption[];
  payload: Uint8Array;
}

/** Method and response codes (RFC 7252 §12.1, RFC 7959, RFC 8132). */
export const Code = {
  EMPTY: 0x00,
  GET: 0x01,
  POST: 0x02,
  PUT: 0x03,
  DELETE: 0x04,
  FETCH: 0x05,
  PATCH: 0x06,
  IPATCH: 0x07,
  Created: 0x41,
  Deleted: 0x42,
  Valid: 0x43,
  Changed: 0x44,
  Content: 0x45,
  Continue: 0x5f,
  BadRequest: 0x80,
  Unauthorized: 0x81,
  BadOption: 0x82,
  Forbidden: 0x83,
  NotFound: 0x84,
  MethodNotAllowed: 0x85,
  NotAcceptable: 0x86,
  RequestEntityIncomplete: 0x88,
  PreconditionFailed: 0x8c,
  RequestEntityTooLarge: 0x8d,
  UnsupportedContentFormat: 0x8f,
  InternalServerError: 0xa0,
  NotImplemented: 0xa1,
  BadGateway: 0xa2,
  ServiceUnavailable: 0xa3,
  GatewayTimeout: 0xa4,
  ProxyingNotSupported: 0xa5,
} as const;

/** "2.05" style text of a code. */
export function codeText(code: number): string {
  return `${code >> 5}.${String(code & 0x1f).padStart(2, '0')}`;
}

export const isRequestCode = (code: number) => code >= 1 && code <= 31;
export const isResponseCode = (code: number) => code >= 64 && code <= 191;
export const isEmptyCode = (code: number) => code === 0;

/** Option numbers (RFC 7252 §5.10, RFC 7641, RFC 7959, RFC 7967, RFC 9175 Echo; RFC 8613 not included). */
export const OptionNumber = {
  IfMatch: 1,
  UriHost: 3,
  ETag: 4,
  IfNoneMatch: 5,
  Observe: 6,
  UriPort: 7,
  LocationPath: 8,
  UriPath: 11,
  ContentFormat: 12,
  MaxAge: 14,
  UriQuery: 15,
  Accept: 17,
  LocationQuery: 20,
  Block2: 23,
  Block1: 27,
  Size2: 28,
  ProxyUri: 35,
  ProxyScheme: 39,
  Size1: 60,
  /** RFC 9175 §2.2: elective, safe to forward, no cache key; opaque, 1-40 bytes. */
  Echo: 252,
  NoResponse: 258,
} as const;

/** RFC 7252 §5.4.1: odd option numbers are critical. */
export const isCritical = (n: number) => (n & 1) === 1;
/** RFC 7252 §5.4.2: bit 1 set means unsafe to forward. */
export const isUnsafe = (n: number) => (n & 2) === 2;

export function getOption(m: CoapMessage, n: number): Uint8Array | undefined {
  for (const o of m.options) if (o.number === n) return o.value;
  return undefined;
}

export function getOptions(m: CoapMessage, n: number): Uint8Array[] {
  return m.options.filter((o) => o.number === n).map((o) => o.value);
}

/** Minimal big-endian unsigned encoding (RFC 7252 §3.2 uint): 0 is the empty string. */
export function encodeUint(v: number): Uint8Array {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`uint option value ${v} out of range`);
  if (v === 0) return new Uint8Array(0);
  const bytes: number[] = [];
  for (let x = v; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
  return new Uint8Array(bytes);
}

export function decodeUint(b: Uint8Array): number {
  let v = 0;
  for (const x of b) v = v * 256 + x;
  return v;
}

/** Inserts an option keeping ascending number order (stable for repeats). */
export function withOption(m: CoapMessage, number: number, value: Uint8Array): CoapMessage {
  const options = [...m.options];
  let i = options.length;
  while (i > 0 && options[i - 1]!.number > number) i--;
  options.splice(i, 0, { number, value });
  return { ...m, options };
}

/** Replaces every occurrence of an option (or removes it when value is undefined). */
export function setOption(m: CoapMessage, number: number, value: Uint8Array | undefined): CoapMessage {
  const stripped = { ...m, options: m.options.filter((o) => o.number !== number) };
  return value === undefined ? stripped : withOption(stripped, number, value);
}

/**
 * CoAP message codec (lib/coap/codec.ts): the vectors (lwm2m-vectors/coap_messages.json), hand-made
 * byte vectors both ways, the coap-packet 1.1.1 divergences, and properties: no input makes
 * decodeMessage throw anything but CoapFormatError, valid messages round-trip, and every
 * accepted datagram re-encodes to the same bytes (the format is canonical).
 */
import fc from 'fast-check';
import { parse as coapPacketParse } from 'coap-packet';
import { describe, expect, it } from 'vitest';
import { concat, fromHex, toHex, utf8 } from '../lib/bytes/util.js';
import {
  CoapFormatError,
  type CoapFormatErrorKind,
  decodeMessage,
  encodeMessage,
  MAX_OPTION_VALUE_LENGTH,
  optionValueLengthOk,
  peekHeader,
  resetForFormatError,
} from '../lib/coap/codec.js';
import { ContentFormat, contentFormatFromName, contentFormatName, decodeContentFormat, encodeContentFormat } from '../lib/coap/content-format.js';
import { Code, codeText, decodeUint, getOption, getOptions, isCritical, MessageType, OptionNumber, type CoapMessage, type CoapOption } from '../lib/coap/message.js';
import { readFixtureJson } from './helpers/fixtures.js';
import { optionsByDeltaArb } from './helpers/coap.js';

// ---------------------------------------------------------------------------------------------
// helpers

const EMPTY = new Uint8Array(0);
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

/** Plain, comparable form of a message (Uint8Array subclasses and views compare as hex). */
function plain(m: CoapMessage) {
  return {
    type: m.type,
    code: m.code,
    messageId: m.messageId,
    token: toHex(m.token),
    options: m.options.map((o) => [o.number, toHex(o.value)] as const),
    payload: toHex(m.payload),
  };
}

function formatError(bytes: Uint8Array): CoapFormatError {
  try {
    decodeMessage(bytes);
  } catch (e) {
    if (e instanceof CoapFormatError) return e;
    throw new Error(`decodeMessage threw a non-CoapFormatError: ${String(e)}`);
  }
  throw new Error(`decodeMessage accepted ${toHex(bytes).slice(0, 80)}`);
}

/** decodeMessage may only return a message or throw CoapFormatError; an accepted datagram re-encodes to itself. */
function decodeOrFormatError(bytes: Uint8Array): CoapMessage | CoapFormatError {
  let m: CoapMessage;
  try {
    m = decodeMessage(bytes);
  } catch (e) {
    if (e instanceof CoapFormatError) {
      if (e.kind === 'internal') throw new Error(`internal disagreement on ${toHex(bytes)}: ${e.message}`);
      const h = peekHeader(bytes);
      if (h) {
        expect(e.messageId).toBe(h.messageId);
        expect(e.type).toBe(h.type);
      } else {
        expect(e.messageId).toBeUndefined();
      }
      return e;
    }
    throw e;
  }
  expect(toHex(encodeMessage(m))).toBe(toHex(bytes));
  return m;
}

/** An independent RFC 7252 §3 encoder (no validation) to compare coap-packet's output with. */
function referenceEncode(m: CoapMessage): Uint8Array {
  const out: number[] = [(1 << 6) | (m.type << 4) | m.token.length, m.code, m.messageId >> 8, m.messageId & 0xff, ...m.token];
  const ext = (n: number): [number, number[]] => (n < 13 ? [n, []] : n < 269 ? [13, [n - 13]] : [14, [(n - 269) >> 8, (n - 269) & 0xff]]);
  let prev = 0;
  for (const o of m.options) {
    const [dn, dx] = ext(o.number - prev);
    const [ln, lx] = ext(o.value.length);
    out.push((dn << 4) | ln, ...dx, ...lx);
    for (const b of o.value) out.push(b);
    prev = o.number;
  }
  if (m.payload.length > 0) {
    out.push(0xff);
    for (const b of m.payload) out.push(b);
  }
  return new Uint8Array(out);
}

// ---------------------------------------------------------------------------------------------
// the vectors (test/fixtures/lwm2m-vectors/coap_messages.json)

interface CoapPacketResult {
  ok: boolean;
  error?: string;
  code?: string;
  confirmable?: boolean;
  ack?: boolean;
  reset?: boolean;
  messageId?: number;
  token?: string;
  options?: { name: string; value: string }[];
  payload_length?: number;
}
interface MessageVector {
  id: string;
  hex: string;
  length: number;
  hex_note?: string;
  wakaama_expected_result?: string;
  rfc_7252_expectation?: string;
  expected?: string;
  description?: string;
  other_asserts?: string[];
  coap_packet_1_1_1_result: CoapPacketResult;
}
const VECTORS = readFixtureJson<{
  messages: MessageVector[];
}>('lwm2m-vectors/coap_messages.json');

/** The datagram of a vector: `hex`, zero-padded to `length` when only a prefix is given (payload_max). */
function vectorBytes(v: MessageVector): Uint8Array {
  const prefix = fromHex(v.hex);
  if (prefix.length === v.length) return prefix;
  expect(v.hex_note).toBeDefined();
  const out = new Uint8Array(v.length);
  out.set(prefix);
  return out;
}

/**
 * What the codec must do with each vector: a format error of the given kind, or decode (then
 * `check` turns the vector's other_asserts / description into assertions). Messages that are
 * well-formed but must be rejected above the codec say so: RFC 7252 §5.4.1 (unrecognised
 * critical option -> 4.02) and §5.4.3 (a value length outside the option's range -> treat as
 * an unrecognised option) are the request layer's, not format errors.
 */
type Outcome = { error: CoapFormatErrorKind } | { valid: (m: CoapMessage, bytes: Uint8Array) => void };
const ok = (check: (m: CoapMessage, bytes: Uint8Array) => void = () => {}): Outcome => ({ valid: check });
const OUTCOMES: Record<string, Outcome> = {
  'wakaama-test_regression_bugzilla_577968_1': { error: 'truncated' },
  'wakaama-test_regression_bugzilla_577968_2': ok((m) => {
    expect(m.code).toBe(Code.POST); // code 0x02 (the vector's field comment says PUT; 0.03 would be PUT)
    expect(m.options).toEqual([{ number: 40, value: EMPTY }]);
    expect(isCritical(40)).toBe(false); // elective: the request layer ignores it
    expect(toHex(m.payload)).toBe('aa');
  }),
  'wakaama-test_empty_message': ok((m) => expect(plain(m)).toEqual({ type: 0, code: 0, messageId: 0, token: '', options: [], payload: '' })),
  'wakaama-test_empty_message_with_token': { error: 'empty-message' },
  'wakaama-test_empty_message_with_superfluous_data': { error: 'empty-message' },
  'wakaama-test_field_version_0': { error: 'version' },
  'wakaama-test_field_version_1': ok((_m, b) => expect(peekHeader(b)?.version).toBe(1)),
  'wakaama-test_field_version_2': { error: 'version' },
  'wakaama-test_field_version_3': { error: 'version' },
  'wakaama-test_field_type_confirmable': ok((m) => expect(m.type).toBe(MessageType.CON)),
  'wakaama-test_field_type_non_confirmable': ok((m) => expect(m.type).toBe(MessageType.NON)),
  'wakaama-test_field_type_acknowledgement': ok((m) => expect(m.type).toBe(MessageType.ACK)),
  'wakaama-test_field_type_reset': ok((m) => expect(m.type).toBe(MessageType.RST)),
  'wakaama-test_field_token_length_min': ok((m) => expect(m.token.length).toBe(0)),
  'wakaama-test_field_token_length_max': ok((m) => {
    expect(m.token.length).toBe(8);
    expect(toHex(m.token)).toBe('1122334455667788');
  }),
  'wakaama-test_field_token_length_reserved': { error: 'token-length' },
  'wakaama-test_payload_min': ok((m, b) => {
    expect(m.payload.length).toBe(1);
    expect(m.payload.byteOffset - b.byteOffset).toBe(6); // a view at data + 6
    expect(m.payload.buffer).toBe(b.buffer);
  }),
  'wakaama-test_payload_max': ok((m) => expect(m.payload.length).toBe(65529)),
  'wakaama-test_option_format_reserved_delta': { error: 'option' },
  'wakaama-test_option_format_reserved_length': { error: 'option' },
  'wakaama-test_option_format_if_none_match': ok((m) => expect(getOption(m, OptionNumber.IfNoneMatch)).toEqual(EMPTY)),
  'wakaama-test_option_format_unsupported_critical': ok((m) => {
    // decodes; RFC 7252 §5.4.1: Proxy-Scheme is critical, a non-proxy answers a CON request with 4.02
    expect(m.options.map((o) => o.number)).toEqual([OptionNumber.ProxyScheme]);
    expect(isCritical(OptionNumber.ProxyScheme)).toBe(true);
    expect(text(getOption(m, OptionNumber.ProxyScheme))).toBe('X');
  }),
  'wakaama-test_option_format_content_format_null': ok((m) => {
    const v = getOption(m, OptionNumber.ContentFormat)!;
    expect(v.length).toBe(0);
    expect(decodeContentFormat(v)).toBe(ContentFormat.TextPlain);
    expect(m.code).toBe(Code.Forbidden);
    expect(m.messageId).toBe(0xc3f8);
  }),
  'wakaama-test_option_format_content_format_non_null': ok((m) => expect(decodeContentFormat(getOption(m, OptionNumber.ContentFormat)!)).toBe(0xfde8)),
  'wakaama-test_option_format_content_format_invalid': ok((m) => {
    // well-formed; RFC 7252 §5.4.3: a 3-byte Content-Format is treated as an unrecognised (elective) option
    const v = getOption(m, OptionNumber.ContentFormat)!;
    expect(v.length).toBe(3);
    expect(optionValueLengthOk(OptionNumber.ContentFormat, v.length)).toBe(false);
    expect(decodeContentFormat(v)).toBeUndefined();
  }),
  'wakaama-test_option_format_unsupported_elective': ok((m, b) => {
    expect(m.options).toEqual([{ number: OptionNumber.Size1, value: EMPTY }]);
    expect(m.payload.byteOffset - b.byteOffset).toBe(7);
  }),
  'wakaama-test_option_format_uri': ok((m) => {
    expect(text(getOption(m, OptionNumber.UriHost))).toBe('example.com');
    expect(decodeUint(getOption(m, OptionNumber.UriPort)!)).toBe(0x1122);
    expect(getOptions(m, OptionNumber.UriPath).map(text)).toEqual(['path']);
    expect(getOptions(m, OptionNumber.UriQuery).map(text)).toEqual(['A=1', 'Z=26']);
  }),
  'ncoap-tkl1-no-token-bytes': { error: 'empty-message' }, // code 0.00 with TKL 1 (and no byte for it)
  'ncoap-tkl8-6-bytes': { error: 'truncated' },
  'registration-request-wakaama-inputs': ok((m) => {
    expect(m.type).toBe(MessageType.CON);
    expect(m.code).toBe(Code.POST);
    expect(m.messageId).toBe(0xbeef);
    expect(text(m.token)).toBe('token');
    expect(getOptions(m, OptionNumber.UriPath).map(text)).toEqual(['rd']);
    expect(getOptions(m, OptionNumber.UriQuery).map(text)).toEqual(['b=U', 'lwm2m=1.1', 'lt=300', 'ep=dummy-client']);
    expect(decodeContentFormat(getOption(m, OptionNumber.ContentFormat)!)).toBe(ContentFormat.LinkFormat);
    expect(text(m.payload)).toBe('</1/0>,</3/0>;ver=1.2');
  }),
};

/** Option numbers of coap-packet's names in the vectors ("Uri-Host" -> OptionNumber.UriHost; numeric strings). */
function vectorOptionNumber(name: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  const n = (OptionNumber as Record<string, number>)[name.replace(/-/g, '')];
  if (n === undefined) throw new Error(`unknown option name ${name}`);
  return n;
}

describe('coap_messages.json vectors', () => {
  it('every vector has an expected outcome, consistent with the vector text', () => {
    expect(VECTORS.messages.length).toBe(30);
    for (const v of VECTORS.messages) {
      const o = OUTCOMES[v.id];
      expect(o, v.id).toBeDefined();
      const said = `${v.rfc_7252_expectation ?? ''} ${v.expected ?? ''}`;
      if (/format error/i.test(said)) expect('error' in o!, v.id).toBe(true);
      if (v.wakaama_expected_result === 'NO_ERROR') expect('valid' in o!, v.id).toBe(true);
    }
    expect(Object.keys(OUTCOMES).length).toBe(VECTORS.messages.length);
  });

  it('the installed coap-packet still behaves as recorded in coap_packet_1_1_1_result', () => {
    for (const v of VECTORS.messages) {
      const r = v.coap_packet_1_1_1_result;
      const bytes = Buffer.from(vectorBytes(v));
      if (!r.ok) {
        let err: unknown;
        try {
          coapPacketParse(bytes);
        } catch (e) {
          err = e;
        }
        expect(err instanceof Error ? `${err.name}: ${err.message}` : 'no error', v.id).toBe(r.error);
        continue;
      }
      const p = coapPacketParse(bytes);
      expect(
        {
          code: p.code,
          confirmable: p.confirmable,
          ack: p.ack,
          reset: p.reset,
          messageId: p.messageId,
          token: toHex(p.token),
          options: p.options.map((o) => ({ name: String(o.name), value: toHex(o.value) })),
          payload_length: p.payload.length,
        },
        v.id,
      ).toEqual({ ...r, ok: undefined });
    }
  });

  for (const v of VECTORS.messages) {
    const outcome = OUTCOMES[v.id];
    it(`${v.id}: ${outcome && 'error' in outcome ? `format error (${outcome.error})` : 'decodes, re-encodes to the same bytes'}`, () => {
      const bytes = vectorBytes(v);
      if (!outcome) throw new Error(`no outcome for ${v.id}`);
      if ('error' in outcome) {
        const e = formatError(bytes);
        expect(e.kind).toBe(outcome.error);
        expect(e.name).toBe('CoapFormatError');
        const h = peekHeader(bytes);
        if (bytes.length >= 4) {
          expect(h).toBeDefined();
          expect(e.messageId).toBe(h!.messageId);
          expect(e.type).toBe(h!.type);
        } else {
          expect(h).toBeUndefined();
          expect(e.messageId).toBeUndefined();
          expect(e.type).toBeUndefined();
        }
        return;
      }
      const m = decodeMessage(bytes);
      // the fields coap-packet recorded (it agrees with the RFC on the valid vectors)
      const r = v.coap_packet_1_1_1_result;
      expect(r.ok).toBe(true);
      expect(codeText(m.code)).toBe(r.code);
      expect(m.type).toBe(r.confirmable ? MessageType.CON : r.ack ? MessageType.ACK : r.reset ? MessageType.RST : MessageType.NON);
      expect(m.messageId).toBe(r.messageId);
      expect(toHex(m.token)).toBe(r.token);
      expect(m.options.map((o) => [o.number, toHex(o.value)])).toEqual(r.options!.map((o) => [vectorOptionNumber(o.name), o.value]));
      expect(m.payload.length).toBe(r.payload_length);
      outcome.valid(m, bytes);
      // canonical: re-encodes to the same bytes
      const again = encodeMessage(m);
      expect(again.length).toBe(bytes.length);
      expect(toHex(again)).toBe(toHex(bytes));
    });
  }
});

// ---------------------------------------------------------------------------------------------
// hand-made byte vectors, both ways

function msg(p: Partial<CoapMessage> & Pick<CoapMessage, 'type' | 'code' | 'messageId'>): CoapMessage {
  return { token: EMPTY, options: [], payload: EMPTY, ...p };
}
const opt = (number: number, value: Uint8Array | string): CoapOption => ({ number, value: typeof value === 'string' ? utf8(value) : value });
const filled = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

const HAND: { name: string; m: CoapMessage; hex: string }[] = [
  {
    name: 'CON GET /temp?a=1, token ab',
    m: msg({ type: MessageType.CON, code: Code.GET, messageId: 0x1234, token: Uint8Array.of(0xab), options: [opt(11, 'temp'), opt(15, 'a=1')] }),
    hex: '41011234ab' + 'b4' + '74656d70' + '43' + '613d31',
  },
  {
    name: 'ACK 2.05 Content-Format json, payload {}',
    m: msg({ type: MessageType.ACK, code: Code.Content, messageId: 0x1234, token: Uint8Array.of(0xab), options: [opt(12, Uint8Array.of(50))], payload: utf8('{}') }),
    hex: '61451234ab' + 'c132' + 'ff7b7d',
  },
  { name: 'empty ACK', m: msg({ type: MessageType.ACK, code: 0, messageId: 0xbeef }), hex: '6000beef' },
  { name: 'RST', m: msg({ type: MessageType.RST, code: 0, messageId: 1 }), hex: '70000001' },
  { name: 'CON ping (empty CON)', m: msg({ type: MessageType.CON, code: 0, messageId: 0xffff }), hex: '4000ffff' },
  {
    name: '8-byte token',
    m: msg({ type: MessageType.CON, code: Code.GET, messageId: 7, token: fromHex('0102030405060708') }),
    hex: '480100070102030405060708',
  },
  {
    name: 'delta 60 (13-extension) Size1 1024',
    m: msg({ type: MessageType.NON, code: Code.POST, messageId: 1, options: [opt(60, Uint8Array.of(4, 0))] }),
    hex: '50020001' + 'd22f0400',
  },
  {
    name: 'No-Response 258 (13-ext delta 245) then 2049 (14-ext delta 1791)',
    m: msg({ type: MessageType.CON, code: Code.GET, messageId: 2, options: [opt(258, Uint8Array.of(0x1a)), opt(2049, EMPTY)] }),
    hex: '40010002' + 'd1f51a' + 'e005f2',
  },
  { name: 'option 65535 (14-ext delta 65266)', m: msg({ type: MessageType.CON, code: Code.GET, messageId: 3, options: [opt(65535, EMPTY)] }), hex: '40010003' + 'e0fef2' },
  {
    name: 'deltas at the boundaries 12, 13, 268, 269',
    m: msg({ type: MessageType.CON, code: Code.GET, messageId: 4, options: [opt(12, EMPTY), opt(25, EMPTY), opt(293, EMPTY), opt(562, EMPTY)] }),
    // 12 -> c0; +13 -> d0 00; +268 -> d0 ff; +269 -> e0 00 00
    hex: '40010004' + 'c0' + 'd000' + 'd0ff' + 'e00000',
  },
  {
    name: 'value lengths 12, 13 (13-ext), 268, 269 (14-ext) on repeated Uri-Path',
    m: msg({ type: MessageType.CON, code: Code.PUT, messageId: 5, options: [opt(11, filled(12)), opt(11, filled(13, 1)), opt(11, filled(268, 2)), opt(11, filled(269, 3))] }),
    hex:
      '40030005' +
      'bc' + toHex(filled(12)) +
      '0d00' + toHex(filled(13, 1)) +
      '0dff' + toHex(filled(268, 2)) +
      '0e0000' + toHex(filled(269, 3)),
  },
  {
    name: '269-byte Proxy-Uri (13-ext delta 35, 14-ext length) and a payload',
    m: msg({ type: MessageType.CON, code: Code.GET, messageId: 6, token: Uint8Array.of(1, 2), options: [opt(35, filled(269, 9))], payload: Uint8Array.of(0) }),
    hex: '42010006' + '0102' + 'de160000' + toHex(filled(269, 9)) + 'ff00',
  },
  {
    name: 'option 0 (reserved number, still well-formed) and a 1034-byte value',
    m: msg({ type: MessageType.NON, code: Code.Content, messageId: 8, options: [opt(0, EMPTY), opt(35, filled(1034))] }),
    // 1034 - 269 = 765 = 0x02fd
    hex: '50450008' + '00' + 'de1602fd' + toHex(filled(1034)),
  },
];

describe('hand-made byte vectors', () => {
  for (const h of HAND) {
    it(h.name, () => {
      const bytes = fromHex(h.hex);
      expect(toHex(encodeMessage(h.m))).toBe(h.hex);
      expect(toHex(referenceEncode(h.m))).toBe(h.hex);
      expect(plain(decodeMessage(bytes))).toEqual(plain(h.m));
    });
  }

  it('returns plain Uint8Array views into the datagram', () => {
    const bytes = fromHex(HAND[1]!.hex);
    const m = decodeMessage(bytes);
    for (const b of [m.token, m.payload, ...m.options.map((o) => o.value)]) {
      expect(Object.getPrototypeOf(b)).toBe(Uint8Array.prototype);
      expect(b.buffer).toBe(bytes.buffer);
    }
    const out = encodeMessage(m);
    expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype);
  });

  it('decodes a pooled Node Buffer', () => {
    const pooled = Buffer.from(HAND[1]!.hex, 'hex');
    expect(plain(decodeMessage(pooled))).toEqual(plain(HAND[1]!.m));
  });

  it('decodes from a view at an offset of a larger buffer', () => {
    const inner = fromHex(HAND[0]!.hex);
    const big = concat(Uint8Array.of(9, 9, 9), inner, Uint8Array.of(7, 7));
    const view = big.subarray(3, 3 + inner.length);
    expect(plain(decodeMessage(view))).toEqual(plain(HAND[0]!.m));
  });

  it('a 65535-byte option value near the datagram limit round-trips', () => {
    const m = msg({ type: MessageType.NON, code: Code.Content, messageId: 9, options: [opt(2053, filled(60000))], payload: filled(100) });
    const bytes = encodeMessage(m);
    expect(toHex(bytes)).toBe(toHex(referenceEncode(m)));
    expect(plain(decodeMessage(bytes))).toEqual(plain(m));
  });
});

// ---------------------------------------------------------------------------------------------
// decode: coap-packet divergences and the other format errors

describe('format errors (coap-packet 1.1.1 accepts or crashes on these)', () => {
  const cases: [string, string, CoapFormatErrorKind][] = [
    ['empty datagram', '', 'truncated'],
    ['3 bytes', '400100', 'truncated'],
    ['TKL 9', '490100001122334455667788ff', 'token-length'],
    ['TKL 12', '4c010000' + '00'.repeat(12), 'token-length'],
    ['TKL 13 (coap-packet: RFC 8974 extended token)', '4d01000000' + '00'.repeat(13), 'token-length'],
    ['TKL 15', '4f010000', 'token-length'],
    ['token truncated (coap-packet slices short)', '4401000011', 'truncated'],
    ['payload marker with no payload (coap-packet: empty payload)', '40010000ff', 'payload-marker'],
    ['payload marker with no payload after options', '40010000b161ff', 'payload-marker'],
    ['option value truncated (coap-packet slices short)', '40010000b36162', 'truncated'],
    ['option delta extension missing (coap-packet: RangeError)', '40010000d0', 'truncated'],
    ['option 14-ext delta half missing (coap-packet: RangeError)', '40010000e001', 'truncated'],
    ['option length extension missing', '400100000d', 'truncated'],
    ['option 14-ext length half missing', '400100001e00', 'truncated'],
    ['reserved delta 15 with length 0', '40010000f0', 'option'],
    ['reserved length 15', '400100001f', 'option'],
    ['option number 65804 (single 14-ext delta ffff)', '40010000e0ffff', 'option'],
    ['option number 65536 (65535 + 1)', '40010000e0fef210', 'option'],
    ['class 1 code 1.00', '40200000', 'code'],
    ['class 6 code 6.00', '40c00000', 'code'],
    ['class 7 code 7.01 (RFC 8323 signalling is TCP-only)', '40e10000', 'code'],
    ['Empty message with an option', '40000000b0', 'empty-message'],
    ['Empty message with TKL 8 and a token', '48000000' + '11'.repeat(8), 'empty-message'],
    ['version 2 (silently ignored, never RST)', '80010000', 'version'],
  ];
  for (const [name, hex, kind] of cases) {
    it(name, () => {
      const bytes = fromHex(hex);
      const e = formatError(bytes);
      expect(e.kind).toBe(kind);
      if (bytes.length >= 4) expect(e.messageId).toBe(peekHeader(bytes)!.messageId);
    });
  }

  it('carries the header fields for the RST of a malformed CON (RFC 7252 §4.2), not for other types or versions', () => {
    const con = formatError(fromHex('4401abcd11'));
    expect([con.messageId, con.type]).toEqual([0xabcd, MessageType.CON]);
    expect(resetForFormatError(con)).toEqual({ type: MessageType.RST, code: 0, messageId: 0xabcd, token: EMPTY, options: [], payload: EMPTY });
    expect(toHex(encodeMessage(resetForFormatError(con)!))).toBe('7000abcd');
    expect(resetForFormatError(formatError(fromHex('5401abcd11')))).toBeUndefined(); // NON: ignore
    expect(resetForFormatError(formatError(fromHex('6401abcd11')))).toBeUndefined(); // ACK: ignore
    expect(resetForFormatError(formatError(fromHex('0001abcd')))).toBeUndefined(); // version 0: ignore
    expect(resetForFormatError(formatError(fromHex('40')))).toBeUndefined(); // no header
  });

  it('peekHeader', () => {
    expect(peekHeader(fromHex('400100'))).toBeUndefined();
    expect(peekHeader(fromHex('7d45beef'))).toEqual({ version: 1, type: 3, code: 0x45, messageId: 0xbeef, tokenLength: 13 });
    expect(peekHeader(fromHex('c0000001'))).toEqual({ version: 3, type: 0, code: 0, messageId: 1, tokenLength: 0 });
  });

  it('maps option numbers back from coap-packet names (every number to 2100, then a stride to 65535; encode and decode)', () => {
    const bytes = new Uint8Array(7);
    bytes.set([0x40, 0x01, 0x00, 0x00]);
    const numbers = [...Array(2101).keys()];
    for (let n = 2101; n < 0xffff; n += 97) numbers.push(n);
    numbers.push(0xffff);
    for (const n of numbers) {
      // single empty option n, written by hand
      let len = 5;
      if (n < 13) bytes[4] = n << 4;
      else if (n < 269) {
        bytes[4] = 0xd0;
        bytes[5] = n - 13;
        len = 6;
      } else {
        bytes[4] = 0xe0;
        bytes[5] = (n - 269) >> 8;
        bytes[6] = (n - 269) & 0xff;
        len = 7;
      }
      const d = bytes.subarray(0, len);
      const m = decodeMessage(d);
      if (m.options.length !== 1 || m.options[0]!.number !== n) throw new Error(`option ${n} decoded as ${JSON.stringify(m.options)}`);
      const e = encodeMessage(m);
      if (toHex(e) !== toHex(d)) throw new Error(`option ${n} re-encoded as ${toHex(e)}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// encode validation

describe('encodeMessage validation', () => {
  const base = msg({ type: MessageType.CON, code: Code.GET, messageId: 1 });
  const bad: [string, CoapMessage, CoapFormatErrorKind][] = [
    ['9-byte token', { ...base, token: new Uint8Array(9) }, 'token-length'],
    ['options out of order', { ...base, options: [opt(11, 'a'), opt(3, 'h')] }, 'option'],
    ['option number 65536', { ...base, options: [opt(65536, EMPTY)] }, 'option'],
    ['option number -1', { ...base, options: [opt(-1, EMPTY)] }, 'option'],
    ['option number 1.5', { ...base, options: [opt(1.5, EMPTY)] }, 'option'],
    ['option value of 65805 bytes', { ...base, options: [opt(35, new Uint8Array(MAX_OPTION_VALUE_LENGTH + 1))] }, 'option'],
    ['messageId 65536', { ...base, messageId: 65536 }, 'message-id'],
    ['messageId -1', { ...base, messageId: -1 }, 'message-id'],
    ['type 4', { ...base, type: 4 as MessageType }, 'type'],
    ['code 256', { ...base, code: 256 }, 'code'],
    ['code 1.00 (reserved class)', { ...base, code: 0x20 }, 'code'],
    ['code 7.01 (reserved class)', { ...base, code: 0xe1 }, 'code'],
    ['Empty with token', { ...base, code: 0, token: Uint8Array.of(1) }, 'empty-message'],
    ['Empty with option', { ...base, code: 0, options: [opt(11, 'a')] }, 'empty-message'],
    ['Empty with payload', { ...base, code: 0, payload: Uint8Array.of(1) }, 'empty-message'],
    ['payload not bytes', { ...base, payload: 'x' as unknown as Uint8Array }, 'field'],
    ['option value not bytes', { ...base, options: [{ number: 11, value: 'x' as unknown as Uint8Array }] }, 'field'],
  ];
  for (const [name, m, kind] of bad) {
    it(name, () => {
      let err: unknown;
      try {
        encodeMessage(m);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CoapFormatError);
      expect((err as CoapFormatError).kind).toBe(kind);
    });
  }

  it('accepts a 65804-byte option value (wire-format limit) and repeated options in insertion order', () => {
    const m = { ...base, options: [opt(11, 'b'), opt(11, 'a'), opt(35, new Uint8Array(MAX_OPTION_VALUE_LENGTH))] };
    const d = decodeMessage(encodeMessage(m));
    expect(d.options.map((o) => o.value.length)).toEqual([1, 1, MAX_OPTION_VALUE_LENGTH]);
    expect(d.options.slice(0, 2).map((o) => text(o.value))).toEqual(['b', 'a']);
  });

  it('does not touch the caller message', () => {
    const options = [opt(11, 'a'), opt(15, 'q')];
    const m = { ...base, options };
    encodeMessage(m);
    expect(m.options).toBe(options);
    expect(options.map((o) => o.number)).toEqual([11, 15]);
  });
});

// ---------------------------------------------------------------------------------------------
// content formats

describe('content formats', () => {
  it('registry numbers and names', () => {
    expect(ContentFormat).toEqual({
      TextPlain: 0,
      LinkFormat: 40,
      Xml: 41,
      OctetStream: 42,
      Exi: 47,
      Json: 50,
      Cbor: 60,
      SenmlJson: 110,
      SenmlCbor: 112,
      Lwm2mTlv: 11542,
      Lwm2mJson: 11543,
      Lwm2mCbor: 11544,
    });
    expect(contentFormatName(40)).toBe('application/link-format');
    expect(contentFormatName(11542)).toBe('application/vnd.oma.lwm2m+tlv');
    expect(contentFormatName(1)).toBeUndefined();
    expect(contentFormatFromName('text/plain; charset=utf-8')).toBe(0);
    expect(contentFormatFromName('text/plain')).toBe(0);
    expect(contentFormatFromName('Application/SenML+CBOR')).toBe(112);
    for (const n of Object.values(ContentFormat)) expect(contentFormatFromName(contentFormatName(n)!)).toBe(n);
    expect(toHex(encodeContentFormat(0))).toBe('');
    expect(toHex(encodeContentFormat(11543))).toBe('2d17');
    expect(decodeContentFormat(fromHex('2d17'))).toBe(11543);
    expect(decodeContentFormat(fromHex('00002d'))).toBeUndefined();
    expect(() => encodeContentFormat(65536)).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// properties

const arbToken = fc.uint8Array({ maxLength: 8 });
const arbValue = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 16 }) },
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 12, maxLength: 300 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 260, maxLength: 1100 }) },
);
const arbDelta = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 14 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 300 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 65535 }) },
);
const arbOptions = optionsByDeltaArb(arbDelta, arbValue, 8);
const validCodes = [...Array(256).keys()].filter((c) => ![1, 6, 7].includes(c >> 5) && c !== 0);
const arbMessage: fc.Arbitrary<CoapMessage> = fc.oneof(
  {
    weight: 9,
    arbitrary: fc.record({
      type: fc.constantFrom<MessageType>(0, 1, 2, 3),
      code: fc.constantFrom(...validCodes),
      messageId: fc.integer({ min: 0, max: 0xffff }),
      token: arbToken,
      options: arbOptions,
      payload: fc.oneof(fc.constant(EMPTY), fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 200, maxLength: 1200 })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constantFrom<MessageType>(0, 1, 2, 3),
      code: fc.constant(0),
      messageId: fc.integer({ min: 0, max: 0xffff }),
      token: fc.constant(EMPTY),
      options: fc.constant<CoapOption[]>([]),
      payload: fc.constant(EMPTY),
    }),
  },
);

describe('properties', () => {
  it('random bytes: a message (that re-encodes to the same bytes) or CoapFormatError, nothing else', () => {
    // version 1, mostly TKL 0..8 and non-reserved codes, so that a good share decodes
    const headerish = fc
      .tuple(
        fc.integer({ min: 0, max: 3 }),
        fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 8 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
        fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0x01, 0x02, 0x45, 0x84, 0xa0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
        fc.uint8Array({ maxLength: 40 }),
      )
      .map(([type, tkl, code, rest]) => concat(Uint8Array.of(0x40 | (type << 4) | tkl, code, 0x12, 0x34), rest));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 48 }), headerish), (bytes) => {
        decodeOrFormatError(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it('random valid message: encode matches an independent encoder, decode gives the message back', () => {
    fc.assert(
      fc.property(arbMessage, (m) => {
        const bytes = encodeMessage(m);
        expect(toHex(bytes)).toBe(toHex(referenceEncode(m)));
        expect(plain(decodeMessage(bytes))).toEqual(plain(m));
      }),
      { numRuns: 400 },
    );
  });

  it('mutated valid encodings (truncate, flip, insert, delete): a message or CoapFormatError', () => {
    const mutation = fc.oneof(
      fc.record({ op: fc.constant('truncate' as const), at: fc.nat(), bit: fc.constant(0), byte: fc.constant(0) }),
      fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }), byte: fc.constant(0) }),
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bit: fc.constant(0), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ op: fc.constant('delete' as const), at: fc.nat(), bit: fc.constant(0), byte: fc.constant(0) }),
      fc.record({ op: fc.constant('set' as const), at: fc.nat(), bit: fc.constant(0), byte: fc.constantFrom(0xff, 0xf0, 0x0f, 0xd0, 0xe0, 0x0d, 0x0e, 0xdd, 0xee) }),
    );
    fc.assert(
      fc.property(arbMessage, fc.array(mutation, { minLength: 1, maxLength: 3 }), (m, muts) => {
        let b = encodeMessage(m);
        for (const x of muts) {
          const at = b.length === 0 ? 0 : x.at % (b.length + (x.op === 'insert' ? 1 : 0));
          if (x.op === 'truncate') b = b.slice(0, at);
          else if (x.op === 'flip' && b.length > 0) {
            b = b.slice();
            b[at] = b[at]! ^ (1 << x.bit);
          }
          else if (x.op === 'set' && b.length > 0) (b = b.slice())[at] = x.byte;
          else if (x.op === 'insert') b = concat(b.subarray(0, at), Uint8Array.of(x.byte), b.subarray(at));
          else if (x.op === 'delete' && b.length > 0) b = concat(b.subarray(0, at), b.subarray(at + 1));
        }
        decodeOrFormatError(b);
      }),
      { numRuns: 1500 },
    );
  });
});

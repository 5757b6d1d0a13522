/**
 * Option checks of requests (issue 10, finding 8): Proxy-Uri / Proxy-Scheme get 5.05 Proxying
 * Not Supported unless the endpoint proxies (RFC 7252 §5.7.2); an option whose value length is
 * outside its range (§5.10) is treated like an unrecognized option (§5.4.3): a critical one
 * gets 4.02 Bad Option, an elective one is ignored (removed before the application sees it).
 * Responses likewise: a critical option of a bad length rejects the response, an elective one
 * is dropped. Sans-IO.
 */
import { describe, expect, it } from 'vitest';
import { CoapEndpoint, type CoapEvent } from '../lib/coap/endpoint.js';
import { decodeMessage, encodeMessage } from '../lib/coap/codec.js';
import { Code, MessageType, OptionNumber, type CoapMessage, type CoapOption } from '../lib/coap/message.js';

const enc = (s: string) => new TextEncoder().encode(s);
const random = (n: number) => new Uint8Array(n).fill(7);

function ask(options: CoapOption[], o: { proxy?: boolean } = {}): { out: CoapMessage[]; events: Array<CoapEvent<string>> } {
  const ep = new CoapEndpoint<string>({}, random, o);
  const m: CoapMessage = { type: MessageType.CON, code: Code.GET, messageId: 5, token: enc('t'), options: [...options].sort((a, b) => a.number - b.number), payload: new Uint8Array(0) };
  ep.handleDatagram(0, 'C', encodeMessage(m));
  const events: Array<CoapEvent<string>> = [];
  for (let e = ep.pollEvent(); e; e = ep.pollEvent()) events.push(e);
  const out: CoapMessage[] = [];
  for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) out.push(decodeMessage(t.data));
  return { out, events };
}
const path = { number: OptionNumber.UriPath, value: enc('x') };

describe('Proxy-Uri and Proxy-Scheme (RFC 7252 §5.7.2)', () => {
  it('5.05 Proxying Not Supported, and the handler never sees them', () => {
    for (const o of [
      { number: OptionNumber.ProxyUri, value: enc('coap://example.com/x') },
      { number: OptionNumber.ProxyScheme, value: enc('coap') },
    ]) {
      const { out, events } = ask([o, path]);
      expect(events).toEqual([]);
      expect(out.map((m) => [m.type, m.code])).toEqual([[MessageType.ACK, Code.ProxyingNotSupported]]);
    }
  });

  it('reach the application when the endpoint proxies', () => {
    const { out, events } = ask([{ number: OptionNumber.ProxyUri, value: enc('coap://example.com/x') }], { proxy: true });
    expect(out).toEqual([]);
    expect(events).toHaveLength(1);
  });
});

describe('option value lengths (RFC 7252 §5.4.3, §5.10)', () => {
  const critical: Array<[string, CoapOption]> = [
    ['a 9-byte If-Match', { number: OptionNumber.IfMatch, value: new Uint8Array(9) }],
    ['an empty Uri-Host', { number: OptionNumber.UriHost, value: new Uint8Array(0) }],
    ['a 3-byte Uri-Port', { number: OptionNumber.UriPort, value: new Uint8Array(3) }],
    ['a 1-byte If-None-Match', { number: OptionNumber.IfNoneMatch, value: new Uint8Array(1) }],
    ['a 256-byte Uri-Path', { number: OptionNumber.UriPath, value: new Uint8Array(256) }],
    ['a 4-byte Block2', { number: OptionNumber.Block2, value: new Uint8Array(4) }],
  ];
  for (const [what, o] of critical) {
    it(`critical: ${what} gets 4.02 Bad Option`, () => {
      const { out, events } = ask([o]);
      expect(events).toEqual([]);
      expect(out.map((m) => m.code)).toEqual([Code.BadOption]);
    });
  }

  const elective: Array<[string, CoapOption]> = [
    ['a 9-byte ETag', { number: OptionNumber.ETag, value: new Uint8Array(9) }],
    ['a 3-byte Content-Format', { number: OptionNumber.ContentFormat, value: new Uint8Array(3) }],
    ['a 5-byte Max-Age', { number: OptionNumber.MaxAge, value: new Uint8Array(5) }],
    ['a 4-byte Observe', { number: OptionNumber.Observe, value: new Uint8Array(4) }],
    ['an empty Echo', { number: OptionNumber.Echo, value: new Uint8Array(0) }],
  ];
  for (const [what, o] of elective) {
    it(`elective: ${what} is ignored (the request goes on without it)`, () => {
      const { out, events } = ask([o, path]);
      expect(out).toEqual([]);
      expect(events).toHaveLength(1);
      const e = events[0]!;
      expect(e.type === 'request' && e.exchange.request.options.map((x) => x.number)).toEqual([OptionNumber.UriPath]);
    });
  }

  it('valid lengths pass untouched', () => {
    const { events } = ask([{ number: OptionNumber.IfMatch, value: new Uint8Array(8) }, { number: OptionNumber.UriHost, value: enc('h') }, { number: OptionNumber.ETag, value: new Uint8Array(8) }, path]);
    expect(events).toHaveLength(1);
    const e = events[0]!;
    expect(e.type === 'request' && e.exchange.request.options).toHaveLength(4);
  });
});

describe('responses', () => {
  function respondWith(options: CoapOption[]): { out: CoapMessage[]; events: Array<CoapEvent<string>> } {
    const ep = new CoapEndpoint<string>({}, random);
    const id = ep.request(0, 'S', { code: Code.GET, options: [path] });
    const req = decodeMessage(ep.pollTransmit()!.data);
    ep.handleDatagram(1, 'S', encodeMessage({ type: MessageType.CON, code: Code.Content, messageId: 99, token: req.token, options, payload: enc('v') }));
    const events: Array<CoapEvent<string>> = [];
    for (let e = ep.pollEvent(); e; e = ep.pollEvent()) events.push(e);
    const out: CoapMessage[] = [];
    for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) out.push(decodeMessage(t.data));
    void id;
    return { out, events };
  }

  it('a critical option of a bad length rejects the response (RST)', () => {
    const { out, events } = respondWith([{ number: OptionNumber.IfMatch, value: new Uint8Array(9) }]);
    expect(events.filter((e) => e.type === 'response')).toEqual([]);
    expect(out.map((m) => m.type)).toEqual([MessageType.RST]);
  });

  it('an elective option of a bad length is dropped from the response', () => {
    const { events } = respondWith([{ number: OptionNumber.ContentFormat, value: new Uint8Array(3) }]);
    const r = events.find((e) => e.type === 'response');
    expect(r?.type === 'response' && r.response.options).toEqual([]);
  });
});

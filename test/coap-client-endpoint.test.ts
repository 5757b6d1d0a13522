/**
 * CoapClientEndpoint, the client half of the endpoint (what the small PSK build carries): its
 * requests and responses, and what it answers to a request it cannot serve (it has no
 * resources): 4.02 for an unknown critical option (RFC 7252 §5.4.1), 4.04 otherwise, piggybacked
 * on the ACK; a NON request is ignored, an empty CON (ping) gets RST. Sans-IO, virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { CoapClientEndpoint } from '../lib/coap/client-endpoint.js';
import { CoapEndpoint } from '../lib/coap/endpoint.js';
import { decodeMessage, encodeMessage } from '../lib/coap/codec.js';
import { Code, MessageType, OptionNumber, type CoapMessage } from '../lib/coap/message.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
let seed = 11;
const random = (n: number) => Uint8Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);

function sent(ep: CoapClientEndpoint<string>): CoapMessage[] {
  const out: CoapMessage[] = [];
  for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) out.push(decodeMessage(t.data));
  return out;
}
function events(ep: CoapClientEndpoint<string>) {
  const out = [];
  for (let e = ep.pollEvent(); e; e = ep.pollEvent()) out.push(e);
  return out;
}
const request = (type: MessageType, options: CoapMessage['options']): CoapMessage => ({ type, code: Code.GET, messageId: 0x1234, token: enc('tk'), options, payload: new Uint8Array(0) });

describe('CoapClientEndpoint', () => {
  it('a request and its piggybacked response: the same events as CoapEndpoint gives', () => {
    for (const ep of [new CoapClientEndpoint<string>({}, random), new CoapEndpoint<string>({}, random)]) {
      const id = ep.request(0, 'S', { code: Code.GET, options: [{ number: OptionNumber.UriPath, value: enc('time') }] });
      const [req] = sent(ep);
      expect(req!.type).toBe(MessageType.CON);
      ep.handleDatagram(10, 'S', encodeMessage({ type: MessageType.ACK, code: Code.Content, messageId: req!.messageId, token: req!.token, options: [], payload: enc('12:00') }));
      const ev = events(ep);
      expect(ev).toHaveLength(1);
      const e = ev[0]!;
      expect(e.type).toBe('response');
      if (e.type !== 'response') return;
      expect(e.requestId).toBe(id);
      expect(dec(e.response.payload)).toBe('12:00');
      expect(ep.pollTimeout()).toBeUndefined();
    }
  });

  it('no answer: TIMEOUT after the retransmissions, as CoapEndpoint', () => {
    const ep = new CoapClientEndpoint<string>({}, random);
    const id = ep.request(0, 'S', { code: Code.GET, options: [] });
    let now = 0;
    let transmissions = sent(ep).length;
    for (let i = 0; i < 100 && ep.pollTimeout() !== undefined; i++) {
      now = ep.pollTimeout()!;
      ep.handleTimeout(now);
      transmissions += sent(ep).length;
    }
    expect(transmissions).toBe(5); // the first and MAX_RETRANSMIT (4) more
    expect(events(ep)).toMatchObject([{ type: 'error', requestId: id, error: { code: 'TIMEOUT' } }]);
  });

  it('a CON request with an unknown critical option gets 4.02 with a diagnostic, piggybacked; no event', () => {
    const ep = new CoapClientEndpoint<string>({}, random);
    ep.handleDatagram(0, 'S', encodeMessage(request(MessageType.CON, [{ number: 9, value: new Uint8Array(0) }])));
    const out = sent(ep);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ type: MessageType.ACK, code: Code.BadOption, messageId: 0x1234 });
    expect(dec(out[0]!.token)).toBe('tk');
    expect(out[0]!.payload.length).toBeGreaterThan(0);
    expect(events(ep)).toEqual([]);
  });

  it('any other CON request gets 4.04 (no resources); a NON request is ignored; a ping gets RST', () => {
    const ep = new CoapClientEndpoint<string>({}, random);
    ep.handleDatagram(0, 'S', encodeMessage(request(MessageType.CON, [{ number: OptionNumber.UriPath, value: enc('x') }])));
    expect(sent(ep)).toMatchObject([{ type: MessageType.ACK, code: Code.NotFound, messageId: 0x1234, payload: new Uint8Array(0) }]);
    // a duplicate gets the same answer again (deduplication, RFC 7252 §4.5)
    ep.handleDatagram(1, 'S', encodeMessage(request(MessageType.CON, [{ number: OptionNumber.UriPath, value: enc('x') }])));
    expect(sent(ep)).toMatchObject([{ type: MessageType.ACK, code: Code.NotFound, messageId: 0x1234 }]);
    ep.handleDatagram(2, 'S', encodeMessage({ ...request(MessageType.NON, []), messageId: 7 }));
    expect(sent(ep)).toEqual([]);
    ep.handleDatagram(3, 'S', encodeMessage({ type: MessageType.CON, code: Code.EMPTY, messageId: 8, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) }));
    expect(sent(ep)).toMatchObject([{ type: MessageType.RST, messageId: 8 }]);
    expect(events(ep)).toEqual([]);
  });

  it('a stray CON response gets RST; dropPeer fails the open exchanges with CLOSED', () => {
    const ep = new CoapClientEndpoint<string>({}, random);
    ep.handleDatagram(0, 'S', encodeMessage({ type: MessageType.CON, code: Code.Content, messageId: 9, token: enc('zz'), options: [], payload: new Uint8Array(0) }));
    expect(sent(ep)).toMatchObject([{ type: MessageType.RST, messageId: 9 }]);
    const id = ep.request(0, 'S', { code: Code.GET, options: [] });
    sent(ep);
    ep.dropPeer('S');
    expect(events(ep)).toMatchObject([{ type: 'error', requestId: id, error: { code: 'CLOSED' } }]);
    expect(ep.pollTimeout()).toBeUndefined();
  });
});

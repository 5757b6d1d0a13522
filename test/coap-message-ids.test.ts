/**
 * Message IDs (RFC 7252 §4.4, issue 10 finding 2): allocated in O(1) per peer, never reused
 * within the lifetime of the message that used them (EXCHANGE_LIFETIME for a CON,
 * NON_LIFETIME for a NON, §4.8.2), and when a peer has none free the allocation fails at
 * once (undefined, no scan, no throw); the endpoint turns that into a typed error.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MessageLayer } from '../lib/coap/message-layer.js';
import { CoapEndpoint } from '../lib/coap/endpoint.js';
import { DEFAULT_TRANSMISSION } from '../lib/coap/config.js';
import { Code, OptionNumber } from '../lib/coap/message.js';

afterEach(() => vi.restoreAllMocks());

describe('message ID allocation', () => {
  it('65536 IDs per peer within EXCHANGE_LIFETIME, then undefined at once; free again after the lifetime', () => {
    const ml = new MessageLayer<string>(DEFAULT_TRANSMISSION, () => 0.5);
    const seen = new Set<number>();
    for (let i = 0; i < 0x10000; i++) seen.add(ml.allocateMessageId(1000, 'a', true)!);
    expect(seen.size).toBe(0x10000);
    const get = vi.spyOn(Map.prototype, 'get');
    expect(ml.allocateMessageId(2000, 'a', true)).toBeUndefined();
    expect(ml.allocateMessageId(2000, 'a', false)).toBeUndefined();
    // O(1): a handful of lookups, not a scan of the 65536 IDs
    expect(get.mock.calls.length).toBeLessThan(10);
    get.mockRestore();
    // another peer has its own IDs
    expect(ml.allocateMessageId(2000, 'b', true)).toBeTypeOf('number');
    expect(ml.allocateMessageId(1000 + DEFAULT_TRANSMISSION.exchangeLifetimeMs, 'a', true)).toBeTypeOf('number');
  });

  it('an ID used by a NON is free again after NON_LIFETIME, one used by a CON only after EXCHANGE_LIFETIME', () => {
    const ml = new MessageLayer<string>(DEFAULT_TRANSMISSION, () => 0);
    for (let i = 0; i < 0x10000; i++) ml.allocateMessageId(0, 'non', false);
    for (let i = 0; i < 0x10000; i++) ml.allocateMessageId(0, 'con', true);
    const t = DEFAULT_TRANSMISSION.nonLifetimeMs;
    expect(ml.allocateMessageId(t, 'non', false)).toBeTypeOf('number');
    expect(ml.allocateMessageId(t, 'con', false)).toBeUndefined();
  });

  it('the endpoint reports a request without a free ID as a typed OVERLOADED error, not a throw', () => {
    const ep = new CoapEndpoint<string>({}, (n) => new Uint8Array(n).map(() => Math.floor(Math.random() * 256)));
    for (let i = 0; i < 0x10000; i++) ep.messages.allocateMessageId(0, 'p', true);
    const id = ep.request(1, 'p', { code: Code.GET, options: [{ number: OptionNumber.UriPath, value: new Uint8Array([0x61]) }] });
    const e = ep.pollEvent();
    expect(e).toMatchObject({ type: 'error', requestId: id, error: { code: 'OVERLOADED' } });
    expect(ep.pollTransmit()).toBeUndefined();
  });

  it('a notification without a free ID is not sent and throws nothing (it used to scan 65536 IDs and throw each time)', () => {
    const ep = new CoapEndpoint<string>({}, (n) => new Uint8Array(n).fill(1));
    for (let i = 0; i < 0x10000; i++) ep.messages.allocateMessageId(0, 'p', false);
    expect(ep.notify(1, 'p', Uint8Array.of(1), { code: Code.Content })).toBe(false);
    expect(ep.pollTransmit()).toBeUndefined();
    expect(ep.stats.noMessageId).toBe(1);
    // free again after NON_LIFETIME
    expect(ep.notify(DEFAULT_TRANSMISSION.nonLifetimeMs, 'p', Uint8Array.of(1), { code: Code.Content })).toBe(true);
  });
});

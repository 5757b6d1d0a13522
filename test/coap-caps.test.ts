/**
 * Every per-peer and global resource a peer can make a CoAP server hold has a cap and a clear
 * answer (issue 10, findings 2 and 3): observations (per peer, overall), requests waiting for
 * the application, Block1 uploads in progress (keyed by peer and token, RFC 7959; per peer,
 * overall, bytes), Block2 representations kept for follow-ups, CONs queued behind NSTART.
 * A cap answers 5.03 Service Unavailable with Max-Age (4.13 for a body over the size cap), and
 * what is held is swept after EXCHANGE_LIFETIME by the core's own timer (handleTimeout).
 * Sans-IO: an endpoint and a server core fed datagrams directly, time as an input.
 */
import { describe, expect, it } from 'vitest';
import { CoapEndpoint, type EndpointOptions } from '../lib/coap/endpoint.js';
import { CoapServerCore, type AssembledRequest } from '../lib/coap/server-core.js';
import { MessageLayer } from '../lib/coap/message-layer.js';
import { DEFAULT_TRANSMISSION } from '../lib/coap/config.js';
import { decodeMessage, encodeMessage } from '../lib/coap/codec.js';
import { encodeBlock } from '../lib/coap/block.js';
import { Code, decodeUint, getOption, MessageType, OptionNumber, type CoapMessage, type CoapOption } from '../lib/coap/message.js';
import type { ServerLimits } from '../lib/coap/limits.js';

const enc = (s: string) => new TextEncoder().encode(s);
const path = (p: string): CoapOption[] => p.split('/').filter(Boolean).map((s) => ({ number: OptionNumber.UriPath, value: enc(s) }));
let seq = 0;
const random = (n: number) => Uint8Array.from({ length: n }, () => (seq = (seq * 1103515245 + 12345) >>> 0) >>> 24);

/** A server endpoint + core; `answer` decides what the application does with each request. */
function rig(o: { limits?: Partial<ServerLimits>; endpoint?: EndpointOptions<string>; answer?: (a: AssembledRequest<string>) => 'hold' | Uint8Array } = {}) {
  const ep = new CoapEndpoint<string>({}, random, { ...o.endpoint, ...(o.limits ? { limits: o.limits } : {}) });
  const core = new CoapServerCore<string>(ep, (p) => p, { ...(o.limits ? { limits: o.limits } : {}) });
  let mid = 1;
  const held: Array<{ id: number; a: AssembledRequest<string> }> = [];
  const handled: AssembledRequest<string>[] = [];
  /** Sends one request from `peer` at `now`; returns what the server sent back (decoded). */
  const send = (now: number, peer: string, m: Partial<CoapMessage> & { code: number }): CoapMessage[] => {
    const full: CoapMessage = { type: MessageType.CON, messageId: mid++ & 0xffff, token: enc(`t${mid}`), options: [], payload: new Uint8Array(0), ...m };
    ep.handleDatagram(now, peer, encodeMessage(full));
    return pump(now);
  };
  const pump = (now: number): CoapMessage[] => {
    for (let e = ep.pollEvent(); e; e = ep.pollEvent()) {
      if (e.type === 'reset') core.forget(e.peer, e.token);
      if (e.type !== 'request') continue;
      const a = core.accept(now, e.exchange);
      if (!a) continue;
      handled.push(a);
      const what = o.answer ? o.answer(a) : enc('ok');
      if (what === 'hold') held.push({ id: e.exchange.id, a });
      else core.reply(now, e.exchange.id, a, { code: a.message.code === Code.GET ? Code.Content : Code.Changed, payload: what }, true);
    }
    const out: CoapMessage[] = [];
    for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) out.push(decodeMessage(t.data));
    return out;
  };
  return { ep, core, send, pump, held, handled };
}

const maxAge = (m: CoapMessage) => {
  const v = getOption(m, OptionNumber.MaxAge);
  return v === undefined ? undefined : decodeUint(v);
};
const observe0 = { number: OptionNumber.Observe, value: new Uint8Array(0) };

describe('observation caps (RFC 7641)', () => {
  it('per peer: beyond the cap a registration gets 5.03 with Max-Age; re-registering a token is no new observation', () => {
    const r = rig({ limits: { maxObserversPerPeer: 3, retryAfterSeconds: 7 } });
    const answers = Array.from({ length: 5 }, (_, i) => r.send(0, 'A', { code: Code.GET, token: enc(`obs${i}`), options: [observe0, ...path('/obs')] })[0]!);
    expect(answers.slice(0, 3).every((m) => m.code === Code.Content && getOption(m, OptionNumber.Observe) !== undefined)).toBe(true);
    for (const m of answers.slice(3)) {
      expect(m.code).toBe(Code.ServiceUnavailable);
      expect(maxAge(m)).toBe(7);
    }
    expect(r.core.observerCount).toBe(3);
    // the same token again refreshes its observation
    expect(r.send(1, 'A', { code: Code.GET, token: enc('obs0'), options: [observe0, ...path('/obs')] })[0]!.code).toBe(Code.Content);
    expect(r.core.observerCount).toBe(3);
    // another peer has its own allowance
    expect(r.send(1, 'B', { code: Code.GET, token: enc('obs0'), options: [observe0, ...path('/obs')] })[0]!.code).toBe(Code.Content);
    expect(r.core.observerCount).toBe(4);
  });

  it('overall: beyond the cap every peer gets 5.03; a deregistration makes room', () => {
    const r = rig({ limits: { maxObservers: 4 } });
    for (let i = 0; i < 4; i++) expect(r.send(0, `P${i}`, { code: Code.GET, token: enc('o'), options: [observe0, ...path('/obs')] })[0]!.code).toBe(Code.Content);
    expect(r.send(0, 'P9', { code: Code.GET, token: enc('o'), options: [observe0, ...path('/obs')] })[0]!.code).toBe(Code.ServiceUnavailable);
    r.send(1, 'P0', { code: Code.GET, token: enc('o'), options: [{ number: OptionNumber.Observe, value: Uint8Array.of(1) }, ...path('/obs')] });
    expect(r.core.observerCount).toBe(3);
    expect(r.send(2, 'P9', { code: Code.GET, token: enc('o'), options: [observe0, ...path('/obs')] })[0]!.code).toBe(Code.Content);
  });

  it('notifying 10,000 observers of one resource among 10,000 of another looks at the first only', () => {
    const r = rig({ limits: { maxObservers: 20_000, maxObserversPerPeer: 20_000 } });
    for (let i = 0; i < 10_000; i++) {
      r.send(0, 'A', { code: Code.GET, token: enc(`a${i}`), options: [observe0, ...path('/a')] });
      r.send(0, 'A', { code: Code.GET, token: enc(`b${i}`), options: [observe0, ...path('/b')] });
    }
    expect(r.core.observersOf('/a')).toHaveLength(10_000);
    expect(r.core.observersOf('/b')).toHaveLength(10_000);
    expect(r.core.observersOf('/c')).toHaveLength(0);
  });
});

describe('requests waiting for the application', () => {
  it('per peer and overall: beyond the cap a request gets 5.03 with Max-Age and never reaches the handler', () => {
    const r = rig({ limits: { maxPendingRequestsPerPeer: 2, maxPendingRequests: 3, retryAfterSeconds: 4 }, answer: () => 'hold' });
    expect(r.send(0, 'A', { code: Code.GET, options: path('/slow') })).toEqual([]);
    expect(r.send(0, 'A', { code: Code.GET, options: path('/slow') })).toEqual([]);
    const third = r.send(0, 'A', { code: Code.GET, options: path('/slow') });
    expect(third.map((m) => [m.type, m.code, maxAge(m)])).toEqual([[MessageType.ACK, Code.ServiceUnavailable, 4]]);
    expect(r.send(0, 'B', { code: Code.GET, options: path('/slow') })).toEqual([]);
    expect(r.send(0, 'C', { code: Code.GET, options: path('/slow') })[0]!.code).toBe(Code.ServiceUnavailable);
    expect(r.held).toHaveLength(3);
    // answering one makes room
    r.core.reply(1, r.held[0]!.id, r.held[0]!.a, { code: Code.Content });
    r.pump(1);
    expect(r.send(1, 'C', { code: Code.GET, options: path('/slow') })).toEqual([]);
    expect(r.ep.pendingRequests).toBe(3);
  });

  it('a request the application never answers is forgotten after MAX_TRANSMIT_WAIT (the client has given up)', () => {
    const r = rig({ answer: () => 'hold' });
    r.send(0, 'A', { code: Code.GET, type: MessageType.NON, options: path('/never') });
    r.send(10, 'A', { code: Code.GET, options: path('/never') });
    expect(r.ep.pendingRequests).toBe(2);
    const t = r.ep.pollTimeout();
    expect(t).toBeDefined();
    r.ep.handleTimeout(DEFAULT_TRANSMISSION.maxTransmitWaitMs + 5);
    expect(r.ep.pendingRequests).toBe(1);
    r.ep.handleTimeout(DEFAULT_TRANSMISSION.maxTransmitWaitMs + 10);
    expect(r.ep.pendingRequests).toBe(0);
  });
});

describe('Block1 uploads (RFC 7959 §2.5)', () => {
  const block1 = (num: number, more: boolean, szx = 0) => ({ number: OptionNumber.Block1, value: encodeBlock({ num, more, szx }) });
  const chunk = (c: number) => new Uint8Array(16).fill(c);

  it('are keyed by peer and token: two uploads to one resource at once both arrive whole', () => {
    const r = rig();
    r.send(0, 'A', { code: Code.PUT, token: enc('x'), options: [...path('/echo'), block1(0, true)], payload: chunk(1) });
    r.send(0, 'A', { code: Code.PUT, token: enc('y'), options: [...path('/echo'), block1(0, true)], payload: chunk(2) });
    r.send(0, 'A', { code: Code.PUT, token: enc('x'), options: [...path('/echo'), block1(1, false)], payload: chunk(3) });
    r.send(0, 'A', { code: Code.PUT, token: enc('y'), options: [...path('/echo'), block1(1, false)], payload: chunk(4) });
    expect(r.handled.map((a) => [...a.payload.subarray(0, 1), ...a.payload.subarray(16, 17), a.payload.length])).toEqual([
      [1, 3, 32],
      [2, 4, 32],
    ]);
  });

  it('a client that takes a fresh token for each block (RFC 7959 allows it) still uploads', () => {
    const r = rig();
    for (let i = 0; i < 3; i++) r.send(0, 'A', { code: Code.PUT, token: enc(`fresh${i}`), options: [...path('/echo'), block1(i, i < 2)], payload: chunk(i) });
    expect(r.handled).toHaveLength(1);
    expect(r.handled[0]!.payload.length).toBe(48);
  });

  it('per peer, overall and in bytes: beyond a cap a first block gets 5.03 with Max-Age', () => {
    const r = rig({ limits: { maxUploadsPerPeer: 2, maxUploads: 3, maxUploadBytes: 1000 } });
    const first = (peer: string, t: string, size = 16) => r.send(0, peer, { code: Code.PUT, token: enc(t), options: [...path('/echo'), block1(0, true, size === 16 ? 0 : 6)], payload: new Uint8Array(size) })[0]!;
    expect(first('A', 'a').code).toBe(Code.Continue);
    expect(first('A', 'b').code).toBe(Code.Continue);
    const over = first('A', 'c');
    expect(over.code).toBe(Code.ServiceUnavailable);
    expect(maxAge(over)).toBeGreaterThan(0);
    expect(first('B', 'a').code).toBe(Code.Continue);
    expect(first('C', 'a').code).toBe(Code.ServiceUnavailable);
    expect(r.core.uploadCount).toBe(3);
    const r2 = rig({ limits: { maxUploadBytes: 1500 } });
    const big = (peer: string) => r2.send(0, peer, { code: Code.PUT, token: enc('t'), options: [...path('/echo'), block1(0, true, 6)], payload: new Uint8Array(1024) })[0]!;
    expect(big('A').code).toBe(Code.Continue);
    expect(big('B').code).toBe(Code.ServiceUnavailable);
  });

  it('are swept after EXCHANGE_LIFETIME by the core timer: pollTimeout names the deadline, handleTimeout frees them', () => {
    const r = rig();
    for (let i = 0; i < 50; i++) r.send(0, 'A', { code: Code.PUT, token: enc(`u${i}`), options: [...path(`/echo`), { number: OptionNumber.UriQuery, value: enc(`k=${i}`) }, block1(0, true)], payload: chunk(i) });
    expect(r.core.uploadCount).toBe(4); // the default per-peer cap
    const due = r.core.pollTimeout();
    expect(due).toBe(DEFAULT_TRANSMISSION.exchangeLifetimeMs);
    r.core.handleTimeout(due! - 1);
    expect(r.core.uploadCount).toBe(4);
    r.core.handleTimeout(due!);
    expect(r.core.uploadCount).toBe(0);
    expect(r.core.pollTimeout()).toBeUndefined();
  });
});

describe('Block2 representations kept for follow-ups', () => {
  it('at most the per-peer and overall caps, the oldest dropped first (a follow-up then runs the handler again)', () => {
    const r = rig({ limits: { maxCachedBodiesPerPeer: 3, maxCachedBodies: 5 }, answer: () => new Uint8Array(3000) });
    for (let i = 0; i < 10; i++) r.send(0, 'A', { code: Code.GET, options: [...path('/large'), { number: OptionNumber.UriQuery, value: enc(`k=${i}`) }] });
    expect(r.core.cachedBodyCount).toBe(3);
    for (let i = 0; i < 10; i++) r.send(0, `P${i}`, { code: Code.GET, options: path('/large') });
    expect(r.core.cachedBodyCount).toBe(5);
    const cached = r.core.pollTimeout();
    r.core.handleTimeout(cached! + DEFAULT_TRANSMISSION.exchangeLifetimeMs);
    expect(r.core.cachedBodyCount).toBe(0);
  });
});

describe('CONs queued behind NSTART', () => {
  it('at most maxQueuedPerPeer per peer; one more fails at once', () => {
    const ml = new MessageLayer<string>(DEFAULT_TRANSMISSION, () => 0.5, { maxQueuedPerPeer: 3 });
    const con = (mid: number): CoapMessage => ({ type: MessageType.CON, code: Code.Content, messageId: mid, token: enc('t'), options: [], payload: new Uint8Array(0) });
    for (let i = 0; i < 5; i++) ml.send(0, 'A', con(i), true);
    const failed: number[] = [];
    for (let e = ml.pollEvent(); e; e = ml.pollEvent()) if (e.type === 'failed') failed.push(e.messageId);
    expect(failed).toEqual([4]); // 1 in flight + 3 queued
    // a client's own requests are its business: they queue without a cap
    for (let i = 10; i < 20; i++) ml.send(0, 'B', con(i));
    expect(ml.pollEvent()).toBeUndefined();
  });

  it('a server whose client never acknowledges: CON notifications beyond the queue cap fail, their observations end', () => {
    const ep = new CoapEndpoint<string>({}, random, { limits: { maxQueuedPerPeer: 2 } });
    for (let i = 0; i < 5; i++) ep.notify(0, 'A', enc(`n${i}`), { code: Code.Content, confirmable: true });
    const resets: string[] = [];
    for (let e = ep.pollEvent(); e; e = ep.pollEvent()) if (e.type === 'reset') resets.push(new TextDecoder().decode(e.token));
    expect(resets).toEqual(['n3', 'n4']);
  });
});

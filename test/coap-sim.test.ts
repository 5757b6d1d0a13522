import { describe, expect, it } from 'vitest';
import { CoapEndpoint, type CoapEvent } from '../lib/coap/endpoint.js';
import { CoapServerCore } from '../lib/coap/server-core.js';
import { blockwiseRequest } from '../lib/coap/blockwise-client.js';
import { Code, MessageType, OptionNumber, encodeUint, type CoapMessage } from '../lib/coap/message.js';
import { decodeMessage, encodeMessage } from '../lib/coap/codec.js';
import { NotificationOrder } from '../lib/coap/observe.js';
import type { TransmissionParameters } from '../lib/coap/config.js';
import { SimNetwork, seededRandom, type LinkConditions, type SimDatagram } from '../transports/sim.js';
import { SimCoapNode } from '../transports/sim-coap.js';

const S = { address: '10.0.0.1', port: 5683 };
const C = { address: '10.0.0.2', port: 40000 };
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const path = (p: string) => p.split('/').filter(Boolean).map((s) => ({ number: OptionNumber.UriPath, value: enc(s) }));

function randomBytes(seed: number) {
  const r = seededRandom(seed);
  return (n: number) => Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

/** A CoAP client and server endpoint on a simulated link; the server app is `handle`. */
function setup(o: { link?: LinkConditions; seed?: number; filter?: (d: SimDatagram) => boolean; params?: Partial<TransmissionParameters> } = {}) {
  const net = new SimNetwork(o.link ?? {}, o.seed ?? 1, o.filter);
  const server = net.add(new SimCoapNode(S, new CoapEndpoint<string>(o.params ?? {}, randomBytes((o.seed ?? 1) * 7 + 1))));
  const client = net.add(new SimCoapNode(C, new CoapEndpoint<string>(o.params ?? {}, randomBytes((o.seed ?? 1) * 7 + 2))));
  const serverPeer = client.peer(S);
  const clientEvents: Array<CoapEvent<string>> = [];
  const requests: Array<Extract<CoapEvent<string>, { type: 'request' }>> = [];
  const drain = () => {
    for (let e = client.endpoint.pollEvent(); e; e = client.endpoint.pollEvent()) clientEvents.push(e);
    for (let e = server.endpoint.pollEvent(); e; e = server.endpoint.pollEvent()) if (e.type === 'request') requests.push(e);
  };
  return { net, server, client, serverPeer, clientEvents, requests, drain };
}

describe('CoAP message layer on a virtual clock (RFC 7252 §4)', () => {
  it('retransmits a CON within the RFC bounds: initial timeout in [2, 3] s, doubling, MAX_RETRANSMIT 4, then TIMEOUT', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const t = setup({ seed, filter: (d) => d.from.port !== S.port && false });
      const id = t.client.endpoint.request(0, t.serverPeer, { code: Code.GET, options: path('/x') });
      t.net.run(300_000, () => {
        t.drain();
        return t.clientEvents.some((e) => e.type === 'error' && e.requestId === id);
      });
      const sends = t.net.log.filter((d) => d.from.port === C.port).map((d) => d.sentAt);
      expect(sends.length, `seed ${seed}`).toBe(5);
      const first = sends[1]! - sends[0]!;
      expect(first).toBeGreaterThanOrEqual(2000);
      expect(first).toBeLessThanOrEqual(3000);
      for (let i = 2; i < sends.length; i++) expect(sends[i]! - sends[i - 1]!).toBeCloseTo(first * 2 ** (i - 1), 6);
      const err = t.clientEvents.find((e) => e.type === 'error');
      expect(err?.type === 'error' && err.error.code).toBe('TIMEOUT');
      // the failure comes one more (doubled) timeout after the last retransmission
      expect(t.net.now - sends[4]!).toBeCloseTo(first * 16, 6);
    }
  });

  it('a duplicated CON reaches the handler once and every copy gets the same answer', () => {
    const t = setup({ link: { duplicate: 1 } });
    const id = t.client.endpoint.request(0, t.serverPeer, { code: Code.GET, options: path('/dup') });
    t.net.run(10_000, () => {
      t.drain();
      for (const r of t.requests.splice(0)) {
        (t as { handled?: number }).handled = ((t as { handled?: number }).handled ?? 0) + 1;
        t.server.endpoint.respond(t.net.now, r.exchange.id, { code: Code.Content, payload: enc('once') });
      }
      return false;
    });
    expect((t as { handled?: number }).handled).toBe(1);
    const acks = t.net.log.filter((d) => d.from.port === S.port).map((d) => Buffer.from(d.data).toString('hex'));
    expect(new Set(acks).size).toBe(1);
    expect(t.server.endpoint.messages.stats.duplicates).toBeGreaterThanOrEqual(1);
    expect(t.clientEvents.filter((e) => e.type === 'response' && e.requestId === id).length).toBe(1);
  });

  it('delivers requests exactly once to the handler at 30% loss with duplication', () => {
    let answered = 0;
    let total = 0;
    for (let seed = 1; seed <= 5; seed++) {
      const t = setup({ seed, link: { loss: 0.3, duplicate: 0.3, reorder: 0.2, reorderMs: 500 }, params: { maxRetransmit: 8 } });
      const handled = new Map<string, number>();
      const ids = new Map<number, string>();
      for (let i = 0; i < 40; i++) ids.set(t.client.endpoint.request(0, t.serverPeer, { code: Code.POST, options: path('/count'), payload: enc(`req-${i}`) }), `req-${i}`);
      t.net.run(3_600_000, () => {
        t.drain();
        for (const r of t.requests.splice(0)) {
          const k = dec(r.exchange.request.payload);
          handled.set(k, (handled.get(k) ?? 0) + 1);
          t.server.endpoint.respond(t.net.now, r.exchange.id, { code: Code.Changed, payload: enc(`ok ${k}`) });
        }
        return t.clientEvents.filter((e) => e.type === 'response' || e.type === 'error').length >= ids.size;
      });
      // every request settles once: a response, or TIMEOUT when all its ACKs were lost
      const settled = t.clientEvents.filter((e) => e.type === 'response' || e.type === 'error');
      expect(new Set(settled.map((e) => (e as { requestId: number }).requestId)).size, `seed ${seed}`).toBe(40);
      for (const e of t.clientEvents) if (e.type === 'error') expect(e.error.code).toBe('TIMEOUT');
      // the handler never runs twice for one request, and exactly once for every answered one
      for (const [k, n] of handled) expect(n, k).toBe(1);
      for (const e of t.clientEvents) {
        if (e.type !== 'response') continue;
        const k = ids.get(e.requestId)!;
        expect(handled.get(k), k).toBe(1);
        expect(dec(e.response.payload)).toBe(`ok ${k}`);
        answered++;
      }
      total += ids.size;
    }
    // with 8 retransmissions a request fails only if ~9 round trips in a row lose a datagram
    expect(answered / total).toBeGreaterThanOrEqual(0.97);
  });

  it('a slow handler gets an empty ACK, then its separate response is acknowledged by the client', () => {
    const t = setup();
    const id = t.client.endpoint.request(0, t.serverPeer, { code: Code.GET, options: path('/slow') });
    t.net.run(10, () => (t.drain(), t.requests.length > 0));
    const x = t.requests.shift()!;
    t.net.run(1500);
    t.server.endpoint.respond(t.net.now, x.exchange.id, { code: Code.Content, payload: enc('late') });
    t.net.run(20_000, () => (t.drain(), false));
    const kinds = t.net.log.map((d) => `${d.from.port === S.port ? 's' : 'c'}:${['CON', 'NON', 'ACK', 'RST'][decodeMessage(d.data).type]}:${decodeMessage(d.data).code}`);
    expect(kinds).toEqual(['c:CON:1', 's:ACK:0', 's:CON:69', 'c:ACK:0']);
    const r = t.clientEvents.find((e) => e.type === 'response' && e.requestId === id);
    expect(r?.type === 'response' && dec(r.response.payload)).toBe('late');
  });

  it('answers an unknown critical option with 4.02 Bad Option and never calls the handler', () => {
    const t = setup();
    const id = t.client.endpoint.request(0, t.serverPeer, { code: Code.GET, options: [...path('/x'), { number: 65001, value: enc('?') }] });
    t.net.run(10_000, () => (t.drain(), t.clientEvents.length > 0));
    expect(t.requests).toEqual([]);
    const r = t.clientEvents.find((e) => e.type === 'response' && e.requestId === id);
    expect(r?.type === 'response' && r.response.code).toBe(Code.BadOption);
  });

  it('a malformed CON is answered with RST, a malformed NON is ignored, and neither reaches the handler', () => {
    const t = setup();
    const peer = t.server.peer(C);
    // TKL 9 is a format error (RFC 7252 §3)
    t.server.endpoint.handleDatagram(0, peer, new Uint8Array([0x49, 0x01, 0x12, 0x34, ...new Uint8Array(9)]));
    t.server.endpoint.handleDatagram(0, peer, new Uint8Array([0x59, 0x01, 0x12, 0x35, ...new Uint8Array(9)]));
    const out: CoapMessage[] = [];
    for (let tx = t.server.endpoint.pollTransmit(); tx; tx = t.server.endpoint.pollTransmit()) out.push(decodeMessage(tx.data));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ type: MessageType.RST, messageId: 0x1234, code: 0 });
    expect(t.server.endpoint.pollEvent()).toBeUndefined();
  });

  it('an unexpected CON response is rejected with RST', () => {
    const t = setup();
    const peer = t.client.peer(S);
    const stray = encodeMessage({ type: MessageType.CON, code: Code.Content, messageId: 7, token: enc('nope'), options: [], payload: enc('?') });
    t.client.endpoint.handleDatagram(0, peer, stray);
    const tx = t.client.endpoint.pollTransmit();
    expect(tx && decodeMessage(tx.data)).toMatchObject({ type: MessageType.RST, messageId: 7 });
  });
});

describe('block-wise transfers (RFC 7959) on a lossy virtual link', () => {
  /** Runs an async block-wise client against a server core on the sim. */
  async function blockwise(o: { body?: Uint8Array; response?: Uint8Array; maxBodySize?: number; loss?: number; seed?: number; blockSize?: number }) {
    const t = setup({ link: { loss: o.loss ?? 0 }, seed: o.seed ?? 3, params: { maxRetransmit: 8 } });
    const core = new CoapServerCore<string>(t.server.endpoint, (p) => p, { blockSize: 1024, ...(o.maxBodySize ? { maxBodySize: o.maxBodySize } : {}) });
    const handled: Uint8Array[] = [];
    const waiting = new Map<number, (m: CoapMessage) => void>();
    const exchange = (r: Parameters<CoapEndpoint<string>['request']>[2]) =>
      new Promise<CoapMessage>((resolve) => waiting.set(t.client.endpoint.request(t.net.now, t.serverPeer, r), resolve));
    const step = () => {
      t.drain();
      for (const e of t.clientEvents.splice(0)) if (e.type === 'response') waiting.get(e.requestId)?.(e.response);
      for (const r of t.requests.splice(0)) {
        const a = core.accept(t.net.now, r.exchange);
        if (!a) continue;
        handled.push(a.payload);
        core.reply(t.net.now, r.exchange.id, a, { code: o.response ? Code.Content : Code.Changed, payload: o.response ?? a.payload });
      }
    };
    const done = blockwiseRequest(exchange, { code: o.response ? Code.GET : Code.PUT, options: path('/big'), ...(o.body ? { payload: o.body } : {}) }, { blockSize: o.blockSize ?? 64, maxBodySize: 1 << 20, earlyBlock2: true });
    let result: CoapMessage | undefined;
    let failure: unknown;
    done.then((r) => (result = r), (e) => (failure = e));
    for (let i = 0; i < 20_000 && !result && !failure; i++) {
      t.net.run(t.net.now + 50, () => (step(), false));
      await new Promise((r) => setImmediate(r));
    }
    return { result, failure, handled, net: t.net };
  }

  const body = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff);

  it('a 4 KB Block2 response in 64-byte blocks at 20% loss arrives whole', async () => {
    const big = Uint8Array.from({ length: 4096 }, (_, i) => 65 + (i % 26));
    const { result } = await blockwise({ response: big, loss: 0.2 });
    expect(result?.code).toBe(Code.Content);
    expect(Buffer.from(result!.payload).equals(Buffer.from(big))).toBe(true);
    // follow-up blocks come from the cached representation (without loss: the handler runs once)
    const clean = await blockwise({ response: big });
    expect(Buffer.from(clean.result!.payload).equals(Buffer.from(big))).toBe(true);
    expect(clean.handled.length).toBe(1);
  });

  it('a 3000-byte Block1 upload at 20% loss reaches the handler once, whole', async () => {
    const { result, handled } = await blockwise({ body, loss: 0.2, blockSize: 256 });
    expect(result?.code).toBe(Code.Changed);
    expect(handled).toHaveLength(1);
    expect(Buffer.from(handled[0]!).equals(Buffer.from(body))).toBe(true);
    expect(Buffer.from(result!.payload).equals(Buffer.from(body))).toBe(true); // echoed, itself block-wise
  });

  it('an upload larger than the cap gets 4.13 with Size1', async () => {
    const { result, handled } = await blockwise({ body, maxBodySize: 1000 });
    expect(result?.code).toBe(Code.RequestEntityTooLarge);
    const size1 = result!.options.find((o) => o.number === OptionNumber.Size1);
    expect(size1 && Buffer.from(size1.value).toString('hex')).toBe(Buffer.from(encodeUint(1000)).toString('hex'));
    expect(handled).toHaveLength(0);
  });
});

describe('observe (RFC 7641) on a lossy, reordering virtual link', () => {
  it('notifications reach the client in order (stale ones dropped), and RST ends the observation', () => {
    const t = setup({ link: { loss: 0.1, reorder: 0.5, reorderMs: 400 }, seed: 9 });
    const core = new CoapServerCore<string>(t.server.endpoint, (p) => p);
    const id = t.client.endpoint.request(0, t.serverPeer, { code: Code.GET, options: [{ number: OptionNumber.Observe, value: new Uint8Array(0) }, ...path('/obs')], observe: true });
    let counter = 0;
    t.net.run(10_000, () => {
      t.drain();
      for (const r of t.requests.splice(0)) {
        const a = core.accept(t.net.now, r.exchange)!;
        core.reply(t.net.now, r.exchange.id, a, { code: Code.Content, payload: enc(String(counter)) }, true);
      }
      return core.observerCount > 0;
    });
    expect(core.observerCount).toBe(1);
    for (let i = 1; i <= 30; i++) {
      counter = i;
      t.net.run(t.net.now + 100, () => (t.drain(), false));
      for (const o of core.observersOf('/obs')) core.notify(t.net.now, o, { code: Code.Content, payload: enc(String(i)) });
    }
    t.net.run(t.net.now + 5000, () => (t.drain(), false));
    const order = new NotificationOrder();
    const seen: number[] = [];
    for (const e of t.clientEvents) {
      if (e.type !== 'response' || e.requestId !== id) continue;
      const obs = e.response.options.find((o) => o.number === OptionNumber.Observe)!;
      const seq = obs.value.reduce((a, b) => a * 256 + b, 0);
      if (order.accept(seq, t.net.now)) seen.push(Number(dec(e.response.payload)));
    }
    expect(seen.length).toBeGreaterThan(15);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
    // the client forgets the observation: the next notification (CON) is answered with RST
    t.client.endpoint.cancel(t.net.now, id);
    for (const o of core.observersOf('/obs')) core.notify(t.net.now, o, { code: Code.Content, payload: enc('bye') }, true);
    t.net.run(t.net.now + 20_000, () => {
      for (let e = t.server.endpoint.pollEvent(); e; e = t.server.endpoint.pollEvent()) if (e.type === 'reset') core.forget(e.peer, e.token);
      return core.observerCount === 0;
    });
    expect(core.observerCount).toBe(0);
  });
});

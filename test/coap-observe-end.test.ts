/**
 * Observations end when their client is gone (issue 10, finding 4; RFC 7641 §4.5): a CON
 * notification without an ACK after MAX_RETRANSMIT ends the observation, and so does a client
 * that went silent: the server sends a CON at least every conNotificationIntervalMs, so a
 * silent client costs a bounded number of datagrams. Sans-IO, on a virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { CoapEndpoint } from '../lib/coap/endpoint.js';
import { CoapServerCore } from '../lib/coap/server-core.js';
import { decodeMessage, encodeMessage } from '../lib/coap/codec.js';
import { Code, MessageType, OptionNumber, type CoapMessage } from '../lib/coap/message.js';
import { DEFAULT_TRANSMISSION } from '../lib/coap/config.js';

const enc = (s: string) => new TextEncoder().encode(s);
let seed = 7;
const random = (n: number) => Uint8Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);

/** A server with one observer (peer 'C') on /obs; the client never sends anything again. */
function observed(conNotificationIntervalMs?: number) {
  const ep = new CoapEndpoint<string>({}, random);
  const core = new CoapServerCore<string>(ep, (p) => p, conNotificationIntervalMs ? { conNotificationIntervalMs } : {});
  const reg: CoapMessage = { type: MessageType.CON, code: Code.GET, messageId: 1, token: enc('ob'), options: [{ number: OptionNumber.Observe, value: new Uint8Array(0) }, { number: OptionNumber.UriPath, value: enc('obs') }], payload: new Uint8Array(0) };
  ep.handleDatagram(0, 'C', encodeMessage(reg));
  const sent: CoapMessage[] = [];
  const pump = (now: number) => {
    for (let e = ep.pollEvent(); e; e = ep.pollEvent()) {
      if (e.type === 'reset') core.forget(e.peer, e.token);
      if (e.type === 'request') core.reply(now, e.exchange.id, core.accept(now, e.exchange)!, { code: Code.Content, payload: enc('v') }, true);
    }
    for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) sent.push(decodeMessage(t.data));
  };
  pump(0);
  expect(core.observerCount).toBe(1);
  return { ep, core, sent, pump };
}

/** Runs the clock to `until`, notifying every `every` ms and firing timers on time. */
function run(r: ReturnType<typeof observed>, until: number, every: number, confirmable = false): number | undefined {
  let endedAt: number | undefined;
  for (let t = every; t <= until; t += every) {
    for (let due = r.ep.pollTimeout(); due !== undefined && due <= t; due = r.ep.pollTimeout()) {
      r.ep.handleTimeout(due);
      r.pump(due);
    }
    if (r.core.observerCount === 0) {
      endedAt ??= t;
      continue;
    }
    for (const o of r.core.observersOf('/obs')) r.core.notify(t, o, { code: Code.Content, payload: enc(String(t)) }, confirmable);
    r.pump(t);
  }
  return endedAt;
}

describe('observations of a client that is gone', () => {
  it('a CON notification unacknowledged after MAX_RETRANSMIT ends the observation', () => {
    const r = observed();
    const ended = run(r, 200_000, 10_000, true);
    expect(r.core.observerCount).toBe(0);
    // the first CON at 10 s fails after its 4 retransmissions (at most 2 s * 1.5 * 31 = 93 s)
    expect(ended).toBeLessThanOrEqual(10_000 + 93_000 + 10_000);
    const after = r.sent.filter((m) => m.type !== MessageType.ACK).length;
    expect(after).toBeLessThan(40);
  });

  it('a silent client of NON notifications is noticed by the periodic CON: its observation ends, the datagrams stop', () => {
    const r = observed(30_000);
    const ended = run(r, 600_000, 1000);
    expect(r.core.observerCount).toBe(0);
    expect(ended).toBeLessThanOrEqual(30_000 + 93_000 + 2000);
    const total = r.sent.length;
    run(r, 600_000, 1000); // nothing more to send
    expect(r.sent.length).toBe(total);
    expect(total).toBeLessThan(200);
  });

  it('a client that acknowledges keeps its observation', () => {
    const r = observed(5_000);
    for (let t = 1000; t <= 60_000; t += 1000) {
      for (const o of r.core.observersOf('/obs')) r.core.notify(t, o, { code: Code.Content, payload: enc('x') });
      r.pump(t);
      for (const m of r.sent.splice(0)) if (m.type === MessageType.CON) r.ep.handleDatagram(t, 'C', encodeMessage({ type: MessageType.ACK, code: Code.EMPTY, messageId: m.messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) }));
      r.ep.handleTimeout(t);
      r.pump(t);
    }
    expect(r.core.observerCount).toBe(1);
    void DEFAULT_TRANSMISSION;
  });
});

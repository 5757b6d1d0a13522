/**
 * The message layer's deduplication (RFC 7252 §4.5), the same behaviour from both stores:
 * ClientMessageLayer (a plain map, CoapClientEndpoint) and MessageLayer (the server's rings,
 * CoapEndpoint): a duplicate CON gets the same answer again and goes no further, a duplicate
 * NON is absorbed, an entry lives EXCHANGE_LIFETIME (CON) or NON_LIFETIME (NON), and the sweep
 * drops a peer's state once nothing is left in it.
 */
import { describe, expect, it } from 'vitest';
import { ClientMessageLayer } from '../lib/coap/client-message-layer.js';
import { encodeMessage } from '../lib/coap/codec.js';
import { DEFAULT_TRANSMISSION } from '../lib/coap/config.js';
import { Code, MessageType, type CoapMessage } from '../lib/coap/message.js';
import { MessageLayer } from '../lib/coap/message-layer.js';

const msg = (type: MessageType, messageId: number, code: number = Code.Content): CoapMessage => ({ type, code, messageId, token: Uint8Array.of(1, 2), options: [], payload: new Uint8Array(0) });
const drain = <T>(poll: () => T | undefined): T[] => {
  const r: T[] = [];
  for (let x = poll(); x !== undefined; x = poll()) r.push(x);
  return r;
};

for (const [name, make] of [
  ['ClientMessageLayer', () => new ClientMessageLayer<string>(DEFAULT_TRANSMISSION, () => 0.5)],
  ['MessageLayer', () => new MessageLayer<string>(DEFAULT_TRANSMISSION, () => 0.5)],
] as const) {
  describe(`${name} deduplication`, () => {
    it('a duplicate CON gets the same answer again and no second event; after EXCHANGE_LIFETIME it is new', () => {
      const ml = make();
      const con = encodeMessage(msg(MessageType.CON, 7));
      ml.handleDatagram(0, 'a', con);
      expect(drain(() => ml.pollEvent())).toMatchObject([{ type: 'message', peer: 'a', message: { messageId: 7 } }]);
      expect(ml.answered('a', 7)).toBe(false);
      const ack = msg(MessageType.ACK, 7, Code.Content);
      ml.answer(1, 'a', ack);
      expect(ml.answered('a', 7)).toBe(true);
      expect(drain(() => ml.pollTransmit()).map((t) => t.data)).toEqual([encodeMessage(ack)]);
      ml.handleDatagram(100, 'a', con);
      expect(drain(() => ml.pollEvent())).toEqual([]);
      expect(drain(() => ml.pollTransmit())).toEqual([{ peer: 'a', data: encodeMessage(ack) }]);
      expect(ml.stats.duplicates).toBe(1);
      // another peer's message ID 7 is its own
      ml.handleDatagram(100, 'b', con);
      expect(drain(() => ml.pollEvent())).toHaveLength(1);
      ml.handleDatagram(DEFAULT_TRANSMISSION.exchangeLifetimeMs, 'a', con);
      expect(drain(() => ml.pollEvent())).toHaveLength(1);
    });

    it('a duplicate CON not answered yet is absorbed silently; a duplicate NON too, until NON_LIFETIME', () => {
      const ml = make();
      ml.handleDatagram(0, 'a', encodeMessage(msg(MessageType.CON, 1)));
      ml.handleDatagram(1, 'a', encodeMessage(msg(MessageType.CON, 1)));
      ml.handleDatagram(0, 'a', encodeMessage(msg(MessageType.NON, 2)));
      ml.handleDatagram(DEFAULT_TRANSMISSION.nonLifetimeMs - 1, 'a', encodeMessage(msg(MessageType.NON, 2)));
      expect(drain(() => ml.pollEvent())).toHaveLength(2);
      expect(drain(() => ml.pollTransmit())).toEqual([]);
      ml.handleDatagram(DEFAULT_TRANSMISSION.nonLifetimeMs, 'a', encodeMessage(msg(MessageType.NON, 2)));
      expect(drain(() => ml.pollEvent())).toHaveLength(1);
    });

    it('the sweep drops a peer state once its entries expired: a new state draws a fresh message ID', () => {
      let r = 0.25;
      const ml = name === 'MessageLayer' ? new MessageLayer<string>(DEFAULT_TRANSMISSION, () => r) : new ClientMessageLayer<string>(DEFAULT_TRANSMISSION, () => r);
      const first = ml.allocateMessageId(0, 'a', false)!;
      expect(first).toBe(0x4000);
      ml.handleDatagram(0, 'a', encodeMessage(msg(MessageType.NON, 9)));
      r = 0.5;
      // still held: the next ID follows on
      expect(ml.allocateMessageId(10, 'a', false)).toBe(0x4001);
      const t = DEFAULT_TRANSMISSION.nonLifetimeMs + 20;
      ml.handleTimeout(t); // the sweep: everything expired, the state goes
      expect(ml.allocateMessageId(t, 'a', false)).toBe(0x8000);
    });

    it('dropPeer fails the outstanding and queued CONs and forgets the received message IDs', () => {
      const ml = make();
      for (let i = 0; i < 2; i++) ml.send(0, 'a', msg(MessageType.CON, ml.allocateMessageId(0, 'a')!, Code.GET));
      ml.handleDatagram(0, 'a', encodeMessage(msg(MessageType.CON, 5)));
      drain(() => ml.pollEvent());
      ml.dropPeer('a');
      expect(drain(() => ml.pollEvent()).map((e) => e.type)).toEqual(['failed', 'failed']);
      expect(ml.answered('a', 5)).toBe(false);
      ml.handleDatagram(1, 'a', encodeMessage(msg(MessageType.CON, 5)));
      expect(drain(() => ml.pollEvent())).toHaveLength(1);
      expect(ml.pollTimeout()).toBeUndefined(); // nothing left to retransmit
    });
  });
}

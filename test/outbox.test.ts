/**
 * The driver's Outbox (transports/node-dgram.ts): datagrams go at once while the turns of the
 * event loop are light, and are queued until the end of the turn after a turn that sent
 * BATCH_FROM or more; order is always kept. A fake socket records the sends (no network).
 */
import type { Socket } from 'node:dgram';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { BATCH_FROM, Outbox } from '../transports/node-dgram.js';

function fakeSocket() {
  const sent: string[] = [];
  let throwing = false;
  const socket = {
    send(data: Uint8Array, port: number, address: string) {
      if (throwing) throw new Error('Not running');
      sent.push(`${address}:${port}:${data[0]}`);
    },
  } as unknown as Socket;
  return { socket, sent, throwAll: () => (throwing = true) };
}

const peer = (port: number) => ({ address: '127.0.0.1', port });
const d = (n: number) => Uint8Array.of(n);

describe('Outbox', () => {
  it('a light turn sends at once; a heavy one makes the next turn batch, in order; a light batched turn ends the batching', async () => {
    const { socket, sent } = fakeSocket();
    const box = new Outbox(() => socket);
    box.add(peer(1), d(0));
    expect(sent).toEqual(['127.0.0.1:1:0']); // at once
    await nextTurn();
    // a heavy turn: still at once (the turn before was light) ...
    for (let i = 1; i <= BATCH_FROM; i++) box.add(peer(2), d(i));
    expect(sent).toHaveLength(1 + BATCH_FROM);
    await nextTurn();
    // ... and the next turn queues until its end
    const before = sent.length;
    for (let i = 0; i < 3; i++) box.add(peer(3), d(100 + i));
    expect(sent).toHaveLength(before);
    await nextTurn();
    expect(sent.slice(before)).toEqual(['127.0.0.1:3:100', '127.0.0.1:3:101', '127.0.0.1:3:102']);
    // that batched turn was light (3 < BATCH_FROM): the next one sends at once again
    box.add(peer(4), d(7));
    expect(sent.at(-1)).toBe('127.0.0.1:4:7');
    await nextTurn();
  });

  it('keeps the order of a batched turn, flush() sends at once, no socket drops, a throwing send is swallowed', async () => {
    const { socket, sent, throwAll } = fakeSocket();
    let open = true;
    const box = new Outbox(() => (open ? socket : undefined));
    for (let i = 0; i < BATCH_FROM; i++) box.add(peer(1), d(i));
    await nextTurn();
    for (let i = 0; i < 2 * BATCH_FROM; i++) box.add(peer(i), d(i));
    expect(sent).toHaveLength(BATCH_FROM);
    box.flush();
    expect(sent.slice(BATCH_FROM)).toEqual(Array.from({ length: 2 * BATCH_FROM }, (_, i) => `127.0.0.1:${i}:${i}`));
    await nextTurn();
    // the last turn was heavy: this one batches; the socket is gone when it ends
    box.add(peer(9), d(9));
    open = false;
    await nextTurn();
    expect(sent).toHaveLength(3 * BATCH_FROM);
    open = true;
    throwAll();
    box.add(peer(9), d(9)); // light turn before: at once, and the throw goes nowhere
    await nextTurn();
    expect(sent).toHaveLength(3 * BATCH_FROM);
  });
});

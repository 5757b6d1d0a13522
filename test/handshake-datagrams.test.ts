import { describe, expect, it } from 'vitest';
import { HandshakeDatagrams } from '../transports/handshake-datagrams.js';
import type { PeerAddress } from '../lib/dtls/keystore.js';

const peer = (port: number): PeerAddress => ({ address: '127.0.0.1', port, family: 'IPv4' });
const turn = () => new Promise<void>((r) => setImmediate(r));

describe('HandshakeDatagrams (the ECDHE server defers handshake datagrams)', () => {
  it('hands nothing over in the turn they arrive, then one per turn in arrival order', async () => {
    const seen: number[] = [];
    const q = new HandshakeDatagrams((p, d) => seen.push(p.port * 1000 + d[1]!));
    for (let i = 1; i <= 3; i++) q.offer(peer(i), new Uint8Array([22, i]));
    expect(seen).toEqual([]);
    expect(q.size).toBe(3);
    await turn();
    expect(seen).toEqual([1001]);
    await turn();
    await turn();
    expect(seen).toEqual([1001, 2002, 3003]);
    expect(q.size).toBe(0);
    await turn();
    expect(seen).toHaveLength(3);
  });

  it('hands `perTurn` per turn and lets work queued in between go first', async () => {
    const order: string[] = [];
    const q = new HandshakeDatagrams((p) => order.push(`hs${p.port}`), 2);
    for (let i = 1; i <= 5; i++) q.offer(peer(i), new Uint8Array([22]));
    // an established session's record read in the same poll phase is handled at once
    order.push('app');
    await turn();
    expect(order).toEqual(['app', 'hs1', 'hs2']);
    await turn();
    await turn();
    expect(order).toEqual(['app', 'hs1', 'hs2', 'hs3', 'hs4', 'hs5']);
  });

  it('drops datagrams beyond `max` waiting, as a full receive buffer would, and takes more once drained', async () => {
    const seen: number[] = [];
    const q = new HandshakeDatagrams((p) => seen.push(p.port), 10, 3);
    const added = [1, 2, 3, 4, 5].map((i) => q.offer(peer(i), new Uint8Array([22])));
    expect(added).toEqual(['later', 'later', 'later', 'dropped', 'dropped']);
    await turn();
    expect(seen).toEqual([1, 2, 3]);
    expect(q.offer(peer(6), new Uint8Array([22]))).toBe('later');
    await turn();
    expect(seen).toEqual([1, 2, 3, 6]);
  });

  it('clear() forgets what waits (the socket closed)', async () => {
    const seen: number[] = [];
    const q = new HandshakeDatagrams((p) => seen.push(p.port));
    q.offer(peer(1), new Uint8Array([22]));
    q.offer(peer(2), new Uint8Array([22]));
    q.clear();
    expect(q.size).toBe(0);
    await turn();
    await turn();
    expect(seen).toEqual([]);
  });

  it("keeps a peer's order: while one of its datagrams waits, the rest of its flight waits too; other peers' records go at once", async () => {
    const order: string[] = [];
    const q = new HandshakeDatagrams((p, d) => order.push(`${p.port}:${d[0]}`));
    // peer 1's flight over three datagrams: handshake, ChangeCipherSpec, then application data
    expect(q.offer(peer(1), new Uint8Array([22]))).toBe('later');
    expect(q.offer(peer(1), new Uint8Array([20]))).toBe('later');
    expect(q.offer(peer(2), new Uint8Array([23]))).toBe('now');
    expect(q.offer(peer(1), new Uint8Array([23]))).toBe('later');
    expect(q.offer(peer(9), new Uint8Array([23]))).toBe('now'); // the same address, another port: another peer
    for (let i = 0; i < 4; i++) await turn();
    expect(order).toEqual(['1:22', '1:20', '1:23']);
    // once nothing of peer 1 waits, its records go at once again
    expect(q.offer(peer(1), new Uint8Array([23]))).toBe('now');
    // an empty queue takes every non-handshake datagram at once
    expect(q.size).toBe(0);
    expect(q.offer(peer(3), new Uint8Array([21]))).toBe('now');
  });
});

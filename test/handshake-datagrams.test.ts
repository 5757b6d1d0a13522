import { describe, expect, it } from 'vitest';
import { HandshakeDatagrams } from '../transports/handshake-datagrams.js';
import type { PeerAddress } from '../lib/dtls/keystore.js';

const peer = (port: number): PeerAddress => ({ address: '127.0.0.1', port, family: 'IPv4' });
const turn = () => new Promise<void>((r) => setImmediate(r));

describe('HandshakeDatagrams (the ECDHE server defers handshake datagrams)', () => {
  it('hands nothing over in the turn they arrive, then one per turn in arrival order', async () => {
    const seen: number[] = [];
    const q = new HandshakeDatagrams((p, d) => seen.push(p.port * 1000 + d[0]!));
    for (let i = 1; i <= 3; i++) q.add(peer(i), new Uint8Array([22 + i]));
    expect(seen).toEqual([]);
    expect(q.size).toBe(3);
    await turn();
    expect(seen).toEqual([1023]);
    await turn();
    await turn();
    expect(seen).toEqual([1023, 2024, 3025]);
    expect(q.size).toBe(0);
    await turn();
    expect(seen).toHaveLength(3);
  });

  it('hands `perTurn` per turn and lets work queued in between go first', async () => {
    const order: string[] = [];
    const q = new HandshakeDatagrams((p) => order.push(`hs${p.port}`), 2);
    for (let i = 1; i <= 5; i++) q.add(peer(i), new Uint8Array([22]));
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
    const added = [1, 2, 3, 4, 5].map((i) => q.add(peer(i), new Uint8Array([22])));
    expect(added).toEqual([true, true, true, false, false]);
    await turn();
    expect(seen).toEqual([1, 2, 3]);
    expect(q.add(peer(6), new Uint8Array([22]))).toBe(true);
    await turn();
    expect(seen).toEqual([1, 2, 3, 6]);
  });

  it('clear() forgets what waits (the socket closed)', async () => {
    const seen: number[] = [];
    const q = new HandshakeDatagrams((p) => seen.push(p.port));
    q.add(peer(1), new Uint8Array([22]));
    q.add(peer(2), new Uint8Array([22]));
    q.clear();
    expect(q.size).toBe(0);
    await turn();
    await turn();
    expect(seen).toEqual([]);
  });
});

/**
 * connect() of the Node driver sends its ClientHello inside the call (dgram binds and connects
 * at once for an address literal: no event-loop turn before the first flight), and rejects
 * without leaving a socket behind when the engine refuses the configuration.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, createServer, DtlsError, pskMap, type DtlsServer, type DtlsSession } from '../lib/entry/dtls.js';
import { HandshakeType } from '../lib/dtls/wire/constants.js';
import { IDENTITY, KEY } from './helpers/harness.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function listen(): Promise<{ server: DtlsServer; port: number }> {
  const server = createServer({ psk: pskMap([[IDENTITY, KEY]]) });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => server.close());
  return { server, port: server.address().port };
}

describe('connect(): the first flight', () => {
  it('the ClientHello has left when connect() returns, and the handshake completes', async () => {
    const { port } = await listen();
    const out: Uint8Array[] = [];
    const pending = connect({ host: '127.0.0.1', port, psk: { identity: IDENTITY, key: KEY }, trace: (dir, _peer, d) => dir === 'out' && out.push(d.slice()) });
    // before any await: one datagram, a handshake record (type 22) carrying a ClientHello
    expect(out).toHaveLength(1);
    expect(out[0]![0]).toBe(22);
    expect(out[0]![13]).toBe(HandshakeType.client_hello);
    const s: DtlsSession = await pending;
    cleanup.push(() => s.close());
    expect(s.closed).toBe(false);
    expect(out.length).toBeGreaterThan(1);
  });

  it('a configuration with nothing to offer rejects with INVALID_ARGUMENT and sends nothing', async () => {
    const out: Uint8Array[] = [];
    const err = await connect({ host: '127.0.0.1', port: 9, trace: (dir, _peer, d) => dir === 'out' && out.push(d) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DtlsError);
    expect((err as DtlsError).code).toBe('INVALID_ARGUMENT');
    expect(out).toHaveLength(0);
  });

  it('bad options reject (the promise), they do not throw from the call', async () => {
    let threw = false;
    let p: Promise<unknown> | undefined;
    try {
      p = connect({ host: '', port: 1 });
    } catch {
      threw = true;
    }
    expect(threw).toBe(false);
    await expect(p).rejects.toBeInstanceOf(DtlsError);
  });
});

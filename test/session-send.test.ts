/**
 * A record larger than a session can send fails only that send, typed (RECORD_TOO_LARGE), and
 * never throws out of an event handler: the README's echo server, a client that negotiated
 * record_size_limit 256, and a server application that answers with more than that.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, createServer, DtlsError, pskMap, type DtlsServer, type DtlsSession } from '../lib/entry/dtls.js';
import { enc, IDENTITY, KEY } from './helpers/harness.js';

const FAST = { retransmission: { initialMs: 100, maxMs: 400, maxRetransmits: 8 } } as const;
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function listen(onSession: (s: DtlsSession) => void, mtu?: number): Promise<{ server: DtlsServer; port: number; errors: unknown[] }> {
  const server = createServer({ psk: pskMap([[IDENTITY, KEY]]), ...FAST, ...(mtu ? { mtu } : {}) });
  const errors: unknown[] = [];
  server.on('error', (e) => errors.push(e));
  server.on('session', onSession);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => server.close());
  return { server, port: server.address().port, errors };
}

const nextData = (s: DtlsSession) => new Promise<Uint8Array>((r) => s.once('data', r));

describe('DtlsSession.send', () => {
  it('the echo server of the README survives a client with record_size_limit 256 and a large answer', async () => {
    const failures: DtlsError[] = [];
    const { port } = await listen((s) => {
      s.on('error', (e: DtlsError) => failures.push(e));
      s.on('data', (d: Uint8Array) => {
        s.send(d); // the README's echo
        if (d[0] === 0x21) s.send(new Uint8Array(1000)); // '!': a large answer, over the client's limit
      });
    });
    const c = await connect({ host: '127.0.0.1', port, psk: { identity: IDENTITY, key: KEY }, recordSizeLimit: 256, ...FAST });
    cleanup.push(() => c.close());
    let got = nextData(c);
    c.send(enc('!big'));
    expect(new TextDecoder().decode(await got)).toBe('!big');
    got = nextData(c);
    c.send(enc('after'));
    expect(new TextDecoder().decode(await got)).toBe('after');
    expect(failures.map((e) => e.code)).toEqual(['RECORD_TOO_LARGE']);
    expect(failures[0]!.message).toContain('256');
  });

  it('reports the limit, refuses a larger record with a typed error in the callback, and goes on', async () => {
    let server: DtlsSession | undefined;
    const { port } = await listen((s) => {
      server = s;
      s.on('data', (d: Uint8Array) => s.send(d));
    }, 300);
    const c = await connect({ host: '127.0.0.1', port, psk: { identity: IDENTITY, key: KEY }, ...FAST });
    cleanup.push(() => c.close());
    await new Promise((r) => setTimeout(r, 20));
    expect(server!.maxRecordPayload).toBe(300 - 13 - 16);
    const result = await new Promise<DtlsError | null>((resolve) => expect(server!.send(new Uint8Array(272), resolve)).toBe(false));
    expect(result).toBeInstanceOf(DtlsError);
    expect(result!.code).toBe('RECORD_TOO_LARGE');
    expect(await new Promise<DtlsError | null>((resolve) => server!.send(new Uint8Array(271), resolve))).toBeNull();
    await c.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(server!.maxRecordPayload).toBe(0);
    expect(await new Promise<DtlsError | null>((resolve) => server!.send(enc('late'), resolve))).toMatchObject({ code: 'CLOSED' });
  });
});

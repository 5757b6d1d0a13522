/**
 * A fast-check property over the real Node driver on 127.0.0.1 (issue 10, finding 1): a
 * coaps:// server and client with random record size limits (64..16384, RFC 8449) and MTUs on
 * both sides, random resources (body sizes, bulky options, handlers that throw or reject), a
 * random Block1 upload and an observation with a random representation. Every request is
 * answered (the whole body, or a 5.00 where a handler failed or options leave no room for a
 * block), nothing is thrown out of the server, and the server serves on afterwards.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { CoapClient, createServer, type CoapServer, type Handler } from '../transports/coap-node.js';
import { pskMap } from '../lib/dtls/keystore.js';

const enc = (s: string) => new TextEncoder().encode(s);
const IDENTITY = enc('Client_identity');
const KEY = enc('secretPSK');
const FAST_DTLS = { retransmission: { initialMs: 100, maxMs: 400, maxRetransmits: 8 } } as const;
const FAST_COAP = { ackTimeoutMs: 500, maxRetransmit: 3 };

interface Resource {
  size: number;
  /** Elective options of 60 bytes each. */
  bulky: number;
  kind: 'ok' | 'throw' | 'reject';
}

const body = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

function handlerFor(resources: Resource[], obsSize: () => number): Handler {
  return async (req, res) => {
    if (req.path === '/echo') return res.status(0x44).end(req.payload);
    if (req.path === '/obs') return res.observe().end(body(obsSize(), 7));
    const r = resources[Number(req.path.slice(3))];
    if (!r) return res.end(undefined, 0x84);
    if (r.kind === 'throw') throw new Error('handler bug');
    if (r.kind === 'reject') {
      await Promise.resolve();
      throw new Error('async handler bug');
    }
    for (let i = 0; i < r.bulky; i++) res.setOption(2048 + 2 * i, new Uint8Array(60));
    res.end(body(r.size, r.size));
  };
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
});

describe('CoAP sized to random DTLS limits (property)', () => {
  it('every request is answered whole or with 5.00; nothing escapes', async () => {
    const unexpected: unknown[] = [];
    const onUncaught = (e: unknown) => unexpected.push(e);
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    cleanup.push(async () => {
      process.off('uncaughtException', onUncaught);
      process.off('unhandledRejection', onUncaught);
    });
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          clientLimit: fc.integer({ min: 64, max: 16384 }),
          serverLimit: fc.integer({ min: 64, max: 16384 }),
          serverMtu: fc.integer({ min: 80, max: 1500 }),
          clientMtu: fc.integer({ min: 400, max: 1500 }),
          resources: fc.array(fc.record({ size: fc.integer({ min: 0, max: 5000 }), bulky: fc.integer({ min: 0, max: 3 }), kind: fc.constantFrom<Resource['kind']>('ok', 'ok', 'ok', 'throw', 'reject') }), { minLength: 1, maxLength: 4 }),
          upload: fc.integer({ min: 0, max: 3000 }),
          obsSize: fc.integer({ min: 0, max: 3000 }),
        }),
        async (p) => {
          let obsSize = 10;
          const server: CoapServer = createServer(
            { dtls: { psk: pskMap([[IDENTITY, KEY]]), ...FAST_DTLS, mtu: p.serverMtu, recordSizeLimit: p.serverLimit }, transmission: FAST_COAP },
            handlerFor(p.resources, () => obsSize),
          );
          const errors: unknown[] = [];
          server.on('error', (e) => errors.push(e));
          await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
          const client = new CoapClient({ transmission: FAST_COAP, dtls: { psk: { identity: IDENTITY, key: KEY }, ...FAST_DTLS, mtu: p.clientMtu, recordSizeLimit: p.clientLimit } });
          const base = `coaps://127.0.0.1:${server.address().port}`;
          try {
            for (let i = 0; i < p.resources.length; i++) {
              const r = p.resources[i]!;
              const res = await client.request(`${base}/r/${i}`, { timeoutMs: 8000 });
              if (r.kind !== 'ok') expect(res.codeText).toBe('5.00');
              else if (res.codeText === '5.00') expect(r.bulky).toBeGreaterThan(0); // options leave no room
              else {
                expect(res.codeText).toBe('2.05');
                expect(Buffer.from(res.payload).equals(Buffer.from(body(r.size, r.size)))).toBe(true);
              }
            }
            const up = body(p.upload, 3);
            const echoed = await client.request(`${base}/echo`, { method: 'PUT', payload: up, timeoutMs: 8000 });
            expect(echoed.codeText).toBe('2.04');
            expect(Buffer.from(echoed.payload).equals(Buffer.from(up))).toBe(true);
            const { first, observation } = await client.observe(`${base}/obs`, { timeoutMs: 8000 });
            expect(first.payload.length).toBe(10);
            obsSize = p.obsSize;
            const next = new Promise<Uint8Array>((resolve) => observation.once('notification', (n: { payload: Uint8Array }) => resolve(n.payload)));
            expect(server.notify('/obs')).toBe(1);
            expect(Buffer.from(await next).equals(Buffer.from(body(p.obsSize, 7)))).toBe(true);
            observation.cancel();
            expect((await client.request(`${base}/echo`, { method: 'POST', payload: 'still here', timeoutMs: 8000 })).text()).toBe('still here');
            for (const e of errors) expect(String(e)).toMatch(/handler bug/);
          } finally {
            await client.close();
            await server.close();
          }
        },
      ),
      { numRuns: 25, endOnFailure: true },
    );
    expect(unexpected).toEqual([]);
  }, 240_000);
});

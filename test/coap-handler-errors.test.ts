/**
 * A handler's error costs its request at most (issue 10, finding 1): a handler that throws,
 * rejects, or answers with something that cannot be encoded (an option number past 65535, a
 * value too long), now or later from a timer, gets its request a 5.00 and the server goes on;
 * without an 'error' listener nothing is thrown either. Real Node driver on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CoapClient, createServer, type Handler } from '../transports/coap-node.js';

const FAST = { ackTimeoutMs: 300, maxRetransmit: 2 };
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function start(handler: Handler, listen = true): Promise<{ url: string; errors: unknown[] }> {
  const server = createServer({ transmission: FAST }, handler);
  const errors: unknown[] = [];
  if (listen) server.on('error', (e) => errors.push(e));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanup.push(() => server.close());
  const c = new CoapClient({ transmission: FAST });
  cleanup.push(() => c.close());
  const url = `coap://127.0.0.1:${server.address().port}`;
  (start as { client?: CoapClient }).client = c;
  return { url, errors };
}
const get = (url: string, path: string) => (start as unknown as { client: CoapClient }).client.request(`${url}${path}`, { timeoutMs: 5000 });

const handler: Handler = async (req, res) => {
  switch (req.path) {
    case '/throw':
      throw new Error('boom');
    case '/reject':
      await Promise.resolve();
      throw new Error('late boom');
    case '/bad-option':
      return res.setOption(70000, new Uint8Array(1)).end('x');
    case '/too-long':
      return res.setOption(2048, new Uint8Array(70000)).end('x');
    case '/later':
      setTimeout(() => res.setOption(70000, new Uint8Array(1)).end('x'), 5);
      return;
    default:
      return res.end('ok');
  }
};

describe('handler errors', () => {
  for (const path of ['/throw', '/reject', '/bad-option', '/too-long', '/later']) {
    it(`${path}: 5.00 for that request, and the next request is served`, async () => {
      const { url, errors } = await start(handler);
      const r = await get(url, path);
      expect(r.codeText).toBe('5.00');
      expect((await get(url, '/ok')).text()).toBe('ok');
      if (path !== '/too-long') expect(errors.length).toBeGreaterThanOrEqual(1);
    });
  }

  it('without an error listener, a throwing handler still costs only its request', async () => {
    const { url } = await start(handler, false);
    expect((await get(url, '/throw')).codeText).toBe('5.00');
    expect((await get(url, '/bad-option')).codeText).toBe('5.00');
    expect((await get(url, '/ok')).text()).toBe('ok');
  });
});

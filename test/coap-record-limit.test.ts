/**
 * CoAP sized to the transport (issue 10, finding 1): a coaps:// client that negotiated a small
 * record (record_size_limit 256, max_fragment_length 512), a server with a small MTU, and a
 * coap:// peer with a small configured message size all get whole answers: every Block2
 * response, Block1 upload and notification fits the session's largest record; what cannot fit
 * is answered (5.00), and nothing escapes as an exception. Real Node driver on 127.0.0.1.
 */
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../lib/coap/codec.js';
import { Code, MessageType, OptionNumber } from '../lib/coap/message.js';
import { CoapClient, createServer, type CoapServer, type CoapServerOptions } from '../transports/coap-node.js';
import { demoRouter } from '../lib/cli/serve.js';
import { pskMap } from '../lib/dtls/keystore.js';
import type { ConnectOptions } from '../transports/node-dgram.js';

const enc = (s: string) => new TextEncoder().encode(s);
const IDENTITY = enc('Client_identity');
const KEY = enc('secretPSK');
const LARGE = Uint8Array.from({ length: 4096 }, (_, i) => 0x41 + (i % 26));
const FAST_DTLS = { retransmission: { initialMs: 100, maxMs: 400, maxRetransmits: 8 } } as const;
const FAST_COAP = { ackTimeoutMs: 300, maxRetransmit: 2 };

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function serve(o: CoapServerOptions = {}): Promise<{ server: CoapServer; port: number; errors: unknown[] }> {
  const server = createServer({ transmission: FAST_COAP, ...o }, demoRouter().handler());
  const errors: unknown[] = [];
  server.on('error', (e) => errors.push(e));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanup.push(() => server.close());
  return { server, port: server.address().port, errors };
}

function client(dtls?: Partial<ConnectOptions>, extra: { maxMessageSize?: number } = {}): CoapClient {
  const c = new CoapClient({ transmission: FAST_COAP, ...extra, ...(dtls ? { dtls: { psk: { identity: IDENTITY, key: KEY }, ...FAST_DTLS, ...dtls } } : {}) });
  cleanup.push(() => c.close());
  return c;
}

const secure = { dtls: { psk: pskMap([[IDENTITY, KEY]]), ...FAST_DTLS } };

describe('CoAP over a DTLS session with small records', () => {
  it('GET /large to a client with record_size_limit 256: all 4096 bytes, every record within the limit', async () => {
    const { port, errors } = await serve(secure);
    const c = client({ recordSizeLimit: 256 });
    const r = await c.request(`coaps://127.0.0.1:${port}/large`, { timeoutMs: 8000 });
    expect(r.codeText).toBe('2.05');
    expect(Buffer.from(r.payload).equals(Buffer.from(LARGE))).toBe(true);
    const again = await c.request(`coaps://127.0.0.1:${port}/hello`, { timeoutMs: 8000 });
    expect(again.text()).toBe('Hello, coaps!');
    expect(errors).toEqual([]);
  });

  it('GET /large to a client with max_fragment_length 512', async () => {
    const { port } = await serve(secure);
    const c = client({ maxFragmentLength: 512 });
    const r = await c.request(`coaps://127.0.0.1:${port}/large`, { timeoutMs: 8000 });
    expect(Buffer.from(r.payload).equals(Buffer.from(LARGE))).toBe(true);
  });

  it('a server with a 200-byte MTU answers /large in blocks that fit, and takes a 3000-byte upload in blocks that fit', async () => {
    const { port } = await serve({ dtls: { ...secure.dtls, mtu: 200 } });
    const c = client({});
    const r = await c.request(`coaps://127.0.0.1:${port}/large`, { timeoutMs: 8000 });
    expect(Buffer.from(r.payload).equals(Buffer.from(LARGE))).toBe(true);
    const body = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff);
    const put = await c.request(`coaps://127.0.0.1:${port}/echo`, { method: 'PUT', payload: body, timeoutMs: 8000 });
    expect(put.codeText).toBe('2.04');
    expect(Buffer.from(put.payload).equals(Buffer.from(body))).toBe(true);
  });

  it('a client whose server announced record_size_limit 128 uploads in blocks that fit', async () => {
    const { port } = await serve({ dtls: { ...secure.dtls, recordSizeLimit: 128 } });
    const c = client({ recordSizeLimit: 2048 }); // offers RFC 8449, so the server can announce its 128
    const body = Uint8Array.from({ length: 2000 }, (_, i) => (i * 13) & 0xff);
    const put = await c.request(`coaps://127.0.0.1:${port}/echo`, { method: 'POST', payload: body, timeoutMs: 8000 });
    expect(put.codeText).toBe('2.04');
    expect(Buffer.from(put.payload).equals(Buffer.from(body))).toBe(true);
  });

  it('a response whose options alone exceed the record is a 5.00, and the server goes on', async () => {
    const server = createServer({ ...secure, transmission: FAST_COAP }, (req, res) => {
      if (req.path === '/fat') {
        for (let i = 0; i < 4; i++) res.setOption(2048 + i * 2, new Uint8Array(100)); // elective, 400 bytes
        return res.end('x');
      }
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => server.close());
    const port = server.address().port;
    const c = client({ recordSizeLimit: 256 });
    const r = await c.request(`coaps://127.0.0.1:${port}/fat`, { timeoutMs: 8000 });
    expect(r.codeText).toBe('5.00');
    expect((await c.request(`coaps://127.0.0.1:${port}/ok`, { timeoutMs: 8000 })).text()).toBe('ok');
  });
});

describe('CoAP over UDP with a configured message size', () => {
  it('a coap:// server limited to 300-byte messages answers /large in blocks that fit', async () => {
    const { port } = await serve({ maxMessageSize: 300, amplificationFactor: 100 }); // sizing, not address checks
    const sock = createSocket('udp4');
    cleanup.push(() => new Promise<void>((r) => sock.close(() => r())));
    const got = new Promise<Buffer>((r) => sock.once('message', r));
    sock.send(encodeMessage({ type: MessageType.CON, code: Code.GET, messageId: 1, token: enc('tk'), options: [{ number: OptionNumber.UriPath, value: enc('large') }], payload: new Uint8Array(0) }), port, '127.0.0.1');
    const first = await got;
    expect(first.length).toBeLessThanOrEqual(300);
    expect(decodeMessage(first).options.some((o) => o.number === OptionNumber.Block2)).toBe(true);
    const c = client(undefined);
    const r = await c.request(`coap://127.0.0.1:${port}/large`, { timeoutMs: 8000 });
    expect(Buffer.from(r.payload).equals(Buffer.from(LARGE))).toBe(true);
  });

  it('a coap:// client limited to 200-byte messages uploads in blocks that fit', async () => {
    const sizes: number[] = [];
    const server = createServer({ transmission: FAST_COAP }, (req, res) => {
      sizes.push(req.message.payload.length);
      res.status(0x44).end(`${req.payload.length}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => server.close());
    const c = client(undefined, { maxMessageSize: 200 });
    const r = await c.request(`coap://127.0.0.1:${server.address().port}/up`, { method: 'PUT', payload: new Uint8Array(1000), timeoutMs: 8000 });
    expect(r.text()).toBe('1000');
    // the last block the handler saw: the body came in blocks of at most 128 bytes
    expect(sizes).toHaveLength(1);
    expect(sizes[0]!).toBeLessThanOrEqual(128);
  });
});

/**
 * No amplification on coap:// (issue 10, finding 4; RFC 7252 §11.3, RFC 9175 §2.4 item 3):
 * until an address is verified with the Echo option, what the server sends in answer to a
 * datagram is at most 3x its size; large responses, Block2 follow-ups and observations need a
 * verified address (4.01 Unauthorized with Echo first; the client repeats the request with
 * the Echo value). The table of amplification factors (bytes out / bytes in) of every
 * unauthenticated input is printed. Our own client verifies transparently.
 * Real Node driver on 127.0.0.1, the demo resources of `coaps serve`.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CoapClient, createServer, type CoapServer } from '../transports/coap-node.js';
import { demoRouter } from '../lib/cli/serve.js';
import { decodeMessage, encodeMessage } from '../lib/coap/codec.js';
import { encodeBlock } from '../lib/coap/block.js';
import { Code, getOption, MessageType, OptionNumber, type CoapMessage, type CoapOption } from '../lib/coap/message.js';

const enc = (s: string) => new TextEncoder().encode(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BOUND = 3;
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
const table: Array<{ input: string; in: number; out: number; factor: string }> = [];
afterAll(() => {
  if (table.length) console.log(`coap:// amplification (bound ${BOUND}x)\n` + table.map((r) => `  ${r.input.padEnd(40)} in ${String(r.in).padStart(4)} B  out ${String(r.out).padStart(5)} B  x${r.factor}`).join('\n'));
});

async function serve(): Promise<{ server: CoapServer; port: number }> {
  const server = createServer({ transmission: { ackTimeoutMs: 200, maxRetransmit: 2 } }, demoRouter().handler());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanup.push(() => server.close());
  return { server, port: server.address().port };
}

/** A raw UDP socket that records every datagram it receives. */
async function attacker(): Promise<{ sock: Socket; got: Buffer[] }> {
  const sock = createSocket('udp4');
  const got: Buffer[] = [];
  sock.on('message', (d) => got.push(d));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  cleanup.push(() => new Promise<void>((r) => sock.close(() => r())));
  return { sock, got };
}

const uri = (p: string): CoapOption[] => p.split('/').filter(Boolean).map((s) => ({ number: OptionNumber.UriPath, value: enc(s) }));
const con = (options: CoapOption[], mid = 0x1234, token = enc('tk')): Uint8Array => encodeMessage({ type: MessageType.CON, code: Code.GET, messageId: mid, token, options, payload: new Uint8Array(0) });

/** Sends one datagram (and runs `more` a while after), returns bytes out / bytes in. */
async function measure(input: string, data: Uint8Array, more?: (s: { server: CoapServer }) => Promise<void>): Promise<number> {
  const { server, port } = await serve();
  const { sock, got } = await attacker();
  sock.send(data, port, '127.0.0.1');
  await sleep(150);
  if (more) await more({ server });
  await sleep(700); // retransmissions of CONs included (ackTimeout 200 ms, 2 retransmissions)
  const out = got.reduce((n, d) => n + d.length, 0);
  const factor = out / data.length;
  table.push({ input, in: data.length, out, factor: factor.toFixed(2) });
  return factor;
}

describe('coap:// amplification of unauthenticated inputs', () => {
  it('GET /large', async () => expect(await measure('GET /large', con(uri('/large')))).toBeLessThanOrEqual(BOUND));
  it('GET /large with a 1-byte token', async () => expect(await measure('GET /large (token 1 B)', con(uri('/large'), 7, Uint8Array.of(1)))).toBeLessThanOrEqual(BOUND));
  it('GET /.well-known/core', async () => expect(await measure('GET /.well-known/core', con(uri('/.well-known/core')))).toBeLessThanOrEqual(BOUND));
  it('GET /time with Observe=0, then three notifications', async () => {
    const f = await measure('Observe /time (+3 notify())', con([{ number: OptionNumber.Observe, value: new Uint8Array(0) }, ...uri('/time')]), async ({ server }) => {
      for (let i = 0; i < 3; i++) {
        server.notify('/time');
        await sleep(50);
      }
    });
    expect(f).toBeLessThanOrEqual(BOUND);
  });
  it('a Block2 follow-up (GET /large, block 1 of 1024)', async () => {
    expect(await measure('GET /large Block2 num 1', con([...uri('/large'), { number: OptionNumber.Block2, value: encodeBlock({ num: 1, more: false, szx: 6 }) }]))).toBeLessThanOrEqual(BOUND);
  });
  it('a Block1 upload first block (PUT /echo)', async () => {
    const put = encodeMessage({ type: MessageType.CON, code: Code.PUT, messageId: 9, token: enc('tk'), options: [...uri('/echo'), { number: OptionNumber.Block1, value: encodeBlock({ num: 0, more: true, szx: 0 }) }], payload: new Uint8Array(16) });
    expect(await measure('PUT /echo Block1 num 0', put)).toBeLessThanOrEqual(BOUND);
  });
  it('an unknown critical option (4.02 with a diagnostic)', async () => {
    expect(await measure('GET /hello + unknown critical option', con([...uri('/hello'), { number: 65001, value: Uint8Array.of(1) }]))).toBeLessThanOrEqual(BOUND);
  });
  it('GET /hello (small: answered in full)', async () => {
    const f = await measure('GET /hello', con(uri('/hello')));
    expect(f).toBeGreaterThan(1);
    expect(f).toBeLessThanOrEqual(BOUND);
  });
  it('a garbage datagram', async () => expect(await measure('garbage (32 random bytes)', Uint8Array.from({ length: 32 }, (_, i) => (i * 97 + 13) & 0xff))).toBeLessThanOrEqual(BOUND));
  it('a malformed CON (TKL 9)', async () => expect(await measure('malformed CON (TKL 9)', Uint8Array.of(0x49, 0x01, 0x12, 0x34, ...new Uint8Array(9)))).toBeLessThanOrEqual(BOUND));
});

describe('verifying an address with Echo (RFC 9175)', () => {
  it('GET /large: 4.01 with Echo; the same request with that Echo gets the representation; a forged Echo does not', async () => {
    const { port } = await serve();
    const { sock, got } = await attacker();
    sock.send(con(uri('/large'), 1), port, '127.0.0.1');
    await sleep(100);
    const challenge = decodeMessage(new Uint8Array(got.shift()!));
    expect(challenge.code).toBe(Code.Unauthorized);
    const echo = getOption(challenge, OptionNumber.Echo)!;
    expect(echo.length).toBeGreaterThanOrEqual(1);
    expect(echo.length).toBeLessThanOrEqual(40);
    const forged = Uint8Array.from(echo, (b, i) => (i === echo.length - 1 ? b ^ 1 : b));
    sock.send(con([...uri('/large'), { number: OptionNumber.Echo, value: forged }], 2), port, '127.0.0.1');
    await sleep(100);
    expect(decodeMessage(new Uint8Array(got.shift()!)).code).toBe(Code.Unauthorized);
    sock.send(con([...uri('/large'), { number: OptionNumber.Echo, value: echo }], 3), port, '127.0.0.1');
    await sleep(100);
    const full = decodeMessage(new Uint8Array(got.shift()!));
    expect(full.code).toBe(Code.Content);
    expect(full.payload.length).toBe(1024);
    // verified now: a follow-up without Echo is answered in full
    sock.send(con([...uri('/large'), { number: OptionNumber.Block2, value: encodeBlock({ num: 1, more: false, szx: 6 }) }], 4), port, '127.0.0.1');
    await sleep(100);
    expect(decodeMessage(new Uint8Array(got.shift()!)).payload.length).toBe(1024);
  });

  it('our client verifies transparently: GET /large (4096 B) and an observation over coap://', async () => {
    const { server, port } = await serve();
    const c = new CoapClient({});
    cleanup.push(() => c.close());
    const r = await c.request(`coap://127.0.0.1:${port}/large`, { timeoutMs: 5000 });
    expect(r.payload.length).toBe(4096);
    const c2 = new CoapClient({});
    cleanup.push(() => c2.close());
    const { first, observation } = await c2.observe(`coap://127.0.0.1:${port}/time`, { timeoutMs: 5000 });
    expect(first.codeText).toBe('2.05');
    expect(first.observe).toBeDefined();
    const next = new Promise<unknown>((resolve) => observation.once('notification', resolve));
    expect(server.notify('/time')).toBe(1);
    await next;
    observation.cancel();
  });
});

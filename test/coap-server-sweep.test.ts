/**
 * The Node CoAP server frees what peers leave behind without more traffic (issue 10, finding
 * 3): block-wise state is swept by the server core's own timer after EXCHANGE_LIFETIME (here
 * shortened), the coap:// peer-address map forgets a peer after EXCHANGE_LIFETIME of silence,
 * and the caps given as options are in force. Real Node driver on 127.0.0.1.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type CoapServer } from '../transports/coap-node.js';
import { demoRouter } from '../lib/cli/serve.js';
import { decodeMessage, encodeMessage } from '../lib/coap/codec.js';
import { encodeBlock } from '../lib/coap/block.js';
import { Code, MessageType, OptionNumber, type CoapMessage } from '../lib/coap/message.js';

const enc = (s: string) => new TextEncoder().encode(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function start(o: Parameters<typeof createServer>[0] & object): Promise<{ server: CoapServer; port: number }> {
  const server = createServer(o, demoRouter().handler());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanup.push(() => server.close());
  return { server, port: server.address().port };
}

async function udp(): Promise<{ sock: Socket; ask: (port: number, m: Partial<CoapMessage>) => Promise<CoapMessage> }> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  cleanup.push(() => new Promise<void>((r) => sock.close(() => r())));
  let mid = 100;
  const ask = (port: number, m: Partial<CoapMessage>) =>
    new Promise<CoapMessage>((resolve) => {
      sock.once('message', (d) => resolve(decodeMessage(new Uint8Array(d))));
      sock.send(encodeMessage({ type: MessageType.CON, code: Code.GET, messageId: mid++, token: enc(`t${mid}`), options: [], payload: new Uint8Array(0), ...m }), port, '127.0.0.1');
    });
  return { sock, ask };
}

const firstBlock = (k: number): Partial<CoapMessage> => ({
  code: Code.PUT,
  options: [
    { number: OptionNumber.UriPath, value: enc('echo') },
    { number: OptionNumber.UriQuery, value: enc(`k=${k}`) },
    { number: OptionNumber.Block1, value: encodeBlock({ num: 0, more: true, szx: 0 }) },
  ],
  payload: new Uint8Array(16),
});

describe('the Node CoAP server frees what peers leave', () => {
  it('Block1 uploads are swept by the core timer after EXCHANGE_LIFETIME, with no more traffic', async () => {
    const { server, port } = await start({ transmission: { exchangeLifetimeMs: 300 } });
    const { ask } = await udp();
    for (let k = 0; k < 3; k++) expect((await ask(port, firstBlock(k))).code).toBe(Code.Continue);
    expect(server.core.uploadCount).toBe(3);
    await sleep(700);
    expect(server.core.uploadCount).toBe(0);
  });

  it('a coap:// peer silent for EXCHANGE_LIFETIME is forgotten (address map, endpoint, core)', async () => {
    const { server, port } = await start({ transmission: { exchangeLifetimeMs: 300 } });
    const { ask } = await udp();
    expect((await ask(port, { options: [{ number: OptionNumber.UriPath, value: enc('hello') }] })).code).toBe(Code.Content);
    expect(server.peerAddressCount).toBe(1);
    await sleep(800);
    expect(server.peerAddressCount).toBe(0);
  });

  it('the caps given as options are in force: a third upload from one address gets 5.03', async () => {
    const { port } = await start({ limits: { maxUploadsPerPeer: 2 } });
    const { ask } = await udp();
    for (let k = 0; k < 2; k++) expect((await ask(port, firstBlock(k))).code).toBe(Code.Continue);
    const busy = await ask(port, firstBlock(9));
    expect(busy.code).toBe(Code.ServiceUnavailable);
    expect(busy.options.some((o) => o.number === OptionNumber.MaxAge)).toBe(true);
  });
});

/**
 * CoAP over DTLS (and plain UDP) against real CoAP programs (interop/PEERS.md):
 * libcoap 4.3.1 (coap-client-gnutls / coap-client-openssl / coap-server-gnutls /
 * coap-server-openssl), node-coap-client 2.1.0, and our CLI (`coaps get|serve`).
 * Install them with `interop/install-peers.sh`; build with `npx tsc -p .` (the CLI cases run
 * dist/lib/cli/main.js).
 *
 * Our side is the public CoAP API (transports/coap-node.ts: createServer / CoapClient) with the
 * demo resources of `coaps serve` (demoRouter: /hello, /time (observable), /large (4096 B),
 * /echo, /.well-known/core). Besides what the peers print, most cases relay through a recording
 * UDP tap (helpers.ts `UdpTap`) and check the datagrams: the negotiated cipher suite in the
 * plaintext ServerHello, the number of protected records (one per CoAP block), and, decrypted
 * with the PSK by tshark (an independent DTLS and CoAP dissector), the Block1/Block2 numbers.
 *
 * libcoap's gnutls build is forced to TLS_PSK_WITH_AES_128_CCM_8 (0xC0A8) or, for raw public
 * keys, TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (0xC0AE) with GNUTLS_SYSTEM_PRIORITY_FILE; libcoap's
 * openssl build offers many suites, of which our engine can only pick 0xC0A8.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CoapClient, createServer, type CoapServer, type CoapServerOptions } from '../transports/coap-node.js';
import { demoRouter } from '../lib/cli/serve.js';
import { pskMap, type PeerIdentity } from '../lib/entry/dtls.js';
import type { IncomingRequest } from '../lib/coap/api-types.js';
import {
  CLI,
  CONTENT_TYPE,
  GNUTLS_CCM8_ONLY,
  GNUTLS_CCM8_P256,
  LOOPBACK,
  PEERS_DIR,
  PSK_ASCII,
  PSK_HEX,
  PSK_IDENTITY,
  killAllPeers,
  onCleanup,
  portAllocator,
  removeTempDirs,
  runCleanups,
  runPeer,
  sleep,
  tempDir,
  UdpTap,
  waitFor,
  type Peer,
} from './helpers.js';

const nextPort = portAllocator('interop/coap.test.ts');

const KEY = Buffer.from(PSK_HEX, 'hex');
const IDENTITY = Buffer.from(PSK_IDENTITY);
const PSK_ARG = `${PSK_IDENTITY}:${PSK_HEX}`;
const TLS_PSK_WITH_AES_128_CCM_8 = 0xc0a8;
const TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 = 0xc0ae;
/** The demo router's /large: 4096 bytes 'A'..'Z' repeating. */
const LARGE = Buffer.from(Array.from({ length: 4096 }, (_, i) => 0x41 + (i % 26)));
/** libcoap coap-server's /example_data: 1500 bytes "a123456789b123456789...". */
const EXAMPLE_DATA_LENGTH = 1500;
const ISO_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g;

let tmp = '';
beforeAll(() => {
  tmp = tempDir('coaps-interop-coap-');
});
afterEach(async () => {
  await killAllPeers();
  await runCleanups();
});
afterAll(() => removeTempDirs());

type Build = 'gnutls' | 'openssl';
/** The environment of a libcoap gnutls program: CCM_8 forced (PEERS.md). */
const gnutlsEnv = (conf = GNUTLS_CCM8_ONLY): NodeJS.ProcessEnv => ({ ...process.env, GNUTLS_SYSTEM_PRIORITY_FILE: conf });
const envFor = (build: Build) => (build === 'gnutls' ? gnutlsEnv() : process.env);
const PSK_CLIENT_ARGS = ['-u', PSK_IDENTITY, '-k', PSK_ASCII];

/** coap-client-<build> under a hard timeout; `-B` bounds its own wait. */
function coapClient(build: Build, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Peer {
  return runPeer(`coap-client-${build}`, ['-B', '5', ...args], { env: opts.env ?? envFor(build), timeoutMs: opts.timeoutMs ?? 10_000, endStdin: true });
}

async function exitedOk(p: Peer, timeoutMs = 10_000): Promise<void> {
  const exit = await p.waitExit(timeoutMs);
  expect(exit.code, p.describe()).toBe(0);
}

// ---------------------------------------------------------------------------------------
// Our server (in-process), behind a tap

interface OurServer {
  server: CoapServer;
  /** The server's own port. */
  port: number;
  /** Where clients connect: the tap relaying to `port`. */
  tap: UdpTap;
  requests: IncomingRequest[];
  handshakeErrors: unknown[];
}

const PSK_SERVER: CoapServerOptions['dtls'] = { psk: pskMap([[IDENTITY, KEY]]) };

async function ourServer(dtls: CoapServerOptions['dtls'] | undefined, o: { notifyMs?: number } = {}): Promise<OurServer> {
  const port = await nextPort();
  const route = demoRouter().handler();
  const requests: IncomingRequest[] = [];
  const server = createServer(dtls ? { dtls } : {}, (req, res) => {
    requests.push(req);
    return route(req, res);
  });
  const handshakeErrors: unknown[] = [];
  server.on('handshakeError', (e: unknown) => handshakeErrors.push(e));
  server.on('error', (e: unknown) => handshakeErrors.push(e));
  await new Promise<void>((r) => server.listen(port, LOOPBACK, r));
  onCleanup(() => server.close());
  if (o.notifyMs) {
    const t = setInterval(() => server.notify('/time'), o.notifyMs);
    onCleanup(() => clearInterval(t));
  }
  const tap = await UdpTap.start(await nextPort(), port);
  return { server, port, tap, requests, handshakeErrors };
}

// ---------------------------------------------------------------------------------------
// Wire checks

/** Plaintext handshake messages (type, body) in a direction, epoch 0, unfragmented. */
function handshakeMessages(tap: UdpTap, dir: 'c2s' | 's2c'): Array<{ type: number; body: Buffer }> {
  const out: Array<{ type: number; body: Buffer }> = [];
  for (const r of tap.records()) {
    if (r.dir !== dir || r.type !== CONTENT_TYPE.handshake || r.epoch !== 0) continue;
    for (let at = 0; at + 12 <= r.fragment.length; ) {
      const fragmentLength = r.fragment.readUIntBE(at + 9, 3);
      out.push({ type: r.fragment[at]!, body: r.fragment.subarray(at + 12, at + 12 + fragmentLength) });
      at += 12 + fragmentLength;
    }
  }
  return out;
}

/** The cipher suite of the (first) ServerHello the tap saw. */
function negotiatedSuite(tap: UdpTap): number | undefined {
  const sh = handshakeMessages(tap, 's2c').find((m) => m.type === 2);
  if (!sh) return undefined;
  const at = 2 + 32; // server_version, random
  return sh.body.readUInt16BE(at + 1 + sh.body[at]!);
}

/** Protected application-data records in a direction (one per CoAP message). */
const appRecords = (tap: UdpTap, dir: 'c2s' | 's2c') => tap.records().filter((r) => r.dir === dir && r.type === CONTENT_TYPE.application_data && r.epoch >= 1).length;

interface CoapRow {
  dir: 'c2s' | 's2c';
  type: number;
  code: number;
  token: string;
  block1: number | undefined;
  block2: number | undefined;
  observe: number | undefined;
}

/**
 * Every CoAP message the tap relayed, decoded by tshark (decrypting DTLS with the PSK for
 * coaps://). Returns undefined when tshark is not installed.
 */
async function tsharkCoap(tap: UdpTap, secure: boolean): Promise<CoapRow[] | undefined> {
  const file = join(tmp, `coap-${tap.port}.pcap`);
  tap.writePcap(file);
  const decode = secure ? ['-d', `udp.port==${tap.port},dtls`, '-o', `dtls.psk:${PSK_HEX}`, '-d', `dtls.port==${tap.port},coap`] : ['-d', `udp.port==${tap.port},coap`];
  const p = runPeer(
    'tshark',
    [
      '-n', '-r', file, ...decode,
      '-Y', 'coap',
      '-T', 'fields',
      '-E', 'occurrence=a',
      '-E', 'aggregator=|',
      '-e', 'udp.srcport',
      '-e', 'coap.type',
      '-e', 'coap.code',
      '-e', 'coap.token',
      '-e', 'coap.opt.block_number',
      '-e', 'coap.opt.name',
      '-e', 'coap.opt.observe',
    ],
    { timeoutMs: 15_000, endStdin: true },
  );
  const exit = await p.exited;
  if (exit.code === 127 || /spawn error|No such file/.test(p.stderr)) return undefined;
  if (exit.code !== 0) throw new Error(`tshark failed: ${p.describe()}`);
  return p.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((line) => {
      const [sport, type, code, token, blocks, optNames, observe] = line.split('\t');
      // block numbers come in the order of the Block1/Block2 options among the option names
      const numbers = (blocks ?? '').split('|').filter((x) => x !== '').map(Number);
      const kinds = (optNames ?? '').split('|').flatMap((n) => (/Block1/.test(n) ? [1] : /Block2/.test(n) ? [2] : []));
      const row: CoapRow = { dir: Number(sport) === tap.port ? 's2c' : 'c2s', type: Number(type), code: Number(code), token: token ?? '', block1: undefined, block2: undefined, observe: observe ? Number(observe.split('|')[0]) : undefined };
      kinds.forEach((k, i) => (k === 1 ? (row.block1 = numbers[i]) : (row.block2 = numbers[i])));
      return row;
    });
}

/** The Block2 numbers of the GET requests a client sent, decoded by tshark. */
async function requestedBlock2(tap: UdpTap, secure: boolean): Promise<number[] | undefined> {
  const rows = await tsharkCoap(tap, secure);
  return rows?.filter((r) => r.dir === 'c2s' && r.code === 1 && r.block2 !== undefined).map((r) => r.block2!);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function expectPskIdentity(id: PeerIdentity | undefined): void {
  expect(id?.kind).toBe('psk');
  expect(Buffer.from((id as { identity: Uint8Array }).identity).toString()).toBe(PSK_IDENTITY);
}

// ---------------------------------------------------------------------------------------
// 1. libcoap clients -> our server

describe.each<Build>(['gnutls', 'openssl'])('coap-client-%s -> our coaps:// server (PSK)', (build) => {
  const url = (s: OurServer, path: string) => `coaps://${LOOPBACK}:${s.tap.port}${path}`;

  it('GET /hello', async () => {
    const s = await ourServer(PSK_SERVER);
    const c = coapClient(build, [...PSK_CLIENT_ARGS, '-w', url(s, '/hello')]);
    await exitedOk(c);
    expect(c.stdout.trim()).toBe('Hello, coaps!');
    expect(s.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /hello']);
    expectPskIdentity(s.requests[0]!.identity);
    expect(negotiatedSuite(s.tap)).toBe(TLS_PSK_WITH_AES_128_CCM_8);
    expect(s.handshakeErrors).toEqual([]);
  });

  it('block-wise GET /large with -b 64: all 4096 bytes, 64 Block2 requests', async () => {
    const s = await ourServer(PSK_SERVER);
    const out = join(tmp, `large-${build}.out`);
    const c = coapClient(build, [...PSK_CLIENT_ARGS, '-b', '64', '-o', out, url(s, '/large')]);
    await exitedOk(c);
    const got = readFileSync(out);
    expect(got.length).toBe(4096);
    expect(got.equals(LARGE)).toBe(true);
    // one protected record per block each way (4096 / 64 = 64 blocks)
    expect(appRecords(s.tap, 'c2s')).toBeGreaterThanOrEqual(64);
    expect(appRecords(s.tap, 's2c')).toBeGreaterThanOrEqual(64);
    const blocks = await requestedBlock2(s.tap, true);
    if (blocks) expect(blocks).toEqual(range(64));
  });

  it('block-wise PUT /echo of 3000 bytes with -b 256: the body comes back whole', async () => {
    const s = await ourServer(PSK_SERVER);
    const body = Buffer.from(Array.from({ length: 3000 }, (_, i) => 0x30 + ((i * 7) % 75)));
    const file = join(tmp, `put-${build}.in`);
    const out = join(tmp, `put-${build}.out`);
    writeFileSync(file, body);
    const c = coapClient(build, [...PSK_CLIENT_ARGS, '-m', 'put', '-f', file, '-b', '256', '-o', out, url(s, '/echo')]);
    await exitedOk(c);
    // the handler saw one PUT with the reassembled body
    expect(s.requests.map((r) => `${r.method} ${r.path} ${r.payload.length}`)).toEqual(['PUT /echo 3000']);
    expect(Buffer.from(s.requests[0]!.payload).equals(body)).toBe(true);
    expect(readFileSync(out).equals(body)).toBe(true);
    // ceil(3000 / 256) = 12 Block1 requests
    expect(appRecords(s.tap, 'c2s')).toBeGreaterThanOrEqual(12);
    const rows = await tsharkCoap(s.tap, true);
    if (rows) expect(rows.filter((r) => r.dir === 'c2s' && r.code === 3 && r.block1 !== undefined).map((r) => r.block1)).toEqual(range(12));
  });

  it('observe /time (-s 3, notify every 300 ms): several distinct timestamps, deregistered at the end', async () => {
    const s = await ourServer(PSK_SERVER, { notifyMs: 300 });
    const c = coapClient(build, [...PSK_CLIENT_ARGS, '-s', '3', '-w', url(s, '/time')]);
    await waitFor(() => s.server.observerCount === 1, 5000, 'the observation to be registered');
    await exitedOk(c);
    const stamps = c.stdout.match(ISO_TIME) ?? [];
    expect(new Set(stamps).size, c.describe()).toBeGreaterThanOrEqual(4);
    expect([...stamps].sort(), 'in order').toEqual(stamps);
    // libcoap deregisters (GET Observe=1) when -s expires; the server drops the observer
    await waitFor(() => s.server.observerCount === 0, 2000, 'the observer to be removed');
    expect(s.requests.filter((r) => r.path === '/time' && r.observe === 0).length).toBeGreaterThanOrEqual(4);
    expect(s.requests.some((r) => r.path === '/time' && r.observe === 1), 'deregistration GET seen by the handler').toBe(true);
  });
});

describe('coap-client-gnutls -> our plain coap:// server', () => {
  it('GET /hello and block-wise GET /large (-b 64)', async () => {
    const s = await ourServer(undefined);
    const hello = coapClient('gnutls', ['-w', `coap://${LOOPBACK}:${s.tap.port}/hello`]);
    await exitedOk(hello);
    expect(hello.stdout.trim()).toBe('Hello, coaps!');
    expect(s.requests[0]!.identity).toBeUndefined();

    const before = s.tap.datagrams.filter((d) => d.dir === 'c2s').length;
    const out = join(tmp, 'large-plain.out');
    const large = coapClient('gnutls', ['-b', '64', '-o', out, `coap://${LOOPBACK}:${s.tap.port}/large`]);
    await exitedOk(large);
    expect(readFileSync(out).equals(LARGE)).toBe(true);
    expect(s.tap.datagrams.filter((d) => d.dir === 'c2s').length - before).toBeGreaterThanOrEqual(64);
    // coap:// amplification protection (RFC 9175 §2.4): the first block to a fresh address is a
    // 4.01 with Echo; libcoap repeats the request with the Echo value, then fetches the rest
    const blocks = await requestedBlock2(s.tap, false);
    if (blocks) expect(blocks).toEqual([0, ...range(64)]);
    const codes = s.tap.datagrams.filter((d) => d.dir === 's2c' && d.data.length >= 4).map((d) => d.data[1]);
    expect(codes.filter((c) => c === 0x81)).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------
// 2. our client -> libcoap servers

interface LibcoapServer {
  peer: Peer;
  /** plain coap:// port */
  port: number;
  /** coaps:// port (P+1) */
  securePort: number;
}

async function libcoapServer(build: Build): Promise<LibcoapServer> {
  const port = await nextPort(2);
  // -v 7: libcoap logs every PDU (used to see what the server received)
  const peer = runPeer(`coap-server-${build}`, ['-A', LOOPBACK, '-p', String(port), '-k', PSK_ASCII, '-h', '', '-v', '7'], {
    env: envFor(build),
    timeoutMs: 30_000,
    endStdin: true,
    maxOutput: 2 * 1024 * 1024,
  });
  await peer.waitFor(/created (D)?TLS\s+endpoint|created DTLS/, 5000);
  return { peer, port, securePort: port + 1 };
}

const ourPskClient = () => {
  const c = new CoapClient({ dtls: { psk: { identity: IDENTITY, key: KEY }, timeoutMs: 5000 } });
  onCleanup(() => c.close());
  return c;
};

describe.each<Build>(['gnutls', 'openssl'])('our client -> coap-server-%s', (build) => {
  it('GET /time over coaps://: 2.05 and a time string', async () => {
    const srv = await libcoapServer(build);
    const tap = await UdpTap.start(await nextPort(), srv.securePort);
    const client = ourPskClient();
    const r = await client.request(`coaps://${LOOPBACK}:${tap.port}/time`, { timeoutMs: 5000 });
    expect(r.codeText).toBe('2.05');
    expect(r.text()).toMatch(/^[A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d$/);
    expect(negotiatedSuite(tap)).toBe(TLS_PSK_WITH_AES_128_CCM_8);
    await srv.peer.waitFor(/got psk_identity: 'Client_identity'|Client_identity/, 2000);
  });

  it('block-wise GET /example_data with blockSize 64: 1500 bytes, equal to the plain coap:// GET', async () => {
    const srv = await libcoapServer(build);
    const tap = await UdpTap.start(await nextPort(), srv.securePort);
    const client = ourPskClient();
    const r = await client.request(`coaps://${LOOPBACK}:${tap.port}/example_data`, { blockSize: 64, timeoutMs: 10_000 });
    expect(r.codeText).toBe('2.05');
    expect(r.payload.length).toBe(EXAMPLE_DATA_LENGTH);
    // ceil(1500 / 64) = 24 blocks, each its own protected record
    expect(appRecords(tap, 'c2s')).toBeGreaterThanOrEqual(24);
    expect(srv.peer.output).toMatch(/Block2:23\/_\/64/);
    const blocks = await requestedBlock2(tap, true);
    if (blocks) expect(blocks).toEqual(range(24));

    const plain = new CoapClient();
    onCleanup(() => plain.close());
    const p = await plain.request(`coap://${LOOPBACK}:${srv.port}/example_data`, { timeoutMs: 5000 });
    expect(p.codeText).toBe('2.05');
    expect(Buffer.from(p.payload).equals(Buffer.from(r.payload))).toBe(true);
    expect(Buffer.from(r.payload).toString().startsWith('a123456789b123456789')).toBe(true);
  });

  it('observe /time: 2 notifications in order, then cancel(): the server drops the subscription', async () => {
    const srv = await libcoapServer(build);
    const client = ourPskClient();
    const { first, observation } = await client.observe(`coaps://${LOOPBACK}:${srv.securePort}/time`, { timeoutMs: 5000 });
    expect(first.codeText).toBe('2.05');
    expect(first.observe).toBeTypeOf('number');
    const seqs = [first.observe!];
    const texts = [first.text()];
    for await (const n of observation) {
      expect(n.codeText).toBe('2.05');
      seqs.push(n.observe!);
      texts.push(n.text());
      if (seqs.length >= 3) break;
    }
    expect(seqs[1]!).toBeGreaterThan(seqs[0]!);
    expect(seqs[2]!).toBeGreaterThan(seqs[1]!);
    for (const t of texts) expect(t).toMatch(/\d\d:\d\d:\d\d$/);
    expect(texts[2]).not.toBe(texts[0]);

    const mark = srv.peer.output.length;
    observation.cancel();
    // Either an explicit deregistration (GET with Observe=1) or, at the next notification,
    // our RST makes libcoap drop the subscription (coap-server's /time ticks every second).
    await waitFor(() => /removed subscription/.test(srv.peer.output.slice(mark)), 3000, 'libcoap to remove the subscription').catch(() => {
      throw new Error(`coap-server did not drop the subscription; its log after cancel():\n${srv.peer.output.slice(mark, mark + 3000)}`);
    });
  });
});

describe('our client -> coap-server-gnutls: observe cancel()', () => {
  // RFC 7641 §3.6: "a client MAY explicitly deregister by issuing a GET request that has the
  // Token field set to the token of the observation to be cancelled and includes an Observe
  // Option with the value set to 1". libcoap matches subscriptions by token.
  it('the deregistration GET (Observe=1) carries the observation token, and libcoap removes the subscription at once', async () => {
    const srv = await libcoapServer('gnutls');
    const tap = await UdpTap.start(await nextPort(), srv.securePort);
    const client = ourPskClient();
    const { observation } = await client.observe(`coaps://${LOOPBACK}:${tap.port}/time`, { timeoutMs: 5000 });
    const reg = await srv.peer.waitFor(/c:GET i:\w+ \{([0-9a-f]+)\} \[ Observe:0,[^\]]*Uri-Path:time/, 2000);
    const token = reg[1]!;
    observation.cancel();
    const dereg = await srv.peer.waitFor(/c:GET i:\w+ \{([0-9a-f]*)\} \[ Observe:1,[^\]]*Uri-Path:time/, 2000);
    await sleep(200);
    // the same, decoded from the wire by tshark (decrypting with the PSK)
    const rows = await tsharkCoap(tap, true);
    if (rows) {
      const gets = rows.filter((r) => r.dir === 'c2s' && r.code === 1).map((r) => `Observe:${r.observe} token ${r.token}`);
      expect(gets, 'tshark: our GETs').toEqual([`Observe:0 token ${token}`, `Observe:1 token ${token}`]);
    }
    expect(dereg[1], 'token of the deregistration GET (libcoap log)').toBe(token);
    expect(new RegExp(`removed subscription \\S+ with token '${token}'`).test(srv.peer.output), 'libcoap removed the subscription right after the deregistration').toBe(true);
  });
});

// ---------------------------------------------------------------------------------------
// 3. node-coap-client -> our server

/** The part of node-coap-client 2.1.0's API used here. */
interface NodeCoapClient {
  setSecurityParams(hostname: string, params: { psk: Record<string, string> }): void;
  request(
    url: string,
    method: 'get' | 'post' | 'put' | 'delete',
    payload?: Buffer,
    options?: { keepAlive?: boolean; confirmable?: boolean; retransmit?: boolean },
  ): Promise<{ code: { toString(): string }; format: number; payload?: Buffer }>;
  reset(originOrHostname?: string): void;
}

describe('node-coap-client -> our coaps:// server (PSK)', () => {
  it('GET /hello and PUT /echo, no PSK hint', async () => {
    const s = await ourServer(PSK_SERVER);
    const req = createRequire(join(PEERS_DIR, 'package.json'));
    const { CoapClient: NodeClient } = req('node-coap-client') as { CoapClient: NodeCoapClient };
    NodeClient.setSecurityParams(LOOPBACK, { psk: { [PSK_IDENTITY]: PSK_ASCII } });
    onCleanup(() => NodeClient.reset());

    const withTimeout = <T>(p: Promise<T>) => Promise.race([p, sleep(8000).then(() => Promise.reject(new Error('node-coap-client: no answer in 8 s')))]);
    const hello = await withTimeout(NodeClient.request(`coaps://${LOOPBACK}:${s.tap.port}/hello`, 'get'));
    expect(hello.code.toString()).toBe('2.05');
    expect(hello.format).toBe(0);
    expect(String(hello.payload)).toBe('Hello, coaps!');

    const body = 'ping from node-coap-client '.repeat(10);
    const echo = await withTimeout(NodeClient.request(`coaps://${LOOPBACK}:${s.tap.port}/echo`, 'put', Buffer.from(body)));
    expect(echo.code.toString()).toBe('2.04');
    expect(String(echo.payload)).toBe(body);

    expect(s.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /hello', 'PUT /echo']);
    expectPskIdentity(s.requests[0]!.identity);
    expect(negotiatedSuite(s.tap)).toBe(TLS_PSK_WITH_AES_128_CCM_8);
    // no ServerKeyExchange (no PSK hint): node-dtls-client would throw on one
    expect(handshakeMessages(s.tap, 's2c').map((m) => m.type)).not.toContain(12);
    NodeClient.reset();
  });
});

// ---------------------------------------------------------------------------------------
// 4. ECDHE-ECDSA with raw public keys: coap-client-gnutls -M -> our server

describe('coap-client-gnutls -M (raw public key) -> our server (ECDHE-ECDSA, clientAuth required)', () => {
  it('GET /hello over TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8; the handler sees the client raw key', async () => {
    const server = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const client = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    // libcoap's gnutls build reads an "EC PRIVATE KEY" (SEC1) PEM for -M; PKCS#8 fails with
    // "Base64 unexpected header error".
    const clientKey = join(tmp, 'libcoap-client.sec1.pem');
    writeFileSync(clientKey, client.privateKey.export({ type: 'sec1', format: 'pem' }), { mode: 0o600 });
    const s = await ourServer({
      ecdhe: { key: server.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, rawPublicKey: true },
      keyStore: { rawPublicKeys: [[client.publicKey.export({ type: 'spki', format: 'pem' }) as string, 'libcoap-client']] },
      clientAuth: 'required',
    });
    const c = coapClient('gnutls', ['-M', clientKey, '-w', `coaps://${LOOPBACK}:${s.tap.port}/hello`], { env: gnutlsEnv(GNUTLS_CCM8_P256) });
    await exitedOk(c);
    expect(c.stdout.trim()).toBe('Hello, coaps!');
    expect(negotiatedSuite(s.tap)).toBe(TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
    // libcoap answered our CertificateRequest with its raw key (Certificate, type 11)
    expect(handshakeMessages(s.tap, 's2c').map((m) => m.type)).toContain(13);
    expect(handshakeMessages(s.tap, 'c2s').map((m) => m.type)).toContain(11);
    expect(s.requests).toHaveLength(1);
    const id = s.requests[0]!.identity;
    expect(id?.kind).toBe('rpk');
    expect((id as { name?: string }).name).toBe('libcoap-client');
    expect(s.handshakeErrors).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------
// 5. The CLI

describe('the CLI', () => {
  it('coaps get against coap-server-gnutls (PSK): /time, /, block-wise /example_data; /hello is 4.04', async () => {
    const srv = await libcoapServer('gnutls');
    const base = `coaps://${LOOPBACK}:${srv.securePort}`;
    const cli = (path: string, ...extra: string[]) => runPeer('node', [CLI, 'get', `${base}${path}`, '--psk', PSK_ARG, '--timeout', '5000', ...extra], { timeoutMs: 10_000, endStdin: true });

    const [time, index, data, hello] = [cli('/time'), cli('/'), cli('/example_data', '--block-size', '64'), cli('/hello')];
    await exitedOk(time);
    expect(time.stdout).toMatch(/^[A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d\n$/);
    await exitedOk(index);
    expect(index.stdout).toContain('This is a test server made with libcoap');
    await exitedOk(data);
    expect(data.stdout.trimEnd()).toHaveLength(EXAMPLE_DATA_LENGTH);
    expect(data.stdout.startsWith('a123456789b123456789')).toBe(true);
    // coap-server has no /hello: the CLI prints the code and exits 1
    const h = await hello.waitExit(10_000);
    expect(h.code, hello.describe()).toBe(1);
    expect(hello.stderr).toContain('4.04');
  });

  it('coaps serve (PSK) + openssl s_client -maxfraglen 512 GET /large: a first block that fits 512 bytes, and the server lives on', async () => {
    // issue 10: this killed `coaps serve` (a 1036-byte record over the peer's 512-byte limit)
    const port = await nextPort();
    const serve = runPeer('node', [CLI, 'serve', '--listen', `${LOOPBACK}:${port}`, '--psk', PSK_ARG], { timeoutMs: 20_000 });
    await serve.waitFor(/serving coaps:\/\//, 5000);
    const tap = await UdpTap.start(await nextPort(), port);
    onCleanup(() => tap.close());
    const sc = runPeer('openssl', ['s_client', '-dtls1_2', '-connect', `${LOOPBACK}:${tap.port}`, '-psk', PSK_HEX, '-psk_identity', PSK_IDENTITY, '-cipher', 'PSK-AES128-CCM8', '-maxfraglen', '512', '-quiet', '-ign_eof'], { timeoutMs: 15_000 });
    // CON GET /large, message ID 1, no token (binary: written as bytes, not text)
    sc.child.stdin!.write(Buffer.from([0x40, 0x01, 0x00, 0x01, 0xb5, ...Buffer.from('large')]));
    await waitFor(() => sc.stdout.includes('ABCDEFGHIJKLMNOPQRSTUVWXYZ'), 8000, 'the first block of /large');
    // every application_data record from the server fits the 512 bytes (+ CCM_8 nonce and tag)
    for (const d of tap.datagrams.filter((x) => x.dir === 's2c')) {
      for (let o = 0; o + 13 <= d.data.length; ) {
        const len = (d.data[o + 11]! << 8) | d.data[o + 12]!;
        if (d.data[o] === 23) expect(len).toBeLessThanOrEqual(512 + 16);
        o += 13 + len;
      }
    }
    expect(serve.exit, serve.describe()).toBeUndefined();
    sc.kill();
    serve.signal('SIGTERM');
    expect((await serve.waitExit(5000)).code, serve.describe()).toBe(0);
  });

  it('coaps serve (PSK) + coap-client-gnutls GET /.well-known/core', async () => {
    const port = await nextPort();
    const serve = runPeer('node', [CLI, 'serve', '--listen', `${LOOPBACK}:${port}`, '--psk', PSK_ARG, '-v'], { timeoutMs: 20_000 });
    await serve.waitFor(/serving coaps:\/\//, 5000);
    const c = coapClient('gnutls', [...PSK_CLIENT_ARGS, '-w', `coaps://${LOOPBACK}:${port}/.well-known/core`]);
    await exitedOk(c);
    const links = c.stdout.trim();
    expect(links).toMatch(/(^|,)<\/hello>[;,]/);
    expect(links).toMatch(/(^|,)<\/time>(;[^,]*)?;obs(,|;|$)/);
    expect(links).toMatch(/(^|,)<\/large>[;,]/);
    expect(links).toMatch(/(^|,)<\/echo>(;|,|$)/);
    await serve.waitFor(/GET \/\.well-known\/core from 127\.0\.0\.1:\d+ \(psk\)/, 2000);
    serve.signal('SIGTERM');
    expect((await serve.waitExit(5000)).code, serve.describe()).toBe(0);
  });
});

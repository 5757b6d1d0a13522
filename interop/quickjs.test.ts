/**
 * The PSK client bundle (lib/entry/psk-coap-client.ts as an ES2020 IIFE) inside QuickJS
 * (quickjs-emscripten), under a memory limit, against real peers: openssl s_server (DTLS, a line
 * each way, close_notify) and libcoap's coap-server-gnutls (coaps GET /time). Only the shim
 * crosses the VM boundary (interop/quickjs/vm-driver.js); the host (interop/quickjs/harness.ts)
 * owns the UDP socket and one timer.
 *
 * The bundle is exactly what `npm run bench -- size` builds; it runs under LIMIT (384 KiB). Measured
 * (min-limit.ts): the 66.2 KiB bundle peaks at 379.6 KiB while it loads, 356.6 KiB stay resident,
 * the handshake peaks at 370.5-373.1 KiB; the smallest working limit is 380 KiB. QuickJS keeps every
 * function's source text (a class's whole text for its constructor, and the loading IIFE's
 * while it runs), so the heap grows by about 4.5 KiB per KiB of minified JS: the small client
 * leaves server-side code out (ClientMessageLayer, resolveBasicConfig, the Finished exchange
 * without tickets). The compact AES of lib/crypto/pure/aes.ts matters too: @noble/ciphers'
 * tables alone took 1.3 MB and would not fit.
 *
 * What the limit is on this QuickJS build (no malloc_usable_size under Emscripten), and where
 * the heap figures come from: see the top of harness.ts. `npx vite-node
 * interop/quickjs/min-limit.ts` finds the smallest working limits and prints the figures.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { unsafe as noble } from '@noble/ciphers/aes.js';
import { newQuickJSWASMModule, RELEASE_SYNC } from 'quickjs-emscripten';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killAllPeers, portAllocator, sleep } from './helpers.js';
import * as compact from '../lib/crypto/pure/aes.js';
import {
  buildBundle,
  kib,
  libcoapScenario,
  opensslScenario,
  opensslServer,
  QuickJsPskClient,
  QuickJsVmError,
  type BundleVariant,
  type ScenarioResult,
} from './quickjs/harness.js';

/** The limit the README states for the QuickJS client (peak 379.6 KiB at load). */
const LIMIT = 384 * 1024;
const TOO_LOW = 64 * 1024;
const TLS_PSK_WITH_AES_128_CCM_8 = 0xc0a8;

const nextPort = portAllocator('interop/quickjs.test.ts');
const figures: string[] = [];

afterEach(async () => {
  await killAllPeers();
});
afterAll(() => {
  if (figures.length) console.log(`QuickJS figures (heap = QuickJS's own count of bytes in use, sampled):\n${figures.join('\n')}`);
});

function record(variant: BundleVariant, r: ScenarioResult): void {
  figures.push(
    `  ${variant.padEnd(11)} ${r.peer.padEnd(7)} limit ${kib(r.limit)}: heap peak ${kib(r.heap.peak)} (at load ${kib(r.heap.bootPeak)}, resident ${kib(r.heap.afterBoot)}, handshake ${kib(r.heap.handshakePeak)}); ` +
      `load ${r.bootMs.toFixed(0)} ms, handshake ${r.handshakeMs?.toFixed(1)} ms (in the VM ${r.handshakeVmBusyMs?.toFixed(1)} ms)`,
  );
}

function expectClean(c: QuickJsPskClient): void {
  expect(c.disposed, 'the VM was disposed').toBe(true);
  expect(c.disposeError, 'disposing of the failed VM threw').toBeUndefined();
}

describe('the QuickJS environment', () => {
  it('QuickJS has none of the host globals the engine might lean on (the runs below need none)', async () => {
    const Q = await newQuickJSWASMModule(RELEASE_SYNC);
    const vm = Q.newContext();
    const names = ['TextEncoder', 'TextDecoder', 'setTimeout', 'queueMicrotask', 'structuredClone', 'crypto', 'performance', 'Buffer', 'process', 'console'];
    const r = vm.unwrapResult(vm.evalCode(`JSON.stringify(${JSON.stringify(names)}.map((n) => typeof globalThis[n]))`));
    const types = JSON.parse(vm.getString(r)) as string[];
    r.dispose();
    vm.dispose();
    expect(Object.fromEntries(names.map((n, i) => [n, types[i]]))).toEqual(Object.fromEntries(names.map((n) => [n, 'undefined'])));
  });

  it('lib/crypto/pure/aes.ts = @noble/ciphers unsafe.expandKeyLE/encrypt = node:crypto AES-ECB (128/192/256)', () => {
    for (let n = 0; n < 600; n++) {
      const key = randomBytes([16, 24, 32][n % 3]!);
      const a = noble.expandKeyLE(new Uint8Array(key));
      const b = compact.expandKeyLE(new Uint8Array(key));
      expect(Array.from(b)).toEqual(Array.from(a));
      const block = randomBytes(16);
      const w = [0, 4, 8, 12].map((o) => block.readInt32LE(o)) as [number, number, number, number];
      const r1 = noble.encrypt(a, ...w);
      compact.encrypt(b, ...w);
      const r2 = { s0: compact.OUT[0]!, s1: compact.OUT[1]!, s2: compact.OUT[2]!, s3: compact.OUT[3]! };
      const words = (r: { s0: number; s1: number; s2: number; s3: number }) => [r.s0 >>> 0, r.s1 >>> 0, r.s2 >>> 0, r.s3 >>> 0];
      expect(words(r2)).toEqual(words(r1));
      const c = createCipheriv(`aes-${key.length * 8}-ecb`, key, null).setAutoPadding(false).update(block);
      expect(words(r2)).toEqual([0, 4, 8, 12].map((o) => c.readUInt32LE(o)));
    }
  });
});

describe.each<[BundleVariant, number]>([
  ['stock', LIMIT],
])('the %s bundle in QuickJS under %i bytes', (variant, limit) => {
  it('openssl s_server: PSK handshake, a line each way, close_notify', async () => {
    const r = await opensslScenario(await buildBundle(variant), limit, await nextPort());
    expect(r.failure, r.failure?.message).toBeUndefined();
    expect(r.ok, `stopped at ${r.step}`).toBe(true);
    expect(r.cipherSuite).toBe(TLS_PSK_WITH_AES_128_CCM_8);
    expect(r.received).toBe('hello from s_server\n');
    expect(r.heap.peak).toBeLessThanOrEqual(limit);
    expect(r.client.socketClosed || (await r.client.socketClosedPromise())).toBe(true);
    record(variant, r);
  });

  it('coap-server-gnutls: PSK handshake, GET /time -> 2.05 with the time', async () => {
    const r = await libcoapScenario(await buildBundle(variant), limit, await nextPort(2));
    expect(r.failure, r.failure?.message).toBeUndefined();
    expect(r.ok, `stopped at ${r.step}`).toBe(true);
    expect(r.cipherSuite).toBe(TLS_PSK_WITH_AES_128_CCM_8);
    expect(r.responseCode).toBe('2.05');
    expect(r.received).toMatch(/^[A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d$/);
    expect(r.heap.peak).toBeLessThanOrEqual(limit);
    await r.server.waitFor(/Client_identity/, 2000);
    record(variant, r);
  });
});

describe('a limit set too low', () => {
  it.each<BundleVariant>(['stock'])('%s bundle, 64 KiB: loading fails with a typed error, the socket is closed, the host goes on', async (variant) => {
    const c = new QuickJsPskClient({ bundle: await buildBundle(variant), memoryLimit: TOO_LOW, peerPort: await nextPort() });
    const err = await c.boot().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(QuickJsVmError);
    const e = err as QuickJsVmError;
    expect(['QUICKJS_OUT_OF_MEMORY', 'QUICKJS_HEAP_LIMIT']).toContain(e.code);
    expect(e.phase).toBe('boot');
    expect(e.limit).toBe(TOO_LOW);
    expect(await c.socketClosedPromise()).toBe(true);
    expectClean(c);
    figures.push(`  ${variant.padEnd(11)} limit ${kib(TOO_LOW)}: ${e.code} while loading (${e.vmError?.name ?? ''}: ${e.vmError?.message ?? e.message})`);
  });

  it('just above what the started handshake holds: the next flight from s_server ends the VM, typed, socket closed, timer gone; the next VM completes', async () => {
    const port = await nextPort();
    await opensslServer(port);
    const c = new QuickJsPskClient({ bundle: await buildBundle('stock'), memoryLimit: LIMIT, peerPort: port });
    await c.boot();
    c.dtlsStart();
    // The ClientHello is out; what s_server answers takes a few more KiB to process.
    const tight = c.heap.last + 1024;
    c.setMemoryLimit(tight);
    const err = await c.waitFor((e) => e.type === 'connected', 5000, 'the handshake').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(QuickJsVmError);
    const e = err as QuickJsVmError;
    expect(e.code).toBe('QUICKJS_HEAP_LIMIT');
    expect(e.phase).toBe('handshake');
    expect(e.message).toMatch(/^__receive/); // in the host's dgram 'message' handler
    expect(e.heap).toBeGreaterThan(tight);
    expect(c.events.filter((v) => v.type === 'connected')).toEqual([]);
    expect(c.datagramsReceived).toBeGreaterThan(0);
    expect(await c.socketClosedPromise()).toBe(true);
    expectClean(c);
    // The retransmission timer (1 s) must be gone with the VM: nothing more happens.
    const sent = c.datagramsSent;
    await sleep(1300);
    expect(c.datagramsSent).toBe(sent);
    figures.push(`  stock limit ${kib(tight)} (started handshake + 1 KiB): ${e.code} at ${kib(e.heap)} (${e.message})`);

    // The host is unharmed: a new VM (its own WebAssembly instance) completes the scenario.
    const again = await opensslScenario(await buildBundle('stock'), LIMIT, await nextPort());
    expect(again.ok, again.failure?.message ?? again.step).toBe(true);
  });
});

describe('a request the client does not understand, inside the VM', () => {
  // A CoAP request with an unknown critical option must get 4.02 Bad Option (RFC 7252 §5.4.1).
  // The answer's diagnostic payload is UTF-8 built without TextEncoder (QuickJS has none): the
  // VM stays up and the client keeps working.
  it('s_server sends the coaps client a CON GET with an unknown critical option: 4.02, the VM stays up', async () => {
    const port = await nextPort();
    const ss = await opensslServer(port);
    const c = new QuickJsPskClient({ bundle: await buildBundle('stock'), memoryLimit: LIMIT, peerPort: port });
    await c.boot();
    c.coapStart();
    await c.waitFor((e) => e.type === 'connected', 5000, 'the handshake');
    // CON GET, message ID 0x1234, no token, option 9 (critical, unknown) empty, payload "\n"
    ss.child.stdin!.write(Buffer.from([0x40, 0x01, 0x12, 0x34, 0x90, 0xff, 0x0a]));
    await sleep(400);
    expect(c.failure).toBeUndefined();
    expect(c.disposed).toBe(false);
    figures.push('  unknown critical option from the peer: answered 4.02, VM up');
    c.dispose();
    expect(await c.socketClosedPromise()).toBe(true);
  });
});

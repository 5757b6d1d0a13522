/**
 * The host side of "the PSK client bundle inside QuickJS" (quickjs-emscripten): a Node process
 * that owns a UDP socket and one timer, and a QuickJS VM that runs the whole DTLS + CoAP client
 * (lib/entry/psk-coap-client.ts bundled as an IIFE, plus vm-driver.js). Only the shim crosses:
 * hostSend / hostNow / hostSetTimer / hostRandom out of the VM, __receive / __fire into it
 * (vm-driver.js lists them). Each client gets its own WebAssembly instance of QuickJS, so a VM
 * that dies cannot disturb another one or the host.
 *
 * Memory. `runtime.setMemoryLimit(n)` alone is NOT a heap limit on this build: QuickJS
 * (2025-09-13) compiled by Emscripten has no malloc_usable_size, so its allocator counts 8 bytes
 * per live block instead of the block's size (dumpMemoryUsage says "malloc_usable_size
 * unavailable"; "memory allocated" is 8.0 per block) and the limit only refuses a single
 * allocation larger than what is left of it. The harness therefore enforces the limit as:
 *   1. QuickJS's own limit, setMemoryLimit(limit): refuses any one allocation above it
 *      (InternalError: out of memory, inside the VM);
 *   2. a host cap on QuickJS's own count of the bytes in use ("memory used" of
 *      JS_ComputeMemoryUsage: objects, shapes, properties, atoms, strings, bytecode, array
 *      buffers...), sampled at every QuickJS interrupt poll (about every 10,000 interpreter
 *      ticks: an over-limit sample interrupts the VM with an uncatchable error) and after
 *      every call into the VM (an over-limit sample ends the VM).
 * The heap figures are that "memory used" count, sampled at the same points (the peak between
 * two samples is not seen; QuickJS frees garbage by reference counting as it goes).
 * Any failure ends the client: the VM and its runtime are disposed, the timer cleared and the
 * socket closed, and `failure` holds a QuickJsVmError (typed: `code`).
 */
import { build } from 'esbuild';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  newQuickJSWASMModule,
  RELEASE_SYNC,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSWASMModule,
} from 'quickjs-emscripten';
import { GNUTLS_CCM8_ONLY, LOOPBACK, PSK_ASCII, PSK_HEX, ROOT, runPeer, type Peer } from '../helpers.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const DRIVER_SOURCE = readFileSync(join(HERE, 'vm-driver.js'), 'utf8');

// ---------------------------------------------------------------------------------------
// The bundle

/**
 * 'stock': lib/entry/psk-coap-client.ts exactly as `npm run bench -- size` builds its IIFE
 * (the same esbuild options as bench/size.ts `bundle()`).
 */
export type BundleVariant = 'stock';

const bundles = new Map<BundleVariant, Promise<string>>();
export function buildBundle(variant: BundleVariant): Promise<string> {
  let p = bundles.get(variant);
  if (!p) {
    p = build({
      entryPoints: [join(ROOT, 'lib/entry/psk-coap-client.ts')],
      bundle: true,
      minify: true,
      format: 'iife',
      globalName: 'coaps',
      platform: 'neutral',
      target: 'es2020',
      write: false,
      legalComments: 'none',
      mainFields: ['module', 'main'],
      logLevel: 'silent',
    }).then((r) => r.outputFiles[0]!.text);
    bundles.set(variant, p);
  }
  return p;
}

// ---------------------------------------------------------------------------------------
// Errors

export type QuickJsVmErrorCode =
  /** QuickJS's allocator refused an allocation (setMemoryLimit): InternalError: out of memory. */
  | 'QUICKJS_OUT_OF_MEMORY'
  /** The host cap on QuickJS's heap count was exceeded (the VM was interrupted or ended). */
  | 'QUICKJS_HEAP_LIMIT'
  /** Any other exception out of the VM (a bug, a DtlsError thrown synchronously, ...). */
  | 'QUICKJS_EXCEPTION'
  /** The host side failed (socket error). */
  | 'HOST_ERROR';

export interface VmErrorInfo {
  name?: string;
  message?: string;
  code?: string;
  stack?: string;
}

export class QuickJsVmError extends Error {
  override readonly name = 'QuickJsVmError';
  constructor(
    readonly code: QuickJsVmErrorCode,
    message: string,
    /** The configured limit, bytes. */
    readonly limit: number,
    /** QuickJS's heap count when the VM was ended, bytes. */
    readonly heap: number,
    /** Where: 'boot' (loading the bundle and the driver) or a call into the VM. */
    readonly phase: string,
    readonly vmError?: VmErrorInfo,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------
// Heap figures

export interface HeapSample {
  /** QuickJS's count of bytes in use ("memory used"). */
  used: number;
  usedCount: number;
  /** QuickJS's allocator counters (malloc_size is 8 B per block on this build: see the top). */
  mallocCount: number;
  mallocSize: number;
}

export function heapSample(rt: QuickJSRuntime): HeapSample {
  const d = rt.dumpMemoryUsage();
  const used = /memory used\s+(\d+)\s+(\d+)/.exec(d);
  const alloc = /memory allocated\s+(\d+)\s+(\d+)/.exec(d);
  if (!used || !alloc) throw new Error(`cannot read QuickJS's memory usage dump:\n${d}`);
  return { usedCount: Number(used[1]), used: Number(used[2]), mallocCount: Number(alloc[1]), mallocSize: Number(alloc[2]) };
}

export interface HeapStats {
  /** Highest sample while the bundle and the driver were loading. */
  bootPeak: number;
  /** After loading (the resident code and data of the client before it does anything). */
  afterBoot: number;
  /** Highest sample from the start of the handshake until connected. */
  handshakePeak: number;
  /** Highest sample overall. */
  peak: number;
  /** The last sample. */
  last: number;
  samples: number;
  /** Allocator block count at the overall peak. */
  mallocCountAtPeak: number;
}

// ---------------------------------------------------------------------------------------
// The client

export interface QuickJsClientOptions {
  bundle: string;
  /** The memory limit, bytes (QuickJS's limit and the host cap: see the top). */
  memoryLimit: number;
  /** QuickJS stack limit, bytes. */
  maxStackSize?: number;
  peerPort: number;
  peerHost?: string;
}

export type VmEventType = 'connected' | 'data' | 'closed' | 'failed' | 'response';
export interface VmEvent {
  type: VmEventType;
  /** performance.now() on the host when the VM reported it */
  t: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data: any;
}

const nowMs = () => performance.now();

export class QuickJsPskClient {
  readonly events: VmEvent[] = [];
  failure: QuickJsVmError | undefined;
  socketClosed = false;
  disposed = false;
  /** What went wrong while disposing of a failed VM, if anything (the host is unaffected). */
  disposeError: unknown;
  readonly heap: HeapStats = { bootPeak: 0, afterBoot: 0, handshakePeak: 0, peak: 0, last: 0, samples: 0, mallocCountAtPeak: 0 };
  /** Wall-clock ms spent inside the VM (calls, pending jobs). */
  vmBusyMs = 0;
  bootMs = 0;
  /** Start of the handshake, connected: host wall clock, and VM busy time in between. */
  handshake: { startedAt: number; connectedAt?: number; ms?: number; vmBusyMs?: number } | undefined;
  datagramsSent = 0;
  datagramsReceived = 0;

  private limit: number;
  private phase: 'boot' | 'idle' | 'handshake' = 'boot';
  private capHit: number | undefined;
  private busyAtStart = 0;
  private module: QuickJSWASMModule | undefined;
  private rt: QuickJSRuntime | undefined;
  private vm: QuickJSContext | undefined;
  private readonly fns = new Map<string, QuickJSHandle>();
  private socket: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private waiters = new Set<() => void>();

  constructor(private readonly opts: QuickJsClientOptions) {
    this.limit = opts.memoryLimit;
  }

  /**
   * Opens the UDP socket (connected to the peer), creates the VM under the limit and loads the
   * bundle and the driver. Rejects with the QuickJsVmError when that fails (the client is then
   * already torn down: socket closed, VM disposed).
   */
  async boot(): Promise<void> {
    const t0 = nowMs();
    const socket = createSocket('udp4');
    this.socket = socket;
    socket.once('close', () => (this.socketClosed = true));
    socket.on('error', (e) => this.fail(new QuickJsVmError('HOST_ERROR', `UDP socket: ${e.message}`, this.limit, this.heap.last, this.phase)));
    socket.on('message', (msg) => {
      this.datagramsReceived++;
      const ab = msg.buffer.slice(msg.byteOffset, msg.byteOffset + msg.byteLength);
      this.callVm('__receive', (vm) => [vm.newArrayBuffer(ab)]);
    });
    await new Promise<void>((res, rej) => {
      socket.once('error', rej);
      socket.bind(0, LOOPBACK, () => socket.connect(this.opts.peerPort, this.opts.peerHost ?? LOOPBACK, () => (socket.off('error', rej), res())));
    });

    // A WebAssembly instance of its own: whatever happens to it stays in it.
    this.module = await newQuickJSWASMModule(RELEASE_SYNC);
    const rt = this.module.newRuntime();
    this.rt = rt;
    rt.setMemoryLimit(this.limit);
    rt.setMaxStackSize(this.opts.maxStackSize ?? 256 * 1024);
    rt.setInterruptHandler(() => {
      const used = this.sample();
      if (used > this.limit) {
        this.capHit = used;
        return true;
      }
      return false;
    });
    const vm = rt.newContext();
    this.vm = vm;
    this.sample();
    this.installShim(vm);

    this.evalScript(this.opts.bundle, 'psk-coap-client.iife.js');
    this.evalScript(DRIVER_SOURCE, 'vm-driver.js');
    for (const name of ['__receive', '__fire', '__dtlsStart', '__dtlsSend', '__coapStart', '__coapGet', '__close']) {
      if (this.failure) break;
      this.fns.set(name, vm.getProp(vm.global, name));
    }
    this.bootMs = nowMs() - t0;
    if (this.failure) throw this.failure;
    this.heap.afterBoot = this.heap.last;
    this.phase = 'idle';
  }

  /** Changes the limit of a running VM (QuickJS's and the host cap). */
  setMemoryLimit(bytes: number): void {
    this.limit = bytes;
    this.rt?.setMemoryLimit(bytes);
  }
  get memoryLimit(): number {
    return this.limit;
  }

  // -- what the test drives ------------------------------------------------------------

  /** DTLS only (BaremetalDtlsClient). */
  dtlsStart(): void {
    this.beginHandshake();
    this.callVm('__dtlsStart', () => []);
  }
  dtlsSend(text: string): void {
    this.callVm('__dtlsSend', (vm) => [vm.newString(text)]);
  }
  /** coaps:// (BaremetalCoapsClient). */
  coapStart(): void {
    this.beginHandshake();
    this.callVm('__coapStart', () => []);
  }
  coapGet(path: string): void {
    this.callVm('__coapGet', (vm) => [vm.newString(path)]);
  }
  close(): void {
    this.callVm('__close', () => []);
  }

  /** Resolves with the first event (past or future) that matches; rejects on failure or timeout. */
  waitFor(pred: (e: VmEvent) => boolean, timeoutMs: number, what: string): Promise<VmEvent> {
    return new Promise((resolvePromise, reject) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const check = () => {
        const e = this.events.find(pred);
        if (e) done(() => resolvePromise(e));
        else if (this.failure) done(() => reject(this.failure));
      };
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        f();
      };
      timer = setTimeout(
        () => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; VM events: ${JSON.stringify(this.events.map((e) => [e.type, e.data]))}`))),
        timeoutMs,
      );
      this.waiters.add(check);
      check();
    });
  }

  /** Ends the client (idempotent): timer, socket, VM, runtime. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.socket && !this.socketClosed) {
      try {
        this.socket.close();
      } catch {
        /* already closed */
      }
    }
    try {
      this.rt?.setMemoryLimit(-1);
      this.rt?.removeInterruptHandler();
      for (const h of this.fns.values()) if (h.alive) h.dispose();
      this.fns.clear();
      this.vm?.dispose();
      this.rt?.dispose();
    } catch (e) {
      this.disposeError = e;
    }
    this.vm = undefined;
    this.rt = undefined;
    this.module = undefined;
    this.notify();
  }

  /** Resolves when the socket has closed (after dispose). */
  async socketClosedPromise(timeoutMs = 2000): Promise<boolean> {
    const end = nowMs() + timeoutMs;
    while (!this.socketClosed && nowMs() < end) await new Promise((r) => setTimeout(r, 5));
    return this.socketClosed;
  }

  // -- internals -----------------------------------------------------------------------

  private beginHandshake(): void {
    this.phase = 'handshake';
    this.busyAtStart = this.vmBusyMs;
    this.handshake = { startedAt: nowMs() };
  }

  private installShim(vm: QuickJSContext): void {
    const def = (name: string, f: (...args: QuickJSHandle[]) => QuickJSHandle | void) => {
      const h = vm.newFunction(name, f);
      vm.setProp(vm.global, name, h);
      h.dispose();
    };
    // The shim boundary.
    def('hostSend', (ab) => {
      const view = vm.getArrayBuffer(ab!);
      const bytes = Buffer.from(view.value); // a copy: the view points into the VM's memory
      view.dispose();
      if (!this.socket || this.socketClosed || this.disposed) throw new Error('hostSend: the socket is closed');
      this.datagramsSent++;
      this.socket.send(bytes);
    });
    def('hostNow', () => vm.newNumber(nowMs()));
    def('hostSetTimer', (ms) => {
      const delay = Math.max(0, vm.getNumber(ms!));
      clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.callVm('__fire', () => []);
      }, delay);
    });
    def('hostRandom', (n) => {
      const b = randomBytes(vm.getNumber(n!));
      return vm.newArrayBuffer(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    });
    // Test instrumentation: what the application would see.
    def('hostReport', (type, json) => {
      const e: VmEvent = { type: vm.getString(type!) as VmEventType, t: nowMs(), data: JSON.parse(vm.getString(json!)) };
      this.events.push(e);
      if (e.type === 'connected' && this.handshake && this.handshake.connectedAt === undefined) {
        this.handshake.connectedAt = e.t;
        this.handshake.ms = e.t - this.handshake.startedAt;
        this.handshake.vmBusyMs = this.vmBusyMs - this.busyAtStart;
        this.phase = 'idle';
      }
      // waiters run after the VM call returns (never re-enter the VM from here)
      queueMicrotask(() => this.notify());
    });
  }

  private evalScript(code: string, file: string): void {
    if (this.failure || !this.vm) return;
    const vm = this.vm;
    this.enter(file, () => vm.evalCode(code, file, { type: 'global' }));
  }

  private callVm(name: string, args: (vm: QuickJSContext) => QuickJSHandle[]): void {
    if (this.failure || this.disposed || !this.vm) return;
    const vm = this.vm;
    const fn = this.fns.get(name);
    if (!fn) return this.fail(new QuickJsVmError('QUICKJS_EXCEPTION', `the driver has no ${name}`, this.limit, this.heap.last, this.phase));
    this.enter(name, () => {
      const hs = args(vm);
      try {
        return vm.callFunction(fn, vm.undefined, ...hs);
      } finally {
        for (const h of hs) h.dispose();
      }
    });
  }

  /** One entry into the VM, then its pending jobs (promise reactions), then a heap check. */
  private enter(what: string, f: () => { value: QuickJSHandle; error?: undefined } | { error: QuickJSHandle; value?: undefined }): void {
    const t = nowMs();
    try {
      const r = f();
      if (r.error) return this.failFromVm(what, r.error);
      r.value.dispose();
      const jobs = this.rt!.executePendingJobs();
      if (jobs.error) return this.failFromVm(`${what} (pending jobs)`, jobs.error);
    } catch (e) {
      // quickjs-emscripten itself threw (e.g. no memory to even build the call)
      return this.fail(new QuickJsVmError('QUICKJS_EXCEPTION', `${what}: ${(e as Error).message}`, this.limit, this.heap.last, this.phase, { name: (e as Error).name, message: (e as Error).message }));
    } finally {
      this.vmBusyMs += nowMs() - t;
    }
    const used = this.sample();
    if (used > this.limit) {
      this.fail(new QuickJsVmError('QUICKJS_HEAP_LIMIT', `${what}: QuickJS heap ${used} B over the ${this.limit} B limit`, this.limit, used, this.phase));
    }
  }

  private failFromVm(what: string, err: QuickJSHandle): void {
    // Lift QuickJS's limit to read the error out (the VM is ended right after).
    this.rt?.setMemoryLimit(-1);
    let info: VmErrorInfo = {};
    try {
      const d = this.vm!.dump(err) as VmErrorInfo | string;
      info = typeof d === 'object' && d !== null ? { name: d.name, message: d.message, code: d.code, stack: d.stack } : { message: String(d) };
    } catch (e) {
      info = { message: `(could not read the error: ${(e as Error).message})` };
    }
    err.dispose();
    const heap = this.heap.last;
    if (this.capHit !== undefined) {
      this.fail(new QuickJsVmError('QUICKJS_HEAP_LIMIT', `${what}: QuickJS heap ${this.capHit} B over the ${this.limit} B limit (interrupted)`, this.limit, this.capHit, this.phase, info));
    } else if (info.name === 'InternalError' && /out of memory/.test(info.message ?? '')) {
      this.fail(new QuickJsVmError('QUICKJS_OUT_OF_MEMORY', `${what}: QuickJS out of memory (limit ${this.limit} B)`, this.limit, heap, this.phase, info));
    } else {
      this.fail(new QuickJsVmError('QUICKJS_EXCEPTION', `${what}: ${info.name ?? 'Error'}: ${info.message ?? ''}`, this.limit, heap, this.phase, info));
    }
  }

  private fail(e: QuickJsVmError): void {
    if (this.failure) return;
    this.failure = e;
    this.dispose();
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  private sample(): number {
    if (!this.rt) return this.heap.last;
    const s = heapSample(this.rt);
    const h = this.heap;
    h.samples++;
    h.last = s.used;
    if (s.used > h.peak) {
      h.peak = s.used;
      h.mallocCountAtPeak = s.mallocCount;
    }
    if (this.phase === 'boot') h.bootPeak = Math.max(h.bootPeak, s.used);
    if (this.phase === 'handshake') h.handshakePeak = Math.max(h.handshakePeak, s.used);
    return s.used;
  }
}

// ---------------------------------------------------------------------------------------
// Peers (interop/PEERS.md) and the two scenarios

/** openssl s_server, PSK, CCM_8, one client; stdin stays open (lines typed there go to the client). */
export async function opensslServer(port: number): Promise<Peer> {
  const p = runPeer(
    'openssl',
    ['s_server', '-dtls1_2', '-accept', `${LOOPBACK}:${port}`, '-nocert', '-psk', PSK_HEX, '-cipher', 'PSK-AES128-CCM8', '-naccept', '1'],
    { timeoutMs: 20_000 },
  );
  await p.waitFor(/ACCEPT/, 5000);
  return p;
}

/** libcoap's coap-server-gnutls forced to TLS_PSK_WITH_AES_128_CCM_8; coaps on port + 1. */
export async function libcoapServer(port: number): Promise<Peer> {
  const p = runPeer('coap-server-gnutls', ['-A', LOOPBACK, '-p', String(port), '-k', PSK_ASCII, '-h', '', '-v', '7'], {
    env: { ...process.env, GNUTLS_SYSTEM_PRIORITY_FILE: GNUTLS_CCM8_ONLY },
    timeoutMs: 30_000,
    endStdin: true,
    maxOutput: 1024 * 1024,
  });
  await p.waitFor(/created (D)?TLS\s+endpoint|created DTLS/, 5000);
  return p;
}

export interface ScenarioResult {
  ok: boolean;
  peer: 'openssl' | 'libcoap';
  limit: number;
  failure?: QuickJsVmError;
  /** The last step reached. */
  step: string;
  bootMs: number;
  handshakeMs?: number;
  handshakeVmBusyMs?: number;
  heap: HeapStats;
  /** openssl: the line s_server sent and the VM received; libcoap: the 2.05 payload. */
  received?: string;
  responseCode?: string;
  cipherSuite?: number;
  client: QuickJsPskClient;
}

/**
 * Boots `c` and runs `steps` on it, then disposes of it. The result says how far it got
 * (`step`, set by the steps) and what the VM measured; a failure inside the VM is a result
 * (ok: false), anything else is thrown with the partial result attached.
 */
async function runScenario<X extends object>(
  c: QuickJsPskClient,
  base: { peer: ScenarioResult['peer']; limit: number } & X,
  steps: (setStep: (name: string) => void) => Promise<Partial<ScenarioResult>>,
): Promise<ScenarioResult & X> {
  let step = 'boot';
  const result = (ok: boolean, extra: Partial<ScenarioResult> = {}): ScenarioResult & X => ({
    ok,
    ...base,
    ...(c.failure ? { failure: c.failure } : {}),
    step,
    bootMs: c.bootMs,
    ...(c.handshake?.ms !== undefined ? { handshakeMs: c.handshake.ms, handshakeVmBusyMs: c.handshake.vmBusyMs! } : {}),
    heap: { ...c.heap },
    client: c,
    ...extra,
  });
  try {
    await c.boot();
    const extra = await steps((name) => (step = name));
    step = 'done';
    return result(true, extra);
  } catch (e) {
    if (!(e instanceof QuickJsVmError) && !c.failure) throw Object.assign(e as Error, { result: result(false) });
    return result(false);
  } finally {
    c.dispose();
  }
}

/**
 * openssl s_server: handshake, "hello from quickjs\n" to s_server (it prints it), s_server
 * sends "hello from s_server\n" (typed on its stdin), the VM receives it, the VM closes
 * (close_notify) and s_server reports the closed connection.
 */
export async function opensslScenario(bundle: string, memoryLimit: number, port: number, onClient?: (c: QuickJsPskClient) => void): Promise<ScenarioResult> {
  const ss = await opensslServer(port);
  const c = new QuickJsPskClient({ bundle, memoryLimit, peerPort: port });
  onClient?.(c);
  return runScenario(c, { peer: 'openssl', limit: memoryLimit }, async (step) => {
    step('handshake');
    c.dtlsStart();
    const connected = await c.waitFor((e) => e.type === 'connected', 8000, 'the DTLS handshake');
    step('send');
    c.dtlsSend('hello from quickjs\n');
    await ss.waitFor(/hello from quickjs/, 5000);
    step('receive');
    ss.write('hello from s_server\n');
    const data = await c.waitFor((e) => e.type === 'data' && String(e.data.text).includes('hello from s_server'), 5000, "s_server's line");
    step('close');
    c.close();
    await ss.waitFor(/DONE\s+shutting down SSL\s+CONNECTION CLOSED/, 5000);
    return { received: data.data.text as string, cipherSuite: connected.data.cipherSuite as number };
  });
}

/** coap-server-gnutls: handshake, GET /time, 2.05 with the time, close. */
export async function libcoapScenario(bundle: string, memoryLimit: number, port: number, onClient?: (c: QuickJsPskClient) => void): Promise<ScenarioResult & { server: Peer }> {
  const server = await libcoapServer(port);
  const c = new QuickJsPskClient({ bundle, memoryLimit, peerPort: port + 1 });
  onClient?.(c);
  return runScenario(c, { peer: 'libcoap', limit: memoryLimit, server }, async (step) => {
    step('handshake');
    c.coapStart();
    const connected = await c.waitFor((e) => e.type === 'connected', 8000, 'the DTLS handshake');
    step('get');
    c.coapGet('/time');
    const r = await c.waitFor((e) => e.type === 'response' || e.type === 'failed', 8000, 'the response to GET /time');
    if (r.type !== 'response') throw new Error(`GET /time failed in the VM: ${JSON.stringify(r.data)}`);
    step('close');
    c.close();
    await new Promise((r) => setTimeout(r, 50)); // let the close_notify leave before the socket closes
    return { received: r.data.payload as string, responseCode: r.data.code as string, cipherSuite: connected.data.cipherSuite as number };
  });
}

export const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

/**
 * `npm run bench -- memory`: bytes per established, idle DTLS 1.2 PSK session on the server
 * (TLS_PSK_WITH_AES_128_CCM_8), at 1k, 10k and 100k sessions, as ratios to the 512 B target
 * (issue 13). Sessions are made in-process against the sans-IO DtlsEndpoint by a fast
 * in-process client (no sockets: every datagram handed over directly); each client is one
 * device with its own address and PSK identity (`device-000123`, 13 bytes).
 *
 * Each count runs in a fresh child process started with --expose-gc (so RSS and the heap start
 * clean), twice: once dropping every client as soon as its handshake ends (the server's cost),
 * once keeping the clients too (the difference is a client connection's cost). Before the
 * baseline, a warm-up fills what is bounded and shared (the session cache, 1,024 entries; JIT;
 * hidden classes) with handshakes that are closed again. Growth over the baseline after a full
 * GC, per session, of:
 *   heap    process.memoryUsage().heapUsed
 *   ext     .external (native memory of JS objects; it includes arrayBuffers)
 *   ab      .arrayBuffers (the ArrayBuffer backing stores alone)
 *   heap+ext  the figure the 512 B target is about (heap + native)
 *   rss     .rss
 * at three moments: `fresh` (just established: the server still keeps its last flight, RFC 6347
 * §4.2.4, for 240 s), `idle` (the virtual clock moved 241 s on: the flights are gone), and
 * `active` (then every session received one application record from its client and answered it:
 * the server's side of a session in use, in `both` mode only as the clients are needed).
 * One JSON line per count at the end (`MEMORY_JSON {...}`).
 *
 * Options: --counts 1000,10000,100000   --no-clients (skip the client measurement)
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolveConfig, type ConnectionConfig } from '../lib/dtls/config.js';
import { DtlsEndpoint } from '../lib/dtls/endpoint.js';
import { ClientConnection } from '../lib/dtls/handshake/client.js';
import type { PeerAddress } from '../lib/dtls/keystore.js';
import { nodeCrypto } from '../lib/crypto/node.js';

const TARGET = 512;
const LINGER_MS = 240_000;
const enc = (s: string) => new TextEncoder().encode(s);
const PSK = enc('secretPSK-for-the-memory-bench');

export interface Sample {
  heap: number;
  ext: number;
  ab: number;
  rss: number;
}

export interface ChildResult {
  n: number;
  mode: 'server' | 'both';
  /** Bytes per session over the baseline, at each moment. */
  fresh: Sample;
  idle: Sample;
  active?: Sample;
  establishMs: number;
  timerEntries: number;
}

// --- the child: one count, one mode ---------------------------------------------------------

function gcFull(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('memory: run with --expose-gc');
  for (let i = 0; i < 4; i++) gc();
}

function sample(): Sample {
  gcFull();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, ext: m.external, ab: m.arrayBuffers, rss: m.rss };
}

function per(a: Sample, b: Sample, n: number): Sample {
  return { heap: (a.heap - b.heap) / n, ext: (a.ext - b.ext) / n, ab: (a.ab - b.ab) / n, rss: (a.rss - b.rss) / n };
}

function peerOf(i: number): PeerAddress {
  // the peer object the Node server makes (transports/node-dgram.ts): address and port
  return { address: `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`, port: 5684 + (i % 1000) };
}

const identity = (i: number) => enc(`device-${String(i).padStart(6, '0')}`);

/** A PSK server: every `device-…` identity has the one bench key. */
function server(n: number): DtlsEndpoint {
  const key = PSK;
  return new DtlsEndpoint({
    crypto: nodeCrypto,
    psk: (id) => (id.length === 13 && id[0] === 0x64 ? key : undefined),
    maxSessions: n + 10_000,
  });
}

/** Drives one in-process handshake to the end (cookie exchange included); throws unless both sides connected. */
function handshake(ep: DtlsEndpoint, cfg: ConnectionConfig, peer: PeerAddress, now: number): ClientConnection {
  const c = new ClientConnection(cfg);
  c.start(now);
  let clientUp = false;
  for (let round = 0; round < 12 && !clientUp; round++) {
    for (let d = c.pollTransmit(); d; d = c.pollTransmit()) ep.handleDatagram(now, peer, d);
    for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) c.handleDatagram(now, t.data);
    for (let e = ep.pollEvent(); e; e = ep.pollEvent()) if (e.type === 'failed') throw new Error(`memory: server failed: ${e.type === 'failed' ? e.error.message : ''}`);
    for (let e = c.pollEvent(); e; e = c.pollEvent()) {
      if (e.type === 'connected') clientUp = true;
      else if (e.type === 'failed') throw new Error(`memory: client failed: ${e.error.message}`);
    }
  }
  if (!clientUp) throw new Error('memory: handshake did not complete');
  return c;
}

function clientConfig(i: number): ConnectionConfig {
  return resolveConfig({ crypto: nodeCrypto, psk: { identity: identity(i), key: PSK } });
}

function runChild(n: number, mode: 'server' | 'both'): ChildResult {
  const ep = server(n);
  let now = 1;
  // warm-up: JIT, hidden classes and the bounded shared structures (session cache), then closed
  const WARM = 1_500;
  for (let i = 0; i < WARM; i++) {
    const c = handshake(ep, clientConfig(n + i), peerOf(n + i), now);
    c.close(now);
    for (let d = c.pollTransmit(); d; d = c.pollTransmit()) ep.handleDatagram(now, peerOf(n + i), d);
    while (ep.pollTransmit());
    while (ep.pollEvent());
  }
  if (ep.sessionCount !== 0) throw new Error(`memory: warm-up left ${ep.sessionCount} sessions`);
  const base = sample();
  const clients: ClientConnection[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    if ((i & 1023) === 0) now++;
    const c = handshake(ep, clientConfig(i), peerOf(i), now);
    if (mode === 'both') clients.push(c);
  }
  const establishMs = performance.now() - t0;
  if (ep.sessionCount !== n) throw new Error(`memory: ${ep.sessionCount} sessions, expected ${n}`);
  const fresh = sample();
  now += LINGER_MS + 1_000;
  ep.handleTimeout(now);
  while (ep.pollTransmit());
  while (ep.pollEvent());
  if (ep.sessionCount !== n) throw new Error(`memory: ${ep.sessionCount} sessions after the linger, expected ${n}`);
  const idle = sample();
  const r: ChildResult = { n, mode, fresh: per(fresh, base, n), idle: per(idle, base, n), establishMs, timerEntries: ep.timerEntries };
  if (mode === 'both') {
    // every session in use once: a request from the client, an answer from the server
    const req = enc('GET /hello-----');
    for (let i = 0; i < n; i++) {
      const c = clients[i]!;
      c.send(now, req);
      const peer = peerOf(i);
      for (let d = c.pollTransmit(); d; d = c.pollTransmit()) ep.handleDatagram(now, peer, d);
      for (let e = ep.pollEvent(); e; e = ep.pollEvent()) if (e.type === 'data') ep.send(now, e.connection, e.data);
      for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) c.handleDatagram(now, t.data);
      for (let e = c.pollEvent(); e; e = c.pollEvent()) if (e.type !== 'data') throw new Error(`memory: client event ${e.type}`);
    }
    r.active = per(sample(), base, n);
  }
  // keep both alive until measured
  if (clients.length !== (mode === 'both' ? n : 0) || ep.sessionCount !== n) throw new Error('memory: lost sessions');
  return r;
}

// --- the parent: one child per count and mode ------------------------------------------------

/** One count in a fresh child process (--expose-gc); the report (bench/report/suite-memory.ts) uses it too. */
export function child(n: number, mode: 'server' | 'both'): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=8192', fileURLToPath(import.meta.url), '--child', String(n), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('CHILD '));
      if (code !== 0 || !line) reject(new Error(`memory: child ${n} ${mode} exited ${code}: ${out.slice(-500)}`));
      else resolve(JSON.parse(line.slice(6)) as ChildResult);
    });
  });
}

const b = (x: number) => Math.round(x).toString();
const ratio = (x: number) => `${(x / TARGET).toFixed(2)}x`;

function row(label: string, s: Sample): string {
  const he = s.heap + s.ext;
  return `| ${label.padEnd(24)} | ${b(s.heap).padStart(6)} | ${b(s.ext).padStart(6)} | ${b(s.ab).padStart(6)} | ${b(he).padStart(8)} | ${ratio(he).padStart(6)} | ${b(s.rss).padStart(6)} | ${ratio(s.rss).padStart(6)} |`;
}

export async function main(args: string[]): Promise<number> {
  let counts = [1_000, 10_000, 100_000];
  let clients = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--counts') counts = (args[++i] ?? '').split(',').map(Number).filter((x) => x > 0);
    else if (a === '--no-clients') clients = false;
    else throw new Error(`memory: unknown option ${a}`);
  }
  console.log(`bytes per established PSK session, server side (${process.version}; target ${TARGET} B heap+native; ratios to it)`);
  console.log('| sessions, moment          |   heap |    ext |     ab | heap+ext | /512 B |    rss | /512 B |');
  console.log('|--------------------------|-------:|-------:|-------:|---------:|-------:|-------:|-------:|');
  const json: Array<Record<string, unknown>> = [];
  for (const n of counts) {
    process.stderr.write(`memory: ${n} sessions (server only)...\n`);
    const s = await child(n, 'server');
    console.log(row(`${n} server fresh`, s.fresh));
    console.log(row(`${n} server idle`, s.idle));
    const rec: Record<string, unknown> = { sessions: n, server: { fresh: s.fresh, idle: s.idle }, establishPerSecond: Math.round((n / s.establishMs) * 1000), timerEntries: s.timerEntries };
    if (clients) {
      process.stderr.write(`memory: ${n} sessions (server and clients)...\n`);
      const t = await child(n, 'both');
      const minus = (x: Sample, y: Sample): Sample => ({ heap: x.heap - y.heap, ext: x.ext - y.ext, ab: x.ab - y.ab, rss: x.rss - y.rss });
      console.log(row(`${n} client (idle)`, minus(t.idle, s.idle)));
      if (t.active) console.log(row(`${n} server+client active`, t.active));
      rec.client = { idle: minus(t.idle, s.idle) };
      rec.serverAndClientActive = t.active;
    }
    json.push(rec);
  }
  for (const r of json) {
    const idle = (r.server as { idle: Sample }).idle;
    r.serverIdleHeapPlusNativeToTarget = Number(((idle.heap + idle.ext) / TARGET).toFixed(3));
    r.serverIdleRssToTarget = Number((idle.rss / TARGET).toFixed(3));
  }
  console.log(`MEMORY_JSON ${JSON.stringify({ target: TARGET, node: process.version, results: json })}`);
  return 0;
}

if (process.argv[2] === '--child') {
  const r = runChild(Number(process.argv[3]), process.argv[4] === 'both' ? 'both' : 'server');
  process.stdout.write(`CHILD ${JSON.stringify(r)}\n`);
}

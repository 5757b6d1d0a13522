/**
 * Shared pieces of the attack scripts (bench/attacks): start the target (`coaps serve` from a
 * given build, or the library server of that build in a child process), read its CPU time and
 * memory from /proc, and speak raw CoAP over UDP.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { clockTicks, freePorts, procTicks } from '../lib/sys.js';
import { spawnTracked, stop, type Tracked } from '../lib/procs.js';
import { encodeMessage } from '../../lib/coap/codec.js';
import { Code, MessageType, OptionNumber, type CoapMessage, type CoapOption } from '../../lib/coap/message.js';

export const PSK_ARG = 'Client_identity:73656372657450534b';
export const IDENTITY = new TextEncoder().encode('Client_identity');
export const KEY = new TextEncoder().encode('secretPSK');

/** Where the target build lives: its root holds dist/ (or is dist/). */
export interface Target {
  label: string;
  /** dist/ of the build under attack. */
  dist: string;
}

export interface Served {
  t: Tracked;
  pid: number;
  port: number;
  /** Lines the server wrote on stderr so far. */
  logLines(): number;
  alive(): boolean;
  stop(): Promise<void>;
}

/** Starts `coaps serve` of the target: coaps:// with the demo PSK when `secure`, else coap://. */
export async function startServe(target: Target, secure: boolean, extra: string[] = []): Promise<Served> {
  const port = await freePorts(1);
  const args = [join(target.dist, 'lib/cli/main.js'), 'serve', '--listen', `127.0.0.1:${port}`, ...(secure ? ['--psk', PSK_ARG] : []), ...extra];
  const t = spawnTracked(process.execPath, args);
  const deadline = Date.now() + 10_000;
  while (!/serving coaps?:\/\//.test(t.err())) {
    if (t.proc.exitCode !== null) throw new Error(`coaps serve exited: ${t.err()}`);
    if (Date.now() > deadline) throw new Error(`coaps serve did not start: ${t.err()}`);
    await sleep(20);
  }
  return served(t, port);
}

/** The library server of the target build in a child process (serve-child.js), for state counts and short lifetimes. */
export async function startChild(target: Target, o: { lifetimeMs: number; secure?: boolean }): Promise<Served & { stats(): Promise<Record<string, number>> }> {
  const port = await freePorts(1);
  const child = join(import.meta.dirname, 'serve-child.js');
  const t = spawnTracked(process.execPath, ['--expose-gc', child, target.dist, String(port), String(o.lifetimeMs), o.secure ? 'secure' : 'plain']);
  const deadline = Date.now() + 10_000;
  while (!/LISTENING/.test(t.out())) {
    if (t.proc.exitCode !== null) throw new Error(`serve-child exited: ${t.err()}`);
    if (Date.now() > deadline) throw new Error(`serve-child did not start: ${t.err()}`);
    await sleep(20);
  }
  const s = served(t, port);
  let asked = 0;
  const stats = async (): Promise<Record<string, number>> => {
    const n = ++asked;
    t.proc.stdin!.write('stats\n');
    const re = new RegExp(`^STATS ${n} (.*)$`, 'm');
    for (let i = 0; i < 500; i++) {
      const m = t.out().match(re);
      if (m) return JSON.parse(m[1]!) as Record<string, number>;
      await sleep(10);
    }
    throw new Error('serve-child did not answer stats');
  };
  return { ...s, stats };
}

function served(t: Tracked, port: number): Served {
  return {
    t,
    pid: t.proc.pid!,
    port,
    logLines: () => t.err().split('\n').filter((l) => l.startsWith('coaps:')).length,
    alive: () => t.proc.exitCode === null && t.proc.signalCode === null,
    stop: () => stop(t),
  };
}

/** CPU seconds (user + system) the process has used. */
export function cpuSeconds(pid: number): number {
  return procTicks(pid) / clockTicks();
}

/** Resident set size, MB. */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

export const enc = (s: string) => new TextEncoder().encode(s);
export const uri = (p: string): CoapOption[] => p.split('/').filter(Boolean).map((s) => ({ number: OptionNumber.UriPath, value: enc(s) }));

/** An encoded request (CON GET unless said otherwise). */
export function request(m: Partial<CoapMessage> & { options: CoapOption[] }): Uint8Array {
  return encodeMessage({ type: MessageType.CON, code: Code.GET, messageId: 1, token: new Uint8Array(0), payload: new Uint8Array(0), ...m, options: [...m.options].sort((a, b) => a.number - b.number) });
}

/** A bound UDP socket on 127.0.0.1 that records what it receives. */
export async function udpSocket(): Promise<{ sock: Socket; got: Buffer[]; close(): Promise<void> }> {
  const sock = createSocket('udp4');
  const got: Buffer[] = [];
  sock.on('message', (d) => got.push(d));
  sock.on('error', () => undefined);
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return { sock, got, close: () => new Promise<void>((r) => sock.close(() => r())) };
}

export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

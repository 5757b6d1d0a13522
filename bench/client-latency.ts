/**
 * `npm run bench -- client-latency`: how long one client PSK handshake takes, sequentially
 * (one at a time, a fresh socket and source port each, cookie exchange included), against the
 * same C server: libcoap's coap-server-gnutls (TLS_PSK_WITH_AES_128_CCM_8 forced, no PSK hint;
 * tinydtls's server is not packaged here), pinned to the server core. Three clients, in rounds
 * that alternate so drift of this shared machine hits all of them:
 *   - ours: connect() of the Node driver (transports/node-dgram.ts), from this process;
 *   - node-dtls-client 1.1.1 (interop/peers, when installed), from this process;
 *   - dtls-load's C client (Mbed TLS; `hs --concurrency 1`), its own p50/p99.
 * Each latency: from the call (socket creation included) to the connected session; the close
 * that follows is not timed. This process is not pinned (pinned to the load core beside the
 * machine's other work, our latency was 4x worse: it waits for the core); dtls-load is.
 *
 * Options: --rounds N (3), --count N (handshakes per client per round, 300), --warmup N (100,
 *          ours and node-dtls-client, before the first round), --phases (also: where our
 *          handshake's time goes, from connect()'s datagram trace hook: the median time from
 *          the call, or from the datagram before, to each datagram sent or received, and from
 *          the last one to the resolved session; the hook's cost is in these figures).
 * measureClientLatency() returns the figures (for the report).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect } from '../transports/node-dgram.js';
import { ensureDtlsLoad, runDtlsLoad } from './lib/dtls-load.js';
import { REPO_ROOT } from './lib/paths.js';
import { stop } from './lib/procs.js';
import { log } from './lib/report.js';
import { LOAD_CPU, startLibcoap } from './lib/servers.js';
import { freePorts } from './lib/sys.js';

export interface Percentiles {
  n: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface ClientLatency {
  server: string;
  /** ms */
  ours: Percentiles;
  nodeDtlsClient: Percentiles | { skip: string };
  /** dtls-load reports p50 and p99 only */
  dtlsLoad: { p50: number; p99: number; n: number } | { skip: string };
  /** ours / theirs at p50 (below 1: we are faster) */
  ratios: { vsNodeDtlsClient?: number; vsDtlsLoad?: number };
  /** --phases: our handshake step by step (ms, medians), from rounds of their own after the timed ones. */
  phases?: ReturnType<typeof phaseTable>;
}

interface Opts {
  rounds: number;
  count: number;
  warmup: number;
  /** Also time each step of our handshake (through the trace hook). */
  phases: boolean;
}

const PSK = { identity: new TextEncoder().encode('Client_identity'), key: new TextEncoder().encode('secretPSK') };

function percentiles(xs: number[]): Percentiles {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(s.length * q))] ?? NaN;
  return { n: s.length, p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}

/** One handshake's datagrams ('out'/'in', ms since the call) and its total, for --phases. */
interface Timeline {
  marks: Array<{ dir: 'in' | 'out'; at: number }>;
  total: number;
}

async function ours(port: number, n: number, into: number[] | undefined, phases?: Timeline[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const marks: Timeline['marks'] = [];
    const t0 = performance.now();
    const trace = phases && ((dir: 'in' | 'out') => void marks.push({ dir, at: performance.now() - t0 }));
    const s = await connect({ host: '127.0.0.1', port, psk: PSK, timeoutMs: 5000, ...(trace ? { trace } : {}) });
    const total = performance.now() - t0;
    into?.push(total);
    phases?.push({ marks: marks.slice(), total });
    await s.close();
  }
}

/** Median time of each step of the most common datagram sequence (handshakes that retransmitted differ, and are left out). */
function phaseTable(runs: Timeline[]): { sequence: string; n: number; steps: Array<{ step: string; ms: number }> } {
  const key = (t: Timeline) => t.marks.map((m) => m.dir).join(',');
  const groups = new Map<string, Timeline[]>();
  for (const t of runs) groups.set(key(t), [...(groups.get(key(t)) ?? []), t]);
  const [sequence, same] = [...groups.entries()].sort((a, b) => b[1].length - a[1].length)[0] ?? ['', []];
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;
  const steps: Array<{ step: string; ms: number }> = [];
  const dirs = sequence ? sequence.split(',') : [];
  dirs.forEach((dir, i) => {
    steps.push({ step: `${i === 0 ? 'call' : `${dirs[i - 1]} #${i}`} -> ${dir} #${i + 1}`, ms: med(same.map((t) => t.marks[i]!.at - (i === 0 ? 0 : t.marks[i - 1]!.at))) });
  });
  if (dirs.length) steps.push({ step: `${dirs[dirs.length - 1]} #${dirs.length} -> connected`, ms: med(same.map((t) => t.total - t.marks[dirs.length - 1]!.at)) });
  return { sequence, n: same.length, steps };
}

/** The part of node-dtls-client 1.1.1's API used here. */
interface NodeDtlsClient {
  createSocket(opts: { type: 'udp4'; address: string; port: number; psk: Record<string, string>; ciphers?: string[]; timeout?: number }): NodeJS.EventEmitter & {
    close(): void;
  };
}

function loadNodeDtlsClient(): NodeDtlsClient | { skip: string } {
  try {
    const req = createRequire(join(REPO_ROOT, 'interop/peers/package.json'));
    return (req('node-dtls-client') as { dtls: NodeDtlsClient }).dtls;
  } catch (e) {
    return { skip: `node-dtls-client not installed (interop/install-peers.sh): ${(e as Error).message.split('\n')[0]}` };
  }
}

async function theirs(dtls: NodeDtlsClient, port: number, n: number, into: number[] | undefined): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const sock = dtls.createSocket({ type: 'udp4', address: '127.0.0.1', port, psk: { Client_identity: 'secretPSK' }, ciphers: ['TLS_PSK_WITH_AES_128_CCM_8'], timeout: 5000 });
      sock.once('connected', () => {
        into?.push(performance.now() - t0);
        sock.close();
        resolve();
      });
      sock.once('error', (e: Error) => reject(e));
    });
  }
}

export async function measureClientLatency(o: Partial<Opts> = {}, progress: (s: string) => void = () => {}): Promise<ClientLatency> {
  const opts: Opts = { rounds: 3, count: 300, warmup: 100, phases: false, ...o };
  const base = await freePorts(2);
  const server = await startLibcoap(base, 60 + opts.rounds * opts.count * 0.05);
  if ('skip' in server) throw new Error(`client-latency: ${server.skip}`);
  const port = base + 1;
  try {
    const ndc = loadNodeDtlsClient();
    const tool = await ensureDtlsLoad();
    const a: number[] = [];
    const b: number[] = [];
    const c: { p50: number; p99: number; n: number }[] = [];
    let dtlsLoadSkip = 'skip' in tool ? tool.skip : '';
    progress('warm-up');
    await ours(port, opts.warmup, undefined);
    if (!('skip' in ndc)) await theirs(ndc, port, opts.warmup, undefined);
    for (let r = 0; r < opts.rounds; r++) {
      progress(`round ${r + 1}/${opts.rounds}: ours`);
      await ours(port, opts.count, a);
      if (!('skip' in ndc)) {
        progress(`round ${r + 1}/${opts.rounds}: node-dtls-client`);
        await theirs(ndc, port, opts.count, b);
      }
      if ('bin' in tool) {
        progress(`round ${r + 1}/${opts.rounds}: dtls-load`);
        const run = await runDtlsLoad(tool.bin, LOAD_CPU, ['hs', '--port', String(port), '--concurrency', '1', '--duration', '1', '--drain', '200'], 20_000);
        if (run.result?.ok) c.push({ p50: run.result.p50_ms, p99: run.result.p99_ms, n: run.result.ok });
        else dtlsLoadSkip = `dtls-load failed: ${(run.stderr || run.text).trim().slice(-200)}`;
      }
    }
    // the trace hook costs a little: its rounds are not the timed ones above
    const timelines: Timeline[] = [];
    for (let r = 0; opts.phases && r < opts.rounds; r++) {
      progress(`phases ${r + 1}/${opts.rounds}`);
      await ours(port, opts.count, undefined, timelines);
    }
    const mine = percentiles(a);
    const other = 'skip' in ndc ? ndc : percentiles(b);
    const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
    const load = c.length ? { p50: med(c.map((x) => x.p50)), p99: med(c.map((x) => x.p99)), n: c.reduce((s, x) => s + x.n, 0) } : { skip: dtlsLoadSkip || 'no dtls-load run' };
    const ratios: ClientLatency['ratios'] = {};
    if (!('skip' in other)) ratios.vsNodeDtlsClient = mine.p50 / other.p50;
    if (!('skip' in load)) ratios.vsDtlsLoad = mine.p50 / load.p50;
    return { server: 'libcoap coap-server-gnutls (PSK, CCM_8)', ours: mine, nodeDtlsClient: other, dtlsLoad: load, ratios, ...(opts.phases ? { phases: phaseTable(timelines) } : {}) };
  } finally {
    await stop(server.t);
  }
}

const ms = (x: number) => x.toFixed(3);

export function printClientLatency(r: ClientLatency): void {
  log(`client PSK handshake latency, sequential, against ${r.server}; ms`);
  log('| client | n | p50 | p90 | p99 | p50 ours/theirs |');
  log('|---|---:|---:|---:|---:|---:|');
  log(`| coaps connect() (Node driver) | ${r.ours.n} | ${ms(r.ours.p50)} | ${ms(r.ours.p90)} | ${ms(r.ours.p99)} | |`);
  const n = r.nodeDtlsClient;
  if ('skip' in n) log(`| node-dtls-client | skipped: ${n.skip} | | | | |`);
  else log(`| node-dtls-client 1.1.1 | ${n.n} | ${ms(n.p50)} | ${ms(n.p90)} | ${ms(n.p99)} | ${r.ratios.vsNodeDtlsClient!.toFixed(2)} |`);
  const d = r.dtlsLoad;
  if ('skip' in d) log(`| dtls-load (C, Mbed TLS) | skipped: ${d.skip} | | | | |`);
  else log(`| dtls-load (C, Mbed TLS), median of rounds | ${d.n} | ${ms(d.p50)} | - | ${ms(d.p99)} | ${r.ratios.vsDtlsLoad!.toFixed(2)} |`);
  log(`target: p50 <= 0.4 ms -> ours ${ms(r.ours.p50)} ms = ${(r.ours.p50 / 0.4).toFixed(2)}x the target`);
  if (r.phases) {
    const p = r.phases;
    log(`our handshake step by step (trace hook on; datagrams ${p.sequence}; ${p.n} handshakes with that sequence), medians in ms:`);
    log('| step | ms |');
    log('|---|---:|');
    for (const x of p.steps) log(`| ${x.step} | ${ms(x.ms)} |`);
  }
}

export async function main(args: string[]): Promise<number> {
  const o: Partial<Opts> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = () => Number(args[++i]);
    if (a === '--rounds') o.rounds = Math.max(1, v());
    else if (a === '--count') o.count = Math.max(1, v());
    else if (a === '--warmup') o.warmup = Math.max(0, v());
    else if (a === '--phases') o.phases = true;
    else throw new Error(`client-latency: unknown option ${a}`);
  }
  printClientLatency(await measureClientLatency(o, (s) => process.stderr.write(`client-latency: ${s}\n`)));
  return 0;
}

/**
 * Benchmark client (not a test): DTLS 1.2 PSK handshakes back to back against a server in
 * another process, full or resumed (RFC 5246 §7.3 abbreviated handshake), for
 * `npm run bench -- sessions`.
 *
 *   node dist/bench/sessions-load-client.js --port P --mode full|id|ticket [--concurrency 4]
 *        [--duration 3] [--warmup 0.5] [--server-pid PID]
 *
 * Our own client engine (ClientConnection, the same one `connect` drives) on `concurrency` UDP
 * sockets, each running one handshake after another: ClientHello, the cookie exchange, the
 * rest, then close_notify, and the next handshake from the same socket (dtls-load takes a
 * fresh port each time; the server forgets the address at close_notify either way). Without
 * `connect`'s per-handshake socket and promise the client costs less, so the server is what is
 * measured as far as one client core allows (the JSON says how busy both were).
 *
 * Modes: `full` (a full PSK handshake, asking for nothing to resume); `id` (every handshake
 * resumes one session by its session ID from the server's cache); `ticket` (every handshake
 * resumes with one RFC 5077 ticket: the server keeps nothing). The session to resume comes
 * from one full handshake before the warm-up. Every handshake is checked: it must end
 * `connected`, resumed or not as the mode says. Last stdout line: JSON.
 */
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { resolveConfig, type ConnectionConfig } from '../lib/dtls/config.js';
import { ClientConnection } from '../lib/dtls/handshake/client.js';
import { decodeClientResumption } from '../lib/dtls/resumption.js';
import '../lib/crypto/node.js';
import { arg, hardTimeLimit, mark, pct, perSecond, windowFigures } from './lib/load-client.js';
import { BENCH_PSK_IDENTITY, BENCH_PSK_KEY } from './lib/server-process.js';

const host = arg('host', '127.0.0.1');
const port = Number(arg('port', '0'));
const mode = arg('mode', 'full');
const concurrency = Number(arg('concurrency', '4'));
const durationS = Number(arg('duration', '3'));
const warmupS = Number(arg('warmup', '0.5'));
const serverPid = Number(arg('server-pid', '0'));

if (!port || !['full', 'id', 'ticket'].includes(mode)) {
  console.error('usage: sessions-load-client --port P --mode full|id|ticket [--concurrency C] [--duration S] [--warmup S] [--server-pid PID]');
  process.exit(2);
}
hardTimeLimit('sessions-load-client', durationS + warmupS + 20);

const psk = { identity: new TextEncoder().encode(BENCH_PSK_IDENTITY), key: BENCH_PSK_KEY };
const retransmission = { initialMs: 200, maxMs: 1600, maxRetransmits: 4, restartAfter: 0 };

const st = { issuing: true, measuring: false, ok: 0, failed: 0, wrong: 0, retransmitTimeouts: 0 };
const lat: number[] = [];
const failures: Record<string, number> = {};

/** One socket running handshakes one after another. */
class Lane {
  private conn: ClientConnection | undefined;
  private startedAt = 0;
  private readonly socket: Socket;
  idle: Promise<void>;
  private settle: (() => void) | undefined;

  constructor(private readonly cfg: ConnectionConfig, private readonly wantResumed: boolean) {
    this.socket = createSocket('udp4');
    this.socket.on('message', (msg) => {
      const c = this.conn;
      if (!c) return;
      c.handleDatagram(performance.now(), new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength));
      this.pump();
    });
    this.socket.on('error', () => {});
    this.idle = new Promise((r) => (this.settle = r));
  }

  async open(): Promise<void> {
    await new Promise<void>((r) => this.socket.bind(0, '127.0.0.1', () => r()));
    try {
      this.socket.setRecvBufferSize(1 << 20);
    } catch {
      /* capped */
    }
    await new Promise<void>((r) => this.socket.connect(port, host, () => r()));
  }

  /** Starts the next handshake (or stops when the run is over). */
  next(): void {
    if (!st.issuing) {
      this.conn = undefined;
      this.settle?.();
      return;
    }
    this.conn = new ClientConnection(this.cfg);
    this.startedAt = performance.now();
    this.conn.start(this.startedAt);
    this.pump();
  }

  /** The retransmission timer, checked by a shared ticker. */
  tick(now: number): void {
    const c = this.conn;
    if (!c) return;
    const t = c.pollTimeout();
    if (t === undefined || t > now) return;
    if (st.measuring) st.retransmitTimeouts++;
    c.handleTimeout(now);
    this.pump();
  }

  private pump(): void {
    const c = this.conn;
    if (!c) return;
    for (let d = c.pollTransmit(); d; d = c.pollTransmit()) this.socket.send(d);
    for (let e = c.pollEvent(); e; e = c.pollEvent()) {
      if (e.type === 'connected') {
        const now = performance.now();
        if (st.measuring) {
          if ((e.session.resumed === true) !== this.wantResumed) st.wrong++;
          else {
            st.ok++;
            lat.push(now - this.startedAt);
          }
        }
        c.close(now);
        for (let d = c.pollTransmit(); d; d = c.pollTransmit()) this.socket.send(d);
        this.conn = undefined;
        this.next();
        return;
      }
      if (e.type === 'failed' || e.type === 'closed') {
        if (st.measuring) {
          st.failed++;
          const code = e.type === 'failed' ? e.error.code : 'closed';
          failures[code] = (failures[code] ?? 0) + 1;
        }
        this.conn = undefined;
        this.next();
        return;
      }
    }
  }

  close(): void {
    this.socket.close();
  }
}

/** One full handshake that asks for a ticket: what the resumed modes resume. */
async function firstSession(): Promise<Uint8Array> {
  const cfg = resolveConfig({ psk, retransmission, sessionTickets: mode === 'ticket', wallClock: Date.now });
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => socket.connect(port, host, () => r()));
  const conn = new ClientConnection(cfg);
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<Uint8Array>((resolve, reject) => {
    const pump = () => {
      for (let d = conn.pollTransmit(); d; d = conn.pollTransmit()) socket.send(d);
      for (let e = conn.pollEvent(); e; e = conn.pollEvent()) {
        if (e.type === 'connected') {
          const blob = conn.resumption;
          conn.close(performance.now());
          for (let d = conn.pollTransmit(); d; d = conn.pollTransmit()) socket.send(d);
          if (blob) resolve(blob);
          else reject(new Error('the server gave nothing to resume with'));
        } else if (e.type === 'failed') reject(e.error);
      }
    };
    socket.on('message', (m) => {
      conn.handleDatagram(performance.now(), new Uint8Array(m.buffer, m.byteOffset, m.byteLength));
      pump();
    });
    conn.start(performance.now());
    pump();
    timer = setInterval(() => {
      conn.handleTimeout(performance.now());
      pump();
    }, 100);
  });
  try {
    return await done;
  } finally {
    clearInterval(timer);
    setTimeout(() => socket.close(), 50);
  }
}

async function main(): Promise<void> {
  let cfg: ConnectionConfig;
  if (mode === 'full') cfg = resolveConfig({ psk, retransmission, wallClock: Date.now });
  else {
    const blob = await firstSession();
    const r = decodeClientResumption(blob);
    if (mode === 'ticket' && !r.ticket) throw new Error('no ticket from the server');
    if (mode === 'id' && r.sessionId.length === 0) throw new Error('no session ID from the server');
    // `id` offers the session ID alone (no ticket): the server's cache answers
    cfg = resolveConfig({ psk, retransmission, wallClock: Date.now, sessionTickets: mode === 'ticket', resume: mode === 'id' ? { ...r, ticket: undefined } : r });
  }
  const lanes = Array.from({ length: concurrency }, () => new Lane(cfg, mode !== 'full'));
  await Promise.all(lanes.map((l) => l.open()));
  const ticker = setInterval(() => {
    const now = performance.now();
    for (const l of lanes) l.tick(now);
  }, 20);
  for (const l of lanes) l.next();
  await new Promise((r) => setTimeout(r, warmupS * 1000));

  const start = mark(serverPid);
  st.measuring = true;
  const perSec = perSecond(() => st.ok);
  await new Promise((r) => setTimeout(r, durationS * 1000));
  st.measuring = false;
  const end = mark(serverPid);
  perSec.stop();
  st.issuing = false;
  await Promise.race([Promise.all(lanes.map((l) => l.idle)), new Promise((r) => setTimeout(r, 2000))]);
  clearInterval(ticker);
  for (const l of lanes) l.close();

  const { secs, cpuFields } = windowFigures(start, end, serverPid);
  console.log(
    JSON.stringify({
      tool: 'sessions-load-client',
      mode,
      concurrency,
      duration_s: Number(secs.toFixed(4)),
      ok: st.ok,
      rate: Number((st.ok / secs).toFixed(1)),
      failed: st.failed,
      failures,
      not_as_asked: st.wrong,
      retransmit_timeouts: st.retransmitTimeouts,
      p50_ms: Number(pct(lat, 0.5).toFixed(3)),
      p99_ms: Number(pct(lat, 0.99).toFixed(3)),
      ...cpuFields,
      per_sec: perSec.perSec,
    }),
  );
  process.exit(0);
}

main().catch((e) => {
  console.log(JSON.stringify({ tool: 'sessions-load-client', error: String(e instanceof Error ? e.stack : e) }));
  process.exit(1);
});

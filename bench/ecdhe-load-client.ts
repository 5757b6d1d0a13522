/**
 * Benchmark client (not a test): full DTLS 1.2 TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 handshakes
 * with RFC 7250 raw public keys against a server in another process, C at a time. No neutral
 * C generator does ECDHE here (bench/tools/dtls-load is PSK only), so this drives our own
 * sans-IO client (lib/dtls/handshake/client.ts) directly over node:dgram, shaped like
 * `dtls-load hs`: every handshake goes through the cookie exchange and ends with close_notify.
 *
 *   node dist/bench/ecdhe-load-client.js --port P [--host 127.0.0.1] [--concurrency 8]
 *        [--duration 3] [--windows 1] [--warmup 0.5] [--client-auth] [--real-crypto] [--server-pid PID]
 *        [--ports-per-slot K]
 *
 * SOURCE PORTS. By default (`--ports-per-slot 0`) every handshake uses a fresh UDP socket (a
 * fresh source port), as dtls-load does. Creating, binding, connecting and closing a socket per
 * handshake is a good share of this client's CPU, and the client has one core to the server's
 * one, so `--ports-per-slot K` (the report uses it) opens K sockets per concurrent slot once and
 * takes them in turn: a handshake starts from a port whose previous session the client closed
 * with close_notify K-1 handshakes ago (the server removed it then). The server's work is that
 * of a new peer all the same: cookie exchange (checked: a handshake without HelloVerifyRequest
 * counts as bad) and a full handshake on a new connection.
 *
 * BENCH-ONLY CRYPTO SHORTCUTS (default; --real-crypto turns them off). The client side of
 * ECDHE costs about as much CPU as the server side, and the client has one core too. So the
 * client's crypto provider is nodeCrypto with two changes:
 *   - p256.generateEcdh returns one cached ephemeral key pair (the same client ECDH public
 *     key in every handshake; the shared secret is still computed for real, per handshake),
 *   - p256.verify returns true (the server's ServerKeyExchange signature is not checked).
 * Neither is visible to the server: it receives a valid point, and with client
 * authentication a real CertificateVerify signature; its own work is unchanged. Never do this
 * outside a benchmark.
 *
 * Counts only handshakes that complete inside a measurement window; the rate is divided by the
 * measured window. `--windows N` measures N back-to-back windows in this one process (so the
 * client's JIT warms up once): one JSON line per window, then a final JSON line (`final: true`)
 * after the drain.
 */
import { createECDH } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { nodeCrypto } from '../lib/crypto/node.js';
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { resolveConfig, type ConnectionConfig } from '../lib/dtls/config.js';
import type { DtlsEvent } from '../lib/dtls/events.js';
import { ClientConnection } from '../lib/dtls/handshake/client.js';
import { CipherSuite } from '../lib/dtls/wire/constants.js';
import { CertificateType } from '../lib/dtls/wire/ec-extensions.js';
import { clientKey, serverKey } from './lib/ecdhe-keys.js';
import { arg, flag, hardTimeLimit, mark, pct, perSecond, windowFigures } from './lib/load-client.js';
const host = arg('host', '127.0.0.1');
const port = Number(arg('port', '0'));
const concurrency = Math.max(1, Number(arg('concurrency', '8')));
const durationS = Number(arg('duration', '3'));
/** Back-to-back measurement windows of `duration` each (one JSON line per window). */
const windows = Math.max(1, Number(arg('windows', '1')));
const warmupS = Number(arg('warmup', '0.5'));
const serverPid = Number(arg('server-pid', '0'));
const withClientAuth = flag('client-auth');
const realCrypto = flag('real-crypto');
/** Sockets per slot, taken in turn (0: a fresh socket per handshake). See the header. */
const portsPerSlot = Math.max(0, Math.floor(Number(arg('ports-per-slot', '0'))));
/** A handshake not connected after this long is abandoned and counted as a timeout. */
const GIVE_UP_MS = 5000;
const DRAIN_MS = 1000;

if (!port) {
  console.error('usage: ecdhe-load-client --port P [--concurrency C] [--duration S] [--windows N] [--warmup S] [--client-auth] [--real-crypto] [--server-pid PID] [--ports-per-slot K]');
  process.exit(2);
}
hardTimeLimit('ecdhe-load-client', windows * durationS + warmupS + 20);

/** BENCH ONLY: see the header. The server cannot tell; its work is unchanged. */
function benchCrypto(): CryptoProvider {
  // One ECDH object holding the one key pair: every derivation on it is a plain computeSecret
  // (nodeCrypto's pair would rebuild an ECDH object for every derivation after the first).
  const ecdh = createECDH('prime256v1');
  const cached = { publicKey: new Uint8Array(ecdh.generateKeys()), deriveSecret: (peer: Uint8Array) => new Uint8Array(ecdh.computeSecret(peer)) };
  return {
    ...nodeCrypto,
    name: 'node+bench-shortcuts (cached client ECDH key pair, no ServerKeyExchange verify)',
    p256: {
      ...nodeCrypto.p256,
      generateEcdh: () => cached,
      verify: () => true,
    },
  };
}

const crypto = realCrypto ? nodeCrypto : benchCrypto();
const expectedServerSpki = Buffer.from(serverKey(nodeCrypto).publicKey.spki);
const cfg: ConnectionConfig = resolveConfig({
  crypto,
  suites: [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8],
  acceptPeerCertificateTypes: [CertificateType.RawPublicKey],
  // Own key only when the server asks for it (it signs the CertificateVerify for real).
  ...(withClientAuth ? { ecdhe: { key: clientKey(nodeCrypto), rawPublicKey: true } } : {}),
  // Loopback: a lost datagram is rare. 500 ms rather than RFC 6347's 1 s, still well above
  // the handshake latency of a loaded server (a retransmitted ClientHello is extra server work).
  retransmission: { initialMs: 500, maxMs: 2000, maxRetransmits: 3 },
});

interface Slot {
  idx: number;
  socket: Socket | undefined;
  conn: ClientConnection | undefined;
  started: number;
  deadline: number | undefined;
  rx: number;
  tx: number;
  /** The server asked for a cookie (its first datagram was a HelloVerifyRequest). */
  hvr: boolean;
  /** With --ports-per-slot: the slot's open sockets, taken in turn. */
  ring: Socket[];
  turn: number;
}

const st = {
  issuing: true,
  measuring: false,
  inFlight: 0,
  // per window (reset by windowCounters())
  started: 0,
  ok: 0,
  failed: 0,
  timeouts: 0,
  bad: 0,
  badWhy: {} as Record<string, number>,
  errors: {} as Record<string, number>,
  tx: 0,
  rx: 0,
  sockErrors: 0,
};
const latencies: number[] = [];

/** The counters of the window that just ended; starts the next one. */
function windowCounters() {
  const w = { started: st.started, ok: st.ok, failed: st.failed, timeouts: st.timeouts, bad: st.bad, badWhy: st.badWhy, errors: st.errors, tx: st.tx, rx: st.rx, sockErrors: st.sockErrors };
  st.started = st.ok = st.failed = st.timeouts = st.bad = st.tx = st.rx = st.sockErrors = 0;
  st.badWhy = {};
  st.errors = {};
  return w;
}

function count(m: Record<string, number>, k: string): void {
  m[k] = (m[k] ?? 0) + 1;
}

/**
 * Source ports are walked sequentially through the kernel's ephemeral range (as dtls-load
 * does), so a port comes back as late as possible. With kernel-chosen ports a new socket can
 * get a port closed a moment ago, and the server's close_notify answer to the old session,
 * still in flight, then reaches the new handshake (and fails it: see the report).
 */
const portRange = ((): [number, number] => {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi && hi > lo) return [lo, hi];
  } catch {
    /* not Linux */
  }
  return [32768, 60999];
})();
let nextPort = portRange[0] + Math.floor(Math.random() * (portRange[1] - portRange[0]));
const portStats = { binds: 0, inUse: 0 };
function takePort(): number {
  const p = nextPort;
  nextPort = p >= portRange[1] ? portRange[0] : p + 1;
  return p;
}

/** Opens one socket of a slot's ring (bound to the next port, connected to the server). */
function openRingSocket(slot: Slot, attempt = 0): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    let bound = false;
    listen(slot, socket);
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (!bound && (e.code === 'EADDRINUSE' || e.code === 'EACCES') && attempt < 100) {
        portStats.inUse++;
        socket.close();
        openRingSocket(slot, attempt + 1).then(resolve, reject);
        return;
      }
      if (!bound) return reject(e);
      if (e.code === 'ECONNREFUSED') return;
      st.sockErrors++;
      if (slot.socket === socket) finish(slot, `socket:${e.code ?? e.message}`);
    });
    socket.bind({ port: takePort(), address: '127.0.0.1', exclusive: true }, () => {
      bound = true;
      portStats.binds++;
      socket.connect(port, host, () => resolve(socket));
    });
  });
}

/** Feeds what arrives on `socket` to the slot's handshake while the socket is the slot's current one. */
function listen(slot: Slot, socket: Socket): void {
  socket.on('message', (msg) => {
    if (slot.socket !== socket || !slot.conn) return;
    // record type 22 (handshake), epoch 0, handshake type 3 (hello_verify_request) at byte 13
    if (slot.rx++ === 0) slot.hvr = msg[0] === 22 && msg[3] === 0 && msg[4] === 0 && msg[13] === 3;
    if (st.measuring) st.rx++;
    const conn = slot.conn;
    pump(slot, () => conn.handleDatagram(performance.now(), new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength)));
  });
}

/** Starts a handshake on the slot's next ring socket. */
function startOnRing(slot: Slot): void {
  const socket = slot.ring[slot.turn++ % slot.ring.length]!;
  slot.socket = socket;
  slot.rx = 0;
  slot.tx = 0;
  slot.hvr = false;
  st.inFlight++;
  const conn = new ClientConnection(cfg);
  slot.conn = conn;
  slot.started = performance.now();
  if (st.measuring) st.started++;
  pump(slot, () => conn.start(slot.started));
}

function startHandshake(slot: Slot, attempt = 0): void {
  if (!st.issuing) return;
  if (slot.ring.length) return startOnRing(slot);
  const socket = createSocket('udp4');
  slot.socket = socket;
  slot.conn = undefined;
  slot.rx = 0;
  slot.tx = 0;
  slot.hvr = false;
  if (attempt === 0) st.inFlight++;
  let bound = false;
  listen(slot, socket);
  socket.on('error', (e: NodeJS.ErrnoException) => {
    if (!bound && slot.socket === socket && (e.code === 'EADDRINUSE' || e.code === 'EACCES') && attempt < 100) {
      // that port is taken (by someone else): the next one
      portStats.inUse++;
      slot.socket = undefined;
      socket.close();
      startHandshake(slot, attempt + 1);
      return;
    }
    if (e.code === 'ECONNREFUSED') return; // the server's port closed: the retransmission timer decides
    st.sockErrors++;
    if (slot.socket === socket) finish(slot, `socket:${e.code ?? e.message}`);
  });
  socket.bind({ port: takePort(), address: '127.0.0.1', exclusive: true }, () => {
    bound = true;
    portStats.binds++;
    if (slot.socket !== socket) return;
    socket.connect(port, host, () => {
      if (slot.socket !== socket) return;
      const conn = new ClientConnection(cfg);
      slot.conn = conn;
      slot.started = performance.now();
      if (st.measuring) st.started++;
      pump(slot, () => conn.start(slot.started));
    });
  });
}

/** Runs one engine call, then sends what it produced and handles its events. */
function pump(slot: Slot, f: () => void): void {
  const conn = slot.conn;
  const socket = slot.socket;
  if (!conn || !socket) return;
  f();
  for (let d = conn.pollTransmit(); d; d = conn.pollTransmit()) {
    slot.tx++;
    if (st.measuring) st.tx++;
    socket.send(d);
  }
  for (let e = conn.pollEvent(); e; e = conn.pollEvent()) {
    if (onEvent(slot, conn, e)) return;
  }
  slot.deadline = conn.ended() ? undefined : conn.pollTimeout();
}

/** Returns true when the slot moved on to a new handshake. */
function onEvent(slot: Slot, conn: ClientConnection, e: DtlsEvent): boolean {
  switch (e.type) {
    case 'verify-peer': {
      // The one server key we expect, checked by bytes (cheap); a real client would consult
      // its key store the same way (lib/dtls/trust.ts), which costs a SHA-256 more.
      if (e.credential.kind !== 'rpk' || !expectedServerSpki.equals(e.credential.spki)) {
        count(st.badWhy, 'unexpected server credential');
        st.bad++;
        finish(slot, undefined); // counted in `bad`
        return true;
      }
      const spki = e.credential.spki;
      queueMicrotask(() => {
        if (slot.conn === conn) pump(slot, () => conn.resolvePeer(performance.now(), { ok: true, identity: { kind: 'rpk', spki, fingerprint: '', name: 's' }, spki }));
      });
      return false;
    }
    case 'connected': {
      const now = performance.now();
      const s = e.session;
      if (s.cipherSuite !== CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8) count(st.badWhy, `suite 0x${s.cipherSuite.toString(16)}`);
      else if (!s.extendedMasterSecret) count(st.badWhy, 'no extended master secret');
      else if (s.identity.kind !== 'rpk') count(st.badWhy, `server identity ${s.identity.kind}`);
      else if (!slot.hvr) count(st.badWhy, 'no cookie exchange');
      else {
        if (st.measuring) {
          st.ok++;
          latencies.push(now - slot.started);
        }
        // close_notify, then a new handshake on a new socket
        conn.close(now);
        finish(slot, undefined);
        return true;
      }
      st.bad++;
      conn.close(now);
      finish(slot, undefined); // counted in `bad`
      return true;
    }
    case 'failed':
    case 'closed':
      finish(slot, e.type === 'failed' ? e.error.code : 'closed');
      return true;
    default:
      return false;
  }
}

/** Ends the slot's handshake (sending what the connection still has), then starts the next. */
function finish(slot: Slot, error: string | undefined): void {
  const socket = slot.socket;
  const conn = slot.conn;
  if (!socket) return;
  if (error !== undefined) {
    st.failed++;
    count(st.errors, error);
  }
  if (conn) {
    for (let d = conn.pollTransmit(); d; d = conn.pollTransmit()) {
      slot.tx++;
      if (st.measuring) st.tx++;
      socket.send(d);
    }
  }
  slot.socket = undefined;
  slot.conn = undefined;
  slot.deadline = undefined;
  st.inFlight--;
  // let the last datagram (close_notify) leave before closing the socket (a ring socket stays open)
  if (!slot.ring.length) setImmediate(() => socket.close());
  startHandshake(slot);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const slots: Slot[] = Array.from({ length: concurrency }, (_, idx) => ({ idx, socket: undefined, conn: undefined, started: 0, deadline: undefined, rx: 0, tx: 0, hvr: false, ring: [], turn: 0 }));
  for (const s of slots) for (let k = 0; k < portsPerSlot; k++) s.ring.push(await openRingSocket(s));
  // One timer for every slot: retransmissions and the give-up deadline.
  const tick = setInterval(() => {
    const now = performance.now();
    for (const s of slots) {
      const conn = s.conn;
      if (!conn) continue;
      if (now - s.started > GIVE_UP_MS) {
        st.timeouts++;
        conn.close(now);
        finish(s, 'GIVE_UP');
        continue;
      }
      if (s.deadline !== undefined && now >= s.deadline) pump(s, () => conn.handleTimeout(now));
    }
  }, 20);
  for (const s of slots) startHandshake(s);
  await sleep(warmupS * 1000);

  // back-to-back windows in one process (one JIT warm-up), one JSON line each; failures are
  // counted everywhere (warm-up and drain too), successes only inside a window
  const warm = windowCounters();
  st.measuring = true;
  let start = mark(serverPid);
  for (let w = 1; w <= windows; w++) {
    const ticker = perSecond(() => st.ok);
    await sleep(durationS * 1000);
    ticker.stop();
    const end = mark(serverPid);
    const win = windowCounters();
    const lat = latencies.splice(0);
    if (w === windows) st.measuring = false;
    const { secs, clientCpuS: clientCpu, cpuFields } = windowFigures(start, end, serverPid);
    console.log(
      JSON.stringify({
        tool: 'ecdhe-load-client',
        window: w,
        suite: 'TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8',
        certificate_type: 'RawPublicKey',
        client_auth: withClientAuth,
        crypto: crypto.name,
        concurrency,
        ports_per_slot: portsPerSlot,
        duration_s: Number(secs.toFixed(4)),
        started: win.started,
        ok: win.ok,
        rate: Number((win.ok / secs).toFixed(1)),
        failed: win.failed,
        timeouts: win.timeouts,
        bad: win.bad,
        bad_why: win.badWhy,
        errors: win.errors,
        socket_errors: win.sockErrors,
        tx_per_hs: win.ok ? Number((win.tx / win.ok).toFixed(2)) : 0,
        rx_per_hs: win.ok ? Number((win.rx / win.ok).toFixed(2)) : 0,
        p50_ms: Number(pct(lat, 0.5).toFixed(3)),
        p99_ms: Number(pct(lat, 0.99).toFixed(3)),
        client_cpu_us_per_hs: win.ok ? Number(((clientCpu / win.ok) * 1e6).toFixed(1)) : 0,
        ...cpuFields,
        per_sec: ticker.perSec,
      }),
    );
    start = end;
  }

  // drain: no new handshakes; let those in flight end (they are not counted)
  st.issuing = false;
  const drainEnd = performance.now() + DRAIN_MS;
  while (st.inFlight > 0 && performance.now() < drainEnd) await sleep(10);
  const abandoned = st.inFlight;
  clearInterval(tick);
  for (const s of slots) {
    if (s.ring.length) for (const r of s.ring) r.close();
    else s.socket?.close();
  }
  const after = windowCounters();
  console.log(
    JSON.stringify({
      tool: 'ecdhe-load-client',
      final: true,
      windows,
      abandoned,
      warmup_failed: warm.failed + warm.bad,
      warmup_errors: { ...warm.errors, ...warm.badWhy },
      drain_failed: after.failed + after.bad,
      drain_errors: { ...after.errors, ...after.badWhy },
      port_range: portRange,
      ports_per_slot: portsPerSlot,
      ports_in_use_skipped: portStats.inUse,
      socket_binds: portStats.binds,
    }),
  );
  process.exit(0);
}

main().catch((e) => {
  console.log(JSON.stringify({ tool: 'ecdhe-load-client', error: String(e instanceof Error ? e.stack : e) }));
  process.exit(1);
});

/**
 * The DTLS endpoint with whole datagrams on a virtual clock (lib/dtls/endpoint.ts and every
 * connection state behind it, client side included). Each world starts with a real PSK
 * handshake by the sans-IO client at address A and some echoed data; inputs are operation
 * lists (ops.ts) run against that world:
 *
 *   RAW      a datagram from one of eight addresses (A, three strangers, four MITM clients)
 *   REPLAY   one of the world's own datagrams (A's handshake and records, both ways), bit-edited
 *   SPLICE   records of two of the world's datagrams in one datagram
 *   FRESH    a new application record of A's session, bit-edited (valid MAC unless edited)
 *   TICK     the clock moves (retransmissions, handshake and idle timeouts fire)
 *   COOKIE   a ClientHello from a stranger; the HelloVerifyRequest's cookie is put into it and
 *            it is sent again, so mutated ClientHellos get past the stateless cookie check
 *   MITM     a new client (PSK, PSK with 256-byte records, raw public keys, X.509) handshakes
 *            while a script drops, duplicates, edits, truncates, reorders or replaces datagrams
 *            in both directions; then it sends data the server echoes
 *   LEGIT    A sends data and must get it back
 *
 * Oracles: nothing escapes handleDatagram / handleTimeout (nor the clients'); no failure with
 * code INTERNAL (an exception caught inside the engine); a stranger without a session never
 * gets more bytes back than it sent (no amplification before the cookie); bounded sessions and
 * timers; at the end of each world, a new legitimate client completes a handshake and gets its
 * data echoed, and A's session, if the server still holds it, still carries data both ways.
 */
import { DecodeError } from '../../../lib/bytes/reader.js';
import { peerKey, type PeerAddress } from '../../../lib/dtls/keystore.js';
import { decodeClientHello, encodeClientHello } from '../../../lib/dtls/wire/client-hello.js';
import { ContentType, HandshakeType } from '../../../lib/dtls/wire/constants.js';
import { decodeHandshakeFragments, encodeHandshake } from '../../../lib/dtls/wire/handshake.js';
import { decodeHelloVerifyRequest } from '../../../lib/dtls/wire/hello-verify-request.js';
import { encodeRecord, splitRecords, type RawRecord } from '../../../lib/dtls/wire/record.js';
import { hexHead } from '../canon.js';
import { mutateDatagram } from '../dtls-mutate.js';
import { seedDatagrams } from '../dtls-seeds.js';
import { DtlsWorld, type ClientKind, type FuzzClient, type Tap } from '../dtls-world.js';
import { mutateBytes } from '../mutate.js';
import { inputHash } from '../oracles.js';
import { Cursor, encodeOps, mutateOps, parseOps, type Op } from '../ops.js';
import { Rng } from '../rng.js';
import { Violation, type FuzzTarget } from '../target.js';

const A: PeerAddress = { address: '10.0.0.2', port: 40000 };
const STRANGERS: PeerAddress[] = [
  { address: '10.0.0.66', port: 1111 },
  { address: '10.0.0.66', port: 2222 },
  { address: '10.0.0.77', port: 3333 },
];
const MITM: PeerAddress[] = [50001, 50002, 50003, 50004].map((port) => ({ address: '10.0.0.3', port }));
const SOURCES = [A, ...STRANGERS, ...MITM];
const MITM_KINDS: readonly ClientKind[] = ['psk', 'psk-small', 'psk', 'psk-small', 'psk', 'psk-small', 'rpk', 'x509'];
const MAX_HANDSHAKES = 8;
const MAX_SESSIONS = 16;

export const Opcode = { RAW: 0, REPLAY: 2, SPLICE: 3, FRESH: 4, TICK: 5, COOKIE: 6, MITM: 7, LEGIT: 15 } as const;

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function records(d: Uint8Array): RawRecord[] {
  try {
    return splitRecords(d);
  } catch {
    return [];
  }
}

/** The cookie of a HelloVerifyRequest datagram, if it is one. */
function cookieOf(d: Uint8Array): Uint8Array | undefined {
  for (const r of records(d)) {
    if (r.type !== ContentType.handshake || r.epoch !== 0) continue;
    try {
      for (const f of decodeHandshakeFragments(r.fragment)) if (f.msgType === HandshakeType.hello_verify_request) return decodeHelloVerifyRequest(f.body).cookie;
    } catch {
      /* not one */
    }
  }
  return undefined;
}

/** The datagram with its first whole ClientHello carrying `cookie` (message_seq and record sequence one up). */
function withCookie(d: Uint8Array, cookie: Uint8Array): Uint8Array | undefined {
  const rs = records(d);
  for (let i = 0; i < rs.length; i++) {
    const r = rs[i]!;
    if (r.type !== ContentType.handshake || r.epoch !== 0) continue;
    let frags;
    try {
      frags = decodeHandshakeFragments(r.fragment);
    } catch {
      continue;
    }
    const f = frags[0];
    if (!f || f.msgType !== HandshakeType.client_hello || f.fragmentOffset !== 0 || f.body.length !== f.length) continue;
    let ch;
    try {
      ch = decodeClientHello(f.body);
    } catch (e) {
      if (e instanceof DecodeError) return undefined;
      throw e;
    }
    const hs = encodeHandshake(HandshakeType.client_hello, f.messageSeq + 1, encodeClientHello({ ...ch, cookie }));
    const rec = encodeRecord({ type: r.type, version: r.version, epoch: 0, sequence: r.sequence + 1 }, hs);
    return concat([rec, ...rs.slice(i + 1).map((x) => encodeRecord(x, x.fragment))]);
  }
  return undefined;
}

/** XOR edits `(pos u16, value u8)*` of a datagram. */
function edit(d: Uint8Array, c: Cursor, max = 8): Uint8Array {
  const out = d.slice();
  const n = Math.min(c.u8() % (max + 1), Math.floor(c.remaining / 3));
  for (let k = 0; k < n && out.length > 0; k++) {
    const pos = c.u16() % out.length;
    out[pos] = out[pos]! ^ c.u8();
  }
  return out;
}

class EndpointFuzz {
  world!: DtlsWorld;
  a!: FuzzClient;
  seed = 0;
  private checkPort = 60000;
  private mitmAllowed = false;

  reset(seed: number): void {
    this.seed = seed;
    this.checkPort = 60000;
    this.world = new DtlsWorld(seed, { maxHandshakes: MAX_HANDSHAKES, maxSessions: MAX_SESSIONS });
    this.a = this.world.addClient('psk', A);
    this.world.handshake(this.a);
    if (!this.a.connected) throw new Violation('setup', `the world's first handshake failed: ${this.a.error?.message}`);
    this.a.conn.send(this.world.now, new TextEncoder().encode('hello, world'));
    this.world.pump();
  }

  run(input: Uint8Array): string[] {
    const w = this.world;
    w.features.clear();
    this.mitmAllowed = (inputHash(input) & 7) === 0;
    for (const op of parseOps(input)) this.op(op);
    if (w.internal.length > 0) {
      const m = w.internal.join('; ');
      w.internal.length = 0;
      throw new Violation('internal', m);
    }
    if (w.endpoint.sessionCount > MAX_SESSIONS + MAX_HANDSHAKES) throw new Violation('bounds', `${w.endpoint.sessionCount} sessions and handshakes held`);
    if (w.endpoint.timerEntries > 2 * w.endpoint.sessionCount + 1100) throw new Violation('bounds', `${w.endpoint.timerEntries} timer entries for ${w.endpoint.sessionCount} sessions`);
    return [...w.features, ...w.serverStates().map((s) => `state:${s}`)];
  }

  private op(op: Op): void {
    const w = this.world;
    const c = new Cursor(op.data);
    switch (op.code % 16) {
      case 0:
      case 1:
      case 8:
      case 9: {
        const src = SOURCES[c.u8() % SOURCES.length]!;
        this.send(src, c.rest());
        break;
      }
      case Opcode.REPLAY:
      case 10: {
        const src = SOURCES[c.u8() % SOURCES.length]!;
        const log = w.log;
        if (log.length === 0) break;
        const d = log[c.u8() % log.length]!.data;
        this.send(src, edit(d, c));
        break;
      }
      case Opcode.SPLICE:
      case 11: {
        const src = SOURCES[c.u8() % SOURCES.length]!;
        const log = w.log;
        if (log.length === 0) break;
        const x = records(log[c.u8() % log.length]!.data), y = records(log[c.u8() % log.length]!.data);
        const mask = c.u8();
        const chosen = [...x, ...y].filter((_, i) => (mask >> i) & 1 || i >= 8);
        this.send(src, concat(chosen.map((r) => encodeRecord(r, r.fragment))));
        break;
      }
      case Opcode.FRESH:
      case 12: {
        if (!this.a.connected || this.a.error || this.a.conn.state !== 'connected') break;
        const len = c.u8() % 200;
        try {
          this.a.conn.send(w.now, new Uint8Array(len).fill(0x61));
        } catch {
          break; // too large for the session: the client's own typed error
        }
        const rec = this.a.conn.pollTransmit();
        if (rec) this.send(A, edit(rec, c, 4));
        break;
      }
      case Opcode.TICK:
      case 13:
        w.advance(c.u16() * 16);
        break;
      case Opcode.COOKIE: {
        const src = STRANGERS[c.u8() % STRANGERS.length]!;
        const hello = c.rest();
        const before = w.unrouted.length;
        this.send(src, hello);
        const k = peerKey(src);
        const hvr = w.unrouted.slice(before).find((x) => peerKey(x.peer) === k);
        const cookie = hvr && cookieOf(hvr.data);
        if (cookie) {
          const again = withCookie(hello, cookie);
          if (again) {
            w.features.add('cookie:resent');
            w.toServer(src, again);
          }
        }
        break;
      }
      case Opcode.MITM:
        // A whole handshake costs a hundred datagrams' worth: at most one per input, and only in
        // inputs whose hash is 0 mod 8 (deterministic per input); otherwise a raw datagram.
        if (this.mitmAllowed) {
          this.mitmAllowed = false;
          this.mitm(c);
        } else this.send(SOURCES[c.u8() % SOURCES.length]!, c.rest());
        break;
      case Opcode.LEGIT:
        this.legit(this.a);
        break;
      default: {
        // 14: a raw datagram, then the clock moves a little
        const src = SOURCES[c.u8() % SOURCES.length]!;
        this.send(src, c.rest());
        w.advance(c.u8() * 4);
      }
    }
  }

  /** A datagram to the server; a stranger without state never gets more back than it sent. */
  private send(src: PeerAddress, d: Uint8Array): void {
    const w = this.world;
    const k = peerKey(src);
    const known = w.serverKnows(src);
    const before = w.sentBytes.get(k) ?? 0;
    const started = w.endpoint.stats.handshakesStarted;
    w.toServer(src, d);
    const sent = (w.sentBytes.get(k) ?? 0) - before;
    // A handshake started by this datagram means its cookie proved the address; an address
    // with a client of the world answers the server itself (what comes back is not all ours).
    if (!known && !w.clients.has(k) && w.endpoint.stats.handshakesStarted === started && sent > d.length) {
      throw new Violation('amplification', `${d.length} bytes from an unverified address answered with ${sent}: ${hexHead(d)}`);
    }
  }

  private mitm(c: Cursor): void {
    const w = this.world;
    // PSK (2 ms a handshake) three times as often as ECDHE (10 ms, the signatures)
    const kind = MITM_KINDS[c.u8() % MITM_KINDS.length]!;
    const peer = MITM[c.u8() % MITM.length]!;
    const client = w.addClient(kind, peer);
    const k = peerKey(peer);
    let held: Uint8Array | undefined;
    const tap: Tap = (x) => {
      if (peerKey(x.peer) !== k) return [x.data];
      const out: Uint8Array[] = [];
      if (held) {
        out.push(held);
        held = undefined;
      }
      const v = c.remaining > 0 ? c.u8() : 0;
      switch (v % 16) {
        case 9:
          w.features.add(`mitm:drop:${x.dir}`);
          return out;
        case 10:
          out.push(x.data, x.data);
          return out;
        case 11:
          out.push(edit(x.data, c, 3));
          return out;
        case 12:
          out.push(x.data.subarray(0, c.u8() % (x.data.length + 1)));
          return out;
        case 13: {
          const rng = new Rng((c.u16() << 16) | c.u16());
          out.push(mutateDatagram(x.data, rng, { maxLength: 2048 }) ?? mutateBytes(x.data, rng, { maxLength: 2048 }));
          return out;
        }
        case 14:
          held = x.data;
          return out;
        case 15: {
          const log = w.log;
          out.push(log.length ? log[c.u8() % log.length]!.data : x.data);
          return out;
        }
        default:
          out.push(x.data);
          return out;
      }
    };
    w.handshake(client, tap);
    w.features.add(`mitm:${kind}:${client.connected ? 'connected' : client.error?.code ?? 'pending'}`);
    if (client.connected && !client.error) {
      const size = kind === 'psk-small' ? 200 : 1000;
      try {
        client.conn.send(w.now, new Uint8Array(size).fill(0x62));
        w.pump(tap);
      } catch {
        /* too large for the session: the client's own typed error */
      }
    }
  }

  /** A connected client's data comes back (the server echoes). */
  private legit(c: FuzzClient): boolean {
    const w = this.world;
    if (!c.connected || c.error || c.conn.state !== 'connected') return false;
    c.received.length = 0;
    c.conn.send(w.now, new TextEncoder().encode('ping'));
    w.pump();
    return c.received.length > 0;
  }

  /** End of the world: a new legitimate client is served, and so is A when the server still holds its session. */
  check(): void {
    const w = this.world;
    const peer = { address: '10.0.0.200', port: this.checkPort++ };
    const c = w.addClient('psk', peer);
    w.handshake(c, undefined, 120_000);
    if (!c.connected) throw new Violation('service', `a legitimate client could not connect: ${c.error?.code ?? 'no answer'} ${c.error?.message ?? ''}`);
    if (!this.legit(c)) throw new Violation('service', 'a legitimate client\'s data was not echoed');
    if (w.serverConnected(A) && this.a.connected && !this.a.error && this.a.conn.state === 'connected' && !this.legit(this.a)) {
      throw new Violation('service', 'the established session no longer carries data');
    }
    if (w.internal.length > 0) throw new Violation('internal', w.internal.join('; '));
  }
}

// ------------------------------------------------------------------------------- generation

function randomOp(rng: Rng): Op {
  const seeds = seedDatagrams();
  const r = rng.below(20);
  const src = rng.below(SOURCES.length);
  if (r < 7) {
    const d = rng.pick(seeds);
    const m = rng.chance(0.7) ? mutateDatagram(d, rng, { maxLength: 2048 }) : undefined;
    return { code: Opcode.RAW, data: new Uint8Array([src, ...(m ?? d)]) };
  }
  if (r < 10) return { code: Opcode.REPLAY, data: new Uint8Array([src, rng.below(64), rng.below(3), ...rng.bytes(9)]) };
  if (r < 11) return { code: Opcode.SPLICE, data: new Uint8Array([src, rng.below(64), rng.below(64), rng.below(256)]) };
  if (r < 13) return { code: Opcode.FRESH, data: new Uint8Array([rng.below(200), rng.below(3), ...rng.bytes(6)]) };
  if (r < 15) return { code: Opcode.TICK, data: new Uint8Array([rng.chance(0.8) ? 0 : rng.below(256), rng.below(256)]) };
  if (r < 18) {
    const hellos = seeds.filter((d) => d[0] === 22 && d[13] === 1);
    const d = hellos.length ? rng.pick(hellos) : rng.pick(seeds);
    const m = rng.chance(0.8) ? mutateDatagram(d, rng, { maxLength: 2048 }) : undefined;
    return { code: Opcode.COOKIE, data: new Uint8Array([rng.below(3), ...(m ?? d)]) };
  }
  if (r < 19) return { code: Opcode.LEGIT, data: new Uint8Array(0) };
  if (rng.chance(0.5)) return { code: Opcode.MITM, data: new Uint8Array([rng.below(8), rng.below(4), ...Array.from({ length: rng.below(12) }, () => (rng.chance(0.6) ? 0 : rng.below(256)))]) };
  return randomOp(rng);
}

/** Operations with a MITM handshake that runs: padded with a short clock step until the input's hash allows it. */
function withMitm(ops: Op[]): Uint8Array {
  for (let i = 0; i < 256; i++) {
    const b = encodeOps([...ops, { code: Opcode.TICK, data: new Uint8Array([0, i]) }]);
    if ((inputHash(b) & 7) === 0) return b;
  }
  return encodeOps(ops);
}

const fuzz = new EndpointFuzz();
/** The current world (debugging, tests). */
export const endpointWorld = (): DtlsWorld => fuzz.world;

export const ENDPOINT_TARGET: FuzzTarget = {
  name: 'dtls-endpoint',
  about: 'DtlsEndpoint + connections, whole datagrams on a virtual clock: raw, replayed and spliced records of an established PSK session, cookie-assisted ClientHellos, MITM-mutated PSK/RPK/X.509 handshakes; nothing escapes, no INTERNAL, no amplification, a legitimate peer still served',
  maxLength: 8192,
  resetEvery: 128,
  seeds() {
    const out: Uint8Array[] = [];
    for (const d of seedDatagrams()) {
      out.push(encodeOps([{ code: Opcode.RAW, data: new Uint8Array([1, ...d]) }]));
      if (d[0] === 22 && d[13] === 1) out.push(encodeOps([{ code: Opcode.COOKIE, data: new Uint8Array([0, ...d]) }]));
    }
    for (const k of [0, 1, 6, 7]) out.push(withMitm([{ code: Opcode.MITM, data: new Uint8Array([k, k & 3]) }, { code: Opcode.LEGIT, data: new Uint8Array(0) }]));
    out.push(withMitm([{ code: Opcode.MITM, data: new Uint8Array([0, 0, 9, 0, 9, 0, 14, 0, 10]) }]));
    for (let i = 0; i < 12; i++) out.push(encodeOps([{ code: Opcode.REPLAY, data: new Uint8Array([0, i, 0]) }, { code: Opcode.LEGIT, data: new Uint8Array(0) }]));
    out.push(encodeOps([{ code: Opcode.FRESH, data: new Uint8Array([10, 0]) }, { code: Opcode.TICK, data: new Uint8Array([0, 100]) }]));
    return out;
  },
  generate(rng) {
    const ops: Op[] = [];
    for (let i = rng.range(1, 4); i > 0; i--) ops.push(randomOp(rng));
    return encodeOps(ops);
  },
  mutate(input, rng, ctx) {
    return mutateOps(input, rng, ctx, {
      newOp: randomOp,
      mutatePayload(op, r, cx) {
        const code = op.code % 16;
        if ((code === 0 || code === 1 || code === 6 || code === 8 || code === 9) && op.data.length > 1 && r.chance(0.6)) {
          const m = mutateDatagram(op.data.subarray(1), r, { ...cx, maxLength: 2048 });
          if (m) return new Uint8Array([op.data[0]!, ...m]);
        }
        return undefined;
      },
    });
  },
  reset: (seed) => fuzz.reset(seed),
  run: (input) => fuzz.run(input),
  check: () => fuzz.check(),
};

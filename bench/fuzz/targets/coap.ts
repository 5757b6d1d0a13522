/**
 * CoAP: the codec (lib/coap/codec.ts) and the server core (lib/coap/endpoint.ts +
 * server-core.ts + router.ts, datagrams in on a virtual clock).
 *
 * coap-codec oracle: decodeMessage throws only CoapFormatError, and resetForFormatError then
 * gives an RST that encodes (or nothing); what decodes re-encodes to the same bytes (the
 * codec's documented canonical form); the request view (describeRequest), Block options
 * (BlockOptionError only) and resource keys of a decoded message do not throw.
 *
 * coap-server: a CoapEndpoint + CoapServerCore + Router with the demo resources of
 * `coaps serve` (/hello, /time observable, /large block-wise, /echo PUT/POST) and a few more
 * (/slow answered later, /obs observable, /boom throws, /wild/* prefix, /.well-known/core),
 * served as transports/coap-node.ts serves them (a handler's exception becomes 5.00, as
 * there). Inputs are operation lists from three peers: datagrams, clock steps, ACK/RST of the
 * server's last CON, notifications, slow answers, server-initiated requests. Oracle: nothing
 * escapes handleDatagram / handleTimeout / accept / reply / notify; every datagram the server
 * sends decodes; after every input a legitimate GET /hello gets its piggybacked 2.05.
 */
import fc from 'fast-check';
import { describeRequest } from '../../../lib/coap/api-types.js';
import { BlockOptionError, decodeBlock } from '../../../lib/coap/block.js';
import { CoapFormatError, decodeMessage, encodeMessage, optionValueLengthOk, peekHeader, resetForFormatError } from '../../../lib/coap/codec.js';
import { ContentFormat } from '../../../lib/coap/content-format.js';
import { CoapEndpoint, sortOptions, type OutgoingResponse, type ServerExchange } from '../../../lib/coap/endpoint.js';
import { Code, encodeUint, MessageType, OptionNumber, type CoapMessage, type CoapOption } from '../../../lib/coap/message.js';
import { Router, type RouteResponse } from '../../../lib/coap/router.js';
import { CoapServerCore, resourceKey, type AssembledRequest } from '../../../lib/coap/server-core.js';
import { hexHead, sameBytes } from '../canon.js';
import { FcPool } from '../fc-pool.js';
import { fixtureJson, hexBytes } from '../fixtures.js';
import type { MutationContext } from '../mutate.js';
import { Cursor, encodeOps, mutateOps, parseOps, type Op } from '../ops.js';
import { allowed } from '../oracles.js';
import { Rng } from '../rng.js';
import { Violation, type FuzzTarget } from '../target.js';

const PEER = { address: '10.0.0.5', port: 5683 };
const enc = (s: string) => new TextEncoder().encode(s);

// ------------------------------------------------------------------------------------ messages

const KNOWN_OPTIONS = Object.values(OptionNumber);
const RESERVED_CLASS = (c: number) => [1, 6, 7].includes(c >> 5);

const optionArb: fc.Arbitrary<CoapOption> = fc.record({
  number: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KNOWN_OPTIONS) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 65535 }) }, { weight: 1, arbitrary: fc.constantFrom(9, 13, 2048, 2049, 65000, 65535) }),
  value: fc.oneof({ weight: 6, arbitrary: fc.uint8Array({ maxLength: 12 }) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 12, maxLength: 300 }) }),
});

const pathArb = fc.constantFrom(['hello'], ['time'], ['large'], ['echo'], ['slow'], ['obs'], ['boom'], ['wild', 'x'], ['.well-known', 'core'], ['nope'], []);

const messageArb: fc.Arbitrary<CoapMessage> = fc
  .record({
    type: fc.integer({ min: 0, max: 3 }),
    code: fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 5, 0x45, 0x44, 0x5f, 0x84, 0x8d), fc.integer({ min: 0, max: 255 }).filter((c) => !RESERVED_CLASS(c))),
    messageId: fc.integer({ min: 0, max: 0xffff }),
    token: fc.uint8Array({ maxLength: 8 }),
    path: pathArb,
    options: fc.array(optionArb, { maxLength: 6 }),
    payload: fc.oneof({ weight: 3, arbitrary: fc.uint8Array({ maxLength: 32 }) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }) }),
  })
  .map(({ type: t, code, messageId, token, path, options, payload }): CoapMessage => {
    const type = t as MessageType;
    if (code === 0) return { type, code, messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) };
    const all = [...path.map((p) => ({ number: OptionNumber.UriPath, value: enc(p) })), ...options];
    return { type, code, messageId, token, options: sortOptions(all), payload };
  });

const messages = new FcPool(messageArb);

/** A decoded message changed in one place, sorted and re-encoded. */
function mutateMessage(m: CoapMessage, rng: Rng, ctx: MutationContext): CoapMessage {
  const opts = [...m.options];
  const x: CoapMessage = { ...m };
  switch (rng.below(9)) {
    case 0:
      x.type = rng.below(4) as MessageType;
      break;
    case 1:
      x.code = rng.pick([0, 1, 2, 3, 4, 5, 0x45, 0x5f, 0x84, rng.below(256)]);
      if (RESERVED_CLASS(x.code)) x.code = 1;
      break;
    case 2:
      x.token = rng.bytes(rng.below(9));
      break;
    case 3:
      opts.push({ number: rng.chance(0.8) ? rng.pick(KNOWN_OPTIONS) : rng.below(65536), value: rng.bytes(rng.smallLength(20)) });
      break;
    case 4:
      if (opts.length) opts.splice(rng.below(opts.length), 1);
      break;
    case 5:
      if (opts.length) opts.push({ ...rng.pick(opts) });
      break;
    case 6: {
      // Block1 / Block2 / Observe / Size1 with interesting values
      const n = rng.pick([OptionNumber.Block1, OptionNumber.Block2, OptionNumber.Observe, OptionNumber.Size1, OptionNumber.Accept, OptionNumber.ContentFormat]);
      const v = rng.pick([0, 1, 2, 6, 7, 8, 14, 15, 0x16, 0x1e, 0xfffff0, 0xffffff, rng.below(0x1000000)]);
      opts.push({ number: n, value: rng.chance(0.9) ? encodeUint(v) : rng.bytes(rng.below(6)) });
      break;
    }
    case 7:
      x.payload = rng.chance(0.5) ? new Uint8Array(0) : rng.bytes(rng.pick([16, 32, 64, 1024, rng.below(1100)]));
      break;
    default:
      if (opts.length) {
        const i = rng.below(opts.length);
        const o = opts[i]!;
        opts[i] = { number: o.number, value: ctx.other ? rng.bytes(rng.below(o.value.length + 4)) : o.value };
      }
  }
  if (x.code === 0) return { ...x, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) };
  return { ...x, options: sortOptions(opts) };
}

function coapSeeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const file = fixtureJson<{ messages?: Array<{ hex?: string }> }>('lwm2m', 'coap_messages.json');
  for (const m of file?.messages ?? []) if (typeof m.hex === 'string') out.push(hexBytes(m.hex));
  out.push(...builtInCoapSeeds());
  return out;
}

const OBSERVE_TIME = () => builtInCoapSeeds()[2]!;

function builtInCoapSeeds(): Uint8Array[] {
  const req = (type: number, code: number, mid: number, path: string[], extra: CoapOption[] = [], payload = new Uint8Array(0)) =>
    encodeMessage({ type: type as MessageType, code, messageId: mid, token: new Uint8Array([mid & 0xff, 7]), options: sortOptions([...path.map((p) => ({ number: OptionNumber.UriPath, value: enc(p) })), ...extra]), payload });
  return [
    req(0, Code.GET, 1, ['hello']),
    req(1, Code.GET, 2, ['large'], [{ number: OptionNumber.Block2, value: encodeUint(0x12) }]),
    req(0, Code.GET, 3, ['time'], [{ number: OptionNumber.Observe, value: new Uint8Array(0) }]),
    req(0, Code.GET, 4, ['obs'], [{ number: OptionNumber.Observe, value: new Uint8Array([1]) }]),
    req(0, Code.PUT, 5, ['echo'], [{ number: OptionNumber.Block1, value: encodeUint(0x0a) }], new Uint8Array(64).fill(0x41)),
    req(0, Code.PUT, 6, ['echo'], [{ number: OptionNumber.Block1, value: encodeUint(0x12) }], new Uint8Array(16).fill(0x42)),
    req(0, Code.GET, 7, ['.well-known', 'core'], [{ number: OptionNumber.UriQuery, value: enc('rt=demo*') }]),
    req(0, Code.GET, 8, ['slow']),
    req(0, Code.POST, 9, ['boom']),
    req(0, Code.GET, 10, ['hello'], [{ number: 9, value: new Uint8Array([1]) }]),
    encodeMessage({ type: MessageType.CON, code: 0, messageId: 11, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) }),
    encodeMessage({ type: MessageType.RST, code: 0, messageId: 12, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) }),
    encodeMessage({ type: MessageType.ACK, code: Code.Content, messageId: 13, token: new Uint8Array([1]), options: [], payload: enc('x') }),
  ];
}

const codecTarget: FuzzTarget = {
  name: 'coap-codec',
  about: 'decodeMessage: CoapFormatError only, exact re-encoding of what decodes, resetForFormatError, describeRequest, decodeBlock, resourceKey',
  maxLength: 2048,
  dictionary: [new Uint8Array([0xff]), new Uint8Array([0xd0]), new Uint8Array([0xe0]), new Uint8Array([0x0d]), new Uint8Array([0x0e]), new Uint8Array([0x40, 0x01]), new Uint8Array([0x60, 0x45]), new Uint8Array([0xb5, 0x68, 0x65, 0x6c, 0x6c, 0x6f])],
  seeds: coapSeeds,
  generate: (rng) => encodeMessage(messages.next(rng)),
  mutate(b, rng, ctx) {
    try {
      return encodeMessage(mutateMessage(decodeMessage(b), rng, ctx));
    } catch {
      return undefined;
    }
  },
  run(b) {
    peekHeader(b);
    let m: CoapMessage;
    try {
      m = decodeMessage(b);
    } catch (e) {
      const f = allowed(e, CoapFormatError);
      const rst = resetForFormatError(e as CoapFormatError);
      if (rst) encodeMessage(rst);
      return `${f}:${(e as CoapFormatError).kind}:${rst ? 'rst' : 'silent'}`;
    }
    const again = encodeMessage(m);
    if (!sameBytes(again, b)) throw new Violation('roundtrip', `CoAP message re-encodes differently: ${hexHead(b)} -> ${hexHead(again)}`);
    const f = [`ok:${m.type}:${m.code >> 5}`];
    for (const o of m.options) {
      f.push(`opt:${KNOWN_OPTIONS.includes(o.number as never) ? o.number : o.number & 1 ? 'odd' : 'even'}:${optionValueLengthOk(o.number, o.value.length)}`);
      if (o.number === OptionNumber.Block1 || o.number === OptionNumber.Block2) {
        try {
          decodeBlock(o.value);
        } catch (e) {
          f.push(allowed(e, BlockOptionError));
        }
      }
    }
    describeRequest(m, m.payload, PEER, undefined);
    resourceKey(m);
    return f;
  },
};

// -------------------------------------------------------------------------------- server core

type PeerId = string;
const PEERS: PeerId[] = ['10.0.0.5|5683', '10.0.0.6|5683', '10.0.0.7|40000'];
const LEGIT: PeerId = '10.0.0.99|5683';
const ROUTES = new Set(['/hello', '/time', '/large', '/echo', '/slow', '/obs', '/boom', '/.well-known/core']);

/** The handler's view of a response (as transports/coap-node.ts ServerResponse). */
class Response implements RouteResponse {
  code: number = Code.Content;
  options: CoapOption[] = [];
  observable = false;
  finished = false;
  constructor(private readonly deliver: (r: OutgoingResponse, observable: boolean) => void) {}
  status(code: number): this {
    this.code = code;
    return this;
  }
  contentFormat(cf: number): this {
    this.options.push({ number: OptionNumber.ContentFormat, value: encodeUint(cf) });
    return this;
  }
  observe(yes = true): this {
    this.observable = yes;
    return this;
  }
  end(payload?: string | Uint8Array, code?: number): void {
    if (this.finished) return;
    this.finished = true;
    if (code !== undefined) this.code = code;
    this.deliver({ code: this.code, options: this.options, payload: typeof payload === 'string' ? enc(payload) : (payload ?? new Uint8Array(0)) }, this.observable);
  }
}

class ServerWorld {
  now = 0;
  readonly endpoint: CoapEndpoint<PeerId>;
  readonly core: CoapServerCore<PeerId>;
  private readonly route: (req: ReturnType<typeof describeRequest>, res: Response) => void | Promise<void>;
  private readonly slow: Response[] = [];
  /** The last CON the server sent to each peer (for ACK/RST operations). */
  readonly lastCon = new Map<PeerId, number>();
  readonly sentTo = new Map<PeerId, CoapMessage[]>();
  readonly features = new Set<string>();
  private legitMid = 1;

  constructor(seed: number) {
    const rng = new Rng(seed);
    this.endpoint = new CoapEndpoint<PeerId>({}, (n) => rng.bytes(n));
    this.core = new CoapServerCore<PeerId>(this.endpoint, (p) => p, { blockSize: 64, maxBodySize: 4096 });
    const large = new Uint8Array(4096);
    for (let i = 0; i < large.length; i++) large[i] = 0x41 + (i % 26);
    const router = new Router<Response>()
      .get('/hello', (_q, r) => r.contentFormat(ContentFormat.TextPlain).end('Hello, coaps!'), { attributes: [['rt', 'demo.hello'], ['ct', '0']] })
      .get('/time', (_q, r) => r.contentFormat(ContentFormat.TextPlain).end(`t=${this.now}`), { attributes: [['rt', 'demo.time']], observable: true })
      .get('/large', (_q, r) => r.contentFormat(ContentFormat.TextPlain).end(large), { attributes: [['rt', 'demo.large'], ['sz', '4096']] })
      .resource('/echo', { PUT: (q, r) => r.status(Code.Changed).end(q.payload), POST: (q, r) => r.status(Code.Changed).end(q.payload) }, { attributes: [['rt', 'demo.echo']] })
      .get('/slow', (_q, r) => void this.slow.push(r))
      .get('/obs', (_q, r) => r.end(large.subarray(0, 100 + (this.now % 200))), { observable: true })
      .resource('/boom', {
        POST: () => {
          throw new TypeError('a handler that throws');
        },
      })
      .get('/wild/*', (q, r) => r.end(q.path));
    const h = router.handler();
    this.route = (req, res) => h(req, res);
  }

  /** Serves one request as transports/coap-node.ts RequestServing does. */
  private serve(x: ServerExchange<PeerId>): void {
    const assembled: AssembledRequest<PeerId> | undefined = this.core.accept(this.now, x);
    if (!assembled) return;
    const req = describeRequest(assembled.message, assembled.payload, PEER, undefined);
    this.features.add(`req:${req.method}:${ROUTES.has(req.path) ? req.path : req.path.startsWith('/wild/') ? '/wild/*' : 'other'}`);
    this.run(req, new Response((r, observable) => this.guard(() => this.core.reply(this.now, x.id, assembled, r, observable))));
  }

  /** An exception of the core inside a handler's res.end(): kept and rethrown after the handler (a crash, not the handler's). */
  private coreError: { e: unknown } | undefined;
  private guard(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.coreError ??= { e };
    }
  }

  /** The handler, its own exceptions turned into 5.00 (the driver's policy); the core's exceptions escape. */
  private run(req: ReturnType<typeof describeRequest>, res: Response): void {
    try {
      const p = this.route(req, res);
      if (p instanceof Promise) throw new Violation('async', 'a synchronous route returned a promise');
    } catch (e) {
      if (e instanceof Violation) throw e;
      if (!res.finished) {
        this.features.add('handler:threw');
        res.end('internal error', Code.InternalServerError);
      }
    }
    const ce = this.coreError;
    if (ce) {
      this.coreError = undefined;
      throw ce.e;
    }
  }

  handleDatagram(peer: PeerId, d: Uint8Array): void {
    this.endpoint.handleDatagram(this.now, peer, d);
    this.settle();
  }

  advance(ms: number): void {
    this.now += ms;
    const t = this.endpoint.pollTimeout();
    if (t !== undefined && t <= this.now) this.endpoint.handleTimeout(this.now);
    this.settle();
  }

  notify(path: string): void {
    for (const o of this.core.observersOf(path)) {
      const req = describeRequest(o.request, o.request.payload, PEER, undefined);
      this.run(req, new Response((r) => this.guard(() => this.core.notify(this.now, o, r))));
    }
    this.settle();
  }

  answerSlow(): void {
    for (const r of this.slow.splice(0)) {
      r.end('finally');
      const ce = this.coreError;
      if (ce) {
        this.coreError = undefined;
        throw ce.e;
      }
    }
    this.settle();
  }

  request(peer: PeerId, code: number, path: string): void {
    this.endpoint.request(this.now, peer, { code, options: [{ number: OptionNumber.UriPath, value: enc(path) }] });
    this.settle();
  }

  /** Events and datagrams until quiet; every datagram sent must decode. */
  settle(): void {
    for (let round = 0; round < 1000; round++) {
      let moved = false;
      for (let e = this.endpoint.pollEvent(); e; e = this.endpoint.pollEvent()) {
        moved = true;
        switch (e.type) {
          case 'request':
            this.serve(e.exchange);
            break;
          case 'reset':
            this.core.forget(e.peer, e.token);
            this.features.add('reset');
            break;
          default:
            this.features.add(`client:${e.type}`);
        }
      }
      for (let t = this.endpoint.pollTransmit(); t; t = this.endpoint.pollTransmit()) {
        moved = true;
        let m: CoapMessage;
        try {
          m = decodeMessage(t.data);
        } catch (err) {
          throw new Violation('output', `the server sent a malformed datagram (${err instanceof Error ? err.message : String(err)}): ${hexHead(t.data)}`);
        }
        if (m.type === MessageType.CON) this.lastCon.set(t.peer, m.messageId);
        let log = this.sentTo.get(t.peer);
        if (!log) this.sentTo.set(t.peer, (log = []));
        log.push(m);
        if (log.length > 8) log.shift();
        this.features.add(`out:${m.type}:${m.code.toString(16)}`);
      }
      if (!moved) return;
    }
    throw new Violation('no-progress', 'a thousand rounds of events without the server going quiet');
  }

  /** A legitimate client's GET /hello gets its piggybacked 2.05. */
  legit(): void {
    const mid = this.legitMid++ & 0xffff;
    const token = new Uint8Array([0x99, mid & 0xff]);
    this.sentTo.delete(LEGIT);
    this.handleDatagram(LEGIT, encodeMessage({ type: MessageType.CON, code: Code.GET, messageId: mid, token, options: [{ number: OptionNumber.UriPath, value: enc('hello') }], payload: new Uint8Array(0) }));
    const got = this.sentTo.get(LEGIT) ?? [];
    const ok = got.some((m) => m.type === MessageType.ACK && m.messageId === mid && m.code === Code.Content && sameBytes(m.token, token) && new TextDecoder().decode(m.payload) === 'Hello, coaps!');
    if (!ok) throw new Violation('service', `a legitimate GET /hello was not answered with 2.05: ${got.map((m) => `${m.type}/${m.code.toString(16)}`).join(', ') || 'nothing'}`);
  }
}

const serverOps = {
  RAW: 0,
  TICK: 4,
  SWEEP: 5,
  NOTIFY: 6,
  SLOW: 7,
  REQUEST: 8,
  ACKRST: 9,
  REPLAY: 10,
} as const;

let world: ServerWorld | undefined;

function runServerOp(w: ServerWorld, op: Op): void {
  const c = new Cursor(op.data);
  switch (op.code % 12) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 11:
      w.handleDatagram(PEERS[c.u8() % PEERS.length]!, c.rest());
      break;
    case serverOps.TICK:
      w.advance(c.u16() * 8);
      break;
    case serverOps.SWEEP:
      w.core.sweep(w.now);
      break;
    case serverOps.NOTIFY:
      w.notify(c.u8() & 1 ? '/time' : '/obs');
      break;
    case serverOps.SLOW:
      w.answerSlow();
      break;
    case serverOps.REQUEST:
      w.request(PEERS[c.u8() % PEERS.length]!, 1 + (c.u8() % 4), c.u8() & 1 ? 'x' : 'y');
      break;
    case serverOps.ACKRST: {
      const peer = PEERS[c.u8() % PEERS.length]!;
      const mid = w.lastCon.get(peer);
      if (mid === undefined) break;
      const type = c.u8() & 1 ? MessageType.RST : MessageType.ACK;
      w.handleDatagram(peer, encodeMessage({ type, code: 0, messageId: mid, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) }));
      break;
    }
    default: {
      // REPLAY: one of the server's own recent messages to a peer, bit-edited, sent back
      const peer = PEERS[c.u8() % PEERS.length]!;
      const log = w.sentTo.get(peer);
      if (!log || log.length === 0) break;
      const d = encodeMessage(log[c.u8() % log.length]!);
      const n = Math.min(c.u8() % 4, Math.floor(c.remaining / 3));
      for (let k = 0; k < n && d.length > 0; k++) {
        const pos = c.u16() % d.length;
        d[pos] = d[pos]! ^ c.u8();
      }
      w.handleDatagram(peer, d);
    }
  }
}

function randomServerOp(rng: Rng): Op {
  const r = rng.below(16);
  if (r < 9) return { code: serverOps.RAW, data: new Uint8Array([rng.below(3), ...encodeMessage(messages.next(rng))]) };
  if (r < 11) return { code: serverOps.TICK, data: new Uint8Array([rng.chance(0.7) ? 0 : rng.below(256), rng.below(256)]) };
  if (r < 12) return { code: serverOps.NOTIFY, data: new Uint8Array([rng.below(2)]) };
  if (r < 13) return { code: serverOps.ACKRST, data: new Uint8Array([rng.below(3), rng.below(2)]) };
  if (r < 14) return { code: serverOps.REPLAY, data: new Uint8Array([rng.below(3), rng.below(8), rng.below(4), ...rng.bytes(6)]) };
  if (r < 15) return { code: rng.pick([serverOps.SLOW, serverOps.SWEEP]), data: new Uint8Array(0) };
  return { code: serverOps.REQUEST, data: new Uint8Array([rng.below(3), rng.below(4), rng.below(2)]) };
}

const serverTarget: FuzzTarget = {
  name: 'coap-server',
  about: 'CoapEndpoint + CoapServerCore + Router (demo resources, block-wise, observe, slow and throwing handlers) on a virtual clock: nothing escapes, every datagram sent decodes, GET /hello still answered',
  maxLength: 8192,
  resetEvery: 256,
  seeds() {
    const out: Uint8Array[] = [];
    for (const d of coapSeeds()) out.push(encodeOps([{ code: serverOps.RAW, data: new Uint8Array([0, ...d]) }]));
    out.push(
      encodeOps([
        { code: serverOps.RAW, data: new Uint8Array([0, ...OBSERVE_TIME()]) },
        { code: serverOps.NOTIFY, data: new Uint8Array([1]) },
        { code: serverOps.TICK, data: new Uint8Array([4, 0]) },
        { code: serverOps.ACKRST, data: new Uint8Array([0, 1]) },
      ]),
      encodeOps([{ code: serverOps.REQUEST, data: new Uint8Array([1, 0, 0]) }, { code: serverOps.REPLAY, data: new Uint8Array([1, 0, 0]) }, { code: serverOps.TICK, data: new Uint8Array([255, 255]) }]),
    );
    return out;
  },
  generate(rng) {
    const ops: Op[] = [];
    for (let i = rng.range(1, 6); i > 0; i--) ops.push(randomServerOp(rng));
    return encodeOps(ops);
  },
  mutate(input, rng, ctx) {
    return mutateOps(input, rng, ctx, {
      newOp: randomServerOp,
      mutatePayload(op, r, cx) {
        if (op.code % 12 <= 3 && op.data.length > 1 && r.chance(0.6)) {
          try {
            return new Uint8Array([op.data[0]!, ...encodeMessage(mutateMessage(decodeMessage(op.data.subarray(1)), r, cx))]);
          } catch {
            return undefined;
          }
        }
        return undefined;
      },
    });
  },
  reset(seed) {
    world = new ServerWorld(seed);
  },
  run(input) {
    const w = world!;
    w.features.clear();
    for (const op of parseOps(input)) runServerOp(w, op);
    w.legit();
    return [...w.features, `observers:${Math.min(w.core.observerCount, 4)}`];
  },
  check() {
    const w = world!;
    // an hour later, everything expired is swept and the server still answers
    w.advance(3_600_000);
    w.core.sweep(w.now);
    w.legit();
  },
};

export const COAP_TARGETS: FuzzTarget[] = [codecTarget, serverTarget];

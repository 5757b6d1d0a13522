import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import { randomFillSync } from 'node:crypto';
import { Alarm, connect as dtlsConnect, createServer as createDtlsServer, enlargeBuffers, literalLookup, Outbox, type ConnectOptions, type DtlsServer, type DtlsSession, type ServerOptions as DtlsServerOptions } from './node-dgram.js';
import type { PeerAddress, PeerIdentity } from '../lib/dtls/keystore.js';
import { peerKey } from '../lib/dtls/keystore.js';
import { CoapEndpoint, type OutgoingRequest } from '../lib/coap/endpoint.js';
import type { CoapServerCore, ServerCoreOptions } from '../lib/coap/server-core.js';
import { blockwiseRequest, fetchRemainingBlocks } from '../lib/coap/blockwise-client.js';
import { CoapError } from '../lib/coap/errors.js';
import type { TransmissionParameters } from '../lib/coap/config.js';
import { Code, encodeUint, OptionNumber, type CoapMessage, type CoapOption } from '../lib/coap/message.js';
import { CoapResponse, describeRequest, METHOD_CODES, type IncomingRequest, type Method } from '../lib/coap/api-types.js';
import { NotificationOrder } from '../lib/coap/observe.js';
import { decodeBlock } from '../lib/coap/block.js';
import { AsyncQueue } from './async-queue.js';
import { connectUdp, resolveHost } from './udp.js';
import { DEFAULT_TRANSMISSION } from '../lib/coap/config.js';
import { DEFAULT_SERVER_LIMITS, type ServerLimits } from '../lib/coap/limits.js';
import { RequestServing, type Handler, type ServingHost } from './coap-serving.js';
import { PeerAddresses } from './peer-addresses.js';

export { ServerResponse, type Handler } from './coap-serving.js';

const enc = new TextEncoder();
const randomBytes = (n: number) => randomFillSync(new Uint8Array(n));
const now = () => performance.now();


export interface CoapServerOptions {
  /** DTLS settings: present for coaps://, absent for plain coap://. */
  dtls?: DtlsServerOptions;
  transmission?: Partial<TransmissionParameters>;
  blockSize?: number;
  maxBodySize?: number;
  /**
   * coap://: the largest message sent to a peer (RFC 7252 §4.6; default 1152). Over coaps://
   * each session's largest record decides (MTU, record_size_limit, max_fragment_length).
   */
  maxMessageSize?: number;
  /** Caps on what peers can make the server hold (lib/coap/limits.ts DEFAULT_SERVER_LIMITS). */
  limits?: Partial<ServerLimits>;
  /**
   * coap://: the largest answer to an address not verified with Echo, as a multiple of the
   * request (RFC 7252 §11.3, RFC 9175 §2.4; default 3). Large responses, Block2 follow-ups and
   * observations need a verified address (4.01 with Echo first; our client repeats the request).
   */
  amplificationFactor?: number;
  /** A notification goes as CON at least this often per observation, so silent clients are noticed (default 60 s). */
  conNotificationIntervalMs?: number;
  /** The handler proxies: requests with Proxy-Uri / Proxy-Scheme reach it (else 5.05, RFC 7252 §5.7.2). */
  proxy?: boolean;
}

/** RFC 7252 §4.6: with nothing known about the path, messages of at most 1152 bytes. */
export const DEFAULT_MAX_MESSAGE_SIZE = 1152;

/** A peer handle: the DTLS session, or the UDP address key. */
type Peer = DtlsSession | string;

/**
 * A CoAP server over plain UDP (coap://) or DTLS (coaps://). Emits 'request' (req, res) for
 * every request when no handler was given, 'error', 'listening', 'close'; on coaps:// also its
 * DTLS server's 'handshakeError', 'handshakeRefused', 'keyStoreError' and 'peerMoved'
 * (transports/node-dgram.ts DtlsServer).
 */
export class CoapServer extends EventEmitter {
  readonly endpoint: CoapEndpoint<Peer>;
  private readonly serving: RequestServing<Peer>;
  private readonly waiting = new Map<number, { resolve: (m: CoapMessage) => void; reject: (e: Error) => void }>();
  private socket: Socket | undefined;
  /** coap:// datagrams, sent once per turn of the event loop (see Outbox). */
  private readonly outbox = new Outbox(() => this.socket);
  private dtls: DtlsServer | undefined;
  /** coap:// peers, forgotten after EXCHANGE_LIFETIME of silence. */
  private readonly addresses: PeerAddresses;
  private readonly sessionIds = new WeakMap<DtlsSession, string>();
  private nextSession = 1;
  private readonly alarm = new Alarm(() => this.guard(() => this.pump(() => this.timeout(now()))));

  constructor(
    private readonly opts: CoapServerOptions = {},
    private handler?: Handler,
  ) {
    super();
    const udpLimit = opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    const lifetime = opts.transmission?.exchangeLifetimeMs ?? DEFAULT_TRANSMISSION.exchangeLifetimeMs;
    this.addresses = new PeerAddresses(lifetime);
    this.endpoint = new CoapEndpoint<Peer>(opts.transmission ?? {}, randomBytes, {
      maxMessageSize: (p) => (typeof p === 'string' ? udpLimit : p.maxRecordPayload),
      ...(opts.limits ? { limits: opts.limits } : {}),
      ...(opts.proxy ? { proxy: true } : {}),
      // coap:// answers forged addresses no more than 3x (a DTLS session's address is verified)
      ...(opts.dtls ? {} : { addressCheck: { factor: opts.amplificationFactor ?? 3, verifiedMs: lifetime } }),
    });
    const server = this;
    const host: ServingHost = {
      pump: (f) => server.pump(f),
      get pumping() {
        return server.depth > 0;
      },
      sendQueued: () => server.sendQueued(),
    };
    const core: Partial<ServerCoreOptions> = { blockCacheMs: lifetime, conNotificationIntervalMs: opts.conNotificationIntervalMs ?? 60_000 };
    if (opts.blockSize) core.blockSize = opts.blockSize;
    if (opts.maxBodySize) core.maxBodySize = opts.maxBodySize;
    if (opts.limits) core.limits = opts.limits;
    this.serving = new RequestServing<Peer>(
      this.endpoint,
      (p) => this.peerId(p),
      (p, m, payload) => this.describe(p, m, payload),
      () => this.handler ?? (this.listenerCount('request') > 0 ? this.emitRequest : undefined),
      (e) => this.report(e),
      host,
      core,
    );
  }

  private readonly emitRequest: Handler = (req, res) => void this.emit('request', req, res);

  /** An error for the 'error' listeners, if any (an EventEmitter throws an 'error' nobody listens to). */
  private report(e: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }

  get core(): CoapServerCore<Peer> {
    return this.serving.core;
  }

  /**
   * Sends a request to a connected peer (a DTLS session from the 'session' event, or a
   * coap:// address {address, port}); block-wise both ways. LwM2M servers drive clients so.
   */
  async request(peer: unknown, o: RequestOptions & { path: string; query?: string[] }): Promise<CoapResponse> {
    const p = this.peerOf(peer);
    const options = requestOptions(o.path, o.query ?? [], o);
    const r: OutgoingRequest = { code: METHOD_CODES[o.method ?? 'GET'], options, confirmable: o.confirmable ?? true };
    if (o.payload !== undefined) r.payload = typeof o.payload === 'string' ? enc.encode(o.payload) : o.payload;
    const exchange = (x: OutgoingRequest) =>
      new Promise<CoapMessage>((resolve, reject) => this.pump(() => this.waiting.set(this.endpoint.request(now(), p, x), { resolve, reject })));
    const work = blockwiseRequest(exchange, r, { blockSize: o.blockSize ?? this.opts.blockSize ?? 1024, maxBodySize: o.maxBodySize ?? 16 * 1024 * 1024, maxMessageSize: this.endpoint.maxMessageSize(p) });
    return new CoapResponse(await withTimeout(work, o.timeoutMs));
  }

  /** Observes a resource on a connected peer (an LwM2M server observing a client). */
  async observe(peer: unknown, o: RequestOptions & { path: string; query?: string[] }): Promise<{ first: CoapResponse; observation: Observation }> {
    const p = this.peerOf(peer);
    const options = requestOptions(o.path, o.query ?? [], o);
    let id = 0;
    const observation = new Observation(() => this.pump(() => {
      this.endpoint.cancel(now(), id);
      this.waiting.delete(id);
    }));
    const first = await new Promise<CoapMessage>((resolve, reject) => {
      this.pump(() => {
        id = this.endpoint.request(now(), p, { code: Code.GET, options: [...options, { number: OptionNumber.Observe, value: new Uint8Array(0) }], confirmable: true, observe: true });
        let firstSeen = false;
        this.notifications.set(id, (m) => (firstSeen ? observation._push(new CoapResponse(m)) : ((firstSeen = true), resolve(m))));
        this.waiting.set(id, { resolve: (m) => (firstSeen ? observation._end(null) : ((firstSeen = true), resolve(m))), reject: (e) => (firstSeen ? observation._end(e) : reject(e)) });
      });
    });
    return { first: new CoapResponse(first), observation };
  }

  private readonly notifications = new Map<number, (m: CoapMessage) => void>();

  /** A request's `channel`, a DTLS session, or a coap:// peer address. */
  private peerOf(peer: unknown): Peer {
    if (typeof peer === 'string') return peer;
    if (peer && typeof (peer as DtlsSession).send === 'function') return peer as DtlsSession;
    return this.addressKey(peer as PeerAddress);
  }

  private addressKey(a: PeerAddress): string {
    const key = `${a.address}|${a.port}`;
    this.addresses.touch(key, { address: a.address, port: a.port }, now());
    return key;
  }

  /** coap:// peers known now (each forgotten after EXCHANGE_LIFETIME of silence). */
  get peerAddressCount(): number {
    return this.addresses.size;
  }

  /** The timer: retransmissions and deadlines, block-wise state expired, silent coap:// peers forgotten. */
  private timeout(t: number): void {
    this.serving.handleTimeout(t);
    for (const key of this.addresses.sweep(t)) {
      this.serving.core.forget(key);
      this.endpoint.dropPeer(key);
    }
  }

  private deadline(): number | undefined {
    const a = this.serving.pollTimeout();
    const b = this.addresses.pollTimeout();
    return a === undefined ? b : b === undefined ? a : Math.min(a, b);
  }

  get secure(): boolean {
    return !!this.opts.dtls;
  }

  listen(port = this.opts.dtls ? 5684 : 5683, host = '127.0.0.1', cb?: () => void): this {
    if (this.opts.dtls) {
      const d = createDtlsServer(this.opts.dtls);
      this.dtls = d;
      d.on('session', (s: DtlsSession) => {
        s.on('data', (data: Uint8Array) => this.receive(s, data));
        s.on('close', () => this.pump(() => {
          this.serving.core.forget(s);
          this.endpoint.dropPeer(s);
        }));
      });
      d.on('error', (e) => this.emit('error', e));
      d.on('handshakeError', (e, peer) => this.emit('handshakeError', e, peer));
      d.on('handshakeRefused', (peer, reason) => this.emit('handshakeRefused', peer, reason));
      d.on('keyStoreError', (info) => this.emit('keyStoreError', info));
      d.on('peerMoved', (to, from) => this.emit('peerMoved', to, from));
      d.listen(port, host, () => {
        cb?.();
        this.emit('listening');
      });
      return this;
    }
    const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', lookup: literalLookup });
    this.socket = socket;
    socket.on('message', (msg, rinfo) => {
      const key = `${rinfo.address}|${rinfo.port}`;
      this.addresses.touch(key, { address: rinfo.address, port: rinfo.port }, now());
      this.receive(key, new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength));
    });
    socket.on('error', (e) => this.emit('error', e));
    socket.bind(port, host, () => {
      enlargeBuffers(socket);
      cb?.();
      this.emit('listening');
    });
    return this;
  }

  address(): { address: string; port: number } {
    if (this.dtls) return this.dtls.address();
    const a = this.socket!.address();
    return { address: a.address, port: a.port };
  }

  /** Re-runs the handler for every observer of `path` and sends the results as notifications. */
  notify(path: string, o: { confirmable?: boolean } = {}): number {
    return this.serving.notify(path, o);
  }

  get observerCount(): number {
    return this.core.observerCount;
  }

  /** Stops; `keepSessions` (coaps://): the DTLS sessions are not ended (see DtlsServer.close). */
  async close(o: { keepSessions?: boolean } = {}): Promise<void> {
    this.alarm.stop();
    if (this.dtls) await this.dtls.close(o);
    this.outbox.flush();
    if (this.socket) await new Promise<void>((r) => this.socket!.close(() => r()));
    this.dtls = undefined;
    this.socket = undefined;
    this.emit('close');
  }

  private peerId(p: Peer): string {
    if (typeof p === 'string') return p;
    let id = this.sessionIds.get(p);
    if (!id) this.sessionIds.set(p, (id = `dtls#${this.nextSession++}`));
    return id;
  }

  private describe(p: Peer, m: CoapMessage, payload: Uint8Array): IncomingRequest {
    const peer = typeof p === 'string' ? this.addresses.get(p) ?? { address: '?', port: 0 } : p.peer;
    const identity: PeerIdentity | undefined = typeof p === 'string' ? undefined : p.info.identity;
    return describeRequest(m, payload, peer, identity, p);
  }

  /** Pumps running (nested ones included): see ServingHost.pumping. */
  private depth = 0;

  /**
   * A datagram from a peer: pump(() => handleDatagram(...)) without a closure per datagram.
   * Nothing a peer sends may throw out of here (into a socket or session listener): whatever
   * does is reported as an 'error' and the server goes on.
   */
  private receive(p: Peer, data: Uint8Array): void {
    this.depth++;
    try {
      this.endpoint.handleDatagram(now(), p, data);
      this.flush();
    } catch (e) {
      this.report(e);
    } finally {
      this.depth--;
    }
    this.alarm.arm(this.deadline());
  }

  /** Runs f (a timer's work), reporting what it throws instead of letting it out. */
  private guard(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.report(e);
    }
  }

  private pump(f: () => void): void {
    this.depth++;
    try {
      f();
      this.flush();
    } finally {
      this.depth--;
    }
    this.alarm.arm(this.deadline());
  }

  private flush(): void {
    const ep = this.endpoint;
    for (let e = ep.pollEvent(); e; e = ep.pollEvent()) {
      if (e.type === 'request' || e.type === 'reset') this.serving.event(e);
      else settle(this.waiting, this.notifications, e);
    }
    this.sendQueued();
  }

  /** Sends the endpoint's queued datagrams. */
  private sendQueued(): void {
    const ep = this.endpoint;
    for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) {
      if (typeof t.peer === 'string') {
        const a = this.addresses.get(t.peer);
        if (a && this.socket) this.outbox.add(a, t.data);
      } else if (!t.peer.closed) t.peer.send(t.data);
    }
  }
}

export function createServer(opts: CoapServerOptions | Handler = {}, handler?: Handler): CoapServer {
  return typeof opts === 'function' ? new CoapServer({}, opts) : new CoapServer(opts, handler);
}

// ============================================================================ client ===

export interface RequestOptions {
  method?: Method;
  payload?: string | Uint8Array;
  contentFormat?: number;
  accept?: number;
  /** Extra options (numbers and raw values). */
  options?: CoapOption[];
  confirmable?: boolean;
  blockSize?: number;
  maxBodySize?: number;
  /** Abort after this long (ms). */
  timeoutMs?: number;
}

export interface CoapClientOptions {
  /** Serves requests the peer sends on our connections (an LwM2M server does). */
  handler?: Handler;
  /** DTLS settings for coaps:// URLs (psk, trust, ecdhe, ...). */
  dtls?: Omit<ConnectOptions, 'host' | 'port'>;
  transmission?: Partial<TransmissionParameters>;
  blockSize?: number;
  maxBodySize?: number;
  /** coap://: the largest message we send (RFC 7252 §4.6; default 1152). coaps:// uses the session's largest record. */
  maxMessageSize?: number;
}

interface Origin {
  key: string;
  secure: boolean;
  host: string;
  port: number;
  session?: DtlsSession;
  socket?: Socket;
  ready: Promise<void>;
}

/** An observation: notifications in order (stale ones dropped, RFC 7641 §4.4). */
export class Observation extends EventEmitter implements AsyncIterable<CoapResponse> {
  private readonly queue = new AsyncQueue<CoapResponse>();
  private readonly order = new NotificationOrder();

  constructor(private readonly cancelImpl: () => void) {
    super();
  }

  /** @internal */
  _push(r: CoapResponse): void {
    const seq = r.observe;
    if (seq !== undefined && !this.order.accept(seq, now())) return;
    this.queue.push(r);
    this.emit('notification', r);
  }
  /** @internal */
  _end(e: Error | null): void {
    if (!this.queue.end(e)) return;
    if (e && this.listenerCount('error') > 0) this.emit('error', e);
    this.emit('end');
  }

  cancel(): void {
    this.cancelImpl();
    this._end(null);
  }

  [Symbol.asyncIterator](): AsyncGenerator<CoapResponse> {
    return this.queue[Symbol.asyncIterator]();
  }
}

/**
 * A CoAP client keeping one transport per origin: a UDP socket for coap://, a DTLS session
 * for coaps:// (responses are matched only within the session of their request).
 */
export class CoapClient {
  readonly endpoint: CoapEndpoint<string>;
  private readonly origins = new Map<string, Origin>();
  private readonly waiting = new Map<number, { resolve: (m: CoapMessage) => void; reject: (e: Error) => void; onNotification?: (m: CoapMessage) => void }>();
  private readonly alarm = new Alarm(() => this.pump(() => this.serving.handleTimeout(now())));

  private readonly serving: RequestServing<string>;

  constructor(private readonly opts: CoapClientOptions = {}) {
    this.endpoint = new CoapEndpoint<string>(opts.transmission ?? {}, randomBytes, { maxMessageSize: (key) => this.maxMessageSize(key) });
    this.serving = new RequestServing<string>(
      this.endpoint,
      (p) => p,
      (p, m, payload) => {
        const o = this.origins.get(p);
        return describeRequest(m, payload, o?.session?.peer ?? { address: o?.host ?? '?', port: o?.port ?? 0 }, o?.session?.info.identity);
      },
      () => this.opts.handler,
      () => undefined,
      { pump: (f) => this.pump(f), pumping: false, sendQueued: () => undefined },
      // the peers here are the servers we connected to, which may observe many of our resources
      { limits: { maxObserversPerPeer: DEFAULT_SERVER_LIMITS.maxObservers } },
    );
  }

  /** Notifies the peers observing `path` on this client (served through `handler`). */
  notify(path: string, o: { confirmable?: boolean } = {}): number {
    return this.serving.notify(path, o);
  }

  /** Opens the transport to an origin now (coaps: the DTLS handshake) without a request. */
  async connect(url: string | URL): Promise<void> {
    const u = new URL(url);
    const secure = u.protocol === 'coaps:';
    await this.origin(`${u.protocol}//${u.host}`, secure, u.hostname.replace(/^\[|\]$/g, ''), u.port ? Number(u.port) : secure ? 5684 : 5683).ready;
  }

  /** Closes the transport to one origin (its exchanges fail). */
  async disconnect(url: string | URL): Promise<void> {
    const u = new URL(url);
    const o = this.origins.get(`${u.protocol}//${u.host}`);
    if (!o) return;
    this.origins.delete(o.key);
    await o.ready.catch(() => undefined);
    if (o.session) await o.session.close();
    if (o.socket) await new Promise<void>((r) => o.socket!.close(() => r()));
    this.pump(() => this.endpoint.dropPeer(o.key));
  }

  async request(url: string | URL, o: RequestOptions = {}): Promise<CoapResponse> {
    const { origin, options } = await this.prepare(url, o);
    const r: OutgoingRequest = { code: METHOD_CODES[o.method ?? 'GET'], options, confirmable: o.confirmable ?? true };
    if (o.payload !== undefined) r.payload = typeof o.payload === 'string' ? enc.encode(o.payload) : o.payload;
    const work = blockwiseRequest((x) => this.exchange(origin, x), r, this.blockOptions(o, origin));
    return new CoapResponse(await withTimeout(work, o.timeoutMs));
  }

  /** Registers an observation (GET with Observe=0); resolves with it after the first response. */
  async observe(url: string | URL, o: RequestOptions = {}): Promise<{ first: CoapResponse; observation: Observation }> {
    const { origin, options } = await this.prepare(url, o);
    const base = [...options.filter((x) => x.number !== OptionNumber.Observe), { number: OptionNumber.Observe, value: new Uint8Array(0) }];
    let id = 0;
    // The registration's token: the deregistration must carry the same one (RFC 7641 §3.6).
    const token = randomBytes(4);
    const observation = new Observation(() => {
      this.pump(() => this.endpoint.cancel(now(), id));
      this.waiting.delete(id);
      void this.exchange(origin, { code: Code.GET, token, options: [...options, { number: OptionNumber.Observe, value: encodeUint(1) }] }).catch(() => undefined);
    });
    const blocks = this.blockOptions(o, origin);
    const first = await new Promise<CoapMessage>((resolve, reject) => {
      let firstSeen = false;
      let echoed = false;
      const deliver = (m: CoapMessage) => {
        const full = getBlock2More(m)
          ? fetchRemainingBlocks((x) => this.exchange(origin, x), { code: Code.GET, options }, options, m, blocks)
          : Promise.resolve(m);
        void full.then((f) => (firstSeen ? observation._push(new CoapResponse(f)) : (firstSeen = true, resolve(f))), (e: Error) => (firstSeen ? observation._end(e) : reject(e)));
      };
      const register = (extra: CoapOption[]) => {
        id = this.endpoint.request(now(), origin.key, { code: Code.GET, token, options: [...base, ...extra], confirmable: o.confirmable ?? true, observe: true });
        this.waiting.set(id, {
          resolve: (m) => {
            const echo = !firstSeen && !echoed ? echoOf(m) : undefined;
            if (echo) {
              // RFC 9175: the server verifies our address first; register again with its Echo value
              echoed = true;
              register([{ number: OptionNumber.Echo, value: echo }]);
              return;
            }
            deliver(m);
            observation._end(null); // the server did not keep the observation (no Observe option)
          },
          reject: (e) => (firstSeen ? observation._end(e) : reject(e)),
          onNotification: deliver,
        });
      };
      this.pump(() => register([]));
    });
    return { first: new CoapResponse(first), observation };
  }

  async close(): Promise<void> {
    this.alarm.stop();
    for (const o of this.origins.values()) {
      await o.ready.catch(() => undefined);
      if (o.session) await o.session.close();
      if (o.socket) await new Promise<void>((r) => o.socket!.close(() => r()));
    }
    this.origins.clear();
    for (const w of this.waiting.values()) w.reject(new CoapError('CLOSED', 'client closed'));
    this.waiting.clear();
  }

  /** The DTLS session to an origin (for its peer identity), once connected. */
  session(url: string | URL): DtlsSession | undefined {
    const u = new URL(url);
    return this.origins.get(`${u.protocol}//${u.host}`)?.session;
  }

  private blockOptions(o: RequestOptions, origin: Origin) {
    return {
      blockSize: o.blockSize ?? this.opts.blockSize ?? 1024,
      maxBodySize: o.maxBodySize ?? this.opts.maxBodySize ?? 16 * 1024 * 1024,
      earlyBlock2: o.blockSize !== undefined || this.opts.blockSize !== undefined,
      maxMessageSize: this.maxMessageSize(origin.key),
    };
  }

  /** The largest message to an origin: its DTLS session's largest record, or the configured UDP size. */
  private maxMessageSize(key: string): number {
    const o = this.origins.get(key);
    return o?.session ? o.session.maxRecordPayload : (this.opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
  }

  private async prepare(url: string | URL, o: RequestOptions): Promise<{ origin: Origin; options: CoapOption[] }> {
    const u = new URL(url);
    if (u.protocol !== 'coap:' && u.protocol !== 'coaps:') throw new CoapError('INVALID_ARGUMENT', `unsupported scheme ${u.protocol}`);
    const secure = u.protocol === 'coaps:';
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = u.port ? Number(u.port) : secure ? 5684 : 5683;
    const origin = this.origin(`${u.protocol}//${u.host}`, secure, host, port);
    await origin.ready;
    const options: CoapOption[] = [];
    for (const seg of u.pathname.split('/').slice(1)) if (seg !== '' || u.pathname !== '/') options.push({ number: OptionNumber.UriPath, value: enc.encode(decodeURIComponent(seg)) });
    if (options.length === 1 && options[0]!.value.length === 0) options.length = 0;
    for (const q of u.search.replace(/^\?/, '').split('&')) if (q) options.push({ number: OptionNumber.UriQuery, value: enc.encode(decodeURIComponent(q)) });
    if (o.contentFormat !== undefined) options.push({ number: OptionNumber.ContentFormat, value: encodeUint(o.contentFormat) });
    if (o.accept !== undefined) options.push({ number: OptionNumber.Accept, value: encodeUint(o.accept) });
    options.push(...(o.options ?? []));
    return { origin, options };
  }

  private origin(key: string, secure: boolean, host: string, port: number): Origin {
    let o = this.origins.get(key);
    if (o) return o;
    const origin: Origin = { key, secure, host, port, ready: Promise.resolve() };
    origin.ready = (async () => {
      const address = await resolveHost(host);
      if (secure) {
        const s = await dtlsConnect({ ...(this.opts.dtls as ConnectOptions), host: address, port, serverName: this.opts.dtls?.serverName ?? host });
        origin.session = s;
        s.on('data', (d: Uint8Array) => this.receive(key, d));
        s.on('close', () => {
          this.origins.delete(key);
          this.pump(() => this.endpoint.dropPeer(key));
        });
      } else {
        const udp = connectUdp(address, port, (d) => this.receive(key, d));
        origin.socket = udp.socket;
        await udp.connected;
      }
    })();
    origin.ready.catch(() => this.origins.delete(key));
    this.origins.set(key, origin);
    return origin;
  }

  /** A datagram from an origin; nothing it causes may throw into the socket or session listener. */
  private receive(key: string, data: Uint8Array): void {
    try {
      this.pump(() => this.endpoint.handleDatagram(now(), key, data));
    } catch {
      // a bug is no reason to take the application down with it; the exchange times out
    }
  }

  private exchange(origin: Origin, r: OutgoingRequest): Promise<CoapMessage> {
    return new Promise((resolve, reject) => {
      this.pump(() => {
        const id = this.endpoint.request(now(), origin.key, r);
        this.waiting.set(id, { resolve, reject });
      });
    });
  }

  private pump(f: () => void): void {
    f();
    const ep = this.endpoint;
    for (let e = ep.pollEvent(); e; e = ep.pollEvent()) {
      if (e.type === 'request' || e.type === 'reset') {
        this.serving.event(e);
      } else if (e.type === 'response') {
        const w = this.waiting.get(e.requestId);
        if (!w) continue;
        const isNotification = w.onNotification && e.response.options.some((o) => o.number === OptionNumber.Observe);
        if (isNotification) w.onNotification!(e.response);
        else {
          this.waiting.delete(e.requestId);
          w.resolve(e.response);
        }
      } else if (e.type === 'error') {
        const w = this.waiting.get(e.requestId);
        this.waiting.delete(e.requestId);
        w?.reject(e.error);
      }
    }
    for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) {
      const o = this.origins.get(t.peer);
      if (!o) continue;
      if (o.session && !o.session.closed) o.session.send(t.data);
      else o.socket?.send(t.data);
    }
    this.alarm.arm(this.serving.pollTimeout());
  }
}

/** Uri-Path / Uri-Query / Content-Format / Accept options of a request. */
function requestOptions(path: string, query: string[], o: RequestOptions): CoapOption[] {
  const options: CoapOption[] = [];
  for (const seg of path.split('/').slice(1)) if (seg !== '') options.push({ number: OptionNumber.UriPath, value: enc.encode(seg) });
  for (const q of query) options.push({ number: OptionNumber.UriQuery, value: enc.encode(q) });
  if (o.contentFormat !== undefined) options.push({ number: OptionNumber.ContentFormat, value: encodeUint(o.contentFormat) });
  if (o.accept !== undefined) options.push({ number: OptionNumber.Accept, value: encodeUint(o.accept) });
  options.push(...(o.options ?? []));
  return options;
}

/** Routes a response/error event to the promise (or observation) waiting for it. */
function settle(
  waiting: Map<number, { resolve: (m: CoapMessage) => void; reject: (e: Error) => void }>,
  notifications: Map<number, (m: CoapMessage) => void>,
  e: { type: 'response'; requestId: number; response: CoapMessage } | { type: 'error'; requestId: number; error: Error },
): void {
  if (e.type === 'response') {
    const n = notifications.get(e.requestId);
    if (n && e.response.options.some((o) => o.number === OptionNumber.Observe)) return n(e.response);
    notifications.delete(e.requestId);
    const w = waiting.get(e.requestId);
    waiting.delete(e.requestId);
    w?.resolve(e.response);
  } else {
    notifications.delete(e.requestId);
    const w = waiting.get(e.requestId);
    waiting.delete(e.requestId);
    w?.reject(e.error);
  }
}

/** The Echo value of a 4.01 Unauthorized that asks for one (RFC 9175 §2.3). */
function echoOf(m: CoapMessage): Uint8Array | undefined {
  return m.code === Code.Unauthorized ? m.options.find((o) => o.number === OptionNumber.Echo)?.value : undefined;
}

/** Whether a response's Block2 says more blocks follow (a malformed Block2: no, the response is taken as it is). */
function getBlock2More(m: CoapMessage): boolean {
  const b = m.options.find((o) => o.number === OptionNumber.Block2);
  if (!b) return false;
  try {
    return decodeBlock(b.value).more;
  } catch {
    return false;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number | undefined): Promise<T> {
  if (!ms) return p;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new CoapError('TIMEOUT', `no response within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}

/** One request with a throwaway client (its transport closes afterwards). */
export async function request(url: string | URL, o: RequestOptions & CoapClientOptions = {}): Promise<CoapResponse> {
  const c = new CoapClient(o);
  try {
    return await c.request(url, o);
  } finally {
    await c.close();
  }
}

export { peerKey };

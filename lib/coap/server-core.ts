import { toHex, utf8 } from '../bytes/util.js';
import { BlockOptionError, decodeBlock, encodeBlock, sizeToSzxFloor, szxToSize, type BlockValue } from './block.js';
import { BodyCache, type CachedBody } from './body-cache.js';
import { encodedSize } from './codec.js';
import type { CoapEndpoint, OutgoingResponse, ServerExchange } from './endpoint.js';
import { resolveLimits, serviceUnavailable, type ServerLimits } from './limits.js';
import { ObserverRegistry, type Observer } from './observers.js';
import { UploadTable, type Upload } from './uploads.js';
import { Code, decodeUint, encodeUint, getOption, getOptions, OptionNumber, type CoapMessage, type CoapOption } from './message.js';
import { CON_NOTIFICATION_INTERVAL_MS, OBSERVE_MODULO } from './observe.js';

export interface ServerCoreOptions {
  /** Largest block we send (Block2) unless the client asks for smaller; 16..1024. */
  blockSize: number;
  /** Largest request body accepted through Block1 (4.13 beyond it). */
  maxBodySize: number;
  /** How long block-wise state (an upload, a representation for follow-ups) lives after its last use. */
  blockCacheMs: number;
  /** Caps on observations, uploads and kept representations (defaults: DEFAULT_SERVER_LIMITS). */
  limits?: Partial<ServerLimits>;
  /**
   * A notification goes as CON at least this often per observation (RFC 7641 §4.5: at least
   * every 24 hours), so a client that went away is noticed (no ACK after MAX_RETRANSMIT ends
   * the observation).
   */
  conNotificationIntervalMs?: number;
}

/** Block-wise state lives an EXCHANGE_LIFETIME (247 s), refreshed by each block: a lossy transfer keeps it alive. */
export const DEFAULT_SERVER_CORE: ServerCoreOptions = { blockSize: 1024, maxBodySize: 1024 * 1024, blockCacheMs: 247_000 };

/** A complete request for the application (body reassembled from Block1). */
export interface AssembledRequest<P> {
  peer: P;
  message: CoapMessage;
  /** The whole body. */
  payload: Uint8Array;
  /** Set when this request registered an observation (GET with Observe=0). */
  observing: boolean;
}

export type { Observer } from './observers.js';

/**
 * Server-side CoAP above the exchange layer (sans-IO): Block1 request assembly (RFC 7959 §2.5:
 * 2.31 Continue, 4.08 Request Entity Incomplete, 4.13 with Size1), Block2 responses sliced from
 * a kept representation, sized to the peer's transport, and RFC 7641 observer registration,
 * deregistration (GET with Observe=1, or RST) and notifications (NON, with a CON at least
 * every 24 hours or on demand). What peers make it hold is capped (ServerLimits: 5.03 with
 * Max-Age at a cap) and expires: handleTimeout() at pollTimeout() drops what outlived
 * blockCacheMs; the driver arms its timer for the earlier of this and the endpoint's deadline.
 */
export class CoapServerCore<P> {
  private readonly opts: ServerCoreOptions;
  readonly limits: ServerLimits;
  private readonly uploads: UploadTable;
  private readonly bodies: BodyCache;
  private readonly observers: ObserverRegistry<P>;
  /** The earliest expiry of held block-wise state (a lower bound: refreshes only move expiries later). */
  private nextSweep: number | undefined;

  constructor(
    readonly endpoint: CoapEndpoint<P>,
    private readonly peerId: (p: P) => string,
    opts: Partial<ServerCoreOptions> = {},
  ) {
    this.opts = { ...DEFAULT_SERVER_CORE, ...opts };
    const l = (this.limits = resolveLimits(opts.limits));
    this.uploads = new UploadTable(l);
    this.bodies = new BodyCache(l.maxCachedBodies, l.maxCachedBodiesPerPeer);
    this.observers = new ObserverRegistry<P>(l.maxObserversPerPeer, l.maxObservers);
  }

  /**
   * Takes an incoming exchange. Returns the assembled request when the application must
   * answer it (then call reply()), or undefined when this layer answered it itself.
   */
  accept(now: number, x: ServerExchange<P>): AssembledRequest<P> | undefined {
    const m = x.request;
    // Fast path: no Block1, Block2 or Observe option, so no block-wise or observe state to
    // look up (the resource key is needed only for those).
    if (!hasOption3(m.options, OptionNumber.Block1, OptionNumber.Block2, OptionNumber.Observe)) {
      return { peer: x.peer, message: m, payload: m.payload, observing: false };
    }
    try {
      return this.acceptInner(now, x);
    } catch (e) {
      if (!(e instanceof BlockOptionError)) throw e;
      // RFC 7959 §2.2: a malformed Block option is a 4.00 (SZX 7, NUM too large, ...)
      this.endpoint.respond(now, x.id, { code: Code.BadRequest, payload: utf8(e.message) });
      return undefined;
    }
  }

  private acceptInner(now: number, x: ServerExchange<P>): AssembledRequest<P> | undefined {
    const m = x.request;
    const pid = this.peerId(x.peer);
    const resource = resourceKey(m);
    const block2 = getOption(m, OptionNumber.Block2);
    if (!this.endpoint.isVerified(now, x.peer)) {
      // RFC 9175 §2.4 item 3: a Block2 follow-up or an observation sends more than the request
      // brought: only to an address verified with Echo (a 4.01 with Echo first)
      const follow = block2 !== undefined && decodeBlock(block2).num > 0;
      const obs = getOption(m, OptionNumber.Observe);
      const register = m.code === Code.GET && obs !== undefined && decodeUint(obs) === 0;
      if (follow || register) {
        this.endpoint.challenge(now, x.id);
        return undefined;
      }
    }
    if (block2 && decodeBlock(block2).num > 0) {
      const cached = this.bodies.get(pid, resource, now, this.opts.blockCacheMs);
      if (cached) {
        this.endpoint.respond(now, x.id, this.slice(cached, decodeBlock(block2), this.fitBlock(x.peer, m.token.length, cached.options, cached.payload.length)));
        return undefined;
      }
      // not kept (expired, dropped or never seen): let the application answer; reply() slices it
    }
    const block1 = getOption(m, OptionNumber.Block1);
    let payload = m.payload;
    if (block1) {
      const body = this.assemble(now, x, pid, resource, decodeBlock(block1));
      if (!body) return undefined;
      payload = body;
    }
    const obs = getOption(m, OptionNumber.Observe);
    let observing = false;
    // RFC 7641 §2 (GET) and RFC 8132 §2.4 (FETCH, e.g. LwM2M Observe-Composite)
    if ((m.code === Code.GET || m.code === Code.FETCH) && obs !== undefined) {
      if (decodeUint(obs) === 0) observing = true;
      else {
        // a deregistration: this token's observation and any other of this peer on this resource (RFC 7641 §3.6)
        this.observers.removeToken(pid, toHex(m.token));
        this.observers.removeResourceOf(pid, resource);
      }
    }
    return { peer: x.peer, message: m, payload, observing };
  }

  /** One Block1 block (RFC 7959 §2.5): the whole body after the last one, else undefined (answered here). */
  private assemble(now: number, x: ServerExchange<P>, pid: string, resource: string, b: BlockValue): Uint8Array | undefined {
    const m = x.request;
    const size1 = getOption(m, OptionNumber.Size1);
    if (size1 && decodeUint(size1) > this.opts.maxBodySize) return this.tooLarge(now, x, undefined);
    const tokenKey = toHex(m.token);
    let up: Upload | undefined;
    if (b.num === 0) {
      if (this.uploads.refusal(pid, tokenKey, m.payload.length)) return this.busy(now, x.id);
      up = this.uploads.start(pid, tokenKey, resource, b.szx, now + this.opts.blockCacheMs);
      this.schedule(up.expires);
    } else up = this.uploads.find(pid, tokenKey, resource);
    if (!up || up.next !== b.num || up.expires <= now) {
      if (up) this.uploads.delete(up);
      this.endpoint.respond(now, x.id, { code: Code.RequestEntityIncomplete });
      return undefined;
    }
    if (b.more && m.payload.length !== szxToSize(b.szx)) {
      this.uploads.delete(up);
      this.endpoint.respond(now, x.id, { code: Code.BadRequest, payload: utf8('block size mismatch') });
      return undefined;
    }
    if (up.size + m.payload.length > this.opts.maxBodySize) return this.tooLarge(now, x, up);
    if (!this.uploads.append(up, m.payload)) {
      this.uploads.delete(up);
      return this.busy(now, x.id);
    }
    up.next++;
    up.expires = now + this.opts.blockCacheMs;
    if (b.more) {
      this.endpoint.respond(now, x.id, { code: Code.Continue, options: [{ number: OptionNumber.Block1, value: encodeBlock({ num: b.num, more: true, szx: b.szx }) }] });
      return undefined;
    }
    return this.uploads.finish(up);
  }

  /**
   * The application's answer to an assembled request. A body larger than fits one block (or
   * the peer's transport) is sent block-wise (Block2) and kept for the follow-ups; a
   * successful observe registration becomes an observer (`observable` says whether the
   * resource supports it), or a 5.03 when the observation caps are reached.
   */
  reply(now: number, exchangeId: number, req: AssembledRequest<P>, res: OutgoingResponse, observable = false): void {
    const m = req.message;
    // Fast path: no observe registration, no Block1/Block2 in the request, a body that fits one
    // block and the transport, and no Block2 option to strip: the response goes out as given.
    if (
      !req.observing &&
      (res.payload === undefined || res.payload.length <= this.opts.blockSize) &&
      !hasOption3(m.options, OptionNumber.Block1, OptionNumber.Block2, OptionNumber.Block2) &&
      (res.options === undefined || !hasOption3(res.options, OptionNumber.Block2, OptionNumber.Block2, OptionNumber.Block2)) &&
      this.fits(req.peer, m.token.length, res)
    ) {
      this.endpoint.respond(now, exchangeId, res);
      return;
    }
    const pid = this.peerId(req.peer);
    const resource = resourceKey(m);
    let options = [...(res.options ?? [])];
    const block1 = getOption(m, OptionNumber.Block1);
    if (block1) options.push({ number: OptionNumber.Block1, value: encodeBlock({ ...decodeBlock(block1), more: false }) });
    if (req.observing && observable && res.code >= 0x40 && res.code < 0x60) {
      // RFC 7641 §4.1: a server unable to add the observer may answer otherwise (here: 5.03, try later)
      if (this.observers.refusal(pid, m.token)) return this.busy(now, exchangeId);
      const o: Observer<P> = { peer: req.peer, peerId: pid, token: m.token, tokenKey: toHex(m.token), request: m, key: resource, seq: 2, lastCon: now };
      this.observers.add(o);
      options.push({ number: OptionNumber.Observe, value: encodeUint(o.seq) });
    }
    options = options.filter((o) => o.number !== OptionNumber.Block2 && o.number !== OptionNumber.Size2);
    const payload = res.payload ?? new Uint8Array(0);
    const fitted = this.fitBlock(req.peer, m.token.length, options, payload.length);
    if (fitted === 0) {
      // not even a 16-byte block fits next to these options
      this.endpoint.respond(now, exchangeId, { code: Code.InternalServerError });
      return;
    }
    const block2 = getOption(m, OptionNumber.Block2);
    const wanted = block2 ? decodeBlock(block2) : undefined;
    const size = Math.min(fitted, wanted ? szxToSize(wanted.szx) : fitted);
    if (payload.length > size || (wanted && wanted.num > 0)) {
      const cached: CachedBody = { expires: now + this.opts.blockCacheMs, code: res.code, options, payload };
      if (!req.observing) this.keep(pid, resource, cached);
      this.endpoint.respond(now, exchangeId, this.slice(cached, wanted ?? { num: 0, more: false, szx: sizeToSzxFloor(size) }, fitted));
      return;
    }
    this.endpoint.respond(now, exchangeId, { ...res, options });
  }

  /** Whether a response goes to this peer in one message as it is (the transport's limit). */
  private fits(peer: P, tokenLength: number, res: OutgoingResponse): boolean {
    const limit = this.endpoint.maxMessageSize(peer);
    return limit === Infinity || encodedSize(tokenLength, res.options ?? [], res.payload?.length ?? 0) <= limit;
  }

  /**
   * The largest block size (16..blockSize) whose message, with these options plus Block2 and
   * Size2, fits the transport to this peer (a DTLS session's largest record, the UDP message
   * size); 0 when not even 16 bytes do.
   */
  private fitBlock(peer: P, tokenLength: number, options: readonly CoapOption[], total: number): number {
    let size = 1 << (sizeToSzxFloor(this.opts.blockSize) + 4);
    const limit = this.endpoint.maxMessageSize(peer);
    if (limit === Infinity) return size;
    const room = limit - 1 - encodedSize(tokenLength, [...options, { number: OptionNumber.Block2, value: BLOCK_VALUE_MAX }, { number: OptionNumber.Size2, value: encodeUint(total) }], 0);
    while (size >= 16 && size > room) size >>= 1;
    return size >= 16 ? size : 0;
  }

  /** The current observers of a resource (path and query, as resourceKey gives it), for notify(). */
  observersOf(path: string): Array<Observer<P>> {
    return this.observers.ofResource(path);
  }

  /** The observer registered with `token` by `peer`, if it still is. */
  observer(peer: P, token: Uint8Array): Observer<P> | undefined {
    return this.observers.get(this.peerId(peer), toHex(token));
  }

  /** Sends a notification to one observer (the representation the application produced for it). */
  notify(now: number, o: Observer<P>, res: OutgoingResponse, forceConfirmable = false): void {
    o.seq = (o.seq + 1) % OBSERVE_MODULO;
    const con = forceConfirmable || res.confirmable === true || now - o.lastCon >= (this.opts.conNotificationIntervalMs ?? CON_NOTIFICATION_INTERVAL_MS);
    if (con) o.lastCon = now;
    const options = [...(res.options ?? []), { number: OptionNumber.Observe, value: encodeUint(o.seq) }];
    if (res.code >= 0x80) this.observers.remove(o); // an error ends the observation
    const payload = res.payload ?? new Uint8Array(0);
    const fitted = this.fitBlock(o.peer, o.token.length, options, payload.length);
    if (fitted === 0) {
      // RFC 7641 §4.2: a 5.00 ends the observation; it has no options to crowd it out
      this.observers.remove(o);
      this.endpoint.notify(now, o.peer, o.token, { code: Code.InternalServerError, confirmable: con });
      return;
    }
    if (payload.length > fitted) {
      // RFC 7959 §2.6: the first block only; the client fetches the rest with GETs
      this.keep(o.peerId, o.key, { expires: now + this.opts.blockCacheMs, code: res.code, options, payload });
      const first = this.slice({ expires: 0, code: res.code, options, payload }, { num: 0, szx: sizeToSzxFloor(fitted) }, fitted);
      this.endpoint.notify(now, o.peer, o.token, { ...first, confirmable: con });
      return;
    }
    this.endpoint.notify(now, o.peer, o.token, { code: res.code, options, payload, confirmable: con });
  }

  /** RST to a notification, or the peer went away: forget its observations (and, without a token, its block-wise state). */
  forget(peer: P, token?: Uint8Array): void {
    const pid = this.peerId(peer);
    if (token) {
      this.observers.removeToken(pid, toHex(token));
      return;
    }
    this.observers.removePeer(pid);
    this.uploads.deletePeer(pid);
    this.bodies.deletePeer(pid);
  }

  /** The core's timer: when block-wise state may have expired (undefined while none is held). */
  pollTimeout(): number | undefined {
    return this.nextSweep;
  }

  /** Drops the block-wise state expired at `now` (spurious calls are harmless). */
  handleTimeout(now: number): void {
    if (this.nextSweep === undefined || now < this.nextSweep) return;
    this.sweep(now);
  }

  /** Drops expired block state now. */
  sweep(now: number): void {
    const a = this.uploads.sweep(now);
    const b = this.bodies.sweep(now);
    this.nextSweep = a === undefined ? b : b === undefined ? a : Math.min(a, b);
  }

  get observerCount(): number {
    return this.observers.size;
  }
  /** Block1 uploads in progress. */
  get uploadCount(): number {
    return this.uploads.size;
  }
  /** Representations kept for Block2 follow-ups. */
  get cachedBodyCount(): number {
    return this.bodies.size;
  }

  private keep(pid: string, resource: string, b: CachedBody): void {
    this.bodies.set(pid, resource, b);
    this.schedule(b.expires);
  }

  private schedule(at: number): void {
    if (this.nextSweep === undefined || at < this.nextSweep) this.nextSweep = at;
  }

  /** The block `want` asks for, at most `maxSize` bytes (a smaller size renumbers, RFC 7959 §2.4). */
  private slice(c: CachedBody, want: { num: number; szx: number }, maxSize: number): OutgoingResponse {
    if (maxSize < 16) return { code: Code.InternalServerError };
    const szx = Math.min(want.szx, sizeToSzxFloor(maxSize));
    const size = szxToSize(szx);
    // RFC 7959 §2.4: a smaller SZX than the one used so far changes the block number
    const start = want.num * szxToSize(want.szx);
    if (start >= c.payload.length && !(start === 0 && c.payload.length === 0)) return { code: Code.BadOption, payload: utf8('block out of range') };
    const num = Math.floor(start / size);
    const chunk = c.payload.subarray(num * size, num * size + size);
    const more = num * size + size < c.payload.length;
    const options = c.options.filter((o) => o.number !== OptionNumber.Block2 && o.number !== OptionNumber.Size2);
    options.push({ number: OptionNumber.Block2, value: encodeBlock({ num, more, szx }) });
    if (num === 0) options.push({ number: OptionNumber.Size2, value: encodeUint(c.payload.length) });
    return { code: c.code, options, payload: chunk };
  }

  /** 4.13 with Size1 (RFC 7959 §2.9.3), the upload forgotten. */
  private tooLarge(now: number, x: ServerExchange<P>, up: Upload | undefined): undefined {
    if (up) this.uploads.delete(up);
    this.endpoint.respond(now, x.id, { code: Code.RequestEntityTooLarge, options: [{ number: OptionNumber.Size1, value: encodeUint(this.opts.maxBodySize) }] });
    return undefined;
  }

  /** 5.03 with Max-Age: a cap is reached. */
  private busy(now: number, exchangeId: number): undefined {
    this.endpoint.respond(now, exchangeId, serviceUnavailable(this.limits.retryAfterSeconds));
    return undefined;
  }
}

/** A 3-byte Block option value: the longest, to size a message before its block number is known. */
const BLOCK_VALUE_MAX = new Uint8Array(3);

/** Whether any option has number a, b or c. */
function hasOption3(options: readonly CoapOption[], a: number, b: number, c: number): boolean {
  for (let i = 0; i < options.length; i++) {
    const n = options[i]!.number;
    if (n === a || n === b || n === c) return true;
  }
  return false;
}

/** The resource a request addresses: method, path and query (block-wise state is per resource). */
export function resourceKey(m: CoapMessage): string {
  const dec = new TextDecoder();
  const path = getOptions(m, OptionNumber.UriPath).map((p) => dec.decode(p)).join('/');
  const query = getOptions(m, OptionNumber.UriQuery).map((q) => dec.decode(q)).join('&');
  return `/${path}${query ? `?${query}` : ''}`;
}



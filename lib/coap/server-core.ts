import { concat, toHex, utf8 } from '../bytes/util.js';
import { BlockOptionError, decodeBlock, encodeBlock, sizeToSzxFloor, szxToSize } from './block.js';
import type { CoapEndpoint, OutgoingResponse, ServerExchange } from './endpoint.js';
import { Code, decodeUint, encodeUint, getOption, getOptions, OptionNumber, type CoapMessage, type CoapOption } from './message.js';
import { CON_NOTIFICATION_INTERVAL_MS, OBSERVE_MODULO } from './observe.js';

export interface ServerCoreOptions {
  /** Largest block we send (Block2) unless the client asks for smaller; 16..1024. */
  blockSize: number;
  /** Largest request body accepted through Block1 (4.13 beyond it). */
  maxBodySize: number;
  /** How long a large response stays cached for its follow-up Block2 requests. */
  blockCacheMs: number;
}

/** The block cache lives an EXCHANGE_LIFETIME (247 s), refreshed by each follow-up: a lossy transfer keeps it alive. */
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

export interface Observer<P> {
  peer: P;
  token: Uint8Array;
  request: CoapMessage;
  key: string;
  seq: number;
  lastCon: number;
}

interface Upload {
  expires: number;
  next: number;
  szx: number;
  parts: Uint8Array[];
  size: number;
}

interface CachedBody {
  expires: number;
  code: number;
  options: CoapOption[];
  payload: Uint8Array;
}

/**
 * Server-side CoAP above the exchange layer (sans-IO): Block1 request assembly (RFC 7959 §2.5:
 * 2.31 Continue, 4.08 Request Entity Incomplete, 4.13 with Size1), Block2 responses sliced from
 * a cached representation, and RFC 7641 observer registration, deregistration (GET with
 * Observe=1, or RST) and notifications (NON, with a CON at least every 24 hours or on demand).
 */
export class CoapServerCore<P> {
  private readonly uploads = new Map<string, Upload>();
  private readonly bodies = new Map<string, CachedBody>();
  private readonly observers = new Map<string, Observer<P>>();
  private readonly opts: ServerCoreOptions;

  constructor(
    readonly endpoint: CoapEndpoint<P>,
    private readonly peerId: (p: P) => string,
    opts: Partial<ServerCoreOptions> = {},
  ) {
    this.opts = { ...DEFAULT_SERVER_CORE, ...opts };
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
    const key = `${this.peerId(x.peer)}|${resourceKey(m)}`;
    const block2 = getOption(m, OptionNumber.Block2);
    if (block2 && decodeBlock(block2).num > 0) {
      const cached = this.bodies.get(key);
      if (cached && cached.expires > now) {
        cached.expires = now + this.opts.blockCacheMs;
        this.endpoint.respond(now, x.id, this.slice(cached, decodeBlock(block2)));
        return undefined;
      }
      // not cached (expired or never seen): let the application answer; reply() slices it
    }
    const block1 = getOption(m, OptionNumber.Block1);
    let payload = m.payload;
    if (block1) {
      const b = decodeBlock(block1);
      const size1 = getOption(m, OptionNumber.Size1);
      if (size1 && decodeUint(size1) > this.opts.maxBodySize) return this.tooLarge(now, x);
      let up = this.uploads.get(key);
      if (b.num === 0) {
        up = { expires: now + this.opts.blockCacheMs, next: 0, szx: b.szx, parts: [], size: 0 };
        this.uploads.set(key, up);
      }
      if (!up || up.next !== b.num || up.expires <= now) {
        this.uploads.delete(key);
        this.endpoint.respond(now, x.id, { code: Code.RequestEntityIncomplete });
        return undefined;
      }
      if (b.more && m.payload.length !== szxToSize(b.szx)) {
        this.uploads.delete(key);
        this.endpoint.respond(now, x.id, { code: Code.BadRequest, payload: utf8('block size mismatch') });
        return undefined;
      }
      up.size += m.payload.length;
      if (up.size > this.opts.maxBodySize) return this.tooLarge(now, x);
      up.parts.push(m.payload.slice());
      up.next++;
      up.expires = now + this.opts.blockCacheMs;
      if (b.more) {
        this.endpoint.respond(now, x.id, { code: Code.Continue, options: [{ number: OptionNumber.Block1, value: encodeBlock({ num: b.num, more: true, szx: b.szx }) }] });
        return undefined;
      }
      this.uploads.delete(key);
      payload = concat(...up.parts);
    }
    const obs = getOption(m, OptionNumber.Observe);
    let observing = false;
    // RFC 7641 §2 (GET) and RFC 8132 §2.4 (FETCH, e.g. LwM2M Observe-Composite)
    if ((m.code === Code.GET || m.code === Code.FETCH) && obs !== undefined) {
      const okey = `${this.peerId(x.peer)}|${toHex(m.token)}`;
      if (decodeUint(obs) === 0) observing = true;
      else {
        this.observers.delete(okey);
        // also any other registration of this peer on this resource (RFC 7641 §3.6)
        for (const [k, o] of this.observers) if (o.peer === x.peer && o.key === key) this.observers.delete(k);
      }
    }
    return { peer: x.peer, message: m, payload, observing };
  }

  /**
   * The application's answer to an assembled request. A body larger than the block size is
   * sent block-wise (Block2) and cached for the follow-ups; a successful observe registration
   * becomes an observer (`observable` says whether the resource supports it).
   */
  reply(now: number, exchangeId: number, req: AssembledRequest<P>, res: OutgoingResponse, observable = false): void {
    const m = req.message;
    // Fast path: no observe registration, no Block1/Block2 in the request, a body that fits one
    // block and no Block2 option to strip: the response goes out as the application gave it.
    if (
      !req.observing &&
      (res.payload === undefined || res.payload.length <= this.opts.blockSize) &&
      !hasOption3(m.options, OptionNumber.Block1, OptionNumber.Block2, OptionNumber.Block2) &&
      (res.options === undefined || !hasOption3(res.options, OptionNumber.Block2, OptionNumber.Block2, OptionNumber.Block2))
    ) {
      this.endpoint.respond(now, exchangeId, res);
      return;
    }
    const key = `${this.peerId(req.peer)}|${resourceKey(m)}`;
    let options = [...(res.options ?? [])];
    const block1 = getOption(m, OptionNumber.Block1);
    if (block1) options.push({ number: OptionNumber.Block1, value: encodeBlock({ ...decodeBlock(block1), more: false }) });
    if (req.observing && observable && res.code >= 0x40 && res.code < 0x60) {
      const okey = `${this.peerId(req.peer)}|${toHex(m.token)}`;
      const o: Observer<P> = { peer: req.peer, token: m.token, request: m, key, seq: 2, lastCon: now };
      this.observers.set(okey, o);
      options.push({ number: OptionNumber.Observe, value: encodeUint(o.seq) });
    }
    const payload = res.payload ?? new Uint8Array(0);
    const block2 = getOption(m, OptionNumber.Block2);
    const wanted = block2 ? decodeBlock(block2) : undefined;
    const size = Math.min(this.opts.blockSize, wanted ? szxToSize(wanted.szx) : this.opts.blockSize);
    if (payload.length > size || (wanted && wanted.num > 0)) {
      const cached: CachedBody = { expires: now + this.opts.blockCacheMs, code: res.code, options, payload };
      if (!req.observing) this.bodies.set(key, cached);
      this.endpoint.respond(now, exchangeId, this.slice(cached, wanted ?? { num: 0, more: false, szx: sizeToSzxFloor(size) }));
      return;
    }
    options = options.filter((o) => o.number !== OptionNumber.Block2);
    this.endpoint.respond(now, exchangeId, { ...res, options });
  }

  /** The current observers of a resource key (path + query), for notify(). */
  observersOf(path: string): Array<Observer<P>> {
    return [...this.observers.values()].filter((o) => o.key.endsWith(`|${path}`));
  }

  /** The observer registered with `token` by `peer`, if it still is. */
  observer(peer: P, token: Uint8Array): Observer<P> | undefined {
    return this.observers.get(`${this.peerId(peer)}|${toHex(token)}`);
  }

  /** Sends a notification to one observer (the representation the application produced for it). */
  notify(now: number, o: Observer<P>, res: OutgoingResponse, forceConfirmable = false): void {
    o.seq = (o.seq + 1) % OBSERVE_MODULO;
    const con = forceConfirmable || res.confirmable === true || now - o.lastCon >= CON_NOTIFICATION_INTERVAL_MS;
    if (con) o.lastCon = now;
    const options = [...(res.options ?? []), { number: OptionNumber.Observe, value: encodeUint(o.seq) }];
    if (res.code >= 0x80) this.observers.delete(`${this.peerId(o.peer)}|${toHex(o.token)}`); // an error ends the observation
    const payload = res.payload ?? new Uint8Array(0);
    if (payload.length > this.opts.blockSize) {
      // RFC 7959 §2.6: the first block only; the client fetches the rest with GETs
      this.bodies.set(o.key, { expires: now + this.opts.blockCacheMs, code: res.code, options, payload });
      const first = this.slice({ expires: 0, code: res.code, options, payload }, { num: 0, szx: sizeToSzxFloor(this.opts.blockSize) });
      this.endpoint.notify(now, o.peer, o.token, { ...first, confirmable: con });
      return;
    }
    this.endpoint.notify(now, o.peer, o.token, { code: res.code, options, payload, confirmable: con });
  }

  /** RST to a notification, or the peer went away: forget its observations. */
  forget(peer: P, token?: Uint8Array): void {
    for (const [k, o] of this.observers) if (o.peer === peer && (!token || toHex(o.token) === toHex(token))) this.observers.delete(k);
    if (!token) {
      const prefix = `${this.peerId(peer)}|`;
      for (const k of this.uploads.keys()) if (k.startsWith(prefix)) this.uploads.delete(k);
      for (const k of this.bodies.keys()) if (k.startsWith(prefix)) this.bodies.delete(k);
    }
  }

  /** Drops expired block state. */
  sweep(now: number): void {
    for (const [k, u] of this.uploads) if (u.expires <= now) this.uploads.delete(k);
    for (const [k, b] of this.bodies) if (b.expires <= now) this.bodies.delete(k);
  }

  get observerCount(): number {
    return this.observers.size;
  }

  private slice(c: CachedBody, want: { num: number; szx: number }): OutgoingResponse {
    const szx = Math.min(want.szx, sizeToSzxFloor(this.opts.blockSize));
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

  private tooLarge(now: number, x: ServerExchange<P>): undefined {
    this.uploads.delete(`${this.peerId(x.peer)}|${resourceKey(x.request)}`);
    this.endpoint.respond(now, x.id, { code: Code.RequestEntityTooLarge, options: [{ number: OptionNumber.Size1, value: encodeUint(this.opts.maxBodySize) }] });
    return undefined;
  }
}

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



/**
 * Serving requests on a CoAP endpoint for the Node drivers (transports/coap-node.ts): the
 * server core's block-wise assembly and observe, the application's handler run with its
 * errors turned into 5.00, and the response object handlers answer with.
 */
import { performance } from 'node:perf_hooks';
import type { CoapEndpoint, OutgoingResponse, ServerExchange } from '../lib/coap/endpoint.js';
import { CoapServerCore, type AssembledRequest, type ServerCoreOptions } from '../lib/coap/server-core.js';
import { Code, encodeUint, OptionNumber, type CoapMessage, type CoapOption } from '../lib/coap/message.js';
import type { IncomingRequest } from '../lib/coap/api-types.js';

const enc = new TextEncoder();
const now = () => performance.now();

/** What RequestServing needs from its driver. */
export interface ServingHost {
  /** Runs f, then delivers the endpoint's events and sends its datagrams (re-entrant). */
  pump(f: () => void): void;
  /**
   * Set by a driver whose pump is running, so that an answer given inside a handler needs no
   * pump of its own: the reply goes into the endpoint and its datagrams are sent at once
   * (sendQueued), and the running pump delivers the events and re-arms the timer afterwards.
   */
  readonly pumping: boolean;
  sendQueued(): void;
}

/**
 * Serving requests (both roles use it: a CoAP server, and a CoAP client whose peer sends it
 * requests, as an LwM2M server does): block-wise assembly and observe through the server core,
 * the handler run with errors turned into 5.00.
 */
export class RequestServing<P> {
  readonly core: CoapServerCore<P>;
  constructor(
    endpoint: CoapEndpoint<P>,
    peerId: (p: P) => string,
    private readonly describe: (p: P, m: CoapMessage, payload: Uint8Array) => IncomingRequest,
    private readonly handler: () => Handler | undefined,
    private readonly onError: (e: unknown) => void,
    private readonly host: ServingHost,
    opts: Partial<ServerCoreOptions>,
  ) {
    this.core = new CoapServerCore<P>(endpoint, peerId, opts);
  }

  /** The earlier of the endpoint's and the core's deadlines (the driver arms one timer). */
  pollTimeout(): number | undefined {
    const a = this.core.endpoint.pollTimeout();
    const b = this.core.pollTimeout();
    return a === undefined ? b : b === undefined ? a : Math.min(a, b);
  }

  /** The timer fired: the endpoint's retransmissions and deadlines, the core's sweep. */
  handleTimeout(t: number): void {
    this.core.endpoint.handleTimeout(t);
    this.core.handleTimeout(t);
  }

  /** Takes the endpoint's request and reset events. */
  event(e: { type: 'request'; exchange: ServerExchange<P> } | { type: 'reset'; peer: P; token: Uint8Array }): void {
    if (e.type === 'reset') {
      this.core.forget(e.peer, e.token);
      return;
    }
    const x = e.exchange;
    const assembled: AssembledRequest<P> | undefined = this.core.accept(now(), x);
    if (!assembled) return;
    const req = this.describe(x.peer, assembled.message, assembled.payload);
    this.run(req, new ExchangeResponse(this, x.id, assembled));
  }

  /** @internal ExchangeResponse.end: the handler's answer to one exchange. */
  reply(exchangeId: number, assembled: AssembledRequest<P>, r: OutgoingResponse, observable: boolean): void {
    const host = this.host;
    if (host.pumping) {
      this.answer(exchangeId, assembled, r, observable);
      host.sendQueued();
      return;
    }
    host.pump(() => this.answer(exchangeId, assembled, r, observable));
  }

  /**
   * core.reply, where an answer that cannot go (an option the codec refuses) costs only its
   * request: a 5.00 (the endpoint sends it when encoding fails; here when the core failed
   * before), and the error goes to onError, never up into the handler's code or a timer.
   */
  private answer(exchangeId: number, assembled: AssembledRequest<P>, r: OutgoingResponse, observable: boolean): void {
    try {
      this.core.reply(now(), exchangeId, assembled, r, observable);
    } catch (e) {
      this.onError(e);
      this.core.endpoint.respond(now(), exchangeId, { code: Code.InternalServerError });
    }
  }

  /** core.notify with the same guard: a notification that cannot be encoded is dropped and reported. */
  private notifyOne(obs: Parameters<CoapServerCore<P>['notify']>[1], r: OutgoingResponse, confirmable: boolean | undefined): void {
    try {
      this.core.notify(now(), obs, r, confirmable);
    } catch (e) {
      this.onError(e);
    }
  }

  /** Re-runs the handler for every observer of `path` and sends the results as notifications. */
  notify(path: string, o: { confirmable?: boolean } = {}): number {
    const observers = this.core.observersOf(path);
    for (const obs of observers) {
      const req = this.describe(obs.peer, obs.request, obs.request.payload);
      const res = new ServerResponse((r) => this.host.pump(() => this.notifyOne(obs, r, o.confirmable)));
      this.run(req, res);
    }
    return observers.length;
  }

  private run(req: IncomingRequest, res: ServerResponse): void {
    const h = this.handler();
    try {
      if (!h) return res.end(undefined, Code.NotFound);
      const r = h(req, res);
      if (r instanceof Promise) r.catch((e: unknown) => this.fail(e, res));
    } catch (e) {
      this.fail(e, res);
    }
  }

  private fail(e: unknown, res: ServerResponse): void {
    this.onError(e);
    if (!res.finished) res.end('internal error', Code.InternalServerError);
  }
}

// ============================================================================ server ===

/** A uint option value (RFC 7252 §3.2), as encodeUint, without its intermediate array for one byte. */
function uintValue(v: number): Uint8Array {
  if (v >= 0 && v < 256 && Number.isInteger(v)) {
    const b = new Uint8Array(v === 0 ? 0 : 1);
    if (v !== 0) b[0] = v;
    return b;
  }
  return encodeUint(v);
}

/** UTF-8 bytes of a string, as TextEncoder.encode, with a fast path for short ASCII text. */
function utf8Bytes(s: string): Uint8Array {
  const n = s.length;
  if (n > 64) return enc.encode(s);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return enc.encode(s);
    b[i] = c;
  }
  return b;
}

/** What a handler uses to answer. */
export class ServerResponse {
  code: number = Code.Content;
  readonly options: CoapOption[] = [];
  private observable = false;
  private ended = false;

  constructor(private readonly finish?: (r: OutgoingResponse, observable: boolean) => void) {}

  status(code: number): this {
    this.code = code;
    return this;
  }
  setOption(number: number, value: Uint8Array | number | string): this {
    this.options.push({ number, value: typeof value === 'number' ? uintValue(value) : typeof value === 'string' ? enc.encode(value) : value });
    return this;
  }
  contentFormat(cf: number): this {
    return this.setOption(OptionNumber.ContentFormat, cf);
  }
  /** Accept an observe registration for this resource (RFC 7641). */
  observe(yes = true): this {
    this.observable = yes;
    return this;
  }
  get finished(): boolean {
    return this.ended;
  }
  end(payload?: string | Uint8Array, code?: number): void {
    if (this.ended) return;
    this.ended = true;
    if (code !== undefined) this.code = code;
    this.deliver({ code: this.code, options: this.options, payload: typeof payload === 'string' ? utf8Bytes(payload) : (payload ?? new Uint8Array(0)) }, this.observable);
  }

  /** @internal Where the answer goes: the callback given to the constructor. */
  protected deliver(r: OutgoingResponse, observable: boolean): void {
    this.finish?.(r, observable);
  }
}

/** The response to one server exchange: answers through RequestServing, with no closure per request. */
class ExchangeResponse<P> extends ServerResponse {
  constructor(
    private readonly serving: RequestServing<P>,
    private readonly exchangeId: number,
    private readonly assembled: AssembledRequest<P>,
  ) {
    super();
  }
  protected override deliver(r: OutgoingResponse, observable: boolean): void {
    this.serving.reply(this.exchangeId, this.assembled, r, observable);
  }
}

export type Handler = (req: IncomingRequest, res: ServerResponse) => void | Promise<void>;

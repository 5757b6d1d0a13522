import { describeRequest } from '../coap/api-types.js';
import { BlockwiseTransfer, type BlockwiseStep } from '../coap/blockwise.js';
import { CoapEndpoint, type OutgoingRequest, type ServerExchange } from '../coap/endpoint.js';
import { CoapError } from '../coap/errors.js';
import { Code, decodeUint, getOption, OptionNumber, type CoapMessage } from '../coap/message.js';
import { NotificationOrder } from '../coap/observe.js';
import { CoapServerCore } from '../coap/server-core.js';
import { DEFAULT_SERVER_LIMITS } from '../coap/limits.js';
import { answerOptions, isKept, withObserve, type AgentEvent, type AgentRequestOptions, type CoapAgentOptions, type CoapAnswer } from './coap-agent-types.js';

export * from './coap-agent-types.js';

interface Transfer<P> {
  id: number;
  peer: P;
  request: OutgoingRequest;
  /** The block sequence running (the request itself, or a Block2 follow-up of a notification). */
  blocks: BlockwiseTransfer | undefined;
  /** Endpoint id of the block step in flight. */
  step: number | undefined;
  /** A single exchange (AgentRequestOptions.raw). */
  raw: boolean;
  deadline: number | undefined;
  /** Observation: the endpoint exchange whose token stays open. */
  observe: { exchange: number; order: NotificationOrder; delivered: boolean } | undefined;
}

/**
 * The CoAP side of an LwM2M role (sans-IO): one CoapEndpoint and CoapServerCore over opaque
 * peers. Outgoing requests are block-wise transfers (Block1 uploads, Block2 downloads, also
 * of notifications) identified by an id, with an optional deadline; their results are
 * events. Incoming requests are assembled (Block1), answered by the synchronous handler
 * (Block2 for large answers) and may register observers, notified by notify().
 */
export class CoapAgent<P> {
  readonly endpoint: CoapEndpoint<P>;
  readonly server: CoapServerCore<P>;
  private readonly transfers = new Map<number, Transfer<P>>();
  /** Endpoint request id -> the transfer it belongs to. */
  private readonly byExchange = new Map<number, Transfer<P>>();
  private readonly events: AgentEvent[] = [];
  private nextId = 1;
  private readonly blockSize: number;
  private readonly maxBodySize: number;

  constructor(private readonly opts: CoapAgentOptions<P>) {
    this.endpoint = new CoapEndpoint<P>(opts.transmission ?? {}, opts.random);
    this.blockSize = opts.blockSize ?? 1024;
    this.maxBodySize = opts.maxBodySize ?? 1024 * 1024;
    // a device is observed by its few servers, each of which may observe many resources: the
    // per-peer observation cap is the overall one here
    this.server = new CoapServerCore<P>(this.endpoint, opts.peerId, { blockSize: this.blockSize, maxBodySize: this.maxBodySize, limits: { maxObserversPerPeer: DEFAULT_SERVER_LIMITS.maxObservers } });
  }

  // === client ============================================================================

  /** Starts a request (block-wise as needed); its outcome arrives as events with this id. */
  request(now: number, peer: P, r: OutgoingRequest, o: AgentRequestOptions = {}): number {
    const id = this.nextId++;
    const request: OutgoingRequest = o.observe ? { ...r, observe: true, options: withObserve(r.options) } : r;
    const blocks = o.raw ? undefined : new BlockwiseTransfer(request, { blockSize: this.blockSize, maxBodySize: this.maxBodySize });
    const t: Transfer<P> = { id, peer, request, blocks, step: undefined, raw: !!o.raw, deadline: o.timeoutMs ? now + o.timeoutMs : undefined, observe: undefined };
    this.transfers.set(id, t);
    const first = blocks ? blocks.start() : request;
    const exchange = this.send(now, t, first);
    if (o.observe) t.observe = { exchange, order: new NotificationOrder(), delivered: false };
    return id;
  }

  /** Forgets a request or an observation (no event follows; a later notification gets RST). */
  cancel(now: number, id: number): void {
    const t = this.transfers.get(id);
    if (t) this.end(now, t);
  }

  /** Whether a request or observation is still open. */
  isOpen(id: number): boolean {
    return this.transfers.has(id);
  }

  /** Whether a request (not an observation) to `peer` waits for its answer. */
  busy(peer: P): boolean {
    for (const t of this.transfers.values()) if (t.peer === peer && !t.observe) return true;
    return false;
  }

  // === server ============================================================================

  /** Re-runs the handler for every observer of `path` and sends the answers as notifications. */
  notify(now: number, path: string): number {
    const observers = this.server.observersOf(path);
    for (const o of observers) {
      const a = this.answer(now, o.peer, o.request, o.request.payload);
      this.server.notify(now, o, { code: a.code, options: answerOptions(a), payload: a.payload ?? new Uint8Array(0) });
    }
    return observers.length;
  }

  /**
   * Re-runs the handler for the observation `token` of `peer` and sends the answer as a
   * notification. Returns the answer, or undefined when there is no such observation any more
   * (the peer cancelled it, sent RST, or went away).
   */
  notifyToken(now: number, peer: P, token: Uint8Array): CoapAnswer | undefined {
    const o = this.server.observer(peer, token);
    if (!o) return undefined;
    const a = this.answer(now, o.peer, o.request, o.request.payload);
    this.server.notify(now, o, { code: a.code, options: answerOptions(a), payload: a.payload ?? new Uint8Array(0) });
    return a;
  }

  // === driver interface ==================================================================

  handleDatagram(now: number, peer: P, data: Uint8Array): void {
    this.endpoint.handleDatagram(now, peer, data);
    this.drain(now);
  }

  handleTimeout(now: number): void {
    this.endpoint.handleTimeout(now);
    this.drain(now);
    let expired: Array<Transfer<P>> | undefined;
    for (const t of this.transfers.values()) if (t.deadline !== undefined && t.deadline <= now) (expired ??= []).push(t);
    for (const t of expired ?? []) {
      this.end(now, t);
      this.events.push({ type: 'error', id: t.id, error: new CoapError('TIMEOUT', 'no response in time') });
    }
    this.server.sweep(now);
  }

  /** The transport to this peer is gone: its exchanges fail (CLOSED), its observers are forgotten. */
  dropPeer(now: number, peer: P): void {
    this.server.forget(peer);
    this.endpoint.dropPeer(peer);
    this.drain(now);
  }

  pollTransmit(): { peer: P; data: Uint8Array } | undefined {
    return this.endpoint.pollTransmit();
  }

  pollTimeout(): number | undefined {
    let t = this.endpoint.pollTimeout();
    const sweep = this.server.pollTimeout(); // block-wise state to expire
    if (sweep !== undefined && (t === undefined || sweep < t)) t = sweep;
    for (const x of this.transfers.values()) if (x.deadline !== undefined && (t === undefined || x.deadline < t)) t = x.deadline;
    return t;
  }

  pollEvent(): AgentEvent | undefined {
    return this.events.shift();
  }

  // ------------------------------------------------------------------------------------

  private send(now: number, t: Transfer<P>, r: OutgoingRequest): number {
    const x = this.endpoint.request(now, t.peer, r);
    this.byExchange.set(x, t);
    t.step = x;
    return x;
  }

  private end(now: number, t: Transfer<P>): void {
    this.transfers.delete(t.id);
    for (const x of [t.step, t.observe?.exchange]) {
      if (x === undefined) continue;
      this.byExchange.delete(x);
      this.endpoint.cancel(now, x);
    }
    t.step = undefined;
  }

  private drain(now: number): void {
    const ep = this.endpoint;
    for (let e = ep.pollEvent(); e; e = ep.pollEvent()) {
      switch (e.type) {
        case 'request':
          this.serve(now, e.exchange);
          break;
        case 'reset':
          this.server.forget(e.peer, e.token);
          break;
        case 'response': {
          const t = this.byExchange.get(e.requestId);
          if (t) this.response(now, t, e.requestId, e.response);
          break;
        }
        case 'error': {
          const t = this.byExchange.get(e.requestId);
          this.byExchange.delete(e.requestId);
          if (!t || !this.transfers.has(t.id)) break;
          if (t.step === e.requestId) t.step = undefined;
          this.end(now, t);
          this.events.push({ type: 'error', id: t.id, error: e.error });
          break;
        }
      }
    }
  }

  private serve(now: number, x: ServerExchange<P>): void {
    const assembled = this.server.accept(now, x);
    if (!assembled) return;
    const a = this.answer(now, x.peer, assembled.message, assembled.payload);
    this.server.reply(now, x.id, assembled, { code: a.code, options: answerOptions(a), payload: a.payload ?? new Uint8Array(0) }, a.observe ?? false);
  }

  /** The handler's answer; an unexpected error is a 5.00 (bad input never throws out of the agent). */
  private answer(now: number, peer: P, m: CoapMessage, payload: Uint8Array): CoapAnswer {
    const info = this.opts.describe(peer);
    try {
      return this.opts.handler(now, peer, describeRequest(m, payload, info.address, info.identity, peer));
    } catch {
      return { code: Code.InternalServerError };
    }
  }

  private response(now: number, t: Transfer<P>, exchange: number, m: CoapMessage): void {
    const obs = t.observe;
    const isStep = t.step === exchange;
    if (isStep) {
      t.step = undefined;
      if (exchange !== obs?.exchange) this.byExchange.delete(exchange);
    }
    if (obs && exchange === obs.exchange && (!isStep || obs.delivered)) {
      // a notification on the observation's token
      if (getOption(m, OptionNumber.Observe) === undefined) {
        // a final response without Observe: the server ended the observation
        this.byExchange.delete(exchange);
        obs.exchange = -1;
      } else if (!obs.order.accept(decodeUint(getOption(m, OptionNumber.Observe)!), now)) return;
      if (t.step !== undefined) {
        // a newer notification supersedes the one whose blocks are being fetched
        this.byExchange.delete(t.step);
        this.endpoint.cancel(now, t.step);
        t.step = undefined;
      }
      const { transfer, step } = this.guard(now, t, () => BlockwiseTransfer.remainder(t.request, m, { blockSize: this.blockSize, maxBodySize: this.maxBodySize }));
      if (!transfer) return;
      t.blocks = transfer;
      this.advance(now, t, step!);
      return;
    }
    if (isStep && t.raw) {
      this.end(now, t);
      this.events.push({ type: 'response', id: t.id, response: m });
      return;
    }
    if (!isStep || !t.blocks) return;
    const blocks = t.blocks;
    const { step } = this.guard(now, t, () => ({ transfer: blocks, step: blocks.next(m) }));
    if (step) this.advance(now, t, step);
  }

  /** Runs a block-wise step; a BLOCKWISE error fails the transfer. */
  private guard(now: number, t: Transfer<P>, f: () => { transfer: BlockwiseTransfer; step: BlockwiseStep }): { transfer?: BlockwiseTransfer; step?: BlockwiseStep } {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof CoapError)) throw e;
      this.end(now, t);
      this.events.push({ type: 'error', id: t.id, error: e });
      return {};
    }
  }

  private advance(now: number, t: Transfer<P>, step: BlockwiseStep): void {
    if (step.request) {
      this.send(now, t, step.request);
      return;
    }
    t.blocks = undefined;
    const obs = t.observe;
    const response = step.response;
    if (obs && obs.delivered) {
      this.events.push({ type: 'notification', id: t.id, response });
      if (obs.exchange === -1) this.end(now, t);
      return;
    }
    t.deadline = undefined;
    if (obs && getOption(response, OptionNumber.Observe) !== undefined && obs.exchange !== -1 && isKept(response)) {
      obs.delivered = true;
      obs.order.accept(decodeUint(getOption(response, OptionNumber.Observe)!), now);
    } else this.end(now, t);
    this.events.push({ type: 'response', id: t.id, response });
  }
}


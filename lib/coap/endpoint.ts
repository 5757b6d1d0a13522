import { utf8 } from '../bytes/util.js';
import { AddressCheck, type AddressCheckOptions } from './address-check.js';
import { CoapClientEndpoint, EMPTY, emptyMessage, mapOf, sortOptions, type ClientEndpointOptions } from './client-endpoint.js';
import { encodedSize } from './codec.js';
import type { TransmissionParameters } from './config.js';
import { MessageLayer } from './message-layer.js';
import { resolveLimits, serviceUnavailable, type ServerLimits } from './limits.js';
import { Code, MessageType, OptionNumber, type CoapMessage, type CoapOption } from './message.js';
import { checkOptions } from './option-checks.js';
import { PendingServers, type PendingServer } from './server-exchanges.js';

export { sortOptions, type CoapEvent, type OutgoingRequest, type ServerExchange } from './client-endpoint.js';

/** What a server handler answers. */
export interface OutgoingResponse {
  code: number;
  options?: CoapOption[];
  payload?: Uint8Array;
  /** For notifications: CON or NON (default: NON; piggybacked when possible). */
  confirmable?: boolean;
}

/** How an endpoint lives with its transport and its peers (everything optional). */
export interface EndpointOptions<P> extends ClientEndpointOptions<P> {
  /**
   * Caps (DEFAULT_SERVER_LIMITS): the endpoint uses maxPendingRequests(PerPeer) (a request
   * beyond them gets 5.03 with Max-Age and no 'request' event), maxQueuedPerPeer (a CON beyond
   * it fails at once) and retryAfterSeconds.
   */
  limits?: Partial<ServerLimits>;
  /**
   * Plain UDP servers: amplification protection (RFC 7252 §11.3, RFC 9175 §2.4): answers to
   * an address not verified with the Echo option are at most `factor` (3) times the request;
   * a larger one becomes a 4.01 with Echo (see AddressCheck). `peerKey` names a peer for the
   * Echo MAC (default String(peer)). Off by default (a DTLS session is verified already).
   */
  addressCheck?: Partial<AddressCheckOptions> & { peerKey?: (p: P) => string };
  /** Requests with Proxy-Uri / Proxy-Scheme reach the application (it proxies); else they get 5.05 (RFC 7252 §5.7.2). */
  proxy?: boolean;
}

/**
 * The CoAP request/response layer (RFC 7252 §5) over the message layer: the client exchanges
 * of CoapClientEndpoint (client-endpoint.ts) and server exchanges (piggybacked responses when
 * the handler is quick, an empty ACK and a separate response when it is slow), 4.02 for unknown
 * critical options (§5.4.1), notifications, limits on pending requests, and amplification
 * protection for plain UDP. Sans-IO, generic over the transport's peer handle P (a UDP address,
 * or a DTLS session so that responses are matched only within the session of their request).
 */
export class CoapEndpoint<P> extends CoapClientEndpoint<P> {
  /** Requests the application has not answered. */
  private readonly servers = new PendingServers<P>();
  private readonly limits: ServerLimits;
  /** Tokens of recent NON notifications and separate responses, by message ID (for an RST to them). */
  private readonly notifications = new Map<P, Map<number, Uint8Array>>();
  /** Tokens of CON notifications and separate responses until their ACK, RST or failure. */
  private readonly conSent = new Map<P, Map<number, Uint8Array>>();
  /** Amplification protection (plain UDP servers). */
  private readonly check: AddressCheck<P> | undefined;

  declare readonly messages: MessageLayer<P>;
  readonly stats = { oversized: 0, noMessageId: 0, refusedBusy: 0, expiredUnanswered: 0, challenged: 0, unanswerable: 0 };

  constructor(params: Partial<TransmissionParameters> = {}, random?: (n: number) => Uint8Array, private readonly options: EndpointOptions<P> = {}) {
    const limits = resolveLimits(options.limits);
    super(params, random, options, limits.maxQueuedPerPeer);
    this.limits = limits;
    if (options.addressCheck) {
      const { peerKey, ...o } = options.addressCheck;
      this.check = new AddressCheck<P>(peerKey ?? String, o);
    }
  }

  /** A server's message layer: deduplication built for many peers and requests. */
  protected override newMessageLayer(params: TransmissionParameters, random: () => number, caps: { maxQueuedPerPeer: number }): MessageLayer<P> {
    return new MessageLayer(params, random, caps);
  }

  /** Requests handed to the application and not answered yet. */
  get pendingRequests(): number {
    return this.servers.size;
  }

  // === server ============================================================================
  /** Answers a request (piggybacked when its CON is not yet acknowledged). */
  respond(now: number, exchangeId: number, r: OutgoingResponse): void {
    const x = this.servers.get(exchangeId);
    if (!x || x.done) return;
    this.servers.settle(x);
    const req = x.request;
    let code = r.code;
    let options = inOrder(r.options ?? []);
    let payload = r.payload ?? EMPTY;
    const limit = this.maxMessageSize(x.peer);
    if (limit !== Infinity && encodedSize(req.token.length, options, payload.length) > limit) {
      // the server core sizes its blocks to the limit; whatever still does not fit is a 5.00
      this.stats.oversized++;
      code = Code.InternalServerError;
      options = [];
      payload = EMPTY;
    }
    let confirmable = r.confirmable ?? req.type === MessageType.CON;
    if (this.check && !this.check.isVerified(now, x.peer)) {
      const a = this.bounded(now, x.peer, x.size, req.token.length, code, options, payload);
      if (!a) return;
      [code, options, payload] = a;
      confirmable = false; // no retransmissions to an address that may be forged
    }
    try {
      this.answerRequest(now, x, code, options, payload, confirmable);
    } catch (e) {
      // a response the codec refuses (an option number past 65535, ...): the request gets a
      // 5.00, and the caller learns why
      this.answerRequest(now, x, Code.InternalServerError, [], EMPTY, confirmable);
      throw e;
    }
  }

  /**
   * A request from an address not verified yet may be answered with at most `factor` times its
   * size (RFC 7252 §11.3, RFC 9175 §2.4): the answer as it is, or an error without its
   * diagnostic payload, or a 4.01 Unauthorized with Echo (the client repeats the request with
   * it and is verified); undefined when not even that fits (nothing is sent).
   */
  private bounded(now: number, peer: P, requestSize: number, tokenLength: number, code: number, options: CoapOption[], payload: Uint8Array): [number, CoapOption[], Uint8Array] | undefined {
    const bound = this.check!.factor * requestSize;
    if (encodedSize(tokenLength, options, payload.length) <= bound) return [code, options, payload];
    if (code >= 0x80 && payload.length > 0 && encodedSize(tokenLength, options, 0) <= bound) return [code, options, EMPTY];
    const echo = [{ number: OptionNumber.Echo, value: this.check!.echo(now, peer) }];
    if (encodedSize(tokenLength, echo, 0) <= bound) {
      this.stats.challenged++;
      return [Code.Unauthorized, echo, EMPTY];
    }
    this.stats.unanswerable++;
    return undefined;
  }

  /** Whether a peer's address is verified (always, without amplification protection). */
  isVerified(now: number, peer: P): boolean {
    return !this.check || this.check.isVerified(now, peer);
  }

  /** Answers a request with 4.01 Unauthorized and an Echo value (RFC 9175 §2.4): the client repeats it with the value to verify its address. */
  challenge(now: number, exchangeId: number): void {
    const x = this.servers.get(exchangeId);
    if (!x || x.done || !this.check) return;
    this.respond(now, exchangeId, { code: Code.Unauthorized, options: [{ number: OptionNumber.Echo, value: this.check.echo(now, x.peer) }] });
  }

  /** Piggybacked on the ACK while the CON is unanswered, else a separate response. */
  private answerRequest(now: number, x: PendingServer<P>, code: number, options: CoapOption[], payload: Uint8Array, confirmable: boolean): void {
    const req = x.request;
    if (req.type === MessageType.CON && !this.messages.answered(x.peer, req.messageId)) {
      this.messages.answer(now, x.peer, { type: MessageType.ACK, code, messageId: req.messageId, token: req.token, options, payload });
      return;
    }
    this.sendSeparate(now, x.peer, { code, token: req.token, options, payload }, confirmable);
  }

  /**
   * Sends a notification (RFC 7641) or any response outside an exchange, on a token. Returns
   * false when it could not go: larger than the transport carries, or no message ID free.
   */
  notify(now: number, peer: P, token: Uint8Array, r: OutgoingResponse): boolean {
    const options = inOrder(r.options ?? []);
    const payload = r.payload ?? EMPTY;
    const limit = this.maxMessageSize(peer);
    if (limit !== Infinity && encodedSize(token.length, options, payload.length) > limit) {
      this.stats.oversized++;
      return false;
    }
    return this.sendSeparate(now, peer, { code: r.code, token, options, payload }, r.confirmable ?? false);
  }

  private sendSeparate(now: number, peer: P, base: Omit<CoapMessage, 'type' | 'messageId'>, confirmable: boolean): boolean {
    const messageId = this.messages.allocateMessageId(now, peer, confirmable);
    if (messageId === undefined) {
      this.stats.noMessageId++;
      return false;
    }
    if (confirmable) mapOf(this.conSent, peer).set(messageId, base.token);
    else {
      const sent = mapOf(this.notifications, peer);
      sent.set(messageId, base.token);
      if (sent.size > 64) sent.delete(sent.keys().next().value!);
    }
    this.messages.send(now, peer, { type: confirmable ? MessageType.CON : MessageType.NON, code: base.code, messageId, token: base.token, options: base.options, payload: base.payload }, true);
    if (confirmable) this.drainMessages(now); // a CON refused by a full queue fails at once
    return true;
  }

  // === driver interface ==================================================================

  override handleTimeout(now: number): void {
    this.check?.sweep(now);
    super.handleTimeout(now);
    // requests never answered: forgotten once the client has given up (the first is the oldest)
    for (let x = this.servers.oldest(); x && x.expires <= now; x = this.servers.oldest()) {
      this.stats.expiredUnanswered++;
      this.servers.settle(x);
    }
    for (let x = this.servers.dueAck(now); x; x = this.servers.dueAck(now)) {
      x.deadline = undefined;
      // RFC 7252 §5.2.2: a slow handler: acknowledge now, respond separately later.
      if (!x.done && !this.messages.answered(x.peer, x.request.messageId)) {
        this.messages.answer(now, x.peer, emptyMessage(MessageType.ACK, x.request.messageId));
      }
    }
  }

  /** The transport to this peer closed: its exchanges fail. */
  override dropPeer(peer: P): void {
    this.servers.dropPeer(peer);
    this.notifications.delete(peer);
    this.conSent.delete(peer);
    this.check?.forget(peer);
    super.dropPeer(peer);
  }

  override pollTimeout(): number | undefined {
    let t = super.pollTimeout();
    const s = this.servers.nextAckDeadline();
    if (s !== undefined && (t === undefined || s < t)) t = s;
    const e = this.servers.oldest()?.expires;
    if (e !== undefined && (t === undefined || e < t)) t = e;
    return t;
  }

  // ------------------------------------------------------------------------------------

  /** An ACK, RST or failure of a CON or NON we sent outside an exchange (a notification, a separate response). */
  protected override unmatched(peer: P, messageId: number, how: 'acked' | 'reset' | 'failed'): void {
    const token = this.forgetConSent(peer, messageId) ?? (how === 'reset' ? this.notifications.get(peer)?.get(messageId) : undefined);
    // RST (RFC 7641 §3.6), or a CON notification nobody acknowledged (§4.5): the observation ends
    if (token && how !== 'acked') this.events.push({ type: 'reset', peer, token });
  }

  /** The token of a CON we sent outside an exchange, forgotten (its ACK, RST or failure came). */
  private forgetConSent(peer: P, messageId: number): Uint8Array | undefined {
    const sent = this.conSent.get(peer);
    const token = sent?.get(messageId);
    if (token === undefined) return undefined;
    sent!.delete(messageId);
    if (sent!.size === 0) this.conSent.delete(peer);
    return token;
  }

  protected override serve(now: number, peer: P, m: CoapMessage, size: number): void {
    // RFC 7252 §5.4.1/§5.4.3: 4.02 for an unknown critical option or one of a bad length; §5.7.2: 5.05 for a proxy request
    const verdict = checkOptions(m.options, true, this.options.proxy);
    if (verdict.reject) {
      this.answerNow(now, peer, m, size, verdict.reject.code, [], utf8(verdict.reject.diagnostic));
      return;
    }
    if (verdict.options !== m.options) m = { ...m, options: verdict.options };
    if (this.check) {
      // RFC 9175 §2.4: a request that repeats our Echo value verifies its address
      const echo = m.options.find((o) => o.number === OptionNumber.Echo);
      if (echo) this.check.accept(now, peer, echo.value);
    }
    if (this.servers.countOf(peer) >= this.limits.maxPendingRequestsPerPeer || this.servers.size >= this.limits.maxPendingRequests) {
      // a cap on requests waiting for the application: try again later (RFC 7252 §5.9.3.4)
      this.stats.refusedBusy++;
      const busy = serviceUnavailable(this.limits.retryAfterSeconds);
      this.answerNow(now, peer, m, size, busy.code, busy.options!, EMPTY);
      return;
    }
    const x: PendingServer<P> = { id: this.servers.newId(), peer, request: m, size, deadline: undefined, done: false, expires: now + this.params.maxTransmitWaitMs };
    if (m.type === MessageType.CON) x.deadline = now + this.params.emptyAckDelayMs;
    this.servers.add(x);
    this.events.push({ type: 'request', exchange: x });
  }

  /**
   * The endpoint's own answer to a request (4.02, 5.03, ...): piggybacked on the ACK of a CON,
   * a NON to a NON; bounded for an unverified address like every answer.
   */
  private answerNow(now: number, peer: P, m: CoapMessage, size: number, code: number, options: CoapOption[], payload: Uint8Array): void {
    if (this.check && !this.check.isVerified(now, peer)) {
      const a = this.bounded(now, peer, size, m.token.length, code, options, payload);
      if (!a) return;
      [code, options, payload] = a;
    }
    if (m.type === MessageType.CON) this.messages.answer(now, peer, { type: MessageType.ACK, code, messageId: m.messageId, token: m.token, options, payload });
    else this.sendSeparate(now, peer, { code, token: m.token, options, payload }, false);
  }
}

/** sortOptions, but an array already in order is used as it is (the message is encoded at once, not kept). */
function inOrder(options: CoapOption[]): CoapOption[] {
  for (let i = 1; i < options.length; i++) if (options[i]!.number < options[i - 1]!.number) return sortOptions(options);
  return options;
}

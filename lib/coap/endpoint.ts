import { toHex, utf8 } from '../bytes/util.js';
import { TimerQueue } from '../timers/timer-queue.js';
import { AddressCheck, type AddressCheckOptions } from './address-check.js';
import { encodedSize } from './codec.js';
import { DEFAULT_TRANSMISSION, type TransmissionParameters } from './config.js';
import { CoapError } from './errors.js';
import { resolveLimits, serviceUnavailable, type ServerLimits } from './limits.js';
import { MessageLayer } from './message-layer.js';
import { Code, isRequestCode, isResponseCode, MessageType, OptionNumber, type CoapMessage, type CoapOption } from './message.js';
import { checkOptions } from './option-checks.js';
import { PendingServers, type PendingServer } from './server-exchanges.js';

/** What a client asks for (the endpoint assigns message ID and token). */
export interface OutgoingRequest {
  code: number;
  options: CoapOption[];
  payload?: Uint8Array;
  /** CON (default) or NON. */
  confirmable?: boolean;
  /** Keep the token open for more responses (RFC 7641 notifications) until cancel(). */
  observe?: boolean;
  /** Reuse this token (block-wise follow-ups keep theirs fresh by default). */
  token?: Uint8Array;
}

/** What a server handler answers. */
export interface OutgoingResponse {
  code: number;
  options?: CoapOption[];
  payload?: Uint8Array;
  /** For notifications: CON or NON (default: NON; piggybacked when possible). */
  confirmable?: boolean;
}

/** How an endpoint lives with its transport and its peers (everything optional). */
export interface EndpointOptions<P> {
  /**
   * The largest CoAP message the transport carries to this peer: a DTLS session's
   * maxRecordPayload (MTU, record_size_limit, max_fragment_length), for UDP a configured size
   * (RFC 7252 §4.6: 1152 when nothing is known). Default: no limit. A request that does not fit
   * fails with MESSAGE_TOO_LARGE; a response that does not fit becomes a 5.00.
   */
  maxMessageSize?: (peer: P) => number;
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

const EMPTY = new Uint8Array(0);

export interface ServerExchange<P> {
  readonly id: number;
  readonly peer: P;
  readonly request: CoapMessage;
  /** The request's datagram, bytes (what bounds answers to an unverified address). */
  readonly size: number;
}

export type CoapEvent<P> =
  | { type: 'request'; exchange: ServerExchange<P> }
  | { type: 'response'; peer: P; requestId: number; response: CoapMessage }
  | { type: 'error'; peer: P; requestId: number; error: CoapError }
  /**
   * An RST answered a notification we sent (RFC 7641 §3.6: the client cancels), or a CON
   * notification got no ACK after MAX_RETRANSMIT (§4.5: the client is gone): either way the
   * observation on this token ends.
   */
  | { type: 'reset'; peer: P; token: Uint8Array };

interface ClientExchange<P> {
  id: number;
  peer: P;
  token: Uint8Array;
  tokenKey: string;
  messageId: number;
  confirmable: boolean;
  observe: boolean;
  acked: boolean;
  deadline: number | undefined;
}

/**
 * The CoAP request/response layer (RFC 7252 §5) over the message layer: client exchanges
 * matched by token per peer (piggybacked, separate and NON responses, timeouts), server
 * exchanges (piggybacked responses when the handler is quick, an empty ACK and a separate
 * response when it is slow), 4.02 for unknown critical options (§5.4.1), RST for stray
 * responses. Sans-IO, generic over the transport's peer handle P (a UDP address, or a DTLS
 * session so that responses are matched only within the session of their request).
 */
export class CoapEndpoint<P> {
  readonly messages: MessageLayer<P>;
  private readonly params: TransmissionParameters;
  private nextId = 1;
  private readonly clients = new Map<number, ClientExchange<P>>();
  private readonly byToken = new Map<P, Map<string, ClientExchange<P>>>();
  private readonly byMid = new Map<P, Map<number, ClientExchange<P>>>();
  /** Requests the application has not answered. */
  private readonly servers = new PendingServers<P>();
  private readonly limits: ServerLimits;
  /** Tokens of recent NON notifications and separate responses, by message ID (for an RST to them). */
  private readonly notifications = new Map<P, Map<number, Uint8Array>>();
  /** Tokens of CON notifications and separate responses until their ACK, RST or failure. */
  private readonly conSent = new Map<P, Map<number, Uint8Array>>();
  /** Amplification protection (plain UDP servers). */
  private readonly check: AddressCheck<P> | undefined;
  private readonly clientTimers: TimerQueue<ClientExchange<P>>;
  private readonly events: Array<CoapEvent<P>> = [];

  readonly stats = { oversized: 0, noMessageId: 0, refusedBusy: 0, expiredUnanswered: 0, challenged: 0, unanswerable: 0 };

  constructor(
    params: Partial<TransmissionParameters> = {},
    private readonly random: (n: number) => Uint8Array = (n) => {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(Math.random() * 256);
      return b;
    },
    private readonly options: EndpointOptions<P> = {},
  ) {
    this.params = { ...DEFAULT_TRANSMISSION, ...params };
    this.limits = resolveLimits(options.limits);
    if (options.addressCheck) {
      const { peerKey, ...o } = options.addressCheck;
      this.check = new AddressCheck<P>(peerKey ?? String, o);
    }
    this.messages = new MessageLayer(this.params, () => this.random(4).reduce((a, b) => a * 256 + b, 0) / 2 ** 32, { maxQueuedPerPeer: this.limits.maxQueuedPerPeer });
    this.clientTimers = new TimerQueue((x) => (this.clients.get(x.id) === x ? x.deadline : undefined), () => this.clients.size);
  }

  // === client ============================================================================

  /** Starts a request; its outcome arrives as a 'response' or 'error' event with this id. */
  request(now: number, peer: P, r: OutgoingRequest): number {
    if (!isRequestCode(r.code)) throw new CoapError('INVALID_ARGUMENT', `code ${r.code} is not a request code`);
    const id = this.nextId++;
    const options = sortOptions(r.options);
    const payload = r.payload ?? EMPTY;
    const limit = this.maxMessageSize(peer);
    if (limit !== Infinity) {
      const size = encodedSize(r.token?.length ?? 4, options, payload.length);
      if (size > limit) return this.failEarly(id, peer, new CoapError('MESSAGE_TOO_LARGE', `a ${size}-byte request exceeds the ${limit}-byte limit of the transport`));
    }
    const confirmable = r.confirmable ?? true;
    const messageId = this.messages.allocateMessageId(now, peer, confirmable);
    if (messageId === undefined) return this.failEarly(id, peer, new CoapError('OVERLOADED', 'no message ID is free for this peer (RFC 7252 §4.4)'));
    const tokens = this.mapOf(this.byToken, peer);
    let token = r.token ?? this.random(4);
    while (!r.token && tokens.has(toHex(token))) token = this.random(4);
    const x: ClientExchange<P> = {
      id,
      peer,
      token,
      tokenKey: toHex(token),
      messageId,
      confirmable,
      observe: r.observe ?? false,
      acked: false,
      deadline: confirmable ? undefined : now + this.params.maxTransmitWaitMs,
    };
    tokens.get(x.tokenKey) && this.finishClient(tokens.get(x.tokenKey)!, undefined);
    tokens.set(x.tokenKey, x);
    this.mapOf(this.byMid, peer).set(messageId, x);
    this.clients.set(id, x);
    this.clientTimers.schedule(x, x.deadline);
    this.messages.send(now, peer, { type: confirmable ? MessageType.CON : MessageType.NON, code: r.code, messageId, token, options, payload });
    return id;
  }

  /** A request that never left: its 'error' event comes with the next poll. */
  private failEarly(id: number, peer: P, error: CoapError): number {
    this.events.push({ type: 'error', peer, requestId: id, error });
    return id;
  }

  /** Requests handed to the application and not answered yet. */
  get pendingRequests(): number {
    return this.servers.size;
  }

  /** The largest message the transport carries to this peer (EndpointOptions.maxMessageSize; Infinity without one). */
  maxMessageSize(peer: P): number {
    const f = this.options.maxMessageSize;
    return f ? f(peer) : Infinity;
  }

  /** Forgets a client exchange (an observation ended, a caller gave up). */
  cancel(now: number, requestId: number): void {
    const x = this.clients.get(requestId);
    if (!x) return;
    if (!x.acked && x.confirmable) this.messages.cancel(now, x.peer, x.messageId);
    this.finishClient(x, undefined);
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
    if (confirmable) this.mapOf(this.conSent, peer).set(messageId, base.token);
    else {
      const sent = this.mapOf(this.notifications, peer);
      sent.set(messageId, base.token);
      if (sent.size > 64) sent.delete(sent.keys().next().value!);
    }
    this.messages.send(now, peer, { type: confirmable ? MessageType.CON : MessageType.NON, code: base.code, messageId, token: base.token, options: base.options, payload: base.payload }, true);
    if (confirmable) this.drainMessages(now); // a CON refused by a full queue fails at once
    return true;
  }

  // === driver interface ==================================================================

  handleDatagram(now: number, peer: P, data: Uint8Array): void {
    this.messages.handleDatagram(now, peer, data);
    this.drainMessages(now);
  }

  handleTimeout(now: number): void {
    this.check?.sweep(now);
    this.messages.handleTimeout(now);
    this.drainMessages(now);
    for (const x of this.clientTimers.popDue(now)) {
      this.finishClient(x, new CoapError('TIMEOUT', `no response within ${this.params.maxTransmitWaitMs} ms`));
    }
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
  dropPeer(peer: P): void {
    this.messages.dropPeer(peer);
    for (const x of [...(this.byToken.get(peer)?.values() ?? [])]) this.finishClient(x, new CoapError('CLOSED', 'the transport closed'));
    this.servers.dropPeer(peer);
    this.byToken.delete(peer);
    this.byMid.delete(peer);
    this.notifications.delete(peer);
    this.conSent.delete(peer);
    this.check?.forget(peer);
    this.drainMessages(0);
  }

  pollTransmit(): { peer: P; data: Uint8Array } | undefined {
    return this.messages.pollTransmit();
  }
  pollEvent(): CoapEvent<P> | undefined {
    return this.events.shift();
  }
  pollTimeout(): number | undefined {
    let t = this.messages.pollTimeout();
    const c = this.clientTimers.peek();
    if (c !== undefined && (t === undefined || c < t)) t = c;
    const s = this.servers.nextAckDeadline();
    if (s !== undefined && (t === undefined || s < t)) t = s;
    const e = this.servers.oldest()?.expires;
    if (e !== undefined && (t === undefined || e < t)) t = e;
    return t;
  }

  // ------------------------------------------------------------------------------------

  private drainMessages(now: number): void {
    for (let e = this.messages.pollEvent(); e; e = this.messages.pollEvent()) {
      switch (e.type) {
        case 'message':
          this.incoming(now, e.peer, e.message, e.size);
          break;
        case 'acked': {
          const x = this.byMid.get(e.peer)?.get(e.messageId);
          if (!x) {
            this.forgetConSent(e.peer, e.messageId);
            break;
          }
          x.acked = true;
          if (e.ack.code !== Code.EMPTY) this.deliver(now, x, e.ack);
          else {
            // separate response to come (RFC 7252 §5.2.2)
            x.deadline = now + this.params.maxTransmitWaitMs;
            this.clientTimers.schedule(x, x.deadline);
          }
          break;
        }
        case 'reset': {
          const x = this.byMid.get(e.peer)?.get(e.messageId);
          if (x) this.finishClient(x, new CoapError('RESET', 'the peer answered with RST'));
          else {
            const token = this.forgetConSent(e.peer, e.messageId) ?? this.notifications.get(e.peer)?.get(e.messageId);
            if (token) this.events.push({ type: 'reset', peer: e.peer, token });
          }
          break;
        }
        case 'failed': {
          const x = this.byMid.get(e.peer)?.get(e.messageId);
          if (x) this.finishClient(x, new CoapError('TIMEOUT', `no acknowledgement after ${this.params.maxRetransmit} retransmissions`));
          else {
            // a CON notification nobody acknowledged (RFC 7641 §4.5): the observation ends
            const token = this.forgetConSent(e.peer, e.messageId);
            if (token) this.events.push({ type: 'reset', peer: e.peer, token });
          }
          break;
        }
      }
    }
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

  private incoming(now: number, peer: P, m: CoapMessage, size: number): void {
    if (m.code === Code.EMPTY) {
      // CoAP ping (empty CON) or an empty NON: RST (RFC 7252 §4.3)
      if (m.type === MessageType.CON) this.messages.answer(now, peer, emptyMessage(MessageType.RST, m.messageId));
      return;
    }
    if (isRequestCode(m.code)) {
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
      const x: PendingServer<P> = { id: this.nextId++, peer, request: m, size, deadline: undefined, done: false, expires: now + this.params.maxTransmitWaitMs };
      if (m.type === MessageType.CON) x.deadline = now + this.params.emptyAckDelayMs;
      this.servers.add(x);
      this.events.push({ type: 'request', exchange: x });
      return;
    }
    if (isResponseCode(m.code)) {
      const x = this.byToken.get(peer)?.get(toHex(m.token));
      const verdict = checkOptions(m.options, false);
      if (!x || verdict.reject) {
        // RFC 7252 §5.3.2 / §5.4.1 / §5.4.3: an unexpected (or unacceptable) CON response is rejected with RST
        if (m.type === MessageType.CON) this.messages.answer(now, peer, emptyMessage(MessageType.RST, m.messageId));
        return;
      }
      if (verdict.options !== m.options) m = { ...m, options: verdict.options };
      if (m.type === MessageType.CON) this.messages.answer(now, peer, emptyMessage(MessageType.ACK, m.messageId));
      x.acked = true;
      this.deliver(now, x, m);
      return;
    }
    // reserved code classes were refused by the codec; anything else: RST a CON
    if (m.type === MessageType.CON) this.messages.answer(now, peer, emptyMessage(MessageType.RST, m.messageId));
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

  private deliver(now: number, x: ClientExchange<P>, m: CoapMessage): void {
    this.events.push({ type: 'response', peer: x.peer, requestId: x.id, response: m });
    if (x.observe && m.options.some((o) => o.number === OptionNumber.Observe)) {
      // an observation stays open for further notifications
      x.deadline = undefined;
      return;
    }
    this.finishClient(x, undefined);
    void now;
  }

  private finishClient(x: ClientExchange<P>, error: CoapError | undefined): void {
    if (this.clients.get(x.id) !== x) return;
    this.clients.delete(x.id);
    const t = this.byToken.get(x.peer);
    if (t?.get(x.tokenKey) === x) t.delete(x.tokenKey);
    const m = this.byMid.get(x.peer);
    if (m?.get(x.messageId) === x) m.delete(x.messageId);
    if (error) this.events.push({ type: 'error', peer: x.peer, requestId: x.id, error });
  }

  private mapOf<K, V>(outer: Map<P, Map<K, V>>, peer: P): Map<K, V> {
    let m = outer.get(peer);
    if (!m) outer.set(peer, (m = new Map()));
    return m;
  }
}

function emptyMessage(type: MessageType, messageId: number): CoapMessage {
  return { type, code: Code.EMPTY, messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) };
}

/** sortOptions, but an array already in order is used as it is (the message is encoded at once, not kept). */
function inOrder(options: CoapOption[]): CoapOption[] {
  for (let i = 1; i < options.length; i++) if (options[i]!.number < options[i - 1]!.number) return sortOptions(options);
  return options;
}

/** Options in ascending number order (stable, so repeated options keep their order). */
export function sortOptions(options: CoapOption[]): CoapOption[] {
  return [...options].sort((a, b) => a.number - b.number);
}

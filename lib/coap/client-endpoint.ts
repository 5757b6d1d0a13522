import { toHex, utf8 } from '../bytes/util.js';
import { TimerQueue } from '../timers/timer-queue.js';
import { encodedSize } from './codec.js';
import { DEFAULT_TRANSMISSION, type TransmissionParameters } from './config.js';
import { CoapError } from './errors.js';
import { ClientMessageLayer, type MessageLayerCore, type PeerState } from './client-message-layer.js';
import { Code, isRequestCode, isResponseCode, MessageType, OptionNumber, type CoapMessage, type CoapOption } from './message.js';
import { checkOptions } from './option-checks.js';

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

/** A request handed to the application (CoapEndpoint, the server side). */
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

/** How a client endpoint lives with its transport (CoapEndpoint's EndpointOptions add the server's). */
export interface ClientEndpointOptions<P> {
  /**
   * The largest CoAP message the transport carries to this peer: a DTLS session's
   * maxRecordPayload (MTU, record_size_limit, max_fragment_length), for UDP a configured size
   * (RFC 7252 §4.6: 1152 when nothing is known). Default: no limit. A request that does not fit
   * fails with MESSAGE_TOO_LARGE; a response that does not fit becomes a 5.00.
   */
  maxMessageSize?: (peer: P) => number;
}

export const EMPTY = new Uint8Array(0);

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
 * The client half of the CoAP request/response layer (RFC 7252 §5) over the message layer:
 * exchanges matched by token per peer (piggybacked, separate and NON responses, timeouts,
 * observations), RST for stray responses and pings. Sans-IO, generic over the transport's peer
 * handle P. A client-only endpoint (a small device's, transports/baremetal.ts) serves nothing: a
 * CON request gets 4.02 or 4.04, a NON one is ignored. CoapEndpoint adds the
 * server side (and the amplification protection and limits a server needs) by overriding the
 * protected hooks, so a client-only build leaves all of that out.
 */
export class CoapClientEndpoint<P> {
  readonly messages: MessageLayerCore<P, PeerState<P>>;
  protected readonly params: TransmissionParameters;
  protected nextId = 1;
  private readonly clients = new Map<number, ClientExchange<P>>();
  private readonly byToken = new Map<P, Map<string, ClientExchange<P>>>();
  private readonly byMid = new Map<P, Map<number, ClientExchange<P>>>();
  private readonly clientTimers: TimerQueue<ClientExchange<P>>;
  protected readonly events: Array<CoapEvent<P>> = [];

  constructor(
    params: Partial<TransmissionParameters> = {},
    protected readonly random: (n: number) => Uint8Array = (n) => {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(Math.random() * 256);
      return b;
    },
    private readonly clientOptions: ClientEndpointOptions<P> = {},
    /** The message layer's cap on CONs queued per peer (CoapEndpoint: its limits). */
    maxQueuedPerPeer = Infinity,
  ) {
    this.params = { ...DEFAULT_TRANSMISSION, ...params };
    this.messages = this.newMessageLayer(this.params, () => this.random(4).reduce((a, b) => a * 256 + b, 0) / 2 ** 32, { maxQueuedPerPeer });
    this.clientTimers = new TimerQueue((x) => (this.clients.get(x.id) === x ? x.deadline : undefined), () => this.clients.size);
  }

  /** The message layer: a client's (CoapEndpoint: a server's, with its deduplication store). Called by the constructor. */
  protected newMessageLayer(params: TransmissionParameters, random: () => number, _caps: { maxQueuedPerPeer: number }): MessageLayerCore<P, PeerState<P>> {
    return new ClientMessageLayer(params, random);
  }

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
    const tokens = mapOf(this.byToken, peer);
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
    mapOf(this.byMid, peer).set(messageId, x);
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

  /** The largest message the transport carries to this peer (maxMessageSize option; Infinity without one). */
  maxMessageSize(peer: P): number {
    const f = this.clientOptions.maxMessageSize;
    return f ? f(peer) : Infinity;
  }

  /** Forgets a client exchange (an observation ended, a caller gave up). */
  cancel(now: number, requestId: number): void {
    const x = this.clients.get(requestId);
    if (!x) return;
    if (!x.acked && x.confirmable) this.messages.cancel(now, x.peer, x.messageId);
    this.finishClient(x, undefined);
  }

  // === driver interface ==================================================================

  handleDatagram(now: number, peer: P, data: Uint8Array): void {
    this.messages.handleDatagram(now, peer, data);
    this.drainMessages(now);
  }

  handleTimeout(now: number): void {
    this.messages.handleTimeout(now);
    this.drainMessages(now);
    for (const x of this.clientTimers.popDue(now)) {
      this.finishClient(x, new CoapError('TIMEOUT', `no response within ${this.params.maxTransmitWaitMs} ms`));
    }
  }

  /** The transport to this peer closed: its exchanges fail. */
  dropPeer(peer: P): void {
    this.messages.dropPeer(peer);
    for (const x of [...(this.byToken.get(peer)?.values() ?? [])]) this.finishClient(x, new CoapError('CLOSED', 'the transport closed'));
    this.byToken.delete(peer);
    this.byMid.delete(peer);
    this.drainMessages(0);
  }

  pollTransmit(): { peer: P; data: Uint8Array } | undefined {
    return this.messages.pollTransmit();
  }
  pollEvent(): CoapEvent<P> | undefined {
    return this.events.shift();
  }
  pollTimeout(): number | undefined {
    const t = this.messages.pollTimeout();
    const c = this.clientTimers.peek();
    return c !== undefined && (t === undefined || c < t) ? c : t;
  }

  // === what the server side overrides =====================================================

  /**
   * A request (its options not checked yet). A client-only endpoint has no resources: a CON gets
   * 4.02 for an unknown critical option or a bad length (RFC 7252 §5.4.1, §5.4.3), else 4.04,
   * piggybacked; a NON is ignored.
   */
  protected serve(now: number, peer: P, m: CoapMessage, _size: number): void {
    if (m.type !== MessageType.CON) return;
    const reject = checkOptions(m.options, true).reject;
    const code = reject ? reject.code : Code.NotFound;
    this.messages.answer(now, peer, { type: MessageType.ACK, code, messageId: m.messageId, token: m.token, options: [], payload: reject ? utf8(reject.diagnostic) : EMPTY });
  }
  /** An ACK, RST or CON failure for a message ID no client exchange has (a notification or separate response we sent). */
  protected unmatched(_peer: P, _messageId: number, _how: 'acked' | 'reset' | 'failed'): void {}

  // ------------------------------------------------------------------------------------

  protected drainMessages(now: number): void {
    for (let e = this.messages.pollEvent(); e; e = this.messages.pollEvent()) {
      if (e.type === 'message') {
        this.incoming(now, e.peer, e.message, e.size);
        continue;
      }
      const x = this.byMid.get(e.peer)?.get(e.messageId);
      if (!x) this.unmatched(e.peer, e.messageId, e.type);
      else if (e.type === 'reset') this.finishClient(x, new CoapError('RESET', 'the peer answered with RST'));
      else if (e.type === 'failed') this.finishClient(x, new CoapError('TIMEOUT', `no acknowledgement after ${this.params.maxRetransmit} retransmissions`));
      else {
        x.acked = true;
        if (e.ack.code !== Code.EMPTY) this.deliver(x, e.ack);
        else {
          // separate response to come (RFC 7252 §5.2.2)
          x.deadline = now + this.params.maxTransmitWaitMs;
          this.clientTimers.schedule(x, x.deadline);
        }
      }
    }
  }

  private incoming(now: number, peer: P, m: CoapMessage, size: number): void {
    if (m.code === Code.EMPTY) {
      // CoAP ping (empty CON) or an empty NON: RST (RFC 7252 §4.3)
      if (m.type === MessageType.CON) this.messages.answer(now, peer, emptyMessage(MessageType.RST, m.messageId));
      return;
    }
    if (isRequestCode(m.code)) {
      this.serve(now, peer, m, size);
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
      this.deliver(x, m);
      return;
    }
    // reserved code classes were refused by the codec; anything else: RST a CON
    if (m.type === MessageType.CON) this.messages.answer(now, peer, emptyMessage(MessageType.RST, m.messageId));
  }

  private deliver(x: ClientExchange<P>, m: CoapMessage): void {
    this.events.push({ type: 'response', peer: x.peer, requestId: x.id, response: m });
    if (x.observe && m.options.some((o) => o.number === OptionNumber.Observe)) {
      // an observation stays open for further notifications
      x.deadline = undefined;
      return;
    }
    this.finishClient(x, undefined);
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
}

/** The per-peer map in `outer`, created when missing. */
export function mapOf<P, K, V>(outer: Map<P, Map<K, V>>, peer: P): Map<K, V> {
  let m = outer.get(peer);
  if (!m) outer.set(peer, (m = new Map()));
  return m;
}

export function emptyMessage(type: MessageType, messageId: number): CoapMessage {
  return { type, code: Code.EMPTY, messageId, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) };
}

/** Options in ascending number order (stable, so repeated options keep their order). */
export function sortOptions(options: CoapOption[]): CoapOption[] {
  return [...options].sort((a, b) => a.number - b.number);
}

import { utf8 } from '../bytes/util.js';
import type { TransmissionParameters } from '../coap/config.js';
import type { CoapError } from '../coap/errors.js';
import { encodeUint, OptionNumber, type CoapMessage, type CoapOption } from '../coap/message.js';
import type { IncomingRequest } from '../coap/api-types.js';
import type { PeerAddress, PeerIdentity } from '../dtls/keystore.js';

/** The types of the CoAP agent (coap-agent.ts) and the option helpers its users share. */

/** Who a peer (channel) is: its address and, over DTLS, its authenticated identity. */
export interface PeerInfo {
  address: PeerAddress;
  identity: PeerIdentity | undefined;
}

/** An answer to a request (a handler's result). */
export interface CoapAnswer {
  code: number;
  contentFormat?: number;
  options?: CoapOption[];
  payload?: Uint8Array;
  /** Accept the observe registration (a GET with Observe=0 on an observable resource). */
  observe?: boolean;
}

/** Serves one request synchronously (LwM2M's operations all are). */
export type CoapHandler<P> = (now: number, peer: P, req: IncomingRequest) => CoapAnswer;

export type AgentEvent =
  /** The final response of a request (the whole body), or the first response of an observation. */
  | { type: 'response'; id: number; response: CoapMessage }
  /** A later notification of an observation, in order (stale ones dropped, RFC 7641 §4.4). */
  | { type: 'notification'; id: number; response: CoapMessage }
  /** The request (or the observation) failed: timeout, RST, closed transport, bad blocks. */
  | { type: 'error'; id: number; error: CoapError };

export interface CoapAgentOptions<P> {
  transmission?: Partial<TransmissionParameters>;
  random?: (n: number) => Uint8Array;
  /** Block size for our uploads and the largest block we send (16..1024; default 1024). */
  blockSize?: number;
  /** Largest body accepted either way (default 1 MiB). */
  maxBodySize?: number;
  /** A stable string per peer (block-wise and observe state are keyed by it). */
  peerId: (peer: P) => string;
  /** Who a peer is, for the handler's IncomingRequest. */
  describe: (peer: P) => PeerInfo;
  handler: CoapHandler<P>;
}

export interface AgentRequestOptions {
  /** Fail with TIMEOUT if the (whole) response has not arrived by then. */
  timeoutMs?: number;
  /** Observe: keep the token open; later notifications arrive as 'notification' events. */
  observe?: boolean;
  /**
   * One exchange, no block-wise transfer: the request goes out as given (a Block2 option
   * asking for one block of a download is kept) and its response is the result.
   */
  raw?: boolean;
}

/** The first response keeps the observation open when it carries Observe (RFC 7641 §3.1) and is a success. */
export function isKept(m: CoapMessage): boolean {
  return m.code >= 0x40 && m.code < 0x60;
}

export function withObserve(options: CoapOption[]): CoapOption[] {
  return [...options.filter((o) => o.number !== OptionNumber.Observe), { number: OptionNumber.Observe, value: encodeUint(0) }];
}

export function answerOptions(a: CoapAnswer): CoapOption[] {
  const options = [...(a.options ?? [])];
  if (a.contentFormat !== undefined) options.push({ number: OptionNumber.ContentFormat, value: encodeUint(a.contentFormat) });
  return options;
}

/** Uri-Path options of "/a/b". */
export function pathOptions(path: string): CoapOption[] {
  return path.split('/').filter((s) => s !== '').map((s) => ({ number: OptionNumber.UriPath, value: utf8(s) }));
}

/** A Uri-Query option ("ep=name"). */
export function queryOption(q: string): CoapOption {
  return { number: OptionNumber.UriQuery, value: utf8(q) };
}

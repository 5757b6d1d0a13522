import type { PeerAddress, PeerIdentity } from '../dtls/keystore.js';
import { codeText, decodeUint, getOption, getOptions, OptionNumber, type CoapMessage, type CoapOption } from './message.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'FETCH' | 'PATCH' | 'IPATCH';
export const METHOD_CODES: Record<Method, number> = { GET: 1, POST: 2, PUT: 3, DELETE: 4, FETCH: 5, PATCH: 6, IPATCH: 7 };
export const METHOD_NAMES = Object.fromEntries(Object.entries(METHOD_CODES).map(([k, v]) => [v, k])) as Record<number, Method>;

const dec = new TextDecoder();

/** A response as the client API returns it. */
export class CoapResponse {
  constructor(readonly message: CoapMessage) {}
  get code(): number {
    return this.message.code;
  }
  /** "2.05" */
  get codeText(): string {
    return codeText(this.message.code);
  }
  get ok(): boolean {
    return this.message.code >= 0x40 && this.message.code < 0x60;
  }
  get options(): CoapOption[] {
    return this.message.options;
  }
  get payload(): Uint8Array {
    return this.message.payload;
  }
  get contentFormat(): number | undefined {
    const v = getOption(this.message, OptionNumber.ContentFormat);
    return v ? decodeUint(v) : undefined;
  }
  /** The Observe sequence number of a notification. */
  get observe(): number | undefined {
    const v = getOption(this.message, OptionNumber.Observe);
    return v ? decodeUint(v) : undefined;
  }
  text(): string {
    return dec.decode(this.message.payload);
  }
}

/** A request as a server handler sees it. */
export interface IncomingRequest {
  method: Method | undefined;
  code: number;
  /** "/a/b" (percent-decoding is not applied: segments are raw UTF-8). */
  path: string;
  pathSegments: string[];
  query: string[];
  options: CoapOption[];
  /** The whole body (reassembled from Block1). */
  payload: Uint8Array;
  contentFormat: number | undefined;
  accept: number | undefined;
  /** 0: register, 1: deregister, undefined: no Observe option. */
  observe: number | undefined;
  /** Where it came from. */
  peer: PeerAddress;
  /** The authenticated DTLS peer identity (coaps://), undefined for coap://. */
  identity: PeerIdentity | undefined;
  secure: boolean;
  message: CoapMessage;
  /** Where to send requests back to this peer (CoapServer.request / observe). */
  channel?: unknown;
  text(): string;
}

export function describeRequest(m: CoapMessage, payload: Uint8Array, peer: PeerAddress, identity: PeerIdentity | undefined): IncomingRequest {
  const segs = getOptions(m, OptionNumber.UriPath).map((b) => dec.decode(b));
  const cf = getOption(m, OptionNumber.ContentFormat);
  const acc = getOption(m, OptionNumber.Accept);
  const obs = getOption(m, OptionNumber.Observe);
  return {
    method: METHOD_NAMES[m.code],
    code: m.code,
    path: '/' + segs.join('/'),
    pathSegments: segs,
    query: getOptions(m, OptionNumber.UriQuery).map((b) => dec.decode(b)),
    options: m.options,
    payload,
    contentFormat: cf ? decodeUint(cf) : undefined,
    accept: acc ? decodeUint(acc) : undefined,
    observe: obs ? decodeUint(obs) : undefined,
    peer,
    identity,
    secure: identity !== undefined,
    message: m,
    text: () => dec.decode(payload),
  };
}

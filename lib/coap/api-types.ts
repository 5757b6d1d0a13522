import type { PeerAddress, PeerIdentity } from '../dtls/keystore.js';
import { codeText, decodeUint, getOption, OptionNumber, type CoapMessage, type CoapOption } from './message.js';

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

export function describeRequest(m: CoapMessage, payload: Uint8Array, peer: PeerAddress, identity: PeerIdentity | undefined, channel?: unknown): IncomingRequest {
  // one pass over the options (getOption/getOptions would walk them once per option number)
  const segs: string[] = [];
  const query: string[] = [];
  let cf: Uint8Array | undefined;
  let acc: Uint8Array | undefined;
  let obs: Uint8Array | undefined;
  const options = m.options;
  for (let i = 0; i < options.length; i++) {
    const o = options[i]!;
    switch (o.number) {
      case OptionNumber.UriPath:
        segs.push(utf8(o.value));
        break;
      case OptionNumber.UriQuery:
        query.push(utf8(o.value));
        break;
      case OptionNumber.ContentFormat:
        if (cf === undefined) cf = o.value;
        break;
      case OptionNumber.Accept:
        if (acc === undefined) acc = o.value;
        break;
      case OptionNumber.Observe:
        if (obs === undefined) obs = o.value;
        break;
    }
  }
  const path = segs.length === 1 ? '/' + segs[0]! : '/' + segs.join('/');
  const text = () => dec.decode(payload);
  const contentFormat = cf ? decodeUint(cf) : undefined;
  const accept = acc ? decodeUint(acc) : undefined;
  const observe = obs ? decodeUint(obs) : undefined;
  const secure = identity !== undefined;
  // `channel` only when the driver gives one (the property is absent otherwise, as before)
  if (arguments.length > 4) {
    return { method: METHOD_NAMES[m.code], code: m.code, path, pathSegments: segs, query, options, payload, contentFormat, accept, observe, peer, identity, secure, message: m, text, channel };
  }
  return { method: METHOD_NAMES[m.code], code: m.code, path, pathSegments: segs, query, options, payload, contentFormat, accept, observe, peer, identity, secure, message: m, text };
}

/** TextDecoder's UTF-8 decoding, with a fast path for short ASCII (paths and queries usually are). */
function utf8(b: Uint8Array): string {
  const n = b.length;
  if (n > 64) return dec.decode(b);
  for (let i = 0; i < n; i++) if (b[i]! >= 0x80) return dec.decode(b);
  return String.fromCharCode.apply(null, b as unknown as number[]);
}

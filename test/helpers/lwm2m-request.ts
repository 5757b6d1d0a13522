/** Builds the IncomingRequest a client's handler sees, for tests of what the client serves. */
import { describeRequest, METHOD_CODES, type IncomingRequest, type Method } from '../../lib/coap/api-types.js';
import { encodeUint, OptionNumber, type CoapMessage, type CoapOption } from '../../lib/coap/message.js';

const enc = (s: string) => new TextEncoder().encode(s);

export interface RequestParts {
  query?: string[];
  contentFormat?: number;
  accept?: number;
  payload?: Uint8Array;
  observe?: number;
  token?: Uint8Array;
}

/** `method path?query` as a server's request to the client. */
export function lwm2mRequest(method: Method, path: string, o: RequestParts = {}): IncomingRequest {
  const options: CoapOption[] = path.split('/').filter(Boolean).map((s) => ({ number: OptionNumber.UriPath, value: enc(s) }));
  for (const q of o.query ?? []) options.push({ number: OptionNumber.UriQuery, value: enc(q) });
  if (o.observe !== undefined) options.push({ number: OptionNumber.Observe, value: encodeUint(o.observe) });
  if (o.contentFormat !== undefined) options.push({ number: OptionNumber.ContentFormat, value: encodeUint(o.contentFormat) });
  if (o.accept !== undefined) options.push({ number: OptionNumber.Accept, value: encodeUint(o.accept) });
  options.sort((a, b) => a.number - b.number);
  const m: CoapMessage = { type: 0, code: METHOD_CODES[method], messageId: 1, token: o.token ?? new Uint8Array([1]), options, payload: o.payload ?? new Uint8Array(0) };
  return describeRequest(m, m.payload, { address: '127.0.0.1', port: 1 }, undefined);
}

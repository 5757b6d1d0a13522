import { ContentFormat } from '../coap/content-format.js';
import type { OutgoingRequest } from '../coap/endpoint.js';
import { Code, codeText, encodeUint, OptionNumber } from '../coap/message.js';
import type { ClientContext, Registration } from './client-phases.js';
import { wake } from './client-registration.js';
import { COMPOSITE_FORMATS, encodeComposite } from './codec/index.js';
import type { TimedRecord } from './codec/senml.js';
import { readComposite } from './client-composite.js';
import { PROTECTED_OBJECTS } from './client-requests.js';
import { pathOptions, type AgentEvent } from './coap-agent.js';
import { Lwm2mError } from './errors.js';
import type { ObjectStore } from './object-store.js';
import { parsePath, pathToString, type Path } from './types.js';

/**
 * Send (OMA-TS-LightweightM2M-Core 1.1 §6.4.5, Information Reporting): the client reports values
 * to its server unasked, as a POST to /dp with a composite pack (SenML CBOR by default, SenML
 * JSON or LwM2M CBOR), answered 2.04. The server account's Mute Send resource (/1/x/23) true
 * switches it off: nothing is sent, and the caller learns why.
 */

/** Whether Mute Send (/1/x/23) is on for the server with Short Server ID `ssid`. */
export function muted(store: ObjectStore, ssid: number): boolean {
  for (const i of store.instanceIds(1)) if (store.get([1, i, 0]) === ssid) return store.get([1, i, 23]) === true;
  return false;
}

export interface SendOptions {
  /** SenML CBOR (112, default), SenML JSON (110) or LwM2M CBOR (11544). */
  contentFormat?: number;
  /** A time for every value (seconds since the epoch), e.g. when they were measured. */
  time?: number;
}

/**
 * The Send request for the values under `paths` (throws Lwm2mError: 4.03 when Mute Send is on,
 * 4.01 for Security or OSCORE, 4.04 when nothing under the paths can be read).
 */
export function sendRequest(store: ObjectStore, ssid: number, paths: ReadonlyArray<Path | string>, o: SendOptions = {}): { request: OutgoingRequest; records: TimedRecord[] } {
  if (muted(store, ssid)) throw new Lwm2mError(Code.Forbidden, `Mute Send is on for server ${ssid} (/1/x/23)`);
  const cf = o.contentFormat ?? ContentFormat.SenmlCbor;
  if (!COMPOSITE_FORMATS.includes(cf)) throw Lwm2mError.notAcceptable(`content format ${cf} does not carry composite content`);
  const ps = paths.map((p) => (typeof p === 'string' ? parsePath(p) : p));
  if (ps.length === 0) throw Lwm2mError.badRequest('Send needs at least one path');
  for (const p of ps) if (p.length === 0 || PROTECTED_OBJECTS.has(p[0]!)) throw Lwm2mError.unauthorized(`${pathToString(p)} is not sent`);
  const records: TimedRecord[] = readComposite(store, ps).map((r) => (o.time !== undefined ? { ...r, time: o.time } : r));
  if (records.length === 0) throw Lwm2mError.notFound(`nothing to read under ${ps.map(pathToString).join(', ')}`);
  const payload = encodeComposite(cf, records, store.types);
  return { request: { code: Code.POST, options: [...pathOptions('/dp'), { number: OptionNumber.ContentFormat, value: encodeUint(cf) }], payload }, records };
}

/** A CoAP result: true when it answers one of the registration's Sends ('sent' or 'send-failed'). */
export function sendAnswered(cx: ClientContext, r: Registration, e: AgentEvent): boolean {
  if (!r.sends.delete(e.id)) return false;
  if (e.type === 'error') cx.emit({ type: 'send-failed', id: e.id, error: e.error });
  else {
    cx.log(`Send -> ${codeText(e.response.code)}`);
    cx.emit({ type: 'sent', id: e.id, code: e.response.code });
  }
  return true;
}

/** Starts a Send to the registered server (waking a queue-mode client); returns its id. */
export function startSend(cx: ClientContext, now: number, r: Registration, paths: ReadonlyArray<Path | string>, o: SendOptions): number {
  const { request, records } = sendRequest(cx.store, r.shortServerId, paths, o);
  wake(cx, now, r, 'Send');
  const id = cx.agent.request(now, r.channel, request, { timeoutMs: cx.opts.requestTimeoutMs ?? 120_000 });
  r.sends.add(id);
  cx.log(`Send ${records.length} value(s) to /dp`);
  return id;
}

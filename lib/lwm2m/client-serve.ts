import { utf8 } from '../bytes/util.js';
import type { IncomingRequest } from '../coap/api-types.js';
import { ContentFormat } from '../coap/content-format.js';
import { formatLinks } from '../coap/link-format.js';
import { Code, codeText } from '../coap/message.js';
import { serveBootstrapCommand, takesCommands } from './client-bootstrap.js';
import type { ClientContext, ClientPhase } from './client-phases.js';
import type { AttributeStore } from './attributes.js';
import { serveReadComposite, serveWriteComposite } from './client-composite.js';
import { discover } from './client-discover.js';
import type { FirmwareUpdate } from './client-firmware.js';
import type { ClientObservations } from './client-observations.js';
import { answerError, PROTECTED_OBJECTS, serveServerRequest, type Lwm2mAnswer } from './client-requests.js';
import type { CoapAnswer } from './coap-agent.js';
import { Lwm2mError } from './errors.js';
import type { ObjectStore } from './object-store.js';
import { parsePath } from './types.js';

/** The server-side registration triggers of the Server object a request may execute. */
export type Trigger = 'update' | 'bootstrap';

/** What serving a registered server's request needs. */
export interface ServeContext {
  store: ObjectStore;
  attributes: AttributeStore;
  shortServerId: number;
  /** The registration's observations (none while registering). */
  observations: ClientObservations | undefined;
  firmware: FirmwareUpdate | undefined;
}

/**
 * Requests of the LwM2M server the client is registered with (Device Management and
 * Information Reporting, OMA-TS-LightweightM2M-Core §5.4-§5.5), in the order they are told
 * apart: the Registration Update Trigger (/1/x/8) and Bootstrap-Request Trigger (/1/x/9),
 * the Firmware Update object's writes and executes, Read-Composite / Observe-Composite (FETCH),
 * Write-Composite (iPATCH), Write-Attributes (PUT with a query and no payload), Discover (GET
 * with Accept link-format, with the attributes), then Read, Write, Execute, Create, Delete and
 * Observe (client-requests.ts). Observations that were accepted are tracked for notifying.
 */
export function serveServer(now: number, channel: number, req: IncomingRequest, sx: ServeContext): { answer: CoapAnswer; trigger?: Trigger } {
  let path;
  try {
    path = parsePath(req.path);
    if (path.length > 0 && PROTECTED_OBJECTS.has(path[0]!)) throw Lwm2mError.unauthorized(`no server may access /${path[0]}`);
  } catch (e) {
    return { answer: answerError(e) };
  }
  const [o, i, r] = path;
  // Registration Update Trigger and Bootstrap-Request Trigger (Server object)
  if (req.method === 'POST' && o === 1 && i !== undefined && (r === 8 || r === 9) && path.length === 3) {
    if (!sx.store.instanceIds(1).includes(i)) return { answer: { code: Code.NotFound } };
    return { answer: { code: Code.Changed }, trigger: r === 8 ? 'update' : 'bootstrap' };
  }
  if (o === 5 && sx.firmware) {
    const a = sx.firmware.serve(now, req);
    if (a) return { answer: a };
  }
  let answer: Lwm2mAnswer;
  switch (req.method) {
    case 'FETCH': {
      const a = serveReadComposite(sx.store, req);
      if (a.paths && a.observe) sx.observations?.add(now, channel, req.message.token, a.paths, true);
      if (req.observe === 1) sx.observations?.remove(channel, req.message.token);
      const { paths: _paths, ...rest } = a;
      return { answer: rest };
    }
    case 'IPATCH':
      return { answer: serveWriteComposite(sx.store, req) };
    case 'PUT':
      if (req.query.length > 0 && req.payload.length === 0) return { answer: writeAttributes(sx, path, req) };
      break;
    case 'GET':
      if (req.accept === ContentFormat.LinkFormat) {
        try {
          return { answer: { code: Code.Content, contentFormat: ContentFormat.LinkFormat, payload: utf8(formatLinks(discover(sx.store, sx.attributes, sx.shortServerId, path))) } };
        } catch (e) {
          return { answer: answerError(e) };
        }
      }
      break;
  }
  answer = serveServerRequest(sx.store, req);
  if (req.method === 'GET' && req.observe === 0 && answer.observe && answer.code === Code.Content) sx.observations?.add(now, channel, req.message.token, [path], false);
  if (req.method === 'GET' && req.observe === 1) sx.observations?.remove(channel, req.message.token);
  return { answer };
}

function writeAttributes(sx: ServeContext, path: readonly number[], req: IncomingRequest): CoapAnswer {
  try {
    sx.attributes.write(sx.shortServerId, path, req.query, sx.store);
    return { code: Code.Changed };
  } catch (e) {
    return answerError(e);
  }
}

/**
 * A request on one of the client's channels: bootstrap commands on the bootstrap channel,
 * the registered (or registering) server's requests on its channel, 4.03 anywhere else.
 */
export function serveClient(cx: ClientContext, now: number, p: ClientPhase, channel: number, req: IncomingRequest, firmware: FirmwareUpdate | undefined): { answer: CoapAnswer; next: ClientPhase } {
  let role: string;
  let answer: CoapAnswer;
  let next = p;
  if (p.kind === 'bootstrap' && takesCommands(p, channel)) {
    role = 'bootstrap';
    ({ answer, next } = serveBootstrapCommand(cx, now, p, req));
  } else if ((p.kind === 'registered' && p.registration.channel === channel) || (p.kind === 'register' && p.channel === channel)) {
    role = 'server';
    const r = p.kind === 'registered' ? p.registration : undefined;
    const ssid = p.kind === 'registered' ? p.registration.shortServerId : p.account.shortServerId;
    const served = serveServer(now, channel, req, { store: cx.store, attributes: cx.attributes, shortServerId: ssid, observations: r?.observations, firmware });
    if (served.trigger && p.kind === 'registered') next = { ...p, trigger: served.trigger };
    answer = served.answer;
  } else return { answer: { code: Code.Forbidden }, next };
  cx.log(`${role} ${req.method} ${req.path}${req.query.length ? '?' + req.query.join('&') : ''}${req.observe === 0 ? ' (observe)' : ''} -> ${codeText(answer.code)}`);
  return { answer, next };
}

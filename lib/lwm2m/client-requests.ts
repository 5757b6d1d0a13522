import type { IncomingRequest } from '../coap/api-types.js';
import { formatLinks } from '../coap/link-format.js';
import { Code } from '../coap/message.js';
import { utf8 } from '../bytes/util.js';
import { ContentFormat } from '../coap/content-format.js';
import { decodeContent, encodeContent, preferredFormat } from './codec/index.js';
import { Lwm2mError } from './errors.js';
import type { ObjectStore } from './object-store.js';
import { parsePath, Lwm2mCodecError, Lwm2mPathError, type Path } from './types.js';

/** The answer to give: a code, and content when there is some. */
export interface Lwm2mAnswer {
  code: number;
  contentFormat?: number;
  payload?: Uint8Array;
  /** Accept the observe registration (Read with Observe=0). */
  observe?: boolean;
}

/** Objects no LwM2M server may touch (OMA-TS Core §6.1: Security 0, OSCORE 21). */
export const PROTECTED_OBJECTS = new Set([0, 21]);

function pathOf(req: IncomingRequest): Path {
  return parsePath(req.path);
}

/** Maps thrown errors to answers (4.00 for payloads that do not decode: nothing is written). */
export function answerError(e: unknown): Lwm2mAnswer {
  if (e instanceof Lwm2mError) return { code: e.code, payload: utf8(e.message) };
  if (e instanceof Lwm2mCodecError || e instanceof Lwm2mPathError) return { code: Code.BadRequest, payload: utf8(e.message) };
  throw e;
}

/** Requests from a registered LwM2M server (Device Management and Information Reporting). */
export function serveServerRequest(store: ObjectStore, req: IncomingRequest): Lwm2mAnswer {
  try {
    const path = pathOf(req);
    if (path.length > 0 && PROTECTED_OBJECTS.has(path[0]!)) throw Lwm2mError.unauthorized(`no server may access /${path[0]}`);
    switch (req.method) {
      case 'GET': {
        if (req.accept === ContentFormat.LinkFormat) {
          if (path.length === 0) throw Lwm2mError.badRequest('Discover needs an object');
          return { code: Code.Content, contentFormat: ContentFormat.LinkFormat, payload: utf8(formatLinks(store.discover(path))) };
        }
        const records = store.read(path);
        const cf = preferredFormat(req.accept, path, records);
        return { code: Code.Content, contentFormat: cf, payload: encodeContent(cf, records, path, store.types), observe: req.observe === 0 };
      }
      case 'PUT': {
        // Write-Attributes needs the client's attribute store: client-serve.ts answers it
        if (req.query.length > 0 && req.payload.length === 0) throw Lwm2mError.notAllowed('Write-Attributes is served by the client (client-serve.ts)');
        if (path.length < 2) throw Lwm2mError.notAllowed('Write needs an instance or resource');
        const records = decodeContent(req.contentFormat, req.payload, path, store.types);
        store.write(path, records, 'replace');
        return { code: Code.Changed };
      }
      case 'POST': {
        if (path.length === 1) {
          const records = decodeContent(req.contentFormat, req.payload, path, store.types);
          const id = store.create(path[0]!, records);
          return { code: Code.Created, payload: utf8(`/${path[0]}/${id}`) };
        }
        if (path.length === 2) {
          store.write(path, decodeContent(req.contentFormat, req.payload, path, store.types), 'update');
          return { code: Code.Changed };
        }
        if (path.length === 3) {
          store.execute(path, req.text());
          return { code: Code.Changed };
        }
        throw Lwm2mError.notAllowed('POST on a resource instance');
      }
      case 'DELETE':
        if (path.length !== 2) throw Lwm2mError.notAllowed('Delete needs an object instance');
        store.delete(path);
        return { code: Code.Deleted };
      default:
        throw Lwm2mError.notAllowed(`${req.method ?? req.code} is not an LwM2M operation`);
    }
  } catch (e) {
    return answerError(e);
  }
}

export interface BootstrapSession {
  /** The Security instance of the bootstrap server talking (kept by Delete). */
  isBootstrapAccount(objectId: number, instanceId: number): boolean;
  /** Bootstrap-Finish arrived: validate; throw Lwm2mError (4.06) to refuse. */
  finish(): void;
  /** Any bootstrap command (re-arms the inactivity timer). */
  activity(): void;
}

/**
 * Requests from the bootstrap server (OMA-TS Core §5.2.7): Bootstrap-Discover, -Read (only /1),
 * -Write (create or replace, unknown optional resources ignored), -Delete (the bootstrap
 * account survives), -Finish.
 */
export function serveBootstrapRequest(store: ObjectStore, req: IncomingRequest, session: BootstrapSession): Lwm2mAnswer {
  session.activity();
  try {
    if (req.method === 'POST' && req.path === '/bs') {
      session.finish(); // Bootstrap-Finish
      return { code: Code.Changed };
    }
    const path = pathOf(req);
    switch (req.method) {
      case 'GET': {
        if (req.accept === ContentFormat.LinkFormat || path.length === 0) {
          if (path.length > 1) throw Lwm2mError.badRequest('Bootstrap-Discover is on / or an object');
          const links = store.discover(path, {
            security: (o, i) => {
              if (o === 0) {
                if (store.get([0, i, 1]) === true) return [];
                const ssid = store.get([0, i, 10]);
                return typeof ssid === 'number' ? [['ssid', String(ssid)]] : [];
              }
              if (o === 1) {
                const ssid = store.get([1, i, 0]);
                return typeof ssid === 'number' ? [['ssid', String(ssid)]] : [];
              }
              return [];
            },
          });
          return { code: Code.Content, contentFormat: ContentFormat.LinkFormat, payload: utf8(formatLinks(links)) };
        }
        if (path[0] !== 1 && path[0] !== 2) throw Lwm2mError.unauthorized('Bootstrap-Read is allowed on /1 and /2 only');
        const records = store.read(path, { ignoreAccess: true });
        const cf = preferredFormat(req.accept, path, records);
        return { code: Code.Content, contentFormat: cf, payload: encodeContent(cf, records, path, store.types) };
      }
      case 'PUT': {
        if (path.length === 0 || path.length > 3) throw Lwm2mError.badRequest('Bootstrap-Write on an object, instance or resource');
        if (req.payload.length === 0) throw Lwm2mError.badRequest('empty Bootstrap-Write');
        const records = decodeContent(req.contentFormat, req.payload, path, store.types);
        store.write(path, records, path.length === 3 ? 'update' : 'replace', { ignoreAccess: true, lenient: true, create: true });
        return { code: Code.Changed };
      }
      case 'DELETE': {
        if (path.length > 2) throw Lwm2mError.badRequest('Bootstrap-Delete on /, an object or an instance');
        store.delete(path, (p) => p[0] === 0 && session.isBootstrapAccount(0, p[1]!));
        return { code: Code.Deleted };
      }
      case 'POST':
        throw Lwm2mError.badRequest('only Bootstrap-Finish (POST /bs) is allowed');
      default:
        throw Lwm2mError.notAllowed(`${req.method ?? req.code} is not a bootstrap operation`);
    }
  } catch (e) {
    return answerError(e);
  }
}


import type { IncomingRequest } from '../coap/api-types.js';
import { ContentFormat } from '../coap/content-format.js';
import { Code } from '../coap/message.js';
import { COMPOSITE_FORMATS, decodeComposite, decodePathList, encodeComposite } from './codec/index.js';
import type { TimedRecord } from './codec/senml.js';
import { answerError, PROTECTED_OBJECTS, type Lwm2mAnswer } from './client-requests.js';
import { Lwm2mError } from './errors.js';
import type { ObjectStore } from './object-store.js';
import { pathToString, type Lwm2mRecord, type Path } from './types.js';

/**
 * The composite operations a client serves (OMA-TS-LightweightM2M-Core 1.1 §5.4.6-§5.4.7):
 *  - Read-Composite: FETCH with a path list (SenML CBOR or JSON); the answer carries the values
 *    under every path that can be read (a path that does not exist or cannot be read is left
 *    out, as the TS says), in the Accept format or the request's; with Observe=0 it is an
 *    Observe-Composite (the caller tracks the observation).
 *  - Write-Composite: iPATCH with values under several paths (SenML CBOR or JSON, LwM2M CBOR),
 *    all checked before any is written (4.04 unknown object, instance or resource, 4.05 a
 *    resource that is not writable, 4.00 a resource given both as a value and per instance):
 *    all written, or nothing.
 * Security (0) and OSCORE (21) are refused with 4.01 either way.
 */

/** The paths of a Read-Composite / Observe-Composite, checked (throws Lwm2mError / Lwm2mCodecError). */
export function compositePaths(req: IncomingRequest): Path[] {
  const paths = decodePathList(req.contentFormat, req.payload);
  if (paths.length === 0) throw Lwm2mError.badRequest('Read-Composite needs at least one path');
  for (const p of paths) if (p.length > 0 && PROTECTED_OBJECTS.has(p[0]!)) throw Lwm2mError.unauthorized(`no server may access /${p[0]}`);
  return paths;
}

/** Every readable value under `paths` ("/" is every object but Security and OSCORE). */
export function readComposite(store: ObjectStore, paths: readonly Path[]): Lwm2mRecord[] {
  const out: Lwm2mRecord[] = [];
  const seen = new Set<string>();
  const add = (records: Lwm2mRecord[]) => {
    for (const r of records) {
      const k = pathToString(r.path);
      if (!seen.has(k)) out.push(r);
      seen.add(k);
    }
  };
  for (const p of paths) {
    const targets = p.length === 0 ? store.objectIds().filter((o) => !PROTECTED_OBJECTS.has(o)).map((o) => [o]) : [p];
    for (const t of targets) {
      try {
        add(store.read(t));
      } catch (e) {
        if (!(e instanceof Lwm2mError)) throw e; // not found or not readable: left out
      }
    }
  }
  return out;
}

/** Read-Composite (and Observe-Composite): FETCH with a path list. */
export function serveReadComposite(store: ObjectStore, req: IncomingRequest): Lwm2mAnswer & { paths?: Path[] } {
  try {
    const paths = compositePaths(req);
    const cf = req.accept ?? req.contentFormat ?? ContentFormat.SenmlCbor;
    if (!COMPOSITE_FORMATS.includes(cf)) throw Lwm2mError.notAcceptable(`content format ${cf} does not carry composite content`);
    const records = readComposite(store, paths);
    return { code: Code.Content, contentFormat: cf, payload: encodeComposite(cf, records, store.types), observe: req.observe === 0, paths };
  } catch (e) {
    return answerError(e);
  }
}

/** Checks one record of a Write-Composite (what ObjectStore.write would refuse), without writing. */
function checkWritable(store: ObjectStore, r: TimedRecord): void {
  const [o, i, rid] = r.path;
  if (o === undefined || i === undefined || rid === undefined) throw Lwm2mError.badRequest(`${pathToString(r.path)} is not a resource`);
  if (PROTECTED_OBJECTS.has(o)) throw Lwm2mError.unauthorized(`no server may access /${o}`);
  const def = store.definition(o);
  if (!def || !store.instanceIds(o).includes(i)) throw Lwm2mError.notFound(pathToString(r.path.slice(0, 2)));
  const rdef = def.resources.find((x) => x.id === rid);
  if (!rdef) throw Lwm2mError.notFound(pathToString(r.path.slice(0, 3)));
  if (!rdef.operations.includes('W')) throw Lwm2mError.notAllowed(`${pathToString(r.path)} is not writable`);
  if (r.path.length === 4 && !rdef.multiple) throw Lwm2mError.badRequest(`${pathToString(r.path)}: resource is single-instance`);
  if (r.time !== undefined) throw Lwm2mError.badRequest(`${pathToString(r.path)}: a Write-Composite value has no time`);
}

/** Write-Composite: iPATCH with values under several paths, all or nothing. */
export function serveWriteComposite(store: ObjectStore, req: IncomingRequest): Lwm2mAnswer {
  try {
    const records = decodeComposite(req.contentFormat, req.payload, store.types);
    if (records.length === 0) throw Lwm2mError.badRequest('Write-Composite needs at least one value');
    for (const r of records) checkWritable(store, r);
    // a resource value replaces the resource; resource instances are written into it
    const byResource = new Map<string, Lwm2mRecord[]>();
    for (const r of records) {
      const k = pathToString(r.path.slice(0, 3));
      byResource.set(k, [...(byResource.get(k) ?? []), { path: r.path, value: r.value }]);
    }
    for (const rs of byResource.values()) store.write(rs[0]!.path.slice(0, 3), rs, rs[0]!.path.length === 3 ? 'replace' : 'update');
    return { code: Code.Changed };
  } catch (e) {
    return answerError(e);
  }
}

import type { Link } from '../coap/link-format.js';
import { Lwm2mError } from './errors.js';
import type { Lwm2mRecord, ObjectDefinition, Path, ResourceDefinition, TypeResolver, Value } from './types.js';
import { pathToString } from './types.js';
import { base64Encode } from '../bytes/base64.js';
import { decodeBase64 } from './codec/value.js';

/** A single value, or the instances of a multiple resource. */
type Stored = { single: Value } | { multi: Map<number, Value> };
type Instance = Map<number, Stored>;

export interface ObjectBehaviour {
  /** Values computed at read time (e.g. the current time), by resource id. */
  dynamic?: Record<number, () => Value>;
  /**
   * Execute handlers by resource id (the argument is the request payload as text). They run
   * synchronously inside the client: the answer (2.04) goes out when they return; start
   * longer work (a reboot, a firmware update) and let it run on.
   */
  execute?: Record<number, (args: string) => void>;
}

/** How a write combines with what is there (OMA-TS Core §6.3.3 Write). */
export type WriteMode = 'replace' | 'update';

/**
 * The client's objects: definitions, instances and values, with the operations the servers
 * use (read, write, create, delete, execute, discover). `onChange` reports written paths so
 * observations can notify.
 */
export class ObjectStore {
  private readonly defs = new Map<number, ObjectDefinition>();
  private readonly behaviours = new Map<number, ObjectBehaviour>();
  private readonly objects = new Map<number, Map<number, Instance>>();
  private readonly listeners = new Set<(path: Path) => void>();

  readonly types: TypeResolver = (o, r) => this.resource(o, r);

  define(def: ObjectDefinition, behaviour: ObjectBehaviour = {}): this {
    this.defs.set(def.id, def);
    this.behaviours.set(def.id, behaviour);
    if (!this.objects.has(def.id)) this.objects.set(def.id, new Map());
    return this;
  }

  definition(objectId: number): ObjectDefinition | undefined {
    return this.defs.get(objectId);
  }
  objectIds(): number[] {
    return [...this.defs.keys()].sort((a, b) => a - b);
  }
  instanceIds(objectId: number): number[] {
    return [...(this.objects.get(objectId)?.keys() ?? [])].sort((a, b) => a - b);
  }
  private resource(objectId: number, resourceId: number): ResourceDefinition | undefined {
    return this.defs.get(objectId)?.resources.find((r) => r.id === resourceId);
  }

  onChange(f: (path: Path) => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }
  private changed(path: Path): void {
    for (const f of this.listeners) f(path);
  }

  /** Plain value access for the application (no access checks). */
  get(path: Path): Value | undefined {
    const [o, i, r, ri] = path;
    const s = this.objects.get(o!)?.get(i!)?.get(r!);
    if (!s) return undefined;
    if ('single' in s) return ri === undefined ? s.single : undefined;
    return ri === undefined ? undefined : s.multi.get(ri);
  }
  /** Sets a value from the application (creates the instance if needed) and notifies observers. */
  set(path: Path, value: Value | Value[]): void {
    const [o, i, r] = path;
    if (o === undefined || i === undefined || r === undefined) throw Lwm2mError.badRequest('set() needs /O/I/R');
    const inst = this.instance(o, i, true)!;
    if (Array.isArray(value)) inst.set(r, { multi: new Map(value.map((v, k) => [k, v])) });
    else if (path[3] !== undefined) {
      const cur = inst.get(r);
      const multi = cur && 'multi' in cur ? cur.multi : new Map<number, Value>();
      multi.set(path[3], value);
      inst.set(r, { multi });
    } else inst.set(r, { single: value });
    this.changed(path);
  }

  private instance(o: number, i: number, create = false): Instance | undefined {
    const obj = this.objects.get(o);
    if (!obj) return undefined;
    let inst = obj.get(i);
    if (!inst && create) obj.set(i, (inst = new Map()));
    return inst;
  }

  /** Read (or Bootstrap-Read): every readable resource under `path`. */
  read(path: Path, opts: { ignoreAccess?: boolean } = {}): Lwm2mRecord[] {
    const [o, i, r, ri] = path;
    if (o === undefined) throw Lwm2mError.badRequest('read needs an object');
    const def = this.defs.get(o);
    const obj = this.objects.get(o);
    if (!def || !obj) throw Lwm2mError.notFound(pathToString(path));
    const out: Lwm2mRecord[] = [];
    const instances = i === undefined ? this.instanceIds(o) : obj.has(i) ? [i] : [];
    if (instances.length === 0 && i !== undefined) throw Lwm2mError.notFound(pathToString(path));
    for (const iid of instances) {
      const inst = obj.get(iid)!;
      const dyn = this.behaviours.get(o)?.dynamic ?? {};
      const ids = r === undefined ? [...new Set([...inst.keys(), ...Object.keys(dyn).map(Number)])].sort((a, b) => a - b) : [r];
      for (const rid of ids) {
        const rdef = def.resources.find((x) => x.id === rid);
        if (r !== undefined) {
          if (!rdef && !inst.has(rid)) throw Lwm2mError.notFound(pathToString(path));
          if (rdef && !rdef.operations.includes('R') && !opts.ignoreAccess) throw Lwm2mError.notAllowed(`${pathToString(path)} is not readable`);
        } else if (rdef && !rdef.operations.includes('R') && !opts.ignoreAccess) continue;
        const d = dyn[rid];
        const stored: Stored | undefined = d ? { single: d() } : inst.get(rid);
        if (!stored) {
          if (r !== undefined) throw Lwm2mError.notFound(pathToString(path));
          continue;
        }
        if ('single' in stored) {
          if (ri !== undefined) throw Lwm2mError.notFound(pathToString(path));
          out.push({ path: [o, iid, rid], value: stored.single });
        } else {
          for (const [k, v] of [...stored.multi].sort((a, b) => a[0] - b[0])) if (ri === undefined || ri === k) out.push({ path: [o, iid, rid, k], value: v });
          if (ri !== undefined && !stored.multi.has(ri)) throw Lwm2mError.notFound(pathToString(path));
        }
      }
    }
    return out;
  }

  /**
   * Write records below `path`. 'replace' (PUT) replaces the target (instance or resource);
   * 'update' (POST) merges. Unknown optional resources are ignored when `lenient` (bootstrap
   * writes must not fail on them). Everything is checked before anything is written.
   */
  write(path: Path, records: Lwm2mRecord[], mode: WriteMode, opts: { ignoreAccess?: boolean; lenient?: boolean; create?: boolean } = {}): void {
    const [o, i, r] = path;
    if (o === undefined) throw Lwm2mError.badRequest('write needs an object');
    const def = this.defs.get(o);
    if (!def) throw Lwm2mError.notFound(pathToString(path));
    const accepted: Lwm2mRecord[] = [];
    for (const rec of records) {
      if (rec.path[0] !== o || (i !== undefined && rec.path[1] !== i) || (r !== undefined && rec.path[2] !== r)) throw Lwm2mError.badRequest(`${pathToString(rec.path)} is outside ${pathToString(path)}`);
      const rdef = def.resources.find((x) => x.id === rec.path[2]);
      if (!rdef) {
        if (opts.lenient) continue;
        throw Lwm2mError.notFound(pathToString(rec.path));
      }
      if (!opts.ignoreAccess && !rdef.operations.includes('W')) throw Lwm2mError.notAllowed(`${pathToString(rec.path)} is not writable`);
      if (rec.path.length === 4 && !rdef.multiple) throw Lwm2mError.badRequest(`${pathToString(rec.path)}: resource is single-instance`);
      accepted.push(rec);
    }
    const touched = new Set<number>(accepted.map((x) => x.path[1]!));
    if (i !== undefined) touched.add(i);
    for (const iid of touched) {
      const exists = this.objects.get(o)!.has(iid);
      if (!exists && !opts.create) throw Lwm2mError.notFound(pathToString([o, iid]));
      const inst = this.instance(o, iid, true)!;
      if (mode === 'replace') {
        if (r === undefined) inst.clear();
        else inst.delete(r);
      }
      for (const rec of accepted.filter((x) => x.path[1] === iid)) {
        const rid = rec.path[2]!;
        const rdef = def.resources.find((x) => x.id === rid)!;
        if (rdef.multiple) {
          const cur = inst.get(rid);
          const multi = cur && 'multi' in cur ? cur.multi : new Map<number, Value>();
          inst.set(rid, { multi });
          if (rec.path.length === 4) multi.set(rec.path[3]!, rec.value);
          else multi.set(0, rec.value);
        } else inst.set(rid, { single: rec.value });
      }
    }
    this.changed(path);
  }

  /** Create an object instance (POST /O); returns its id. */
  create(objectId: number, records: Lwm2mRecord[], instanceId?: number): number {
    const def = this.defs.get(objectId);
    const obj = this.objects.get(objectId);
    if (!def || !obj) throw Lwm2mError.notFound(`/${objectId}`);
    let iid = instanceId ?? (records[0]?.path[1] as number | undefined);
    if (iid === undefined || records.some((r) => r.path[1] !== iid)) {
      iid = 0;
      while (obj.has(iid)) iid++;
      records = records.map((r) => ({ ...r, path: [objectId, iid!, ...r.path.slice(2)] }));
    }
    if (obj.has(iid)) throw Lwm2mError.badRequest(`/${objectId}/${iid} exists`);
    if (!def.multiple && obj.size > 0) throw Lwm2mError.badRequest(`/${objectId} is single-instance`);
    this.write([objectId, iid], records, 'replace', { create: true, ignoreAccess: true });
    return iid;
  }

  /** Delete an object instance, or every instance of an object (with `keep` spared). */
  delete(path: Path, keep: (p: Path) => boolean = () => false): void {
    const [o, i] = path;
    if (o === undefined) {
      for (const id of this.objectIds()) if (id !== 3) this.delete([id], keep);
      return;
    }
    const obj = this.objects.get(o);
    if (!obj) throw Lwm2mError.notFound(pathToString(path));
    if (i === undefined) {
      for (const iid of [...obj.keys()]) if (!keep([o, iid])) obj.delete(iid);
    } else {
      if (!obj.has(i)) throw Lwm2mError.notFound(pathToString(path));
      if (!keep([o, i])) obj.delete(i);
    }
    this.changed(path);
  }

  execute(path: Path, args: string): void {
    const [o, i, r] = path;
    if (o === undefined || i === undefined || r === undefined || path.length !== 3) throw Lwm2mError.badRequest('execute needs /O/I/R');
    const rdef = this.resource(o, r);
    if (!this.instance(o, i)) throw Lwm2mError.notFound(pathToString(path));
    if (!rdef) throw Lwm2mError.notFound(pathToString(path));
    if (rdef.operations !== 'E') throw Lwm2mError.notAllowed(`${pathToString(path)} is not executable`);
    const h = this.behaviours.get(o)?.execute?.[r];
    if (h) h(args);
  }

  /** Discover (CoRE link format) of an object, instance or resource, or of everything ('/'). */
  discover(path: Path, opts: { withVersion?: boolean; security?: (o: number, i: number) => Array<[string, string]> } = {}): Link[] {
    const links: Link[] = [];
    const [o, i] = path;
    if (o === undefined) {
      links.push({ target: '/', attributes: [['lwm2m', '1.1']] });
      for (const id of this.objectIds()) {
        const iids = this.instanceIds(id);
        if (iids.length === 0) links.push({ target: `/${id}`, attributes: [] });
        for (const iid of iids) links.push({ target: `/${id}/${iid}`, attributes: opts.security?.(id, iid) ?? [] });
      }
      return links;
    }
    const def = this.defs.get(o);
    if (!def) throw Lwm2mError.notFound(pathToString(path));
    if (i === undefined) links.push({ target: `/${o}`, attributes: [] });
    for (const iid of i === undefined ? this.instanceIds(o) : [i]) {
      const inst = this.instance(o, iid);
      if (!inst) throw Lwm2mError.notFound(pathToString(path));
      links.push({ target: `/${o}/${iid}`, attributes: [] });
      for (const rdef of def.resources) {
        if (!inst.has(rdef.id) && !this.behaviours.get(o)?.dynamic?.[rdef.id] && rdef.operations !== 'E') continue;
        const s = inst.get(rdef.id);
        links.push({ target: `/${o}/${iid}/${rdef.id}`, attributes: s && 'multi' in s ? [['dim', String(s.multi.size)]] : [] });
      }
    }
    return links;
  }

  /** A JSON-able copy of some objects, for persistence (opaque as base64, bigint as strings). */
  snapshot(objectIds: number[]): SnapshotObject[] {
    return objectIds.map((o) => ({
      id: o,
      instances: this.instanceIds(o).map((i) => ({
        id: i,
        resources: [...this.instance(o, i)!].map(([r, s]) => ({ id: r, ...('single' in s ? { value: toJson(s.single) } : { values: [...s.multi].map(([k, v]) => [k, toJson(v)] as [number, JsonValue]) }) })),
      })),
    }));
  }

  restore(objects: SnapshotObject[]): void {
    for (const o of objects) {
      const obj = this.objects.get(o.id);
      if (!obj) continue;
      obj.clear();
      for (const inst of o.instances) {
        const m: Instance = new Map();
        for (const r of inst.resources) m.set(r.id, r.values ? { multi: new Map(r.values.map(([k, v]) => [k, fromJson(v)])) } : { single: fromJson(r.value!) });
        obj.set(inst.id, m);
      }
    }
  }
}

export type JsonValue = string | number | boolean | { b64: string } | { bigint: string } | { objlnk: [number, number] };
export interface SnapshotObject {
  id: number;
  instances: Array<{ id: number; resources: Array<{ id: number; value?: JsonValue; values?: Array<[number, JsonValue]> }> }>;
}

function toJson(v: Value): JsonValue {
  if (v instanceof Uint8Array) return { b64: base64Encode(v) };
  if (typeof v === 'bigint') return { bigint: v.toString() };
  if (typeof v === 'object') return { objlnk: [v.objectId, v.instanceId] };
  return v;
}
function fromJson(v: JsonValue): Value {
  if (typeof v !== 'object') return v;
  if ('b64' in v) return decodeBase64(v.b64, 'persisted opaque value');
  if ('bigint' in v) return BigInt(v.bigint);
  return { objectId: v.objlnk[0], instanceId: v.objlnk[1] };
}

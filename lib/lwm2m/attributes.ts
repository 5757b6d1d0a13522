import { Code } from '../coap/message.js';
import { Lwm2mError } from './errors.js';
import type { ObjectStore } from './object-store.js';
import { pathToString, type Path, type ResourceDefinition } from './types.js';

/**
 * The <NOTIFICATION> class attributes (OMA-TS-LightweightM2M-Core 1.1/1.2 §5.1.2, Table
 * 5.1.2-2), as the client keeps them per LwM2M server and applies them to its observations:
 *
 * | attribute | value            | attached to                      | what it does                                    |
 * | pmin      | 1*DIGIT (s)      | object, instance, resource (inst) | at least pmin between two notifications          |
 * | pmax      | 1*DIGIT (s)      | object, instance, resource (inst) | a notification at the latest pmax after the last |
 * | gt, lt    | number           | numeric resource (instance)       | notify when the value crosses the threshold      |
 * | st        | number >= 0      | numeric resource (instance)       | notify when the value moved by st since the last |
 *
 * (gt, lt and st act on an observation whose value is one number; on anything else, e.g. a
 * multiple resource observed whole, a notification follows any change.)
 * | epmin     | 1*DIGIT (s)      | object, instance, resource (inst) | at least epmin between two evaluations           |
 * | epmax     | 1*DIGIT (s)      | object, instance, resource (inst) | an evaluation at the latest epmax after the last |
 *
 * Write-Attributes (PUT with a Uri-Query and no payload, §5.4.4) sets "name=value" and removes
 * a valueless "name"; everything is checked before anything changes, and 4.00 answers an
 * unknown or read-only attribute (dim, ver, ...), a value of the wrong form ("pmin=", "gt=x"),
 * one given twice, gt/lt/st on a resource that is not numeric, and a result that
 * breaks "lt < gt" or "lt + 2*st < gt". An observation uses the attributes of its path and of
 * its parents (the nearest level wins), then the server's Default Minimum/Maximum Period
 * (/1/x/2, /1/x/3) for pmin and pmax (rules in notify-rules.ts).
 */
export const NOTIFICATION_ATTRIBUTES = ['pmin', 'pmax', 'gt', 'lt', 'st', 'epmin', 'epmax'] as const;
export type AttributeName = (typeof NOTIFICATION_ATTRIBUTES)[number];
/** Attributes assigned at one level (seconds for the periods). */
export type AttributeSet = Partial<Record<AttributeName, number>>;

/** Attributes a client reports but no server may write (<PROPERTIES> class). */
const READ_ONLY = new Set(['dim', 'ssid', 'uri', 'ver', 'lwm2m']);
const PERIODS = new Set<AttributeName>(['pmin', 'pmax', 'epmin', 'epmax']);
const CHANGE = new Set<AttributeName>(['gt', 'lt', 'st']);
const NUMERIC_TYPES = new Set(['integer', 'unsigned', 'float']);
const UINT = /^(?:0|[1-9][0-9]{0,9})$/;
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;
const MAX_PERIOD_S = 2 ** 31 - 1;

const bad = (why: string) => new Lwm2mError(Code.BadRequest, why);
const isAttribute = (n: string): n is AttributeName => (NOTIFICATION_ATTRIBUTES as readonly string[]).includes(n);

/** A Write-Attributes query, parsed: values to set, names to remove. Lwm2mError 4.00 when invalid. */
export interface AttributeChange {
  set: AttributeSet;
  unset: AttributeName[];
}

/** Parses the Uri-Query options of a Write-Attributes on `path` (`def`: the resource, if any). */
export function parseWriteAttributes(query: readonly string[], path: Path, def: ResourceDefinition | undefined): AttributeChange {
  if (query.length === 0) throw bad('Write-Attributes needs at least one attribute');
  const change: AttributeChange = { set: {}, unset: [] };
  const seen = new Set<string>();
  for (const item of query) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? undefined : item.slice(eq + 1);
    if (READ_ONLY.has(name)) {
      if (name === 'dim' && value !== undefined && !(UINT.test(value) && Number(value) <= 255)) throw bad(`dim=${value}: dim is 0..255, and no server may write it`);
      throw bad(`${name} is a read-only attribute`);
    }
    if (!isAttribute(name)) throw bad(`unknown attribute "${name.slice(0, 20)}"`);
    if (seen.has(name)) throw bad(`${name} given twice`);
    seen.add(name);
    if (CHANGE.has(name)) {
      if (path.length < 3) throw bad(`${name} applies to a resource, not to ${pathToString(path)}`);
      if (def && !NUMERIC_TYPES.has(def.type)) throw bad(`${name} applies to a numeric resource; ${pathToString(path)} is not one`);
    }
    if (def && path.length >= 3 && !def.operations.includes('R')) throw bad(`${name}: ${pathToString(path)} is not readable`);
    if (value === undefined) {
      change.unset.push(name);
      continue;
    }
    if (PERIODS.has(name)) {
      if (!UINT.test(value) || Number(value) > MAX_PERIOD_S) throw bad(`${name}=${value.slice(0, 20)}: a period is a whole number of seconds`);
    } else if (!NUMBER.test(value) || (name === 'st' && value.startsWith('-'))) throw bad(`${name}=${value.slice(0, 20)}: not a ${name === 'st' ? 'non-negative ' : ''}number`);
    change.set[name] = Number(value);
  }
  return change;
}

/** The TS's two rules on the change value conditions (§5.1.2): lt < gt, lt + 2*st < gt. */
export function checkChangeConditions(a: AttributeSet): void {
  const { gt, lt, st } = a;
  if (gt !== undefined && lt !== undefined) {
    if (!(lt < gt)) throw bad(`lt (${lt}) must be less than gt (${gt})`);
    if (st !== undefined && !(lt + 2 * st < gt)) throw bad(`lt + 2*st (${lt + 2 * st}) must be less than gt (${gt})`);
  }
}

/** Attributes in the order they are written in a link (Discover). */
export function attributeLinkParams(a: AttributeSet): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const n of NOTIFICATION_ATTRIBUTES) {
    const v = a[n];
    if (v !== undefined) out.push([n, String(v)]);
  }
  return out;
}

/** The periods and conditions an observation runs with (seconds), after inheritance and defaults. */
export interface EffectiveAttributes extends AttributeSet {
  pmin: number;
}

/**
 * The attributes of one client, per LwM2M server (Short Server ID) and path: what
 * Write-Attributes set, what Discover reports, what observations use.
 */
export class AttributeStore {
  private readonly byServer = new Map<number, Map<string, AttributeSet>>();

  /** Write-Attributes from server `ssid` on `path` (which must exist): all or nothing. */
  write(ssid: number, path: Path, query: readonly string[], store: ObjectStore): void {
    const [o, i, r, ri] = path;
    if (o === undefined) throw bad('Write-Attributes needs an object, instance or resource');
    const def = store.definition(o);
    if (!def) throw Lwm2mError.notFound(pathToString(path));
    if (i !== undefined && !store.instanceIds(o).includes(i)) throw Lwm2mError.notFound(pathToString(path));
    const rdef = r === undefined ? undefined : def.resources.find((x) => x.id === r);
    if (r !== undefined && !rdef) throw Lwm2mError.notFound(pathToString(path));
    if (ri !== undefined && store.get(path) === undefined) throw Lwm2mError.notFound(pathToString(path));
    const change = parseWriteAttributes(query, path, rdef);
    const key = pathToString(path);
    const next: AttributeSet = { ...this.at(ssid, path), ...change.set };
    for (const n of change.unset) delete next[n];
    checkChangeConditions(next);
    let m = this.byServer.get(ssid);
    if (!m) this.byServer.set(ssid, (m = new Map()));
    if (Object.keys(next).length === 0) m.delete(key);
    else m.set(key, next);
  }

  /** The attributes assigned at exactly `path`. */
  at(ssid: number, path: Path): AttributeSet {
    return this.byServer.get(ssid)?.get(pathToString(path)) ?? {};
  }

  /** Object, instance, resource, resource instance: each level's attributes override its parents'. */
  inherited(ssid: number, path: Path): AttributeSet {
    let a: AttributeSet = {};
    for (let n = 1; n <= path.length; n++) a = { ...a, ...this.at(ssid, path.slice(0, n)) };
    return a;
  }

  /** What an observation of `path` runs with: inherited attributes, then the server's default periods. */
  effective(ssid: number, path: Path, defaults: { pmin?: number; pmax?: number }): EffectiveAttributes {
    const a = this.inherited(ssid, path);
    const pmax = a.pmax ?? defaults.pmax;
    return { ...a, pmin: a.pmin ?? defaults.pmin ?? 0, ...(pmax !== undefined ? { pmax } : {}) };
  }

  /** Forgets a server's attributes (all servers when undefined). */
  clear(ssid?: number): void {
    if (ssid === undefined) this.byServer.clear();
    else this.byServer.delete(ssid);
  }
}

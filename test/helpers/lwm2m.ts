/**
 * What the LwM2M codec tests share: test-only object definitions, an exact view of values and
 * records, the codec-error check, and the "all types" object the property tests encode.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { toHex } from '../../lib/bytes/util.js';
import {
  Lwm2mCodecError,
  type Lwm2mRecord,
  type ObjectDefinition,
  type ResourceDefinition,
  type ResourceType,
  type TypeResolver,
  type Value,
} from '../../lib/lwm2m/types.js';

/** Every LwM2M resource type, in a fixed order. */
export const RESOURCE_TYPES: readonly ResourceType[] = ['string', 'integer', 'unsigned', 'float', 'boolean', 'opaque', 'time', 'objlnk', 'corelnk'];

/** A readable and writable, optional resource `r<id>` of a type. */
export function res(id: number, type: ResourceType, multiple = false): ResourceDefinition {
  return { id, name: `r${id}`, type, multiple, operations: 'RW', mandatory: false };
}

/** An optional object `o<id>` (multiple-instance unless said otherwise). */
export function obj(id: number, resources: ResourceDefinition[], multiple = true): ObjectDefinition {
  return { id, name: `o${id}`, multiple, mandatory: false, resources };
}

/**
 * Object 9000, "All types": resource k is a single resource of RESOURCE_TYPES[k], resource
 * `multipleBase` + k a multiple one of the same type.
 */
export function allTypesObject(multipleBase: number): ObjectDefinition {
  return { ...obj(9000, [...RESOURCE_TYPES.map((t, k) => res(k, t)), ...RESOURCE_TYPES.map((t, k) => res(multipleBase + k, t, true))]), name: 'All types' };
}

/** An integer as the model holds it: a number when it is safe, else a bigint. */
export const intValue = (b: bigint): number | bigint => (b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b);

/** Any Objlnk value. */
export const objlnkArb = fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 })).map(([objectId, instanceId]) => ({ objectId, instanceId }));

/**
 * Distinct records on allTypesObject(10) and on object 9001 (unknown to `types`), each a value
 * of its resource's type (`valueOf(undefined)` for unknown resources): single resources by
 * path, multiple ones per instance; an unknown resource is either single or multiple, never both.
 */
export function allTypesRecordsArb(
  types: TypeResolver,
  valueOf: (t: ResourceType | undefined) => fc.Arbitrary<Value>,
  length: { minLength?: number; maxLength: number },
): fc.Arbitrary<Lwm2mRecord[]> {
  return fc
    .uniqueArray(fc.tuple(fc.constantFrom(9000, 9001), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 18 }), fc.integer({ min: 0, max: 2 })), {
      ...length,
      selector: ([o, i, r, ri]) => `${o}/${i}/${r}/${o === 9000 && r < 10 ? '' : ri}`,
    })
    .chain((slots) =>
      fc.tuple(
        ...slots.map(([o, i, r, ri]) => {
          const def = types(o, r);
          return fc.tuple(fc.constant(def && !def.multiple ? [o, i, r] : [o, i, r, ri]), valueOf(def?.type));
        }),
      ),
    )
    .map((pairs) => {
      const byRes = new Map<string, number>();
      return pairs
        .filter(([p]) => {
          const k = p.slice(0, 3).join('/');
          const prev = byRes.get(k);
          if (prev !== undefined && prev !== p.length) return false;
          byRes.set(k, p.length);
          return true;
        })
        .map(([path, value]) => ({ path, value }));
    });
}

/** An exact view of a value: Object.is for numbers (-0), bigint vs number, bytes as hex. */
export function canonValue(v: Value): string {
  if (v instanceof Uint8Array) return `bytes:${toHex(v)}`;
  if (typeof v === 'number') return `number:${Object.is(v, -0) ? '-0' : String(v)}`;
  if (typeof v === 'bigint') return `bigint:${v}`;
  if (typeof v === 'object') return `objlnk:${v.objectId}:${v.instanceId}`;
  return `${typeof v}:${JSON.stringify(v)}`;
}

/** Order-insensitive, exact view of records. */
export function canon(records: readonly Lwm2mRecord[]): string[] {
  return records.map((r) => `${r.path.join('/')}=${canonValue(r.value)}`).sort();
}

/** `f` throws a Lwm2mCodecError. */
export function expectCodecError(f: () => unknown): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a Lwm2mCodecError').toBeInstanceOf(Lwm2mCodecError);
}

/**
 * Notification attributes on the client (OMA-TS-LightweightM2M-Core §5.1.2, Write-Attributes
 * §5.4.4, Discover §5.4.2): the TS's Discover examples as exact payloads, every refusal (4.00,
 * 4.04, 4.01) leaving the attributes as they were, removal with a valueless attribute,
 * inheritance with the server's default periods, and a property: a random Write-Attributes is
 * either applied exactly as a small model says, or refused with nothing changed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ContentFormat } from '../lib/coap/content-format.js';
import { Code } from '../lib/coap/message.js';
import { AttributeStore, NOTIFICATION_ATTRIBUTES, type AttributeSet } from '../lib/lwm2m/attributes.js';
import { serveServer, type ServeContext } from '../lib/lwm2m/client-serve.js';
import { ObjectStore } from '../lib/lwm2m/object-store.js';
import type { ObjectDefinition, ResourceDefinition } from '../lib/lwm2m/types.js';
import { lwm2mRequest } from './helpers/lwm2m-request.js';

const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b ?? new Uint8Array(0));
const r = (id: number, type: ResourceDefinition['type'], multiple: boolean, operations: ResourceDefinition['operations']): ResourceDefinition => ({ id, name: `r${id}`, type, multiple, operations, mandatory: false });

/**
 * The Device object of the TS's Discover examples: resources 1, 2, 3, 4 (Reboot), 6, 7 and 8
 * (multiple, 8 instances each), 11 and 16. The example lists /3/0/11 without dim: a single
 * resource here.
 */
const EXAMPLE_DEVICE: ObjectDefinition = {
  id: 3,
  name: 'Device',
  multiple: false,
  mandatory: true,
  resources: [r(1, 'string', false, 'R'), r(2, 'string', false, 'R'), r(3, 'string', false, 'R'), r(4, 'none', false, 'E'), r(6, 'integer', true, 'R'), r(7, 'integer', true, 'R'), r(8, 'integer', true, 'R'), r(11, 'integer', false, 'R'), r(16, 'string', false, 'R')],
};

function exampleClient(): ServeContext {
  const store = new ObjectStore().define(EXAMPLE_DEVICE);
  store.set([3, 0, 1], 'Lightweight M2M Client');
  store.set([3, 0, 2], '345000123');
  store.set([3, 0, 3], '1.0');
  for (const res of [6, 7, 8]) store.set([3, 0, res], [1, 2, 3, 4, 5, 6, 7, 8]);
  store.set([3, 0, 11], 0);
  store.set([3, 0, 16], 'U');
  return { store, attributes: new AttributeStore(), shortServerId: 101, observations: undefined, firmware: undefined };
}

const writeAttributes = (sx: ServeContext, path: string, query: string[]) => serveServer(0, 1, lwm2mRequest('PUT', path, { query }), sx).answer;
const discover = (sx: ServeContext, path: string) => {
  const a = serveServer(0, 1, lwm2mRequest('GET', path, { accept: ContentFormat.LinkFormat }), sx).answer;
  expect(a.code).toBe(Code.Content);
  return text(a.payload);
};

describe('Discover with attributes: the TS examples (§5.4.2), byte for byte', () => {
  const sx = exampleClient();
  it('pmin on the object, pmax on the instance, gt and lt on a resource: Write-Attributes answered 2.04', () => {
    expect(writeAttributes(sx, '/3', ['pmin=10']).code).toBe(Code.Changed);
    expect(writeAttributes(sx, '/3/0', ['pmax=60']).code).toBe(Code.Changed);
    expect(writeAttributes(sx, '/3/0/7', ['gt=50', 'lt=42.2']).code).toBe(Code.Changed);
  });
  it('Discover /3: the object with its attribute, what is under it without', () => {
    expect(discover(sx, '/3')).toBe('</3>;pmin=10,</3/0>,</3/0/1>,</3/0/2>,</3/0/3>,</3/0/4>,</3/0/6>,</3/0/7>,</3/0/8>,</3/0/11>,</3/0/16>');
  });
  it('Discover /3/0: the instance with its attribute, the resources with dim and theirs', () => {
    expect(discover(sx, '/3/0')).toBe('</3/0>;pmax=60,</3/0/1>,</3/0/2>,</3/0/3>,</3/0/4>,</3/0/6>;dim=8,</3/0/7>;dim=8;gt=50;lt=42.2,</3/0/8>;dim=8,</3/0/11>,</3/0/16>');
  });
  it('Discover /3/0/7: dim, the inherited pmin and pmax, its own gt and lt', () => {
    expect(discover(sx, '/3/0/7')).toBe('</3/0/7>;dim=8;pmin=10;pmax=60;gt=50;lt=42.2');
  });
  it('a valueless attribute removes it', () => {
    expect(writeAttributes(sx, '/3', ['pmin']).code).toBe(Code.Changed);
    expect(discover(sx, '/3/0/7')).toBe('</3/0/7>;dim=8;pmax=60;gt=50;lt=42.2');
  });
});

describe('Write-Attributes refusals: the TS code, and nothing changed', () => {
  const cases: Array<[string, string[], number]> = [
    ['/3/0/7', ['pmin='], Code.BadRequest], // pmin without a value
    ['/3/0/7', ['pmin=-1'], Code.BadRequest],
    ['/3/0/7', ['pmin=1.5'], Code.BadRequest],
    ['/3/0/7', ['pmax=abc'], Code.BadRequest],
    ['/3/0/7', ['epmin=1e3'], Code.BadRequest],
    ['/3/0/7', ['dim=300'], Code.BadRequest], // dim out of 0-255
    ['/3/0/7', ['dim=3'], Code.BadRequest], // read-only
    ['/3/0', ['ver=1.1'], Code.BadRequest],
    ['/3/0/7', ['foo=1'], Code.BadRequest],
    ['/3/0/7', ['pmin=1', 'pmin=2'], Code.BadRequest],
    ['/3/0', ['gt=50'], Code.BadRequest], // gt on an instance
    ['/3/0/1', ['gt=50'], Code.BadRequest], // gt on a string resource
    ['/3/0/7', ['gt=x'], Code.BadRequest],
    ['/3/0/7', ['st=-1'], Code.BadRequest],
    ['/3/0/7', ['lt=60'], Code.BadRequest], // lt >= the gt already there
    ['/3/0/7', ['pmin=5', 'lt=60'], Code.BadRequest], // one bad part refuses all
    ['/3/0/8', ['lt=10', 'gt=20', 'st=6'], Code.BadRequest], // lt + 2*st >= gt
    ['/3/0/8', ['lt=20', 'gt=20'], Code.BadRequest], // lt = gt
    ['/3/0/4', ['pmin=5'], Code.BadRequest], // not readable (Reboot)
    ['/3/0/99', ['pmin=5'], Code.NotFound],
    ['/3/1', ['pmin=5'], Code.NotFound],
    ['/9', ['pmin=5'], Code.NotFound],
    ['/0/0', ['pmin=5'], Code.Unauthorized], // Security
  ];
  for (const [path, query, code] of cases) {
    it(`${path}?${query.join('&')} -> ${code >> 5}.0${code & 31}`, () => {
      const sx = exampleClient();
      writeAttributes(sx, '/3/0/7', ['gt=50', 'lt=42.2', 'pmin=3']);
      const before = [discover(sx, '/3/0/7'), discover(sx, '/3/0/8'), discover(sx, '/3/0')];
      expect(writeAttributes(sx, path, query).code).toBe(code);
      expect([discover(sx, '/3/0/7'), discover(sx, '/3/0/8'), discover(sx, '/3/0')]).toEqual(before);
    });
  }
});

describe('inheritance and the server defaults', () => {
  it('resource over instance over object, then /1/x/2 and /1/x/3 for pmin and pmax', () => {
    const a = new AttributeStore();
    const store = exampleClient().store;
    a.write(101, [3], ['pmin=10', 'epmax=30'], store);
    a.write(101, [3, 0], ['pmax=60'], store);
    a.write(101, [3, 0, 7], ['pmin=2', 'st=1'], store);
    expect(a.effective(101, [3, 0, 7], { pmin: 1, pmax: 300 })).toEqual({ pmin: 2, pmax: 60, epmax: 30, st: 1 });
    expect(a.effective(101, [3, 0, 6], { pmin: 1, pmax: 300 })).toEqual({ pmin: 10, pmax: 60, epmax: 30 });
    expect(a.effective(101, [3, 0], {})).toEqual({ pmin: 10, pmax: 60, epmax: 30 });
    // another server sees none of them
    expect(a.effective(102, [3, 0, 7], { pmin: 1 })).toEqual({ pmin: 1 });
  });
});

describe('Write-Attributes property', () => {
  const name = fc.constantFrom(...NOTIFICATION_ATTRIBUTES, 'dim', 'bogus');
  const value = fc.oneof(fc.constant(undefined), fc.constant(''), fc.integer({ min: -5, max: 100 }).map(String), fc.double({ min: -50, max: 100, noNaN: true }).map((d) => d.toFixed(1)), fc.constant('x'));
  const item = fc.tuple(name, value).map(([n, v]) => (v === undefined ? n : `${n}=${v}`));

  /** The model: parse as the TS says, merge, check the two rules; undefined means 4.00. */
  function model(before: AttributeSet, query: string[], numeric: boolean): AttributeSet | undefined {
    const next: AttributeSet = { ...before };
    const seen = new Set<string>();
    for (const q of query) {
      const [n, v] = q.includes('=') ? [q.slice(0, q.indexOf('=')), q.slice(q.indexOf('=') + 1)] : [q, undefined];
      if (!(NOTIFICATION_ATTRIBUTES as readonly string[]).includes(n) || seen.has(n)) return undefined;
      seen.add(n);
      const key = n as keyof AttributeSet;
      if (['gt', 'lt', 'st'].includes(n) && !numeric) return undefined;
      if (v === undefined) {
        delete next[key];
        continue;
      }
      const period = ['pmin', 'pmax', 'epmin', 'epmax'].includes(n);
      if (period ? !/^(0|[1-9]\d*)$/.test(v) : !/^-?(0|[1-9]\d*)(\.\d+)?$/.test(v) || (n === 'st' && v.startsWith('-'))) return undefined;
      next[key] = Number(v);
    }
    if (next.gt !== undefined && next.lt !== undefined && (!(next.lt < next.gt) || (next.st !== undefined && !(next.lt + 2 * next.st < next.gt)))) return undefined;
    return next;
  }

  it('a random query is applied as the model says, or refused with 4.00 and nothing changed', () => {
    fc.assert(
      fc.property(fc.array(fc.array(item, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }), fc.constantFrom('/3/0/7', '/3/0/1'), (queries, path) => {
        const sx = exampleClient();
        const p = path.split('/').slice(1).map(Number);
        let state: AttributeSet = {};
        for (const q of queries) {
          const expected = model(state, q, path === '/3/0/7');
          const a = writeAttributes(sx, path, q);
          if (expected === undefined) expect(a.code).toBe(Code.BadRequest);
          else {
            expect(a.code).toBe(Code.Changed);
            state = expected;
          }
          expect(sx.attributes.at(101, p)).toEqual(state);
        }
      }),
      { numRuns: 400 },
    );
  });
});

/**
 * CoRE Link Format (lib/coap/link-format.ts): the lenient parser, the strict emitter, discovery
 * filtering. Oracle: parseLinks throws only LinkFormatError; formatLinks throws only TypeError
 * (for links the grammar cannot carry, which the lenient parser may produce); what it emits
 * parses back to the same links and emits the same text again; filtering and attribute lookup
 * never throw.
 */
import fc from 'fast-check';
import { attribute, filterLinks, formatLinks, isUriReference, LinkFormatError, parseDiscoveryQuery, parseLinks, type Link } from '../../../lib/coap/link-format.js';
import { canon } from '../canon.js';
import { FcPool } from '../fc-pool.js';
import { fixtureJson } from '../fixtures.js';
import { allowed } from '../oracles.js';
import { Violation, type FuzzTarget } from '../target.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

const linkArb: fc.Arbitrary<Link> = fc.record({
  target: fc.oneof(fc.constantFrom('/3/0', '/sensors/temp', '/1/0', 'coap://[::1]:5683/a?b=c#d', '/a%20b', '', '/.well-known/core'), fc.string({ maxLength: 12 })),
  attributes: fc.array(
    fc.tuple(
      fc.oneof(fc.constantFrom('rt', 'if', 'ct', 'sz', 'obs', 'title', 'anchor', 'ver', 'ssid', 'uri', 'title*', 'rel', 'lwm2m'), fc.string({ minLength: 1, maxLength: 6 })),
      fc.oneof(fc.constant(true as const), fc.string({ maxLength: 10 }), fc.constantFrom('0', '40 0', '1.1', '"q"', 'a\\b', "utf-8'en'%E2%82%AC", '</x>')),
    ),
    { maxLength: 4 },
  ),
});
const linksPool = new FcPool(fc.array(linkArb, { maxLength: 4 }));

function seeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const v of fixtureJson<{ vectors?: Array<{ payload?: unknown }> }>('lwm2m', 'link_format.json')?.vectors ?? []) if (typeof v.payload === 'string') out.push(enc.encode(v.payload));
  out.push(enc.encode('</3/0>;rt="oma.lwm2m";ct="0 40",</1/0>;ssid=101;obs,<coap://h/x>;anchor="/a";title*=utf-8\'en\'%E2%82%AC'));
  return out;
}

export const LINK_FORMAT_TARGET: FuzzTarget = {
  name: 'link-format',
  about: 'parseLinks (LinkFormatError only), formatLinks (TypeError only) round trip, filterLinks / parseDiscoveryQuery / attribute',
  maxLength: 2048,
  dictionary: ['<', '>', ';', ',', '"', '=', '\\', '*', "''", 'rt=', 'ct=', 'anchor=', 'title*=', ' '].map((s) => enc.encode(s)),
  seeds,
  generate(rng) {
    try {
      return enc.encode(formatLinks(linksPool.next(rng)));
    } catch {
      return enc.encode('</x>;' + 'a'.repeat(rng.below(4)));
    }
  },
  run(b) {
    const text = dec.decode(b);
    const f: string[] = [];
    const query = parseDiscoveryQuery(text.split('&'));
    parseDiscoveryQuery('?' + text);
    let links: Link[];
    try {
      links = parseLinks(text);
    } catch (e) {
      f.push(allowed(e, LinkFormatError));
      return f;
    }
    f.push(`n:${Math.min(links.length, 4)}`);
    filterLinks(links, query);
    for (const l of links) {
      isUriReference(l.target);
      for (const [name] of l.attributes) attribute(l, name);
    }
    let out: string;
    try {
      out = formatLinks(links);
    } catch (e) {
      f.push(allowed(e, TypeError));
      return f;
    }
    let again: Link[];
    try {
      again = parseLinks(out);
    } catch (e) {
      throw new Violation('roundtrip', `formatLinks emitted text parseLinks refuses (${e instanceof Error ? e.message : String(e)}): ${JSON.stringify(out).slice(0, 200)}`);
    }
    if (canon(again) !== canon(links)) throw new Violation('roundtrip', `links change through formatLinks: ${JSON.stringify(text).slice(0, 200)} -> ${JSON.stringify(out).slice(0, 200)}`);
    if (formatLinks(again) !== out) throw new Violation('roundtrip', `formatLinks is not stable on ${JSON.stringify(out).slice(0, 200)}`);
    f.push('formatted');
    return f;
  },
};

/**
 * The server's strict checks of Register / Update object links and Discover answers
 * (lib/lwm2m/link-check.ts): the registration payloads of test/fixtures/lwm2m-vectors/
 * link_format.json (the TS's, Leshan's and wakaama's, accepted and refused as their kind says),
 * the LwM2M attribute vectors, and every way a link can be wrong, each with a message that says
 * what; on the wire, a refused Register is a 4.00 whose payload tells why.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../lib/coap/codec.js';
import { Code } from '../lib/coap/message.js';
import { checkDiscoverLinks, checkRegistrationLinks, Lwm2mLinkError } from '../lib/lwm2m/link-check.js';
import { Lwm2mServerCore } from '../lib/lwm2m/server-core.js';
import { lwm2mRequest } from './helpers/lwm2m-request.js';
import { readFixtureJson } from './helpers/fixtures.js';

const enc = (s: string) => new TextEncoder().encode(s);
interface Vector {
  id: string;
  kind: string;
  payload: string;
}
const VECTORS = readFixtureJson<{ vectors: Vector[] }>('lwm2m-vectors/link_format.json').vectors;

describe('registration links: the vectors', () => {
  const accepted = VECTORS.filter((v) => v.kind === 'registration-payload' || v.kind === 'registration-payload-server-accepts');
  const refused = VECTORS.filter((v) => v.kind === 'registration-payload-server-rejects');
  it('has them', () => expect(accepted.length + refused.length).toBeGreaterThanOrEqual(6));
  for (const v of accepted) it(`accepts ${v.id}`, () => expect(checkRegistrationLinks(enc(v.payload)).length).toBeGreaterThan(0));
  for (const v of refused) it(`refuses ${v.id}`, () => expect(() => checkRegistrationLinks(enc(v.payload))).toThrow(/more than one rt/));
  it('accepts the alternate root path of link-roundtrip-alternate-path', () => {
    const v = VECTORS.find((x) => x.id === 'link-roundtrip-alternate-path')!;
    expect(checkRegistrationLinks(enc(v.payload)).map((l) => l.target)).toEqual(['/lwm2m', '/lwm2m/1/101', '/lwm2m/1/102', '/lwm2m/2/0']);
  });
  it('the LwM2M attribute vectors: dim=255 and pmin=200 pass, ssid=0 is refused', () => {
    for (const id of ['lwm2m-attr-dim-255', 'lwm2m-attr-pmin-200']) expect(() => checkDiscoverLinks(enc(VECTORS.find((x) => x.id === id)!.payload), [3, 0])).not.toThrow();
    expect(() => checkDiscoverLinks(enc(VECTORS.find((x) => x.id === 'lwm2m-attr-ssid-0')!.payload), [0])).toThrow(/ssid=0 is not a valid ssid/);
  });
});

describe('registration links: what is refused, and why', () => {
  const cases: Array<[string, RegExp]> = [
    ['</3/0/9>', /not an object or object instance path/],
    ['</abc>', /not an object or object instance path/],
    ['</3/01>', /not an object or object instance path/],
    ['</70000/0>', /not an object or object instance path/],
    ['</3/65535>', /not an object or object instance path/],
    ['</3/0>,</3/0>', /listed twice/],
    ['</3/0>,</>;rt="oma.lwm2m"', /must come first/],
    ['</>;rt="oma.lwm2m",</other/3/0>', /not an object or object instance path/],
    ['</lwm2m>;rt="oma.lwm2m",</3/0>', /not under the alternate root path/],
    ['</3>;ver=x', /ver=x is not a valid ver/],
    ['</>;ct=abc,</3/0>', /ct=abc/],
    ['</3/0>;ssid=70000', /ssid=70000/],
    ['</3/0>;pmin', /pmin has no value/],
    ['3/0', /expected "<"/],
    ['</3/0', /no closing ">"/],
  ];
  for (const [payload, why] of cases) {
    it(payload, () => {
      let err: unknown;
      try {
        checkRegistrationLinks(enc(payload));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Lwm2mLinkError);
      expect((err as Error).message).toMatch(why);
    });
  }
  it('non-ASCII bytes are refused with their offset', () => {
    expect(() => checkRegistrationLinks(new Uint8Array([0x3c, 0x2f, 0x33, 0xc3, 0xa9, 0x3e]))).toThrow(/byte 0xc3 at offset 3 is not ASCII/);
  });
  it('any payload gives links or Lwm2mLinkError, nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.stringMatching(/^[<>/0-9;,=a-z" ]{0,40}$/).map(enc)), (b) => {
        try {
          checkRegistrationLinks(b);
          checkDiscoverLinks(b, [3]);
        } catch (e) {
          if (!(e instanceof Lwm2mLinkError)) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('Discover answers', () => {
  it('the TS example passes; a link outside the requested path, or not a path, does not', () => {
    expect(checkDiscoverLinks(enc('</3/0>;pmax=60,</3/0/1>,</3/0/6>;dim=8,</3/0/7>;dim=8;gt=50;lt=42.2'), [3, 0])).toHaveLength(4);
    expect(() => checkDiscoverLinks(enc('</3/0>,</4/0/1>'), [3, 0])).toThrow(/outside the requested path/);
    expect(() => checkDiscoverLinks(enc('</3/0/x>'), [3])).toThrow(/not an LwM2M path/);
    expect(() => checkDiscoverLinks(enc('</3/0/6>;dim=256'), [3])).toThrow(/dim=256/);
    expect(() => checkDiscoverLinks(enc('</3/0/7>;st=-1'), [3])).toThrow(/st=-1/);
    expect(() => checkDiscoverLinks(enc('</3/0/7>;gt=abc'), [3])).toThrow(/gt=abc/);
  });
});

describe('the server refuses a bad Register with 4.00 and says why', () => {
  it('a resource path in the object links', () => {
    const logs: string[] = [];
    const server = new Lwm2mServerCore<string>({ log: (l) => logs.push(l) });
    server.peerUp('p', { address: { address: '10.0.0.9', port: 1 }, identity: undefined });
    const register = lwm2mRequest('POST', '/rd', { query: ['ep=dev1', 'lt=60', 'lwm2m=1.1'], payload: enc('</>;rt="oma.lwm2m",</3/0/9>') }).message;
    server.handleDatagram(0, 'p', encodeMessage(register));
    const answer = decodeMessage(server.pollTransmit()!.data);
    expect(answer.code).toBe(Code.BadRequest);
    expect(new TextDecoder().decode(answer.payload)).toBe('registration links: </3/0/9> is not an object or object instance path (/O or /O/I)');
    expect(logs.join('\n')).toMatch(/Register ep=dev1 refused: registration links: <\/3\/0\/9>/);
    expect(server.registrations).toHaveLength(0);
  });
});

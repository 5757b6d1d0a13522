/**
 * Composite operations (LwM2M 1.1 §5.4.6-5.4.7) and Send (§6.4.5): the request and answer
 * payloads of the Read-Composite vectors byte for byte, every malformed composite payload
 * refused with the TS's code and nothing changed, and round trips on the virtual clock over
 * DTLS: Read-Composite, Write-Composite (all or nothing), Observe-Composite, Send with Mute
 * Send off and on.
 */
import { describe, expect, it } from 'vitest';
import { ContentFormat } from '../lib/coap/content-format.js';
import { Code } from '../lib/coap/message.js';
import { AttributeStore } from '../lib/lwm2m/attributes.js';
import { encodePathList } from '../lib/lwm2m/codec/index.js';
import { encodeSenmlCbor } from '../lib/lwm2m/codec/senml-cbor.js';
import { serveServer, type ServeContext } from '../lib/lwm2m/client-serve.js';
import { deviceStore } from '../lib/lwm2m/device.js';
import { Lwm2mError } from '../lib/lwm2m/errors.js';
import { resolverFor, DEVICE, SERVER } from '../lib/lwm2m/objects.js';
import { lwm2mRequest } from './helpers/lwm2m-request.js';
import { readFixtureJson } from './helpers/fixtures.js';
import { ENDPOINT, MINUTE, SECOND, simSetup } from './helpers/lwm2m-sim-setup.js';
import { fromHex, toHex } from '../lib/bytes/util.js';
import { decodeMessage, encodeMessage } from '../lib/coap/codec.js';
import { Lwm2mServerCore } from '../lib/lwm2m/server-core.js';

const enc = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b ?? new Uint8Array(0));
const vector = (file: string, id: string) => readFixtureJson<{ vectors: Array<{ id: string; payload?: string; hex?: string }> }>(`lwm2m-vectors/${file}`).vectors.find((v) => v.id === id)!;

/** The store of the Read-Composite vectors: Manufacturer, Battery Level 95, Lifetime 86400. */
function vectorClient(): ServeContext {
  const store = deviceStore({ manufacturer: 'Open Mobile Alliance' });
  store.set([3, 0, 9], 95);
  store.write([1, 0], [{ path: [1, 0, 0], value: 101 }, { path: [1, 0, 1], value: 86400 }], 'replace', { ignoreAccess: true, create: true });
  return { store, attributes: new AttributeStore(), shortServerId: 101, observations: undefined, firmware: undefined };
}
const serve = (sx: ServeContext, r: ReturnType<typeof lwm2mRequest>) => serveServer(0, 1, r, sx).answer;

describe('Read-Composite: the vectors byte for byte', () => {
  it('SenML JSON: the path list the server sends, and the answer the client gives (Leshan)', () => {
    const request = vector('senml_json.json', 'wakaama-senml_json_test_5-5').payload!;
    expect(text(encodePathList(ContentFormat.SenmlJson, [[3, 0, 0], [3, 0, 9], [1, 0, 1]]))).toBe(request);
    const a = serve(vectorClient(), lwm2mRequest('FETCH', '/', { contentFormat: ContentFormat.SenmlJson, payload: enc(request) }));
    expect(a.code).toBe(Code.Content);
    expect(a.contentFormat).toBe(ContentFormat.SenmlJson);
    expect(text(a.payload)).toBe(vector('senml_json.json', 'senml-json-read-composite-response').payload);
  });
  it('SenML CBOR: the path list (wakaama), and the answer with Accept', () => {
    const request = vector('senml_cbor.json', 'wakaama-senml_cbor_test_5-5').hex!;
    expect(toHex(encodePathList(ContentFormat.SenmlCbor, [[3, 0, 0], [3, 0, 9], [1, 0, 1]]))).toBe(request);
    const a = serve(vectorClient(), lwm2mRequest('FETCH', '/', { contentFormat: ContentFormat.SenmlCbor, accept: ContentFormat.SenmlCbor, payload: fromHex(request) }));
    const records = [{ path: [3, 0, 0], value: 'Open Mobile Alliance' }, { path: [3, 0, 9], value: 95 }, { path: [1, 0, 1], value: 86400 }];
    expect(toHex(a.payload!)).toBe(toHex(encodeSenmlCbor(records, null, resolverFor([DEVICE, SERVER]))));
  });
  it('LwM2M CBOR: the answer is the TS example (39 bytes), and a Send of it reaches the server as values', () => {
    const spec = vector('lwm2m_cbor.json', 'lwm2m-cbor-composite').hex!;
    const sx = vectorClient();
    sx.store.set([3, 0, 9], 100);
    const a = serve(sx, lwm2mRequest('FETCH', '/', { contentFormat: ContentFormat.SenmlJson, accept: ContentFormat.Lwm2mCbor, payload: enc('[{"n":"/3/0/0"},{"n":"/3/0/9"},{"n":"/1/0/1"}]') }));
    expect(toHex(a.payload!)).toBe(spec);
    // the same bytes as a Send (POST /dp, Content-Format 11544) from a registered client
    const server = new Lwm2mServerCore<string>();
    server.peerUp('p', { address: { address: '10.0.0.9', port: 1 }, identity: undefined });
    server.handleDatagram(0, 'p', encodeMessage(lwm2mRequest('POST', '/rd', { query: ['ep=dev1', 'lwm2m=1.1'], token: new Uint8Array([1]) }).message));
    server.pollTransmit();
    server.handleDatagram(1, 'p', encodeMessage({ ...lwm2mRequest('POST', '/dp', { contentFormat: ContentFormat.Lwm2mCbor, payload: fromHex(spec), token: new Uint8Array([2]) }).message, messageId: 2 }));
    expect(decodeMessage(server.pollTransmit()!.data).code).toBe(Code.Changed);
    const events: Array<{ type: string; records?: unknown }> = [];
    for (let e = server.pollEvent(); e; e = server.pollEvent()) events.push(e);
    expect(events.find((e) => e.type === 'send')?.records).toEqual([
      { path: [3, 0, 0], value: 'Open Mobile Alliance' },
      { path: [3, 0, 9], value: 100 },
      { path: [1, 0, 1], value: 86400 },
    ]);
  });

  it('a path that does not exist is left out of the answer', () => {
    const a = serve(vectorClient(), lwm2mRequest('FETCH', '/', { contentFormat: ContentFormat.SenmlJson, payload: enc('[{"n":"/3/0/9"},{"n":"/3/0/99"},{"n":"/42"}]') }));
    expect(text(a.payload)).toBe('[{"bn":"/3/0/9","v":95}]');
  });
});

describe('malformed composite requests: the TS code, nothing changed', () => {
  const cases: Array<[string, ReturnType<typeof lwm2mRequest>, number]> = [
    ['FETCH with a payload that is not SenML', lwm2mRequest('FETCH', '/', { contentFormat: ContentFormat.SenmlJson, payload: enc('{"n":1') }), Code.BadRequest],
    ['FETCH with values in the path list', lwm2mRequest('FETCH', '/', { contentFormat: ContentFormat.SenmlJson, payload: enc('[{"n":"/3/0/9","v":1}]') }), Code.BadRequest],
    ['FETCH with an empty path list', lwm2mRequest('FETCH', '/', { contentFormat: ContentFormat.SenmlJson, payload: enc('[]') }), Code.BadRequest],
    ['FETCH in TLV', lwm2mRequest('FETCH', '/', { contentFormat: ContentFormat.Lwm2mTlv, payload: new Uint8Array([0xc1, 0x09, 0x01]) }), Code.UnsupportedContentFormat],
    ['FETCH of Security', lwm2mRequest('FETCH', '/', { contentFormat: ContentFormat.SenmlJson, payload: enc('[{"n":"/0/0/5"}]') }), Code.Unauthorized],
    ['FETCH with an answer format that has no composite form', lwm2mRequest('FETCH', '/', { contentFormat: ContentFormat.SenmlJson, accept: ContentFormat.Lwm2mTlv, payload: enc('[{"n":"/3/0/9"}]') }), Code.NotAcceptable],
    ['iPATCH with a resource that is not writable (and one that is)', lwm2mRequest('IPATCH', '/', { contentFormat: ContentFormat.SenmlJson, payload: enc('[{"bn":"/3/0/15","vs":"Europe/Paris"},{"bn":"/3/0/9","v":1}]') }), Code.MethodNotAllowed],
    ['iPATCH with an unknown resource', lwm2mRequest('IPATCH', '/', { contentFormat: ContentFormat.SenmlJson, payload: enc('[{"bn":"/3/0/15","vs":"Europe/Paris"},{"bn":"/3/0/99","v":1}]') }), Code.NotFound],
    ['iPATCH with an unknown instance', lwm2mRequest('IPATCH', '/', { contentFormat: ContentFormat.SenmlJson, payload: enc('[{"bn":"/3/0/15","vs":"Europe/Paris"},{"bn":"/3/7/15","vs":"x"}]') }), Code.NotFound],
    ['iPATCH of Security', lwm2mRequest('IPATCH', '/', { contentFormat: ContentFormat.SenmlJson, payload: enc('[{"bn":"/3/0/15","vs":"Europe/Paris"},{"bn":"/0/0/0","vs":"coap://evil"}]') }), Code.Unauthorized],
    ['iPATCH with a path twice', lwm2mRequest('IPATCH', '/', { contentFormat: ContentFormat.SenmlJson, payload: enc('[{"bn":"/3/0/15","vs":"Europe/Paris"},{"bn":"/3/0/15","vs":"UTC"}]') }), Code.BadRequest],
    ['iPATCH with a wrong value type', lwm2mRequest('IPATCH', '/', { contentFormat: ContentFormat.SenmlJson, payload: enc('[{"bn":"/3/0/15","v":3}]') }), Code.BadRequest],
    ['iPATCH without values', lwm2mRequest('IPATCH', '/', { contentFormat: ContentFormat.SenmlJson, payload: enc('[]') }), Code.BadRequest],
    ['iPATCH in plain text', lwm2mRequest('IPATCH', '/', { contentFormat: ContentFormat.TextPlain, payload: enc('x') }), Code.UnsupportedContentFormat],
    ['iPATCH with truncated CBOR', lwm2mRequest('IPATCH', '/', { contentFormat: ContentFormat.SenmlCbor, payload: fromHex('81a2') }), Code.BadRequest],
  ];
  for (const [name, req, code] of cases) {
    it(`${name} -> ${code >> 5}.${String(code & 31).padStart(2, '0')}`, () => {
      const sx = vectorClient();
      const before = JSON.stringify(sx.store.snapshot([1, 3]));
      expect(serve(sx, req).code).toBe(code);
      expect(JSON.stringify(sx.store.snapshot([1, 3]))).toBe(before);
    });
  }
  it('a good iPATCH writes every value', () => {
    const sx = vectorClient();
    const a = serve(sx, lwm2mRequest('IPATCH', '/', { contentFormat: ContentFormat.SenmlJson, payload: enc('[{"bn":"/3/0/15","vs":"Europe/Paris"},{"bn":"/3/0/14","vs":"+01:00"},{"bn":"/1/0/1","v":600}]') }));
    expect(a.code).toBe(Code.Changed);
    expect([sx.store.get([3, 0, 15]), sx.store.get([3, 0, 14]), sx.store.get([1, 0, 1])]).toEqual(['Europe/Paris', '+01:00', 600]);
  });
});

/** Starts the client and runs until it is registered. */
function registered() {
  const t = simSetup();
  t.client.act(t.net.now, (c) => c.start(t.net.now));
  expect(t.runFor(5 * MINUTE, () => t.client.eventsOf('registered').length > 0)).toBe(true);
  const outcome = (id: number) => {
    t.runFor(MINUTE, () => t.server.events.some((e) => (e.type === 'result' || e.type === 'failed') && e.id === id));
    return t.server.events.find((e) => (e.type === 'result' || e.type === 'failed') && e.id === id)!;
  };
  return { ...t, outcome };
}

describe('composite operations on the virtual clock, over DTLS', () => {
  it('Read-Composite in SenML CBOR and JSON', () => {
    const t = registered();
    for (const cf of [ContentFormat.SenmlCbor, ContentFormat.SenmlJson]) {
      const r = t.outcome(t.server.act(t.net.now, (s) => s.readComposite(t.net.now, ENDPOINT, ['/3/0/9', '/3303/0', '/1/0/1'], { contentFormat: cf })));
      expect(r).toMatchObject({ type: 'result', result: { code: Code.Content } });
      expect(r.type === 'result' && r.result.records).toEqual([
        { path: [3, 0, 9], value: 87 },
        { path: [3303, 0, 5700], value: 20 },
        { path: [3303, 0, 5701], value: 'Cel' },
        { path: [1, 0, 1], value: 300 },
      ]);
    }
  });

  it('Write-Composite: all written, or (one value refused) none', () => {
    const t = registered();
    const ok = t.outcome(t.server.act(t.net.now, (s) => s.writeComposite(t.net.now, ENDPOINT, [{ path: [3, 0, 15], value: 'Europe/Paris' }, { path: [1, 0, 1], value: 600 }])));
    expect(ok).toMatchObject({ type: 'result', result: { code: Code.Changed } });
    expect([t.store.get([3, 0, 15]), t.store.get([1, 0, 1])]).toEqual(['Europe/Paris', 600]);
    const refused = t.outcome(t.server.act(t.net.now, (s) => s.writeComposite(t.net.now, ENDPOINT, [{ path: [3, 0, 15], value: 'UTC' }, { path: [3, 0, 9], value: 1 }], { contentFormat: ContentFormat.SenmlJson })));
    expect(refused.type === 'failed' && (refused.error as Lwm2mError).code).toBe(Code.MethodNotAllowed);
    expect([t.store.get([3, 0, 15]), t.store.get([3, 0, 9])]).toEqual(['Europe/Paris', 87]);
  });

  it('Observe-Composite: the values, then a notification with all of them when one changes', () => {
    const t = registered();
    const id = t.server.act(t.net.now, (s) => s.observeComposite(t.net.now, ENDPOINT, ['/3/0/9', '/3303/0/5700']));
    const first = t.outcome(id);
    expect(first.type === 'result' && first.result.records).toEqual([{ path: [3, 0, 9], value: 87 }, { path: [3303, 0, 5700], value: 20 }]);
    // the default minimum period the bootstrap server wrote (/1/0/2 = 1 s) holds the second change
    t.runFor(5 * SECOND);
    t.store.set([3303, 0, 5700], 21.5);
    t.runFor(100);
    t.store.set([3, 0, 9], 80);
    t.runFor(5 * SECOND);
    const n = t.server.eventsOf('notification').filter((e) => e.id === id);
    expect(n.map((e) => e.records)).toEqual([
      [{ path: [3, 0, 9], value: 87 }, { path: [3303, 0, 5700], value: 21.5 }],
      [{ path: [3, 0, 9], value: 80 }, { path: [3303, 0, 5700], value: 21.5 }],
    ]);
    expect(n[1]!.at - n[0]!.at).toBe(SECOND);
  });
});

describe('Send on the virtual clock', () => {
  it('the server gets the values; with Mute Send on, nothing is sent and the client is told why', () => {
    const t = registered();
    const id = t.client.act(t.net.now, (c) => c.send(t.net.now, ['/3303/0/5700', '/3/0/9']));
    t.runFor(SECOND);
    expect(t.client.eventsOf('sent')).toMatchObject([{ id, code: Code.Changed }]);
    expect(t.server.eventsOf('send').map((e) => [e.registration.endpoint, e.records])).toEqual([
      [ENDPOINT, [{ path: [3303, 0, 5700], value: 20 }, { path: [3, 0, 9], value: 87 }]],
    ]);
    // SenML JSON, with a time
    t.client.act(t.net.now, (c) => c.send(t.net.now, ['/3/0/9'], { contentFormat: ContentFormat.SenmlJson, time: 1735689600 }));
    t.runFor(SECOND);
    expect(t.server.eventsOf('send')[1]!.records).toEqual([{ path: [3, 0, 9], value: 87, time: 1735689600 }]);
    // Mute Send on: refused at once, nothing on the wire
    expect(t.outcome(t.server.act(t.net.now, (s) => s.write(t.net.now, ENDPOINT, '/1/0/23', [{ path: [1, 0, 23], value: true }])))).toMatchObject({ type: 'result' });
    const datagrams = t.net.log.length;
    let refusal: unknown;
    try {
      t.client.act(t.net.now, (c) => c.send(t.net.now, ['/3/0/9']));
    } catch (e) {
      refusal = e;
    }
    expect(refusal).toBeInstanceOf(Lwm2mError);
    expect((refusal as Lwm2mError).code).toBe(Code.Forbidden);
    expect((refusal as Error).message).toMatch(/Mute Send/);
    t.runFor(SECOND);
    expect(t.net.log.length).toBe(datagrams);
    expect(t.server.eventsOf('send')).toHaveLength(2);
    // off again: it goes out
    t.outcome(t.server.act(t.net.now, (s) => s.write(t.net.now, ENDPOINT, '/1/0/23', [{ path: [1, 0, 23], value: false }])));
    t.client.act(t.net.now, (c) => c.send(t.net.now, ['/3/0/9']));
    t.runFor(SECOND);
    expect(t.server.eventsOf('send')).toHaveLength(3);
  });
});

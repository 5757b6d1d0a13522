import { describe, expect, it } from 'vitest';
import { describeRequest } from '../lib/coap/api-types.js';
import { Code, OptionNumber, encodeUint, type CoapMessage, type CoapOption } from '../lib/coap/message.js';
import { ContentFormat } from '../lib/coap/content-format.js';
import { serveBootstrapRequest, serveServerRequest, type BootstrapSession } from '../lib/lwm2m/client-requests.js';
import { deviceStore } from '../lib/lwm2m/device.js';
import { encodeContent } from '../lib/lwm2m/codec/index.js';
import { Lwm2mError } from '../lib/lwm2m/errors.js';
import { installFactoryBootstrap } from '../lib/lwm2m/client-accounts.js';
import { BootstrapServer, Lwm2mClient, MemoryStorage } from '../transports/lwm2m-node.js';
import { pskMap } from '../lib/dtls/keystore.js';

const enc = (s: string) => new TextEncoder().encode(s);
const METHODS = { GET: 1, POST: 2, PUT: 3, DELETE: 4 } as const;

function request(method: keyof typeof METHODS, path: string, o: { contentFormat?: number; accept?: number; payload?: Uint8Array; observe?: number } = {}) {
  const options: CoapOption[] = path.split('/').filter(Boolean).map((s) => ({ number: OptionNumber.UriPath, value: enc(s) }));
  if (o.observe !== undefined) options.unshift({ number: OptionNumber.Observe, value: encodeUint(o.observe) });
  if (o.contentFormat !== undefined) options.push({ number: OptionNumber.ContentFormat, value: encodeUint(o.contentFormat) });
  if (o.accept !== undefined) options.push({ number: OptionNumber.Accept, value: encodeUint(o.accept) });
  options.sort((a, b) => a.number - b.number);
  const m: CoapMessage = { type: 0, code: METHODS[method], messageId: 1, token: new Uint8Array([1]), options, payload: o.payload ?? new Uint8Array(0) };
  return describeRequest(m, m.payload, { address: '127.0.0.1', port: 1 }, undefined);
}

function provisioned() {
  const store = deviceStore();
  store.write([0, 1], [{ path: [0, 1, 0], value: 'coaps://127.0.0.1:5684' }, { path: [0, 1, 1], value: false }, { path: [0, 1, 2], value: 0 }, { path: [0, 1, 3], value: enc('id') }, { path: [0, 1, 5], value: enc('key') }, { path: [0, 1, 10], value: 101 }], 'replace', { ignoreAccess: true, create: true });
  store.write([1, 0], [{ path: [1, 0, 0], value: 101 }, { path: [1, 0, 1], value: 300 }, { path: [1, 0, 6], value: true }, { path: [1, 0, 7], value: 'U' }], 'replace', { ignoreAccess: true, create: true });
  return store;
}

describe('requests from an LwM2M server', () => {
  it('no server may touch /0 (Security) or /21 (OSCORE): 4.01', async () => {
    const store = provisioned();
    for (const [m, p] of [['GET', '/0'], ['GET', '/0/1/5'], ['PUT', '/0/1'], ['DELETE', '/0/1'], ['POST', '/0'], ['GET', '/21']] as const) {
      const a = await serveServerRequest(store, request(m, p, { contentFormat: ContentFormat.Lwm2mTlv, payload: new Uint8Array([0xc1, 0x00, 0x01]) }));
      expect(a.code, `${m} ${p}`).toBe(Code.Unauthorized);
    }
    expect(store.get([0, 1, 5])).toEqual(enc('key'));
  });

  it('malformed TLV or SenML gets 4.00 and nothing is written', async () => {
    const store = provisioned();
    const bad: Array<[number, Uint8Array]> = [
      [ContentFormat.Lwm2mTlv, new Uint8Array([0xc8, 0x01, 0x10, 0x00])], // length beyond the payload
      [ContentFormat.Lwm2mTlv, new Uint8Array([0xc1, 0x01, 0x01, 0xc4])], // /1/0/1 then a truncated header
      [ContentFormat.SenmlJson, enc('[{"bn":"/1/0/","n":"1","v":60},{"n":"7","v":')], // truncated JSON
      [ContentFormat.SenmlJson, enc('[{"bn":"/1/0/","n":"1","v":60},{"n":"7","v":5}]')], // binding must be a string: no partial write
      [ContentFormat.SenmlCbor, new Uint8Array([0x81, 0xa2, 0x00])], // truncated CBOR
    ];
    for (const [cf, payload] of bad) {
      const a = await serveServerRequest(store, request('PUT', '/1/0', { contentFormat: cf, payload }));
      expect(a.code, `${cf} ${Buffer.from(payload).toString('hex')}`).toBe(Code.BadRequest);
      expect(store.get([1, 0, 1])).toBe(300);
      expect(store.get([1, 0, 7])).toBe('U');
    }
    // and a good one is written
    const ok = await serveServerRequest(store, request('PUT', '/1/0/1', { contentFormat: ContentFormat.TextPlain, payload: enc('120') }));
    expect(ok.code).toBe(Code.Changed);
    expect(store.get([1, 0, 1])).toBe(120);
  });

  it('Read in every format, Discover, Execute, and 4.04/4.05 where they belong', async () => {
    const store = provisioned();
    for (const cf of [ContentFormat.Lwm2mTlv, ContentFormat.SenmlJson, ContentFormat.SenmlCbor, ContentFormat.Lwm2mCbor]) {
      const a = await serveServerRequest(store, request('GET', '/3/0', { accept: cf }));
      expect(a.code, String(cf)).toBe(Code.Content);
      expect(a.contentFormat).toBe(cf);
    }
    const single = await serveServerRequest(store, request('GET', '/3/0/0'));
    expect([single.code, single.contentFormat, new TextDecoder().decode(single.payload)]).toEqual([Code.Content, ContentFormat.TextPlain, 'coaps']);
    const disc = await serveServerRequest(store, request('GET', '/3/0', { accept: ContentFormat.LinkFormat }));
    expect(new TextDecoder().decode(disc.payload)).toContain('</3/0/0>');
    expect((await serveServerRequest(store, request('POST', '/3/0/4'))).code).toBe(Code.Changed); // Reboot
    expect((await serveServerRequest(store, request('POST', '/3/0/0'))).code).toBe(Code.MethodNotAllowed); // not executable
    expect((await serveServerRequest(store, request('PUT', '/3/0/0', { contentFormat: 0, payload: enc('x') }))).code).toBe(Code.MethodNotAllowed); // read-only
    expect((await serveServerRequest(store, request('GET', '/3/0/99'))).code).toBe(Code.NotFound);
    expect((await serveServerRequest(store, request('GET', '/9'))).code).toBe(Code.NotFound);
    expect((await serveServerRequest(store, request('GET', '/3/0/0', { accept: 9999 }))).code).toBe(Code.NotAcceptable);
  });
});

describe('bootstrap requests', () => {
  const session = (finish: () => void = () => undefined): BootstrapSession => ({ isBootstrapAccount: (o, i) => o === 0 && i === 0, activity: () => undefined, finish });

  it('Bootstrap-Delete keeps the bootstrap account; Bootstrap-Read only on /1; Discover lists ssids', async () => {
    const store = provisioned();
    store.write([0, 0], [{ path: [0, 0, 0], value: 'coaps://bs' }, { path: [0, 0, 1], value: true }], 'replace', { ignoreAccess: true, create: true });
    const disc = await serveBootstrapRequest(store, request('GET', '/', { accept: ContentFormat.LinkFormat }), session());
    expect(new TextDecoder().decode(disc.payload)).toBe('</>;lwm2m=1.1,</0/0>,</0/1>;ssid=101,</1/0>;ssid=101,</3/0>');
    expect((await serveBootstrapRequest(store, request('GET', '/0/1'), session())).code).toBe(Code.Unauthorized);
    expect((await serveBootstrapRequest(store, request('GET', '/1/0', { accept: ContentFormat.SenmlJson }), session())).code).toBe(Code.Content);
    expect((await serveBootstrapRequest(store, request('DELETE', '/'), session())).code).toBe(Code.Deleted);
    expect(store.instanceIds(0)).toEqual([0]);
    expect(store.instanceIds(1)).toEqual([]);
    expect(store.instanceIds(3)).toEqual([0]); // the Device object survives
  });

  it('Bootstrap-Write ignores unknown optional resources and creates instances', async () => {
    const store = provisioned();
    const records = [{ path: [1, 5, 0], value: 7 }, { path: [1, 5, 1], value: 60 }, { path: [1, 5, 99], value: 1 }];
    const payload = encodeContent(ContentFormat.SenmlJson, records, [1, 5], () => ({ id: 0, name: '', type: 'integer', multiple: false, operations: 'RW', mandatory: false }));
    const a = await serveBootstrapRequest(store, request('PUT', '/1/5', { contentFormat: ContentFormat.SenmlJson, payload }), session());
    expect(a.code).toBe(Code.Changed);
    expect(store.get([1, 5, 0])).toBe(7);
  });

  it('Bootstrap-Finish refused with 4.06 when validation fails', async () => {
    const store = provisioned();
    const a = await serveBootstrapRequest(store, request('POST', '/bs'), session(() => { throw Lwm2mError.notAcceptable('no account'); }));
    expect(a.code).toBe(Code.NotAcceptable);
  });
});

describe('a bootstrap with no usable server account', () => {
  it('is refused with 4.06 and the previous configuration is kept', async () => {
    const bsPsk = { identity: enc('ep-bad-bs'), key: enc('bs-key') };
    // the bootstrap server provisions a PSK account with an empty key: unusable
    const bs = new BootstrapServer({
      dtls: { psk: pskMap([[bsPsk.identity, bsPsk.key]]), retransmission: { initialMs: 150 } },
      endpoints: { 'ep-bad': { pskIdentity: bsPsk.identity, servers: [{ shortServerId: 7, uri: 'coaps://127.0.0.1:9', lifetimeS: 60, security: { mode: 'psk', identity: enc('x'), key: new Uint8Array(0) } }] } },
      transmission: { ackTimeoutMs: 200 },
    });
    const failed = new Promise<string>((r) => bs.once('failed', (_ep: string, why: string) => r(why)));
    await bs.listen(0);
    const store = deviceStore();
    const client = new Lwm2mClient({
      endpoint: 'ep-bad',
      store,
      bootstrap: { uri: `coaps://127.0.0.1:${bs.address().port}`, security: { mode: 'psk', ...bsPsk } },
      storage: new MemoryStorage(),
      dtls: { retransmission: { initialMs: 150 } },
      transmission: { ackTimeoutMs: 200 },
    });
    installFactoryBootstrap(store, client.opts.bootstrap!);
    const before = JSON.stringify(store.snapshot([0, 1]));
    await expect(client.bootstrap()).rejects.toBeInstanceOf(Lwm2mError);
    expect(await failed).toContain('4.06');
    expect(JSON.stringify(store.snapshot([0, 1]))).toBe(before);
    await bs.close();
  }, 20_000);
});

/**
 * Firmware Update (LwM2M object 5) on the virtual clock: a 100 KB package pulled over coaps://
 * at 20% datagram loss both ways completes, verifies (SHA-256 against node:crypto's) and
 * installs; a download interrupted by an outage resumes at the block it was at (read from the
 * CoAP requests on the wire), and so does one whose DTLS session is lost; Package push (Block1);
 * the state machine and its Update Result codes; and every malformed input changes nothing:
 * Block1 out of order (4.08), a Package URI that is not one (4.00), one to nowhere (Update
 * Result 7, back to Idle), an image that fails its integrity check (5), an install that fails (8).
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { decodeBlock } from '../lib/coap/block.js';
import { decodeMessage, encodeMessage } from '../lib/coap/codec.js';
import { ContentFormat } from '../lib/coap/content-format.js';
import { Code, encodeUint, getOption, OptionNumber, type CoapMessage } from '../lib/coap/message.js';
import { pskMap } from '../lib/dtls/keystore.js';
import type { FirmwareOptions } from '../lib/lwm2m/client-firmware.js';
import { BlockDownload } from '../lib/lwm2m/firmware-download.js';
import { Lwm2mError } from '../lib/lwm2m/errors.js';
import type { SimDatagram } from '../transports/sim.js';
import { seededBytes, SimLwm2mServer } from '../transports/sim-lwm2m.js';
import { DEVICE_ADDRESS, DM_PSK, ENDPOINT, HOUR, MINUTE, SECOND, simSetup } from './helpers/lwm2m-sim-setup.js';
import { lwm2mRequest } from './helpers/lwm2m-request.js';

const PKG = { address: '10.0.0.3', port: 5684 };
const PKG_COAP = { address: '10.0.0.3', port: 5683 };
const KB = 1024;
const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const eq = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
const State = { Idle: 0, Downloading: 1, Downloaded: 2, Updating: 3 };

interface Options {
  loss?: number;
  seed?: number;
  secure?: boolean;
  image?: Uint8Array;
  filter?: (d: SimDatagram) => boolean;
  firmware?: Partial<FirmwareOptions>;
}

/** A registered client with a Firmware Update object, and a package server at 10.0.0.3 publishing the image. */
function setup(o: Options = {}) {
  const image = o.image ?? seededBytes(7)(100 * KB);
  const installed: Uint8Array[] = [];
  const logs: string[] = [];
  const firmware: FirmwareOptions = {
    verify: (img, digest) => eq(digest, sha256(image)) && eq(sha256(img), digest),
    install: (img) => {
      installed.push(img);
      return true;
    },
    ...o.firmware,
  };
  const t = simSetup({ link: { loss: o.loss ?? 0 }, seed: o.seed ?? 1, ...(o.filter ? { filter: o.filter } : {}), client: { firmware }, log: (who, l) => logs.push(`${who}: ${l}`) });
  const secure = o.secure ?? true;
  const pkg = t.net.add(new SimLwm2mServer(secure ? PKG : PKG_COAP, {}, secure ? { psk: pskMap([[DM_PSK.identity, DM_PSK.key]]) } : undefined));
  pkg.core.publish('/fw/image.bin', image);
  const uri = secure ? `coaps://${PKG.address}:${PKG.port}/fw/image.bin` : `coap://${PKG_COAP.address}:${PKG_COAP.port}/fw/image.bin`;
  t.client.act(0, (c) => c.start(0));
  expect(t.runFor(30 * MINUTE, () => t.client.core.registered)).toBe(true);
  /** Runs a server operation to its end (retried while it fails for want of an answer); its final event. */
  const op = (f: () => number) => {
    for (let i = 0; ; i++) {
      const id = t.server.act(t.net.now, f);
      t.runFor(30 * MINUTE, () => t.server.events.some((e) => (e.type === 'result' || e.type === 'failed') && e.id === id));
      const e = t.server.events.find((x): x is Extract<typeof x, { type: 'result' | 'failed' }> => (x.type === 'result' || x.type === 'failed') && x.id === id)!;
      if (e.type === 'result' || e.error instanceof Lwm2mError || i === 5) return e;
    }
  };
  const state = () => [t.store.get([5, 0, 3]), t.store.get([5, 0, 5])];
  return { ...t, image, installed, logs, pkg, uri, op, state };
}

/** The Block2 numbers of the client's GETs to the plain-CoAP package server, in order. */
function blockRequests(log: Array<SimDatagram & { dropped: boolean }>): number[] {
  return log
    .filter((d) => d.from.address === DEVICE_ADDRESS.address && d.to.address === PKG_COAP.address)
    .map((d) => decodeMessage(d.data))
    .filter((m) => m.code === Code.GET)
    .map((m) => decodeBlock(getOption(m, OptionNumber.Block2)!).num);
}

describe('Firmware Update: Package URI pull', () => {
  it('100 KB over coaps at 20% loss both ways: downloaded, verified, installed', () => {
    const t = setup({ loss: 0.2, seed: 11 });
    const wallStart = performance.now();
    const w = t.op(() => t.server.core.write(t.net.now, ENDPOINT, '/5/0/1', [{ path: [5, 0, 1], value: t.uri }]));
    expect(w).toMatchObject({ type: 'result', result: { code: Code.Changed } });
    const started = t.net.now;
    const sentBefore = t.net.log.length;
    expect(t.runFor(6 * HOUR, () => t.store.get([5, 0, 3]) !== State.Downloading)).toBe(true);
    const virtualMs = t.net.now - started;
    const wallMs = performance.now() - wallStart;
    const path = t.net.log.slice(sentBefore).filter((d) => d.from.address === PKG.address || d.to.address === PKG.address);
    const lost = path.filter((d) => d.dropped).length;
    const resumes = t.logs.filter((l) => l.includes('resuming at byte')).length;
    console.log(
      `firmware: 100 KB over coaps at 20% loss in ${(virtualMs / 1000).toFixed(1)} s of virtual time, ${wallMs.toFixed(0)} ms of wall time; ` +
        `${path.length} datagrams on the package path, ${lost} lost (${((100 * lost) / path.length).toFixed(1)}%), ${resumes} resumed block request(s)`,
    );
    expect(t.state()).toEqual([State.Downloaded, 0]);
    expect(t.installed).toHaveLength(0);
    // Update: the install hook gets the verified image
    const x = t.op(() => t.server.core.execute(t.net.now, ENDPOINT, '/5/0/2'));
    expect(x).toMatchObject({ type: 'result', result: { code: Code.Changed } });
    t.runFor(SECOND);
    expect(t.state()).toEqual([State.Idle, 1]);
    expect(t.installed).toHaveLength(1);
    expect(eq(t.installed[0]!, t.image)).toBe(true);
  });

  it('an outage in the middle: the download resumes at the block it was at, not from the start', () => {
    let blocked = false;
    const t = setup({ secure: false, filter: (d) => !(blocked && (d.from.address === PKG_COAP.address || d.to.address === PKG_COAP.address)) });
    t.op(() => t.server.core.write(t.net.now, ENDPOINT, '/5/0/1', [{ path: [5, 0, 1], value: t.uri }]));
    expect(t.runFor(MINUTE, () => blockRequests(t.net.log).length >= 40)).toBe(true);
    blocked = true;
    t.runFor(3 * MINUTE);
    blocked = false;
    expect(t.runFor(HOUR, () => t.store.get([5, 0, 3]) !== State.Downloading)).toBe(true);
    expect(t.state()).toEqual([State.Downloaded, 0]);
    const nums = blockRequests(t.net.log);
    // every block asked for in order; the one that went unanswered asked again, never block 0 again
    expect(nums.filter((n) => n === 0)).toHaveLength(1);
    for (let i = 1; i < nums.length; i++) expect(nums[i]! - nums[i - 1]!).toBeGreaterThanOrEqual(0);
    expect(new Set(nums).size).toBe(100);
    expect(nums.length).toBeGreaterThan(100);
    expect(t.logs.join('\n')).toMatch(/no acknowledgement after 4 retransmissions; resuming at byte 39936/);
  });

  it('a lost DTLS session: a new session, and the download goes on where it was', () => {
    const t = setup();
    t.op(() => t.server.core.write(t.net.now, ENDPOINT, '/5/0/1', [{ path: [5, 0, 1], value: t.uri }]));
    t.runFor(40); // some blocks
    for (const s of [...t.pkg.endpoint!.sessions()]) t.pkg.closeSession(t.net.now, s.connection);
    expect(t.runFor(HOUR, () => t.store.get([5, 0, 3]) !== State.Downloading)).toBe(true);
    expect(t.state()).toEqual([State.Downloaded, 0]);
    const resumed = t.logs.find((l) => l.includes('resuming at byte'))!;
    expect(Number(/resuming at byte (\d+)/.exec(resumed)![1])).toBeGreaterThan(0);
    expect(t.client.opened.filter((c) => c.uri === t.uri)).toHaveLength(2);
  });
});

describe('Firmware Update: Package push (Block1)', () => {
  it('the server writes the image to /5/0/0 in blocks; Update installs it', () => {
    const t = setup({ image: seededBytes(9)(20 * KB) });
    const w = t.op(() => t.server.core.write(t.net.now, ENDPOINT, '/5/0/0', [{ path: [5, 0, 0], value: t.image }], { contentFormat: ContentFormat.OctetStream }));
    expect(w).toMatchObject({ type: 'result', result: { code: Code.Changed } });
    expect(t.state()).toEqual([State.Downloaded, 0]);
    t.op(() => t.server.core.execute(t.net.now, ENDPOINT, '/5/0/2'));
    t.runFor(SECOND);
    expect(t.state()).toEqual([State.Idle, 1]);
    expect(eq(t.installed[0]!, t.image)).toBe(true);
  });

  it('blocks out of order: 4.08 Request Entity Incomplete, nothing changed', () => {
    const t = setup({ image: seededBytes(9)(4 * KB) });
    const channel = t.client.opened.find((c) => c.uri.includes('10.0.0.2'))!.channel;
    const block = (num: number, more: boolean, id: number): CoapMessage => {
      const m = lwm2mRequest('PUT', '/5/0/0', { contentFormat: ContentFormat.OctetStream, payload: t.image.subarray(num * KB, num * KB + KB), token: new Uint8Array([id]) }).message;
      return { ...m, messageId: id, options: [...m.options, { number: OptionNumber.Block1, value: encodeUint((num << 4) | (more ? 8 : 0) | 6) }].sort((a, b) => a.number - b.number) };
    };
    const send = (m: CoapMessage) => {
      t.client.core.handleDatagram(t.net.now, channel, encodeMessage(m));
      return decodeMessage(t.client.core.pollTransmit()!.data);
    };
    expect(send(block(1, true, 1)).code).toBe(Code.RequestEntityIncomplete);
    expect(send(block(0, true, 2)).code).toBe(Code.Continue);
    expect(send(block(2, true, 3)).code).toBe(Code.RequestEntityIncomplete);
    expect(t.state()).toEqual([State.Idle, 0]);
  });
});

describe('Firmware Update: refusals and failures change nothing', () => {
  it('a Package URI that is not one: 4.00, state and result as they were', () => {
    const t = setup();
    for (const bad of ['nowhere', 'coap://', 'coap://[::1/fw', 'coaps://host:99999/x']) {
      const w = t.op(() => t.server.core.write(t.net.now, ENDPOINT, '/5/0/1', [{ path: [5, 0, 1], value: bad }]));
      expect(w.type === 'failed' && (w.error as Lwm2mError).code, bad).toBe(Code.BadRequest);
      expect(t.state()).toEqual([State.Idle, 0]);
      expect(t.store.get([5, 0, 1])).toBe('');
    }
  });

  it('http://: Update Result 9 (unsupported protocol), still Idle', () => {
    const t = setup();
    t.op(() => t.server.core.write(t.net.now, ENDPOINT, '/5/0/1', [{ path: [5, 0, 1], value: 'http://10.0.0.3/fw.bin' }]));
    expect(t.state()).toEqual([State.Idle, 9]);
  });

  for (const [name, uri] of [
    ['coap:// to nowhere', 'coap://10.9.9.9/fw.bin'],
    ['coaps:// to nowhere', 'coaps://10.9.9.9/fw.bin'],
    ['a package that is not there (4.04)', 'coaps://10.0.0.3:5684/fw/none.bin'],
  ] as const) {
    it(`${name}: Update Result 7 (invalid URI), back to Idle, nothing kept`, () => {
      const t = setup({ firmware: { maxRetries: 1 } });
      t.op(() => t.server.core.write(t.net.now, ENDPOINT, '/5/0/1', [{ path: [5, 0, 1], value: uri }]));
      expect(t.state()).toEqual([State.Downloading, 0]);
      expect(t.runFor(HOUR, () => t.store.get([5, 0, 3]) !== State.Downloading)).toBe(true);
      expect(t.state()).toEqual([State.Idle, 7]);
      expect(t.client.core.firmware!.state).toBe('idle');
      // Update now has nothing to install: 4.05
      const x = t.op(() => t.server.core.execute(t.net.now, ENDPOINT, '/5/0/2'));
      expect(x.type === 'failed' && (x.error as Lwm2mError).code).toBe(Code.MethodNotAllowed);
    });
  }

  it('an image that fails the integrity check: Update Result 5, Idle', () => {
    const t = setup({ image: seededBytes(3)(8 * KB), firmware: { verify: () => false } });
    t.op(() => t.server.core.write(t.net.now, ENDPOINT, '/5/0/1', [{ path: [5, 0, 1], value: t.uri }]));
    expect(t.runFor(HOUR, () => t.store.get([5, 0, 3]) !== State.Downloading)).toBe(true);
    expect(t.state()).toEqual([State.Idle, 5]);
  });

  it('an install that fails: Update Result 8, the package stays Downloaded; an empty URI resets', () => {
    const t = setup({ image: seededBytes(3)(8 * KB), firmware: { install: () => false } });
    t.op(() => t.server.core.write(t.net.now, ENDPOINT, '/5/0/1', [{ path: [5, 0, 1], value: t.uri }]));
    t.runFor(HOUR, () => t.store.get([5, 0, 3]) === State.Downloaded);
    t.op(() => t.server.core.execute(t.net.now, ENDPOINT, '/5/0/2'));
    t.runFor(SECOND);
    expect(t.state()).toEqual([State.Downloaded, 8]);
    // a second URI while one is downloaded: refused
    const again = t.op(() => t.server.core.write(t.net.now, ENDPOINT, '/5/0/1', [{ path: [5, 0, 1], value: t.uri }]));
    expect(again.type === 'failed' && (again.error as Lwm2mError).code).toBe(Code.BadRequest);
    t.op(() => t.server.core.write(t.net.now, ENDPOINT, '/5/0/1', [{ path: [5, 0, 1], value: '' }]));
    expect(t.state()).toEqual([State.Idle, 0]);
  });

  it('the state is observable: Downloading, Downloaded, Updating (an install that takes its time), Idle', () => {
    const t = setup({ image: seededBytes(3)(8 * KB), firmware: { install: () => undefined } });
    // no Default Minimum Period: every state change is notified (with pmin 1 s they would merge)
    t.op(() => t.server.core.write(t.net.now, ENDPOINT, '/1/0/2', [{ path: [1, 0, 2], value: 0 }]));
    const obs = t.server.act(t.net.now, (s) => s.observe(t.net.now, ENDPOINT, '/5/0/3'));
    t.runFor(SECOND);
    t.op(() => t.server.core.write(t.net.now, ENDPOINT, '/5/0/1', [{ path: [5, 0, 1], value: t.uri }]));
    t.runFor(MINUTE, () => t.store.get([5, 0, 3]) === State.Downloaded);
    t.op(() => t.server.core.execute(t.net.now, ENDPOINT, '/5/0/2'));
    t.runFor(5 * SECOND);
    expect(t.state()).toEqual([State.Updating, 0]);
    t.client.act(t.net.now, (c) => c.firmwareInstalled(t.net.now, true));
    t.runFor(5 * SECOND);
    expect(t.state()).toEqual([State.Idle, 1]);
    const seen = t.server.eventsOf('notification').filter((e) => e.id === obs).map((e) => e.records[0]!.value);
    expect(seen).toEqual([State.Downloading, State.Downloaded, State.Updating, State.Idle]);
  });
});

describe('the Block2 download: where the server allows a resume, and where it does not', () => {
  const image = seededBytes(5)(3000);
  const block = (num: number, o: { etag?: number; size2?: number; szx?: number; whole?: boolean } = {}): CoapMessage => {
    const szx = o.szx ?? 4; // 256
    const size = 16 << szx;
    const options = [];
    if (o.etag !== undefined) options.push({ number: OptionNumber.ETag, value: new Uint8Array([o.etag]) });
    if (!o.whole) options.push({ number: OptionNumber.Block2, value: encodeUint((num << 4) | ((num + 1) * size < image.length ? 8 : 0) | szx) });
    if (o.size2 !== undefined) options.push({ number: OptionNumber.Size2, value: encodeUint(o.size2) });
    const payload = o.whole ? image : image.subarray(num * size, num * size + size);
    return { type: 2, code: Code.Content, messageId: 1, token: new Uint8Array(0), options: options.sort((a, b) => a.number - b.number), payload };
  };
  const asked = (d: BlockDownload) => decodeBlock(d.request().options.find((o) => o.number === OptionNumber.Block2)!.value);

  it('block after block, resumed at the block it was at after any pause, to the whole image', () => {
    const d = new BlockDownload({ path: '/fw/x.bin', query: ['v=2'] }, 256, 1 << 20);
    expect(d.request().options.filter((o) => o.number === OptionNumber.UriQuery)).toHaveLength(1);
    for (let n = 0; n < 11; n++) {
      expect(asked(d).num).toBe(n);
      expect(d.accept(block(n, { etag: 1 })).kind).toBe('more');
      expect(asked(d).num).toBe(n + 1); // a new request for the next block: the same after a timeout or a new session
    }
    const done = d.accept(block(11, { etag: 1 }));
    expect(done.kind === 'done' && eq(done.image, image)).toBe(true);
  });

  it('the server uses smaller blocks: followed at the same offset', () => {
    const d = new BlockDownload({ path: '/fw', query: [] }, 1024, 1 << 20);
    expect(d.accept(block(0, { szx: 4 })).kind).toBe('more');
    expect(asked(d)).toMatchObject({ num: 1, szx: 4 });
  });

  const restarts: Array<[string, CoapMessage]> = [
    ['the package changed (another ETag)', block(3, { etag: 2 })],
    ['the whole package instead of block 3', block(0, { whole: true, etag: 1 })],
    ['the wrong block', block(5, { etag: 1 })],
    ['4.08 for the block', { ...block(3), code: Code.RequestEntityIncomplete, payload: new Uint8Array(0) }],
  ];
  for (const [why, m] of restarts) {
    it(`${why}: start again from block 0`, () => {
      const d = new BlockDownload({ path: '/fw', query: [] }, 256, 1 << 20);
      for (let n = 0; n < 3; n++) d.accept(block(n, { etag: 1 }));
      expect(d.accept(m).kind).toBe('restart');
      d.reset();
      expect([asked(d).num, d.offset]).toEqual([0, 0]);
    });
  }

  it('failures and their Update Result: 4.04 is 7, too large (Size2 or bytes) is 2', () => {
    const d = new BlockDownload({ path: '/fw', query: [] }, 256, 1000);
    expect(d.accept({ ...block(0), code: Code.NotFound, payload: new Uint8Array(0) })).toMatchObject({ kind: 'failed', result: 7 });
    expect(d.accept(block(0, { size2: 3000 }))).toMatchObject({ kind: 'failed', result: 2 });
    const e = new BlockDownload({ path: '/fw', query: [] }, 256, 600);
    e.accept(block(0));
    e.accept(block(1));
    expect(e.accept(block(2))).toMatchObject({ kind: 'failed', result: 2 });
  });
});

/**
 * `npm start`: the whole LwM2M flow on loopback. A bootstrap server and an LwM2M server start;
 * a client that knows only its factory bootstrap PSK bootstraps over DTLS, receives its server
 * account (a new PSK) in the Security and Server objects, registers with it over a new DTLS
 * session, is read and observed, reports values with Send, is updated to new firmware (the
 * server publishes the package, writes its URI, the client downloads it block-wise over its own
 * DTLS session and checks its SHA-256, the server executes Update), then de-registers. Every
 * step is printed with its time.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pskMap } from '../lib/dtls/keystore.js';
import { BootstrapServer, deviceStore, Lwm2mClient, Lwm2mServer, MemoryStorage } from '../lib/entry/lwm2m.js';
import { describeDatagram } from '../lib/dtls/describe.js';

const t0 = performance.now();
const stamp = () => `${((performance.now() - t0) / 1000).toFixed(3).padStart(7)} s`;
const say = (who: string, s: string) => console.log(`${stamp()}  ${who.padEnd(10)} ${s}`);
const enc = (s: string) => new TextEncoder().encode(s);
const verbose = process.argv.includes('-v');

const endpoint = 'urn:dev:demo-0001';
const bootstrapPsk = { identity: enc('demo-0001-bs'), key: enc('factory-secret') };
const serverPsk = { identity: enc('demo-0001'), key: enc('provisioned-secret!') };
const trace = (who: string) => (verbose ? (dir: 'in' | 'out', _p: unknown, d: Uint8Array) => say(who, `${dir === 'in' ? '<-' : '->'} ${describeDatagram(d)}`) : undefined);

const lwm2m = new Lwm2mServer({ dtls: { psk: pskMap([[serverPsk.identity, serverPsk.key]]), ...(verbose ? { trace: trace('server')! } : {}) }, log: (l) => say('server', l) });
await lwm2m.listen(0);
const serverPort = lwm2m.address().port;
say('server', `LwM2M server on coaps://127.0.0.1:${serverPort} (PSK)`);

const bs = new BootstrapServer({
  dtls: { psk: pskMap([[bootstrapPsk.identity, bootstrapPsk.key]]), ...(verbose ? { trace: trace('bootstrap')! } : {}) },
  endpoints: {
    [endpoint]: {
      pskIdentity: bootstrapPsk.identity,
      servers: [{ shortServerId: 101, uri: `coaps://127.0.0.1:${serverPort}`, lifetimeS: 30, binding: 'U', defaultMinPeriodS: 0, security: { mode: 'psk', ...serverPsk } }],
    },
  },
  log: (l) => say('bootstrap', l),
});
await bs.listen(0);
const bsPort = bs.address().port;
say('bootstrap', `bootstrap server on coaps://127.0.0.1:${bsPort} (PSK)`);

// the new firmware: 48 KB, and the SHA-256 the device expects of it (from a signed manifest, say)
const firmware = Uint8Array.from({ length: 48 * 1024 }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
const firmwareDigest = createHash('sha256').update(firmware).digest('hex');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const client = new Lwm2mClient({
  endpoint,
  store: deviceStore(),
  bootstrap: { uri: `coaps://127.0.0.1:${bsPort}`, security: { mode: 'psk', ...bootstrapPsk } },
  storage: new MemoryStorage(),
  firmware: {
    verify: (_image, sha256) => hex(sha256) === firmwareDigest,
    install: (image) => {
      say('client', `installing ${image.length} bytes of firmware (a real device would reboot now)`);
      setTimeout(() => {
        client.store.set([3, 0, 3], '0.2.0');
        client.firmwareInstalled(true);
      }, 200);
      return undefined; // done later
    },
  },
  log: (l) => say('client', l),
});

const registered = new Promise<void>((r) => lwm2m.once('registered', () => r()));
const started = performance.now();
await client.start();
await registered;
say('client', `bootstrapped and registered in ${(performance.now() - started).toFixed(0)} ms`);

const device = await lwm2m.read(endpoint, '/3/0');
for (const r of device) say('server', `  /${r.path.join('/')} = ${JSON.stringify(r.value instanceof Uint8Array ? '[bytes]' : r.value)}`);

const obs = await lwm2m.observe(endpoint, '/3/0/9');
say('server', `observing /3/0/9 (battery level): ${JSON.stringify(obs.first[0]?.value)}`);
const seen: number[] = [];
const got = (async () => {
  for await (const n of obs.notifications) {
    say('server', `  notification /3/0/9 = ${JSON.stringify(n[0]?.value)}`);
    seen.push(n[0]?.value as number);
    if (seen.length >= 3) break;
  }
})();
for (const level of [86, 85, 84]) {
  await new Promise((r) => setTimeout(r, 200));
  say('client', `battery level -> ${level}`);
  client.store.set([3, 0, 9], level);
}
await got;
obs.cancel();

// Send: the client reports values unasked (POST /dp, SenML CBOR)
const sent = new Promise<void>((r) =>
  lwm2m.once('send', (_reg: unknown, records: Array<{ path: number[]; value: unknown }>) => {
    for (const rec of records) say('server', `  sent /${rec.path.join('/')} = ${JSON.stringify(rec.value)}`);
    r();
  }),
);
await client.send(['/3/0/9', '/3/0/3']);
await sent;

// firmware update: publish, write the Package URI, watch the state, execute Update
const STATES = ['Idle', 'Downloading', 'Downloaded', 'Updating'];
const packageUri = `coaps://127.0.0.1:${serverPort}/fw/demo-0.2.0.bin`;
lwm2m.publish('/fw/demo-0.2.0.bin', firmware);
say('server', `published ${firmware.length} bytes of firmware at ${packageUri}`);
const fwState = await lwm2m.observe(endpoint, '/5/0/3');
say('server', `observing /5/0/3 (firmware state): ${STATES[fwState.first[0]?.value as number]}`);
await lwm2m.write(endpoint, '/5/0/1', [{ path: [5, 0, 1], value: packageUri }]);
let updating = false;
for await (const n of fwState.notifications) {
  const state = n[0]?.value as number;
  say('server', `  firmware state: ${STATES[state]}`);
  if (state === 2 && !updating) {
    updating = true;
    await lwm2m.execute(endpoint, '/5/0/2');
  } else if (state === 0 && updating) break;
}
fwState.cancel();
const [result] = await lwm2m.read(endpoint, '/5/0/5');
const [version] = await lwm2m.read(endpoint, '/3/0/3');
say('server', `Update Result ${JSON.stringify(result?.value)} (1: success); firmware version now ${JSON.stringify(version?.value)}`);

const deregistered = new Promise<void>((r) => lwm2m.once('deregistered', () => r()));
await client.stop();
await deregistered;
say('server', `${endpoint} de-registered`);
await Promise.all([lwm2m.close(), bs.close()]);
say('demo', `done in ${((performance.now() - t0) / 1000).toFixed(2)} s`);

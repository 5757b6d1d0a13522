/**
 * `npm run bench -- ecdhe-cpu`: the server's CPU per full ECDHE_ECDSA handshake (RFC 7250 raw
 * public keys, no client authentication, cookie exchange, close_notify), measured in-process
 * against the sans-IO DtlsEndpoint, so it holds on a shared machine: only the time spent inside
 * the endpoint's calls (handleDatagram, pollTransmit, pollEvent, handleTimeout) is counted as the
 * server's (process CPU time, process.cpuUsage(), not wall time: the machine is shared); the client's share is counted apart. Beside it, the same for a PSK handshake and the
 * crypto floor of the server's ECDHE side (one P-256 keygen, one ECDH, one ECDSA sign through the
 * provider). Rounds are interleaved; medians are printed.
 *
 * Options: --rounds N (default 5)  --ms M per round and kind (default 600)  --quick
 * For a profile of the server's work: node --cpu-prof dist/bench/run.js ecdhe-cpu --only ecdhe
 */
import { nodeCrypto } from '../lib/crypto/node.js';
import { resolveConfig, type ConnectionConfig } from '../lib/dtls/config.js';
import { DtlsEndpoint } from '../lib/dtls/endpoint.js';
import { ClientConnection } from '../lib/dtls/handshake/client.js';
import { memoryKeyStore, pskMap } from '../lib/dtls/keystore.js';
import { verifyPeer } from '../lib/dtls/trust.js';
import { CipherSuite } from '../lib/dtls/wire/constants.js';
import { CertificateType } from '../lib/dtls/wire/ec-extensions.js';
import { serverKey } from './lib/ecdhe-keys.js';

const enc = (s: string) => new TextEncoder().encode(s);
const PSK_ID = enc('Client_identity');
const PSK = enc('secretPSK');

interface Rig {
  kind: 'ecdhe' | 'psk';
  endpoint: DtlsEndpoint;
  client: ConnectionConfig;
  trust?: ReturnType<typeof memoryKeyStore>;
  next: number;
  /** CPU microseconds inside the endpoint's calls, and in the client's. */
  serverNs: bigint;
  clientNs: bigint;
}

function rig(kind: 'ecdhe' | 'psk'): Rig {
  const crypto = nodeCrypto;
  if (kind === 'psk') {
    return {
      kind,
      endpoint: new DtlsEndpoint({ crypto, psk: pskMap([[PSK_ID, PSK]]) }),
      client: resolveConfig({ crypto, psk: { identity: PSK_ID, key: PSK } }),
      next: 0,
      serverNs: 0n,
      clientNs: 0n,
    };
  }
  const sk = serverKey(crypto);
  return {
    kind,
    endpoint: new DtlsEndpoint({ crypto, ecdhe: { key: sk, rawPublicKey: true }, clientAuth: 'none' }),
    client: resolveConfig({
      crypto,
      suites: [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8],
      acceptPeerCertificateTypes: [CertificateType.RawPublicKey],
    }),
    trust: memoryKeyStore({ rawPublicKeys: [[sk.publicKey.spki, 'bench-server']] }),
    next: 0,
    serverNs: 0n,
    clientNs: 0n,
  };
}

/** Process CPU time (user + system) in microseconds: the machine is shared, wall time is not ours. */
function now(): bigint {
  const u = process.cpuUsage();
  return BigInt(u.user + u.system);
}

/** One full handshake, cookie exchange included, then the client's close_notify. */
function handshake(r: Rig): void {
  const i = r.next++;
  const peer = { address: '127.0.0.1', port: 10000 + (i % 50000) };
  const ep = r.endpoint;
  let t = now();
  const c = new ClientConnection(r.client);
  c.start(0);
  r.clientNs += now() - t;
  let connected = false;
  let closed = false;
  for (let round = 0; round < 20 && !closed; round++) {
    t = now();
    const out: Uint8Array[] = [];
    for (let d = c.pollTransmit(); d; d = c.pollTransmit()) out.push(d);
    let t2 = now();
    r.clientNs += t2 - t;
    t = t2;
    for (const d of out) ep.handleDatagram(0, peer, d);
    const back: Uint8Array[] = [];
    for (let x = ep.pollTransmit(); x; x = ep.pollTransmit()) back.push(x.data);
    for (let e = ep.pollEvent(); e; e = ep.pollEvent()) if (e.type === 'failed') throw new Error(`ecdhe-cpu: server failed: ${e.error.message}`);
    if (!back.length && !out.length) ep.handleTimeout(0);
    t2 = now();
    r.serverNs += t2 - t;
    t = t2;
    if (connected && out.length) closed = true;
    for (const d of back) c.handleDatagram(0, d);
    for (let e = c.pollEvent(); e; e = c.pollEvent()) {
      if (e.type === 'verify-peer') {
        const v = verifyPeer(r.trust ?? {}, e.credential, { address: '127.0.0.1', port: 5684 }, { crypto: nodeCrypto, purpose: 'serverAuth' });
        if (v instanceof Promise) throw new Error('ecdhe-cpu: trust decision must be synchronous');
        c.resolvePeer(0, v);
      } else if (e.type === 'connected') {
        connected = true;
        c.close(0);
      } else if (e.type === 'failed') {
        throw new Error(`ecdhe-cpu: client failed: ${e.error.message}`);
      }
    }
    r.clientNs += now() - t;
  }
  if (!connected || !closed) throw new Error('ecdhe-cpu: handshake did not complete');
  if (ep.sessionCount !== 0) throw new Error(`ecdhe-cpu: ${ep.sessionCount} sessions left open`);
}

/** Server and client microseconds per handshake over `ms` of handshakes. */
function measure(r: Rig, ms: number): { server: number; client: number; n: number } {
  r.serverNs = r.clientNs = 0n;
  const end = performance.now() + ms;
  let n = 0;
  while (performance.now() < end) {
    handshake(r);
    n++;
  }
  return { server: Number(r.serverNs) / n, client: Number(r.clientNs) / n, n };
}

/** The server's ECDHE crypto floor: one keygen, one ECDH, one sign (over a 32-byte digest's worth of params). */
function floor(ms: number): number {
  const sk = serverKey(nodeCrypto);
  const peer = nodeCrypto.p256.generateEcdh().publicKey;
  const msg = new Uint8Array(32 + 32 + 4 + 65);
  const end = performance.now() + ms;
  let n = 0;
  const t = now();
  while (performance.now() < end) {
    const k = nodeCrypto.p256.generateEcdh();
    k.deriveSecret(peer);
    nodeCrypto.p256.sign(sk, msg);
    n++;
  }
  return Number(now() - t) / n;
}

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1]!;

export async function main(args: string[]): Promise<number> {
  let rounds = 5;
  let ms = 600;
  let only: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--rounds') rounds = Math.max(1, Number(args[++i]));
    else if (a === '--ms') ms = Math.max(50, Number(args[++i]));
    else if (a === '--quick') (rounds = 2), (ms = 300);
    else if (a === '--only') only = args[++i];
    else throw new Error(`ecdhe-cpu: unknown option ${a}`);
  }
  const ecdhe = rig('ecdhe');
  const psk = rig('psk');
  // warm-up (JIT)
  measure(ecdhe, 300);
  if (only !== 'ecdhe') measure(psk, 200);
  const res = { ecdheServer: [] as number[], ecdheClient: [] as number[], pskServer: [] as number[], floor: [] as number[] };
  for (let k = 0; k < rounds; k++) {
    const e = measure(ecdhe, ms);
    res.ecdheServer.push(e.server);
    res.ecdheClient.push(e.client);
    if (only === 'ecdhe') continue;
    res.pskServer.push(measure(psk, ms / 2).server);
    res.floor.push(floor(ms / 2));
  }
  const f = (x: number) => x.toFixed(1).padStart(7);
  console.log(`in-process handshakes against DtlsEndpoint (${process.version}), median of ${rounds} rounds, us of process CPU inside the calls per handshake:`);
  console.log(`  ECDHE_ECDSA RPK, no client auth: server ${f(med(res.ecdheServer))}  (rounds: ${res.ecdheServer.map((x) => x.toFixed(0)).join(' ')})  client ${f(med(res.ecdheClient))}`);
  if (only !== 'ecdhe') {
    console.log(`  PSK:                             server ${f(med(res.pskServer))}`);
    const fl = med(res.floor);
    console.log(`  server ECDHE crypto floor (keygen + ECDH + sign): ${f(fl)}; ECDHE server minus floor ${f(med(res.ecdheServer) - fl)}`);
  }
  console.log(`ECDHE_CPU_JSON ${JSON.stringify({ node: process.version, ecdheServerUs: med(res.ecdheServer), ecdheClientUs: med(res.ecdheClient), pskServerUs: res.pskServer.length ? med(res.pskServer) : null, floorUs: res.floor.length ? med(res.floor) : null })}`);
  return 0;
}

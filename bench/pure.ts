/**
 * `npm run bench -- pure`: what the pure-JS crypto provider (lib/crypto/pure.ts, for runtimes
 * without node:crypto) costs, as ratios to the node:crypto provider, both measured in this run
 * and in this process:
 *   - full PSK handshakes (TLS_PSK_WITH_AES_128_CCM_8), client and server sans-IO in-process
 *     (no sockets: every datagram handed over directly), both sides on the provider under test;
 *   - full ECDHE_ECDSA handshakes (RFC 7250 raw public keys, tinydtls test keys, client
 *     authentication required), likewise;
 *   - AES-128-CCM_8 record seal and open at 64 B and 1 KB (12-byte nonce, 13-byte AAD, the
 *     same key buffer every time, as the record layer keeps it);
 *   - the P-256 primitives one ECDHE handshake side uses (for reading the handshake ratio).
 * Each figure: `--rounds` samples per provider, node and pure alternating so that drift of the
 * machine hits both, each sample at least `--ms` of work after a warm-up; the median is shown.
 *
 * Options: --rounds N (3), --ms M (400, per sample), --quick (rounds 1, ms 150).
 */
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { nodeCrypto, opensslCcm8 } from '../lib/crypto/node.js';
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { createPureCrypto } from '../lib/crypto/pure.js';
import { resolveConfig, type ConnectionConfig } from '../lib/dtls/config.js';
import { DtlsEndpoint } from '../lib/dtls/endpoint.js';
import { ClientConnection } from '../lib/dtls/handshake/client.js';
import { memoryKeyStore, pskMap } from '../lib/dtls/keystore.js';
import { verifyPeer } from '../lib/dtls/trust.js';
import { CipherSuite } from '../lib/dtls/wire/constants.js';
import { CertificateType } from '../lib/dtls/wire/ec-extensions.js';
import { clientKey, serverKey } from './lib/ecdhe-keys.js';

interface Opts {
  rounds: number;
  ms: number;
}

function parseOpts(args: string[]): Opts {
  const o: Opts = { rounds: 3, ms: 400 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--rounds') o.rounds = Math.max(1, Number(args[++i]));
    else if (a === '--ms') o.ms = Math.max(20, Number(args[++i]));
    else if (a === '--quick') Object.assign(o, { rounds: 1, ms: 150 });
    else throw new Error(`pure: unknown option ${a}`);
  }
  return o;
}

const enc = (s: string) => new TextEncoder().encode(s);
const PSK_ID = enc('Client_identity');
const PSK = enc('secretPSK');
const SERVER_PEER_NAME = 'bench-server';

/** One in-process handshake setup: a server endpoint and a client config on one provider. */
interface Rig {
  endpoint: DtlsEndpoint;
  client: ConnectionConfig;
  /** How the client judges the server's raw public key (ECDHE only). */
  trust?: ReturnType<typeof memoryKeyStore>;
  crypto: CryptoProvider;
  next: number;
}

function pskRig(crypto: CryptoProvider): Rig {
  return {
    endpoint: new DtlsEndpoint({ crypto, psk: pskMap([[PSK_ID, PSK]]) }),
    client: resolveConfig({ crypto, psk: { identity: PSK_ID, key: PSK } }),
    crypto,
    next: 0,
  };
}

function ecdheRig(crypto: CryptoProvider): Rig {
  const sk = serverKey(crypto);
  const ck = clientKey(crypto);
  return {
    endpoint: new DtlsEndpoint({
      crypto,
      ecdhe: { key: sk, rawPublicKey: true },
      clientAuth: 'required',
      keyStore: memoryKeyStore({ rawPublicKeys: [[ck.publicKey.spki, 'bench-client']] }),
    }),
    client: resolveConfig({
      crypto,
      suites: [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8],
      ecdhe: { key: ck, rawPublicKey: true },
      acceptPeerCertificateTypes: [CertificateType.RawPublicKey],
    }),
    trust: memoryKeyStore({ rawPublicKeys: [[sk.publicKey.spki, SERVER_PEER_NAME]] }),
    crypto,
    next: 0,
  };
}

/** One full handshake (cookie exchange included), then close_notify; throws unless it connected. */
function handshake(rig: Rig): void {
  const i = rig.next++;
  const peer = { address: '127.0.0.1', port: 10000 + (i % 50000) };
  const ep = rig.endpoint;
  const c = new ClientConnection(rig.client);
  c.start(0);
  let connected = false;
  let idle = 0;
  for (let round = 0; round < 20; round++) {
    let moved = false;
    for (let d = c.pollTransmit(); d; d = c.pollTransmit()) {
      ep.handleDatagram(0, peer, d);
      moved = true;
    }
    for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) {
      c.handleDatagram(0, t.data);
      moved = true;
    }
    while (ep.pollEvent());
    for (let e = c.pollEvent(); e; e = c.pollEvent()) {
      if (e.type === 'verify-peer') {
        const v = verifyPeer(rig.trust ?? {}, e.credential, { address: '127.0.0.1', port: 5684 }, { crypto: rig.crypto, purpose: 'serverAuth' });
        if (v instanceof Promise) throw new Error('pure bench: trust decision must be synchronous here');
        c.resolvePeer(0, v);
        moved = true;
      } else if (e.type === 'connected') {
        connected = true;
        c.close(0);
        moved = true;
      } else if (e.type === 'failed') {
        throw new Error(`pure bench: handshake failed on ${rig.crypto.name}: ${e.error.message}`);
      }
    }
    if (!moved) {
      if (connected || idle++ > 0) break;
      ep.handleTimeout(0); // a key-store answer queued by the endpoint (spurious calls are harmless)
    } else {
      idle = 0;
    }
  }
  if (!connected) throw new Error(`pure bench: handshake did not complete on ${rig.crypto.name}`);
}

/** Microseconds per call of `fn`, over at least `ms` of calls, after a warm-up. */
function timeIt(fn: () => void, ms: number): number {
  const warm = performance.now();
  let n = 0;
  while (performance.now() - warm < Math.max(ms / 2, 100) || n < 2) {
    fn();
    n++;
  }
  let calls = 0;
  let batch = 1;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < ms || calls < 3) {
    for (let i = 0; i < batch; i++) fn();
    calls += batch;
    elapsed = performance.now() - t0;
    if (elapsed < ms / 20) batch *= 2;
  }
  return (elapsed * 1000) / calls;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Row {
  what: string;
  node: number;
  pure: number;
}

/** Alternates node and pure samples, `rounds` of each; medians. */
function compare(what: string, make: (c: CryptoProvider) => () => void, o: Opts, pure: CryptoProvider): Row {
  const fns = { node: make(nodeCrypto), pure: make(pure) };
  const samples = { node: [] as number[], pure: [] as number[] };
  for (let r = 0; r < o.rounds; r++) {
    const order = r % 2 === 0 ? (['node', 'pure'] as const) : (['pure', 'node'] as const);
    for (const k of order) samples[k].push(timeIt(fns[k], o.ms));
  }
  const row = { what, node: median(samples.node), pure: median(samples.pure) };
  process.stdout.write(`  ${what}: node ${fmt(row.node)} us, pure ${fmt(row.pure)} us\n`);
  return row;
}

function fmt(us: number): string {
  return us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2);
}

function table(rows: Row[]): string {
  const head = ['', 'node us/op', 'pure us/op', 'pure/node'];
  const body = rows.map((r) => [r.what, fmt(r.node), fmt(r.pure), `${(r.pure / r.node).toFixed(2)}x`]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(' | ') + ' |';
  return [line(head), '|' + w.map((n, i) => (i === 0 ? '-'.repeat(n + 2) : '-'.repeat(n + 1) + ':')).join('|') + '|', ...body.map(line)].join('\n');
}

export async function main(args: string[]): Promise<number> {
  const o = parseOpts(args);
  const pure = createPureCrypto((n) => randomFillSync(new Uint8Array(n)));
  console.log(`pure-JS crypto provider vs node:crypto (${process.version}, ${o.rounds} round(s) x ${o.ms} ms per figure, medians)`);
  const rows: Row[] = [];

  console.log('handshakes (client + server in one process, sans-IO, no sockets):');
  rows.push(compare('PSK_CCM_8 handshake (client+server)', (c) => {
    const rig = pskRig(c);
    return () => handshake(rig);
  }, o, pure));
  rows.push(compare('ECDHE_ECDSA RPK handshake, mutual auth (client+server)', (c) => {
    const rig = ecdheRig(c);
    return () => handshake(rig);
  }, o, pure));

  // the node provider itself sends records below 256 B through the JS CCM (lib/crypto/node.ts):
  // its column here is OpenSSL's CCM alone, so the rows still compare the two implementations
  const viaOpenssl = (c: CryptoProvider): CryptoProvider => (c === nodeCrypto ? { ...c, ccm8Encrypt: opensslCcm8.encrypt, ccm8Decrypt: opensslCcm8.decrypt } : c);
  console.log('records (AES-128-CCM_8, 12-byte nonce, 13-byte AAD; node = OpenSSL alone):');
  const key = randomFillSync(new Uint8Array(16));
  const nonce = randomFillSync(new Uint8Array(12));
  const aad = randomFillSync(new Uint8Array(13));
  for (const size of [64, 1024]) {
    const pt = randomFillSync(new Uint8Array(size));
    const label = size >= 1024 ? `${size / 1024} KB` : `${size} B`;
    rows.push(compare(`CCM_8 seal ${label}`, (c) => {
      const p = viaOpenssl(c);
      return () => void p.ccm8Encrypt(key, nonce, aad, pt);
    }, o, pure));
    const sealed = nodeCrypto.ccm8Encrypt(key, nonce, aad, pt);
    rows.push(compare(`CCM_8 open ${label}`, (c) => {
      const p = viaOpenssl(c);
      return () => {
        if (!p.ccm8Decrypt(key, nonce, aad, sealed)) throw new Error('open failed');
      };
    }, o, pure));
  }

  console.log('P-256 primitives (per ECDHE handshake side: one keygen, one derive, one sign, one or two verifies):');
  const data = randomFillSync(new Uint8Array(150));
  rows.push(compare('P-256 ECDH key pair', (c) => () => void c.p256.generateEcdh(), o, pure));
  rows.push(compare('P-256 ECDH derive', (c) => {
    const peer = c.p256.generateEcdh().publicKey;
    const mine = c.p256.generateEcdh();
    return () => void mine.deriveSecret(peer);
  }, o, pure));
  rows.push(compare('P-256 ECDSA sign', (c) => {
    const k = serverKey(c);
    return () => void c.p256.sign(k, data);
  }, o, pure));
  rows.push(compare('P-256 ECDSA verify', (c) => {
    const k = serverKey(c);
    const pub = c.p256.importPublicKey(k.publicKey.spki);
    const sig = c.p256.sign(k, data);
    return () => {
      if (!c.p256.verify(pub, data, sig)) throw new Error('verify failed');
    };
  }, o, pure));

  console.log('');
  console.log(table(rows));
  const hs = rows[0]!, ec = rows[1]!;
  console.log('');
  console.log(
    `one core, both sides in one process: PSK ${(1e6 / hs.node).toFixed(0)} vs ${(1e6 / hs.pure).toFixed(0)} handshakes/s (node vs pure), ` +
      `ECDHE ${(1e6 / ec.node).toFixed(0)} vs ${(1e6 / ec.pure).toFixed(1)} handshakes/s.`,
  );
  return 0;
}

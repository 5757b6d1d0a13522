/**
 * `npm run bench -- ecdhe-primitives`: the floor of an ECDHE_ECDSA server handshake, primitive
 * by primitive, and the routes through node:crypto compared (us of CPU per call, this process):
 *   - ephemeral key: createECDH + generateKeys, generateKeys on a reused ECDH object (what
 *     nodeCrypto does, lib/crypto/node.ts), generateKeyPairSync('ec');
 *   - shared secret: ecdh.computeSecret(point), diffieHellman with KeyObjects (the peer's
 *     ephemeral point made a KeyObject first, as a handshake must; and with it already made);
 *   - signing the ServerKeyExchange: sign() with a cached private KeyObject, createSign, and
 *     with a PEM string (re-parsed every call: never on a hot path);
 *   - verify with a cached public KeyObject, and parsing an SPKI (why peer keys are cached);
 *   - nodeCrypto's route end to end: keygen + sign + compute = the server's crypto per
 *     handshake without client authentication, and the one-core ceiling it implies.
 * CPU time (process.cpuUsage) of batches, the fastest batch of several after a warm-up (a
 * floor: interference only adds time); variants alternate batch by batch, so drift hits all.
 *
 * Options: --batches N (7), --n N (calls per batch, 200).
 * measureEcdhePrimitives() returns the figures (for the report).
 */
import {
  createECDH,
  createPublicKey,
  createSign,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { nodeCrypto } from '../lib/crypto/node.js';
import { log } from './lib/report.js';

export interface PrimitiveFigure {
  name: string;
  /** what it is the alternative to (same job), for the ratio */
  group: 'keygen' | 'derive' | 'sign' | 'verify' | 'route';
  us: number;
}

export interface EcdhePrimitives {
  figures: PrimitiveFigure[];
  /** nodeCrypto's keygen + sign + derive: server crypto per handshake (no client auth), us */
  serverCryptoUs: number;
  /** 1e6 / serverCryptoUs */
  ceilingPerS: number;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const jwkOf = (point: Uint8Array) => ({ kty: 'EC', crv: 'P-256', x: b64(point.subarray(1, 33)), y: b64(point.subarray(33)) });

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

export function measureEcdhePrimitives(opts: { batches?: number; n?: number } = {}): EcdhePrimitives {
  const batches = opts.batches ?? 7;
  const n = opts.n ?? 200;
  const peer = createECDH('prime256v1');
  const peerPoint = peer.generateKeys();
  const peerKey = createPublicKey({ key: jwkOf(peerPoint), format: 'jwk' });
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const reused = createECDH('prime256v1');
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const priv: KeyObject = pair.privateKey;
  const pem = priv.export({ type: 'pkcs8', format: 'pem' }) as string;
  const spki = pair.publicKey.export({ type: 'spki', format: 'der' });
  // what the server signs: ClientHello.random ‖ ServerHello.random ‖ ServerECDHParams (133 B)
  const ske = randomBytes(133);
  const sig = sign('sha256', ske, { key: priv, dsaEncoding: 'der' });
  const provKey = nodeCrypto.p256.importPrivateKey(new Uint8Array(priv.export({ type: 'pkcs8', format: 'der' })));
  const peerU8 = new Uint8Array(peerPoint);

  const cases: [PrimitiveFigure['name'], PrimitiveFigure['group'], () => unknown, number][] = [
    ['createECDH + generateKeys', 'keygen', () => createECDH('prime256v1').generateKeys(), 1],
    ['generateKeys on a reused ECDH object', 'keygen', () => reused.generateKeys(), 1],
    ["generateKeyPairSync('ec')", 'keygen', () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }), 1],
    ['ecdh.computeSecret(point)', 'derive', () => ecdh.computeSecret(peerPoint), 1],
    ['diffieHellman, peer point -> KeyObject (jwk)', 'derive', () => diffieHellman({ privateKey: priv, publicKey: createPublicKey({ key: jwkOf(peerPoint), format: 'jwk' }) }), 1],
    ['diffieHellman, peer KeyObject already made', 'derive', () => diffieHellman({ privateKey: priv, publicKey: peerKey }), 1],
    ['sign(), cached private KeyObject', 'sign', () => sign('sha256', ske, { key: priv, dsaEncoding: 'der' }), 1],
    ['createSign().update().sign(KeyObject)', 'sign', () => createSign('sha256').update(ske).sign({ key: priv, dsaEncoding: 'der' }), 1],
    ['sign() with a PEM string', 'sign', () => sign('sha256', ske, { key: pem, dsaEncoding: 'der' }), 0.25],
    ['verify(), cached public KeyObject', 'verify', () => verify('sha256', ske, { key: pair.publicKey, dsaEncoding: 'der' }, sig), 1],
    ['createPublicKey(SPKI DER) (a peer key not cached)', 'verify', () => createPublicKey({ key: spki, format: 'der', type: 'spki' }), 1],
    ['nodeCrypto generateEcdh + deriveSecret (pooled ECDH objects)', 'route', () => nodeCrypto.p256.generateEcdh().deriveSecret(peerU8), 1],
    ['nodeCrypto sign', 'route', () => nodeCrypto.p256.sign(provKey, ske), 1],
  ];
  const best = cases.map(() => Infinity);
  for (const [, , f] of cases) for (let i = 0; i < 50; i++) f();
  for (let b = 0; b < batches; b++) {
    cases.forEach(([, , f, k], i) => {
      const m = Math.max(1, Math.round(n * k));
      const t0 = cpuUs();
      for (let j = 0; j < m; j++) f();
      best[i] = Math.min(best[i]!, (cpuUs() - t0) / m);
    });
  }
  const figures: PrimitiveFigure[] = cases.map(([name, group], i) => ({ name, group, us: best[i]! }));
  const get = (name: string) => figures.find((f) => f.name === name)!.us;
  const serverCryptoUs = get('nodeCrypto generateEcdh + deriveSecret (pooled ECDH objects)') + get('nodeCrypto sign');
  return { figures, serverCryptoUs, ceilingPerS: 1e6 / serverCryptoUs };
}

export function printEcdhePrimitives(r: EcdhePrimitives): void {
  const first = new Map<string, number>();
  for (const f of r.figures) if (!first.has(f.group)) first.set(f.group, f.us);
  log('| primitive | us CPU/call | vs first of its group |');
  log('|---|---:|---:|');
  for (const f of r.figures) log(`| ${f.group}: ${f.name} | ${f.us.toFixed(1)} | ${(f.us / first.get(f.group)!).toFixed(2)}x |`);
  log(
    `server crypto per ECDHE handshake, no client auth (nodeCrypto: keygen + sign + compute): ${r.serverCryptoUs.toFixed(1)} us -> ceiling ${Math.round(r.ceilingPerS).toLocaleString('en-US')} handshakes/s on one core (crypto alone)`,
  );
}

export async function main(args: string[]): Promise<number> {
  const o: { batches?: number; n?: number } = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--batches') o.batches = Number(args[++i]);
    else if (args[i] === '--n') o.n = Number(args[++i]);
    else throw new Error(`ecdhe-primitives: unknown option ${args[i]}`);
  }
  log(`ecdhe-primitives: node ${process.version}, OpenSSL ${process.versions.openssl}; us of CPU per call, fastest batch`);
  printEcdhePrimitives(measureEcdhePrimitives(o));
  return 0;
}

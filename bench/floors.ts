/**
 * `npm run bench -- floors`: what the primitives a DTLS server is built of cost in this Node
 * process, ours in JS beside node:crypto's, in nanoseconds of process CPU per operation (the
 * machine is shared: wall time is not ours). Rounds are interleaved; medians are printed, and a
 * last line `FLOORS_JSON {...}` for the report (bench/report/suite-floors.ts), which adds the
 * datagram floor (dtls-load echo against our driver's send path) and works out what each of
 * issue 13's targets leaves for the engine once the floors are paid.
 *
 *   sha256-js / sha256-native   one 64-byte SHA-256 block (a 4 KiB / 64 KiB input, per block)
 *   hmac-js / hmac-native       HMAC-SHA256 of 77 bytes (a PRF round: A(i) ‖ label ‖ seed):
 *                               ours with the key's prepared states, node:crypto's createHmac
 *   prf-js                      the TLS 1.2 PRF of a 48-byte master secret (RFC 5246 §5/§8.1)
 *   aes-js                      one AES-128 block (lib/crypto/pure/aes.ts)
 *   ccm-js / ccm-openssl        AES-128-CCM_8 seal + open of a 25-byte record (a CoAP GET or
 *                               its answer), 13-byte AAD: the JS CCM the Node provider uses
 *                               below 256 bytes, and OpenSSL (createCipheriv)
 *
 * Options: --rounds N (default 5)  --ms M per primitive and round (default 150)  --quick
 */
import { createHash, createHmac } from 'node:crypto';
import { nodeCrypto, opensslCcm8 } from '../lib/crypto/node.js';
import { prf } from '../lib/crypto/prf.js';
import { encrypt as aesBlock, expandKeyLE, OUT as AES_OUT } from '../lib/crypto/pure/aes.js';
import { ccm8DecryptWith, ccm8EncryptWith } from '../lib/crypto/pure/ccm.js';
import { HmacSha256Key, sha256 } from '../lib/crypto/sha256.js';

export interface Primitive {
  name: string;
  /** ns of process CPU per operation, median of the rounds */
  ns: number;
  what: string;
}

/** Process CPU (user + system) in ns. */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

interface Case {
  name: string;
  what: string;
  /** operations one call of `run` does */
  ops: number;
  run(): unknown;
}

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

function cases(): Case[] {
  const small = bytes(4096, 1);
  const bulk = bytes(65536, 2);
  const key = bytes(16, 3);
  const msg77 = bytes(77, 4);
  const hkey = new HmacSha256Key(bytes(48, 5));
  const xk = expandKeyLE(key);
  const nonce = bytes(12, 6);
  const aad = bytes(13, 7);
  const record = bytes(25, 8);
  const sealed = ccm8EncryptWith(xk, nonce, aad, record);
  let w = 1;
  let sink = 0;
  return [
    { name: 'sha256-js', what: 'SHA-256, one 64-byte block, JS (lib/crypto/sha256.ts)', ops: 64, run: () => sha256(small) },
    { name: 'sha256-native', what: 'SHA-256, one 64-byte block, node:crypto (OpenSSL) on 64 KiB', ops: 1024, run: () => createHash('sha256').update(bulk).digest() },
    { name: 'hmac-js', what: 'HMAC-SHA256 of 77 bytes, JS, key states prepared', ops: 1, run: () => hkey.mac(msg77) },
    { name: 'hmac-native', what: 'HMAC-SHA256 of 77 bytes, node:crypto createHmac per call', ops: 1, run: () => createHmac('sha256', key).update(msg77).digest() },
    { name: 'prf-js', what: 'TLS 1.2 PRF, 48-byte master secret (extended: a 32-byte session hash), JS', ops: 1, run: () => prf(nodeCrypto, key, 'extended master secret', msg77.subarray(0, 32), 48) },
    {
      name: 'aes-js',
      what: 'AES-128, one block, JS (lib/crypto/pure/aes.ts)',
      ops: 64,
      run: () => {
        for (let i = 0; i < 64; i++) {
          aesBlock(xk, w, 2, 3, 4);
          w = AES_OUT[0]!;
        }
        return w;
      },
    },
    {
      name: 'ccm-js',
      what: 'AES-128-CCM_8 seal + open of a 25-byte record, JS',
      ops: 1,
      run: () => (sink ^= ccm8EncryptWith(xk, nonce, aad, record)[0]! ^ ccm8DecryptWith(xk, nonce, aad, sealed)![0]!),
    },
    {
      name: 'ccm-openssl',
      what: 'AES-128-CCM_8 seal + open of a 25-byte record, node:crypto (OpenSSL)',
      ops: 1,
      run: () => (sink ^= opensslCcm8.encrypt(key, nonce, aad, record)[0]! ^ opensslCcm8.decrypt(key, nonce, aad, sealed)![0]!),
    },
  ];
}

/** ns of process CPU per operation over about `ms` of calls. */
function measure(c: Case, ms: number): number {
  const end = performance.now() + ms;
  let calls = 0;
  const t = cpuNs();
  while (performance.now() < end) {
    for (let i = 0; i < 16; i++) c.run();
    calls += 16;
  }
  return (cpuNs() - t) / (calls * c.ops);
}

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1]!;

/** Every primitive, interleaved over the rounds, medians. */
export function measurePrimitives(rounds: number, ms: number): Primitive[] {
  const list = cases();
  for (const c of list) measure(c, Math.min(100, ms)); // JIT warm-up
  const ns = new Map<string, number[]>(list.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) for (const c of list) ns.get(c.name)!.push(measure(c, ms));
  return list.map((c) => ({ name: c.name, ns: med(ns.get(c.name)!), what: c.what }));
}

export async function main(args: string[]): Promise<number> {
  let rounds = 5;
  let ms = 150;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--rounds') rounds = Math.max(1, Number(args[++i]));
    else if (a === '--ms') ms = Math.max(20, Number(args[++i]));
    else if (a === '--quick') (rounds = 2), (ms = 60);
    else throw new Error(`floors: unknown option ${a}`);
  }
  const p = measurePrimitives(rounds, ms);
  const by = new Map(p.map((x) => [x.name, x.ns]));
  console.log(`primitives in this process (${process.version}), ns of process CPU per operation, median of ${rounds} rounds:`);
  for (const x of p) console.log(`  ${x.name.padEnd(14)} ${x.ns.toFixed(0).padStart(7)}  ${x.what}`);
  const ratio = (a: string, b: string) => (by.get(a)! / by.get(b)!).toFixed(1);
  console.log(`  JS / native: SHA-256 block ${ratio('sha256-js', 'sha256-native')}x, HMAC ${ratio('hmac-js', 'hmac-native')}x, CCM_8 record ${ratio('ccm-js', 'ccm-openssl')}x`);
  console.log(`FLOORS_JSON ${JSON.stringify({ node: process.version, primitives: p })}`);
  return 0;
}

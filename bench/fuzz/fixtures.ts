/**
 * Where the fuzz seeds come from: the repository's test fixtures (test/fixtures/, whose README
 * names each file's origin). One resolver, so the targets never name a path; a set found
 * nowhere yields no seeds (the targets' built-in seeds and generators still run).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root: the nearest directory above this file with the coaps package.json. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      try {
        if ((JSON.parse(readFileSync(p, 'utf8')) as { name?: string }).name === 'coaps') return dir;
      } catch {
        /* not ours */
      }
    }
    dir = dirname(dir);
  }
  return process.cwd();
}

export const ROOT = findRoot();

/** The directory of each fixture set, in the repository. */
const SETS = {
  /** tinydtls transcripts (JSON with datagrams). */
  tinydtls: ['test/fixtures/tinydtls'],
  /** Mbed TLS transcripts (connection IDs, resumption). */
  mbedtls: ['test/fixtures/mbedtls'],
  /** LwM2M / CoAP / link-format vectors. */
  lwm2m: ['test/fixtures/lwm2m-vectors'],
  /** The OpenSSL-made test PKI. */
  pki: ['test/fixtures/pki'],
} as const;
export type FixtureSet = keyof typeof SETS;

/** The directory holding a fixture set, or undefined when it is nowhere. */
export function fixtureDir(set: FixtureSet): string | undefined {
  for (const rel of SETS[set]) {
    const dir = resolve(ROOT, rel);
    if (existsSync(dir)) return dir;
  }
  return undefined;
}

/** The files of a set whose names end with `suffix`, sorted, as [name, contents]. */
export function fixtureFiles(set: FixtureSet, suffix: string): Array<[name: string, data: Uint8Array]> {
  const dir = fixtureDir(set);
  if (!dir) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .sort()
    .map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]);
}

/** One JSON file of a set, or undefined when the set or the file is missing. */
export function fixtureJson<T>(set: FixtureSet, name: string): T | undefined {
  const dir = fixtureDir(set);
  if (!dir || !existsSync(join(dir, name))) return undefined;
  return JSON.parse(readFileSync(join(dir, name), 'utf8')) as T;
}

interface TranscriptFile {
  datagrams?: Array<{ dir: string; hex: string }>;
}

/** Every datagram of every DTLS transcript (tinydtls and Mbed TLS), with its direction. */
export function transcriptDatagrams(): Array<{ file: string; dir: string; data: Uint8Array }> {
  const out: Array<{ file: string; dir: string; data: Uint8Array }> = [];
  for (const set of ['tinydtls', 'mbedtls'] as const) {
    for (const [file, bytes] of fixtureFiles(set, '.json')) {
      let t: TranscriptFile;
      try {
        t = JSON.parse(new TextDecoder().decode(bytes)) as TranscriptFile;
      } catch {
        continue;
      }
      for (const d of t.datagrams ?? []) {
        if (typeof d.hex === 'string' && /^[0-9a-f]*$/i.test(d.hex)) out.push({ file, dir: d.dir, data: hexBytes(d.hex) });
      }
    }
  }
  return out;
}

export function hexBytes(h: string): Uint8Array {
  const out = new Uint8Array(h.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** PEM/DER certificates of the test PKI, as DER. */
export function pkiCertificates(): Array<[name: string, der: Uint8Array]> {
  const out: Array<[string, Uint8Array]> = [];
  for (const [name, data] of fixtureFiles('pki', '.crt')) {
    const text = new TextDecoder().decode(data);
    const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
    for (let r = m.exec(text); r; r = m.exec(text)) out.push([name, new Uint8Array(Buffer.from(r[1]!.replace(/\s+/g, ''), 'base64'))]);
  }
  return out;
}

/** A PEM file of the test PKI as text, or undefined. */
export function pkiText(name: string): string | undefined {
  const dir = fixtureDir('pki');
  if (!dir || !existsSync(join(dir, name))) return undefined;
  return readFileSync(join(dir, name), 'utf8');
}

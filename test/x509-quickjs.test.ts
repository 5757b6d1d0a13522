/**
 * The X.509 path on a small engine: lib/x509 with the pure provider and lib/dtls/credentials,
 * bundled by esbuild for the neutral platform (any node: import fails the build) and run inside
 * QuickJS, which has no Buffer, atob, TextEncoder/TextDecoder or clock helpers. PEM parsing,
 * chain validation, typed errors and the missing-clock refusal all work there.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { newQuickJSWASMModule, RELEASE_SYNC } from 'quickjs-emscripten';
import { describe, expect, it } from 'vitest';
import { toHex } from '../lib/bytes/util.js';
import { certificate, selfSignedCa, signer, simpleName } from './helpers/x509-builder.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pem = (f: string) => readFileSync(resolve(ROOT, 'test/fixtures/pki', f), 'utf8');

const ENTRY = `
export { parseCertificates } from './lib/x509/certificate.ts';
export { verifyChain } from './lib/x509/verify.ts';
export { X509Error } from './lib/x509/errors.ts';
export { createPureCrypto } from './lib/crypto/pure.ts';
export { keyStore, spkiFrom } from './lib/dtls/credentials.ts';
export { verifyPeer } from './lib/dtls/trust.ts';
`;

/** Runs in the VM: every case's outcome as JSON. */
const SCRIPT = `
(() => {
  const { parseCertificates, verifyChain, X509Error, createPureCrypto, keyStore, spkiFrom, verifyPeer } = x509;
  const crypto = createPureCrypto((n) => new Uint8Array(n)); // verification needs no randomness
  const hex = (b) => Array.from(b, (x) => (x < 16 ? '0' : '') + x.toString(16)).join('');
  const fromHex = (s) => new Uint8Array(s.match(/../g).map((h) => parseInt(h, 16)));
  const anchors = parseCertificates(INPUT.ca);
  const inValidity = () => new Date(Date.UTC(2030, 5, 1));
  const run = (chainPem, o) => {
    try {
      const chain = chainPem.flatMap((p) => parseCertificates(p)).map((c) => c.der);
      const v = verifyChain(chain, Object.assign({ crypto, anchors, purpose: 'serverAuth', clock: inValidity }, o));
      return { ok: true, subject: v.subject, path: v.path.length, spki: hex(v.spki) };
    } catch (e) {
      return { ok: false, error: e instanceof X509Error ? e.code : String(e) };
    }
  };
  const store = keyStore({ ca: INPUT.ca, rawPublicKeys: [INPUT.serverPub], clock: inValidity });
  const verdict = verifyPeer(store, { kind: 'x509', chain: parseCertificates(INPUT.server).map((c) => c.der) }, { address: '127.0.0.1', port: 5684 }, { crypto, purpose: 'serverAuth', expectedName: '127.0.0.1' });
  let noClock;
  try { keyStore({ ca: INPUT.ca }); } catch (e) { noClock = e.code; }
  return JSON.stringify({
    server: run([INPUT.server], { expectedName: 'localhost' }),
    viaInt: run([INPUT.leafViaInt, INPUT.int], { expectedName: 'localhost' }),
    wrongName: run([INPUT.server], { expectedName: 'example.com' }),
    stranger: run([INPUT.stranger], {}),
    expired: run([INPUT.server], { clock: () => new Date(Date.UTC(2050, 0, 1)) }),
    none: run([INPUT.server], { clock: 'none' }),
    noClock: run([INPUT.server], { clock: undefined }),
    rsaCa: (() => { try { return verifyChain([fromHex(INPUT.rsaLeafHex)], { crypto, anchors: [parseCertificates(fromHex(INPUT.rsaCaHex))[0]], purpose: 'serverAuth', clock: 'none' }) && 'accepted'; } catch (e) { return e.code; } })(),
    spki: hex(spkiFrom(INPUT.serverPub)),
    verdict: verdict.ok ? { ok: true, subject: verdict.identity.subject, fingerprint: verdict.identity.fingerprint } : { ok: false, code: verdict.error.code },
    keyStoreWithoutClock: noClock,
  });
})()
`;

describe('X.509 in QuickJS (pure provider, neutral bundle)', () => {
  it('parses PEM, validates chains, refuses with typed errors, and needs a clock', async () => {
    const bundle = await build({
      stdin: { contents: ENTRY, resolveDir: ROOT, loader: 'ts', sourcefile: 'x509-entry.ts' },
      bundle: true,
      format: 'iife',
      globalName: 'x509',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      target: 'es2020',
      write: false,
      logLevel: 'silent',
    });
    const code = bundle.outputFiles[0]!.text;
    expect(code).not.toMatch(/\bBuffer\.|\batob\(|TextDecoder|node:/);

    const rsa = signer('rsa');
    const input = {
      ca: pem('ca.crt'),
      server: pem('server.crt'),
      serverPub: pem('server.pub'),
      int: pem('int.crt'),
      leafViaInt: pem('leaf-via-int.crt'),
      stranger: pem('stranger.crt'),
      rsaCaHex: toHex(selfSignedCa(rsa, 'rsa CA')),
      rsaLeafHex: toHex(certificate({ issuer: simpleName('rsa CA'), subject: simpleName('localhost'), spki: signer('p256').spki }, rsa)),
    };

    const Q = await newQuickJSWASMModule(RELEASE_SYNC);
    const vm = Q.newContext();
    try {
      vm.unwrapResult(vm.evalCode(code)).dispose();
      vm.unwrapResult(vm.evalCode(`var INPUT = ${JSON.stringify(input)};`)).dispose();
      const r = vm.unwrapResult(vm.evalCode(SCRIPT));
      const out = JSON.parse(vm.getString(r));
      r.dispose();
      const subject = 'O=coaps tests\nCN=localhost';
      expect(out.server).toMatchObject({ ok: true, subject, path: 2 });
      expect(out.viaInt).toMatchObject({ ok: true, subject, path: 3 });
      expect(out.wrongName).toEqual({ ok: false, error: 'CERTIFICATE_UNKNOWN' });
      expect(out.stranger).toEqual({ ok: false, error: 'UNKNOWN_CA' });
      expect(out.expired).toEqual({ ok: false, error: 'CERTIFICATE_EXPIRED' });
      expect(out.none).toMatchObject({ ok: true });
      expect(out.noClock).toEqual({ ok: false, error: 'INVALID_ARGUMENT' });
      expect(out.rsaCa).toBe('UNSUPPORTED_CERTIFICATE');
      expect(out.spki).toBe(out.server.spki);
      expect(out.verdict).toMatchObject({ ok: true, subject });
      expect(out.keyStoreWithoutClock).toBe('INVALID_ARGUMENT');
    } finally {
      vm.dispose();
    }
  });
});

/**
 * `npm run bench -- size`: minified and gzipped bundle sizes of three entry points (esbuild),
 * and a check that the embedded ones tree-shake: no node: module, no ECDHE/X.509/server/LwM2M
 * code in the PSK build, nor Connection ID, session resumption or export, nor the CoAP server
 * side. The bundles are kept in bench/.build/bundles/ (the QuickJS test uses them).
 */
import { build } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** The repository root: the first directory up with package.json (dist/bench/ when built, bench/ under vite-node). */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = resolve(dir, '..');
    if (up === dir) throw new Error('bench/size.ts: no package.json above this file');
    dir = up;
  }
  return dir;
}
const root = findRoot();
const out = join(root, 'bench/.build/bundles');

interface Entry {
  name: string;
  file: string;
  platform: 'neutral' | 'node';
  /** Identifiers that must not appear in this bundle (tree-shaking proof). */
  absent: string[];
}

const ENTRIES: Entry[] = [
  {
    name: 'psk-coap-client',
    file: 'lib/entry/psk-coap-client.ts',
    platform: 'neutral',
    absent: [
      'ServerKeyExchange signature', 'X509Certificate', 'CookieJar', 'Lwm2m', 'node:', 'coap-packet',
      // what the small client leaves out (identifiers and error texts that survive minification):
      'replayBitmap', // session export / restore (session-export.ts)
      'not a resumption blob', 'nothing to resume with', 'session_ticket that was not offered', // client resumption (resumption.ts, resumption-rules.ts)
      'peer identity', // peer-identity-codec.ts
      'cidLength', // the RFC 9146 tls12_cid record format (record/ccm8-cid.ts)
      'maxPendingRequests', 'expiredUnanswered', 'echoLifetimeMs', 'TextEncoder', // the CoAP server side (endpoint.ts, limits.ts, address-check.ts)
      'has not saved a sequence lease', 'no established epoch to export', // a session store's nonce-lease hold and record-layer export (exportable-connection.ts, exportable-record-layer.ts)
      'the NewSessionTicket the ServerHello promised', 'ticket_lifetime_hint', // the NewSessionTicket, session cache and ticket code (finish-resumption.ts, wire/new-session-ticket.ts) // a session store's nonce-lease hold (exportable-connection.ts)
      'too many deduplication entries', // the server's deduplication store (message-layer.ts; the client has ClientMessageLayer)
    ],
  },
  { name: 'ecdhe-client', file: 'lib/entry/ecdhe-client.ts', platform: 'neutral', absent: ['X509Certificate', 'CookieJar', 'Lwm2m', 'node:'] },
  { name: 'everything', file: 'lib/entry/all.ts', platform: 'node', absent: [] },
];

export async function bundle(e: Entry, format: 'esm' | 'iife' = 'esm'): Promise<Uint8Array> {
  const r = await build({
    entryPoints: [join(root, e.file)],
    bundle: true,
    minify: true,
    format,
    ...(format === 'iife' ? { globalName: 'coaps' } : {}),
    platform: e.platform,
    target: 'es2020',
    write: false,
    legalComments: 'none',
    ...(e.platform === 'neutral' ? { mainFields: ['module', 'main'] } : {}),
    logLevel: 'silent',
  });
  return r.outputFiles[0]!.contents;
}

export async function main(): Promise<number> {
  mkdirSync(out, { recursive: true });
  console.log('size: esbuild --bundle --minify (ES2020), gzip -9; embedded entries on the neutral platform (any node: import fails the build)');
  console.log(`| bundle | entry | minified | gzipped |\n|---|---|---:|---:|`);
  let ok = true;
  for (const e of ENTRIES) {
    let code: Uint8Array;
    try {
      code = await bundle(e);
    } catch (err) {
      console.log(`| ${e.name} | ${e.file} | build failed: ${(err as Error).message.split('\n')[0]} | |`);
      ok = false;
      continue;
    }
    writeFileSync(join(out, `${e.name}.mjs`), code);
    if (e.platform === 'neutral') writeFileSync(join(out, `${e.name}.iife.js`), await bundle(e, 'iife'));
    const text = new TextDecoder().decode(code);
    const present = e.absent.filter((a) => text.includes(a));
    if (present.length) ok = false;
    const gz = gzipSync(code, { level: 9 }).length;
    console.log(`| ${e.name} | ${e.file} | ${(code.length / 1024).toFixed(1)} KiB | ${(gz / 1024).toFixed(1)} KiB |${present.length ? ` LEAK: ${present.join(', ')}` : ''}`);
  }
  const deps = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  console.log(`runtime dependencies: ${Object.keys(deps.dependencies ?? {}).join(', ') || 'none'}`);
  console.log(ok ? 'tree-shaking: the embedded bundles hold no node: module and none of the left-out code' : 'tree-shaking: FAILED (see above)');
  return ok ? 0 : 1;
}

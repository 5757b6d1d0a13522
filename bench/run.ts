/**
 * Benchmark dispatcher: `npm run bench -- <name> [options]` (= node dist/bench/run.js <name>).
 * Benchmarks measure on this machine and report ratios to peers and to DESIGN.md's ceilings,
 * all measured in one run. Timings never go into unit tests.
 */
import { killAll } from './lib/procs.js';

interface Bench {
  about: string;
  load?: () => Promise<{ main(args: string[]): Promise<number> }>;
}

const BENCHES: Record<string, Bench> = {
  'dtls-psk': {
    about: 'PSK full handshakes/s vs libcoap-gnutls and the DESIGN.md ceiling (dtls-load hs), echoed records/s at 64 B and 1 KB',
    load: () => import('./dtls-psk.js'),
  },
  'dtls-ecdhe': {
    about: 'ECDHE_ECDSA (RFC 7250 raw public keys) handshakes/s without and with client auth vs the DESIGN.md ceiling and the 4k/s target; server CPU per handshake; crypto floor',
    load: () => import('./dtls-ecdhe.js'),
  },
  'ecdhe-primitives': {
    about: 'the floor of an ECDHE_ECDSA server handshake: P-256 keygen/derive/sign/verify through node:crypto, route by route (createECDH, reused ECDH objects, KeyObjects, PEM), us CPU/op and ratios',
    load: () => import('./ecdhe-primitives.js'),
  },
  'ecdhe-cpu': {
    about: 'server CPU per ECDHE_ECDSA handshake (RPK, no client auth), in-process against the sans-IO endpoint (robust on a shared machine), beside a PSK handshake and the crypto floor; --cpu-prof for a profile',
    load: () => import('./ecdhe-cpu.js'),
  },
  floors: {
    about: 'what the primitives of a DTLS server cost here, ours in JS beside node:crypto: SHA-256 block, HMAC, PRF, AES block, CCM_8 record; ns CPU/op (the report adds the datagram floor and what each target leaves)',
    load: () => import('./floors.js'),
  },
  'gc-churn': {
    about: 'what a container churned by short-lived objects costs the garbage collector: Map of objects vs Map of integers with slots vs WeakMap vs none, scavenges and full collections (README, garbage collector)',
    load: () => import('./gc-churn.js'),
  },
  'ecdhe-flood': {
    about: 'round trips of an established PSK session on our server while ECDHE_ECDSA handshakes flood it, against the idle server: p50/p90/p99 and ratios',
    load: () => import('./ecdhe-flood.js'),
  },
  'client-latency': {
    about: 'client PSK handshake latency, sequential, against libcoap-gnutls: our connect() vs node-dtls-client vs dtls-load\'s C client; p50/p90/p99 and ratios',
    load: () => import('./client-latency.js'),
  },
  coaps: {
    about: 'CoAP CON GET req/s over established DTLS PSK sessions (dtls-load coap, 16 sessions, W=1 and 4) vs libcoap-gnutls, the 50k/s target and the DESIGN.md ceiling; server CPU per request; cpu profile',
    load: () => import('./coaps.js'),
  },
  size: {
    about: 'minified and gzipped bundle sizes: PSK client + CoAP client, ECDHE client, everything; tree-shaking checks',
    load: () => import('./size.js'),
  },
  'half-open': {
    about: 'half-open handshake flood (cookie exchange done, then silence) at 50/200/1,000 per second against `coaps dtls server`: real clients\' success rate and latency',
    load: () => import('./half-open.js'),
  },
  attacks: {
    about: 'issue 10 attacks on coaps serve (127.0.0.1): small-record client GET /large, 12,000 observations from one session, 100,000 first blocks, coap:// amplification; --dist DIR attacks another build',
    load: () => import('./attacks/index.js'),
  },
  sessions: {
    about: 'full PSK handshakes/s beside resumed ones (session ID, ticket) against our server, ratios, server us/hs; bytes of an exported session (snapshot codec); Redis round trips per handshake, record, restored and closed session (a real redis-server)',
    load: () => import('./sessions.js'),
  },
  memory: {
    about: 'bytes per established idle PSK session (heap, native, RSS) at 1k/10k/100k sessions vs the 512 B target; per client connection too',
    load: () => import('./memory.js'),
  },
  report: {
    about: 'the side-by-side suite in one run (coaps vs libcoap+GnuTLS/OpenSSL via dtls-load; our client vs node-dtls-client and dtls-load): figures.json, SVG charts and REPORT.md in bench/results/ with issue 13\'s targets met or not; --quick for a smoke run',
    load: () => import('./report/index.js'),
  },
  pure: {
    about: 'pure-JS crypto provider vs node:crypto: in-process PSK and ECDHE (RPK) handshakes, CCM_8 seal/open at 64 B and 1 KB, P-256 primitives; us/op and ratios',
    load: () => import('./pure.js'),
  },
};

function list(): void {
  console.log('usage: npm run bench -- <name> [options]\nbenchmarks:');
  for (const [name, b] of Object.entries(BENCHES)) console.log(`  ${name.padEnd(12)} ${b.about}`);
}

async function main(): Promise<number> {
  const name = process.argv[2];
  const bench = name !== undefined ? BENCHES[name] : undefined;
  if (!bench) {
    if (name !== undefined && name !== '--help' && name !== '-h') console.log(`unknown benchmark: ${name}`);
    list();
    return name === undefined || name === '--help' || name === '-h' ? 0 : 2;
  }
  if (!bench.load) {
    console.log(`benchmark ${name} is not written yet`);
    list();
    return 2;
  }
  const mod = await bench.load();
  return mod.main(process.argv.slice(3));
}

main()
  .then(async (code) => {
    await killAll();
    process.exit(code);
  })
  .catch(async (e: unknown) => {
    console.error(e instanceof Error ? e.stack : e);
    await killAll();
    process.exit(1);
  });

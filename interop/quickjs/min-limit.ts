/**
 * Finds the smallest memory limit under which the QuickJS-hosted PSK client still completes
 * each scenario (binary search, 1 KiB steps), for both bundles, against both real peers, and
 * prints the heap figures and handshake times. A bench-like script, not a test:
 *
 *   npx vite-node interop/quickjs/min-limit.ts [--variant stock] [--peer openssl|libcoap] [--runs N]
 *
 * Needs openssl and coap-server-gnutls (interop/install-peers.sh). See harness.ts for what the
 * limit and the heap figures are on this QuickJS build.
 */
import { killAllPeers, portAllocator } from '../helpers.js';
import { buildBundle, kib, libcoapScenario, opensslScenario, type BundleVariant, type ScenarioResult } from './harness.js';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const variants: BundleVariant[] = opt('variant') ? [opt('variant') as BundleVariant] : ['stock'];
const peers = opt('peer') ? [opt('peer') as 'openssl' | 'libcoap'] : (['openssl', 'libcoap'] as const);
const runs = Number(opt('runs') ?? 5);
const nextPort = portAllocator('interop/quickjs/min-limit.ts');

async function run(variant: BundleVariant, peer: 'openssl' | 'libcoap', limit: number): Promise<ScenarioResult> {
  const bundle = await buildBundle(variant);
  try {
    return peer === 'openssl' ? await opensslScenario(bundle, limit, await nextPort()) : await libcoapScenario(bundle, limit, await nextPort(2));
  } finally {
    await killAllPeers();
  }
}

const line = (r: ScenarioResult) =>
  `${r.ok ? 'ok  ' : 'FAIL'} limit ${kib(r.limit)}: ${r.ok ? '' : `at ${r.step}: ${r.failure?.code ?? ''} ${r.failure?.vmError?.message ?? r.failure?.message ?? ''} `}` +
  `heap peak ${kib(r.heap.peak)} (boot ${kib(r.heap.bootPeak)}, resident ${kib(r.heap.afterBoot)}, handshake ${kib(r.heap.handshakePeak)})`;

console.log('QuickJS (quickjs-emscripten RELEASE_SYNC): smallest memory limit per bundle and peer');
const summary: string[] = [];
for (const variant of variants) {
  const bundle = await buildBundle(variant);
  for (const peer of peers) {
    console.log(`\n## ${variant} bundle (${kib(bundle.length)} of JS) <-> ${peer}`);
    // Timing and heap under a generous limit, a few runs.
    const hs: number[] = [];
    const busy: number[] = [];
    let ref: ScenarioResult | undefined;
    for (let i = 0; i < runs; i++) {
      const r = await run(variant, peer, 8 << 20);
      if (!r.ok) throw new Error(`fails even with 8 MiB: ${line(r)}`);
      hs.push(r.handshakeMs!);
      busy.push(r.handshakeVmBusyMs!);
      ref = r;
    }
    const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
    console.log(`8 MiB limit, ${runs} runs: handshake median ${med(hs).toFixed(1)} ms (min ${Math.min(...hs).toFixed(1)}, max ${Math.max(...hs).toFixed(1)}), of which in the VM ${med(busy).toFixed(1)} ms; boot ${ref!.bootMs.toFixed(0)} ms`);
    console.log(line(ref!));
    let lo = 64 * 1024; // fails
    let hi = 8 << 20; // works
    const first = await run(variant, peer, lo);
    console.log(line(first));
    if (first.ok) hi = lo;
    while (hi - lo > 1024) {
      const mid = Math.round((lo + hi) / 2 / 1024) * 1024;
      const r = await run(variant, peer, mid);
      console.log(line(r));
      if (r.ok) hi = mid;
      else lo = mid;
    }
    summary.push(`${variant} <-> ${peer}: smallest working limit ${kib(hi)}; handshake median ${med(hs).toFixed(1)} ms (VM ${med(busy).toFixed(1)} ms); heap peak ${kib(ref!.heap.peak)}, resident after load ${kib(ref!.heap.afterBoot)}, handshake peak ${kib(ref!.heap.handshakePeak)}`);
  }
}
console.log(`\n${summary.join('\n')}`);
process.exit(0);

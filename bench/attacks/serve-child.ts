/**
 * The CoAP server of a given build (its dist/), with the demo resources of `coaps serve` and a
 * short EXCHANGE_LIFETIME, as a child process of the attack scripts: they read its held state
 * and memory on demand.
 *   node --expose-gc serve-child.js DIST PORT LIFETIME_MS plain|secure
 * Prints `LISTENING` once bound; each `stats` line on stdin gets `STATS n {json}` on stdout.
 */
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, portArg, lifetimeArg, mode] = process.argv.slice(2);
const load = (p: string) => import(pathToFileURL(join(dist!, p)).href);

interface CoreLike {
  uploadCount?: number;
  cachedBodyCount?: number;
  observerCount: number;
  uploads?: { size: number };
  bodies?: { size: number };
}

async function main(): Promise<void> {
  const node = (await load('transports/coap-node.js')) as typeof import('../../transports/coap-node.js');
  const { demoRouter } = (await load('lib/cli/serve.js')) as typeof import('../../lib/cli/serve.js');
  const { pskMap } = (await load('lib/dtls/keystore.js')) as typeof import('../../lib/dtls/keystore.js');
  const lifetime = Number(lifetimeArg);
  const enc = new TextEncoder();
  const server = node.createServer(
    { ...(mode === 'secure' ? { dtls: { psk: pskMap([[enc.encode('Client_identity'), enc.encode('secretPSK')]]) } } : {}), transmission: { exchangeLifetimeMs: lifetime } },
    demoRouter().handler(),
  );
  server.on('error', (e: Error) => process.stderr.write(`coaps: ${e.message}\n`));
  await new Promise<void>((r) => server.listen(Number(portArg), '127.0.0.1', () => r()));
  process.stdout.write('LISTENING\n');
  let n = 0;
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() !== 'stats') return;
    (globalThis as { gc?: () => void }).gc?.();
    const core = server.core as unknown as CoreLike;
    const mem = process.memoryUsage();
    const stats = {
      uploads: core.uploadCount ?? core.uploads?.size ?? -1,
      cachedBodies: core.cachedBodyCount ?? core.bodies?.size ?? -1,
      observers: core.observerCount,
      rssMb: Math.round((mem.rss / 1048576) * 10) / 10,
      heapMb: Math.round((mem.heapUsed / 1048576) * 10) / 10,
    };
    process.stdout.write(`STATS ${++n} ${JSON.stringify(stats)}\n`);
  });
  process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

void main();

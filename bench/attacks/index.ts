/**
 * The attacks of issue 10, re-run against a build of `coaps serve` on 127.0.0.1:
 *   npm run bench -- attacks [--dist DIR] [--only NAME,...] [--seconds N] [--uploads N]
 * --dist: the dist/ of the build under attack (default: this build; point it at another
 * checkout's dist/ to get the figures before a change). Names: record-limit, observe-flood,
 * upload-flood, amplification. --seconds: how long the observe flood runs (default 30) and the
 * observation is watched in the amplification run (default 30).
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { amplification } from './amplification.js';
import { observeFlood } from './observe-flood.js';
import { recordLimit } from './record-limit.js';
import { uploadFlood } from './upload-flood.js';
import type { Target } from './common.js';

const HERE = dirname(fileURLToPath(import.meta.url));

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function main(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log('usage: npm run bench -- attacks [--dist DIR] [--only record-limit,observe-flood,upload-flood,amplification] [--seconds N] [--uploads N]');
    return 0;
  }
  const dist = resolve(arg(args, '--dist') ?? resolve(HERE, '../..'));
  const target: Target = { label: dist, dist };
  const only = arg(args, '--only')?.split(',');
  const seconds = Number(arg(args, '--seconds') ?? 30);
  const uploads = Number(arg(args, '--uploads') ?? 100_000);
  const run = (n: string) => !only || only.includes(n);
  console.log(`attacks on ${dist}`);
  const section = async (name: string, f: () => Promise<string[]>) => {
    if (!run(name)) return;
    console.log(`\n== ${name}`);
    try {
      for (const line of await f()) console.log(line);
    } catch (e) {
      console.log(`failed: ${(e as Error).stack ?? String(e)}`);
    }
  };
  await section('record-limit', () => recordLimit(target));
  await section('observe-flood', () => observeFlood(target, seconds));
  await section('upload-flood', () => uploadFlood(target, uploads));
  await section('amplification', () => amplification(target, seconds));
  return 0;
}

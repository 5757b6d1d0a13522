/**
 * The fuzz loop in a worker thread (run.ts starts it): progress, findings and the final
 * figures go to the parent as messages; the input in flight is written into a shared buffer
 * before it runs, so the parent's watchdog can name the input of a hang.
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { Fuzzer, type FuzzStats } from './engine.js';
import { findTarget } from './targets/index.js';

export interface WorkerData {
  target: string;
  seed: number;
  runs?: number;
  timeMs?: number;
  budgetMs?: number;
  minimize: boolean;
  /** Int32 [inputs started, input length, world seed, has world seed] then the input bytes. */
  shared: SharedArrayBuffer;
}

export type WorkerMessage =
  | { type: 'progress'; stats: FuzzStats; heapMb: number }
  | { type: 'finding'; finding: import('./engine.js').Finding }
  | { type: 'done'; stats: FuzzStats; heapMb: number; counts: Array<[key: string, count: number]> };

const d = workerData as WorkerData;
const port = parentPort!;
const target = findTarget(d.target);
if (!target) throw new Error(`no target ${d.target}`);

const header = new Int32Array(d.shared, 0, 4);
const bytes = new Uint8Array(d.shared, 16);
let heapMb = 0;
const heap = () => {
  heapMb = Math.max(heapMb, getHeapStatistics().used_heap_size / 2 ** 20);
  return heapMb;
};

const fuzzer = new Fuzzer(target, {
  seed: d.seed,
  ...(d.runs !== undefined ? { runs: d.runs } : {}),
  ...(d.timeMs !== undefined ? { timeMs: d.timeMs } : {}),
  ...(d.budgetMs !== undefined ? { budgetMs: d.budgetMs } : {}),
  minimize: d.minimize,
  reportEveryMs: 2000,
  onProgress: (stats) => port.postMessage({ type: 'progress', stats, heapMb: heap() } satisfies WorkerMessage),
  onFinding: (finding) => port.postMessage({ type: 'finding', finding } satisfies WorkerMessage),
  inFlight(input, worldSeed) {
    const n = Math.min(input.length, bytes.length);
    bytes.set(input.subarray(0, n));
    header[1] = n;
    header[2] = (worldSeed ?? 0) | 0;
    header[3] = worldSeed === undefined ? 0 : 1;
    Atomics.add(header, 0, 1);
  },
});
const stats = fuzzer.run();
port.postMessage({ type: 'done', stats, heapMb: heap(), counts: [...fuzzer.findings.values()].map((f) => [f.key, f.count]) } satisfies WorkerMessage);

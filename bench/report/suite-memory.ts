/**
 * Part `memory`: bytes per established idle PSK session on the server at each session count,
 * measured by bench/memory.ts's child (a fresh `node --expose-gc` process per count: in-process
 * handshakes against the sans-IO DtlsEndpoint, a warm-up that is closed again, the baseline,
 * the sessions, the virtual clock moved past the 240 s flight linger, full GCs). The report
 * takes the server-only run and its `idle` moment: growth of heapUsed, external and rss per
 * session. Nothing else runs meanwhile in this process.
 */
import { child } from '../memory.js';
import { isStopping } from '../lib/procs.js';
import type { Ctx, Plan } from './context.js';
import type { MemoryFigures, MemoryPoint, Part } from './figures.js';

/** In-process handshakes per second the child makes (a rough figure for the ETA). */
const HANDSHAKES_PER_S = 2_500;
const WARMUP_HANDSHAKES = 1_500;

const secondsFor = (n: number): number => 1.5 + (n + WARMUP_HANDSHAKES) / HANDSHAKES_PER_S;

export function planMemory(o: Ctx['o']): Plan {
  return { steps: o.memoryCounts.length, seconds: o.memoryCounts.reduce((s, n) => s + secondsFor(n), 0) };
}

export async function runMemory(ctx: Ctx): Promise<Part<MemoryFigures>> {
  const { o } = ctx;
  ctx.log(`\n[memory] bench/memory.ts child per count (--expose-gc): ${o.memoryCounts.map((n) => n.toLocaleString('en-US')).join(', ')} idle established PSK sessions, server side`);
  const points: MemoryPoint[] = [];
  for (const n of o.memoryCounts) {
    ctx.progress.step(`memory: ${n.toLocaleString('en-US')} sessions (fresh child, --expose-gc)`, secondsFor(n));
    try {
      const r = await child(n, 'server');
      if (isStopping()) throw new Error('interrupted');
      points.push({ sessions: n, heapBytes: r.idle.heap, nativeBytes: r.idle.ext, rssBytes: r.idle.rss, establishMs: r.establishMs });
      ctx.log(`  ${n.toLocaleString('en-US').padStart(8)} sessions: heap ${Math.round(r.idle.heap)} B + native ${Math.round(r.idle.ext)} B = ${Math.round(r.idle.heap + r.idle.ext)} B per session; RSS ${Math.round(r.idle.rss)} B; established in ${(r.establishMs / 1000).toFixed(1)} s`);
    } catch (e) {
      if (isStopping()) throw e;
      const why = e instanceof Error ? e.message : String(e);
      ctx.log(`  ${n} sessions FAILED: ${why}`);
      ctx.notes.push(`memory at ${n} sessions failed: ${why.slice(0, 200)}`);
    }
  }
  if (!points.length) return { skipped: 'every memory child failed (see the notes)' };
  return {
    source: 'bench/memory.ts (server only, idle moment)',
    what: 'growth over a warmed-up baseline after full GCs, divided by the sessions: heapUsed (heap), external (native), rss; the last flight each session keeps for 240 s already dropped',
    points,
  };
}

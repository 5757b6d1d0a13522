/** Summaries of a V8 .cpuprofile (from `node --cpu-prof`): top self and inclusive time. */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  self: Array<{ name: string; pct: number }>;
  /** inclusive time of our own functions (files under dist/) */
  inclusive: Array<{ name: string; pct: number }>;
  /** self time by kind: node:crypto, node:dgram, our lib, our transport, GC, ... */
  categories: Array<{ name: string; pct: number }>;
}

function category(n: ProfileNode): string {
  const { functionName: fn, url } = n.callFrame;
  if (/^node:.*crypto/.test(url)) return 'node:crypto (calls into OpenSSL)';
  if (/dgram|node:dns|internal\/net|udp_wrap/.test(url)) return 'node:dgram (send/receive, incl. syscalls)';
  if (/dist\/lib\/crypto\//.test(url)) return 'our JS crypto (dist/lib/crypto: SHA-256, HMAC, PRF, provider glue)';
  if (/dist\/lib\//.test(url)) return 'our engine (dist/lib)';
  if (/dist\/transports\//.test(url)) return 'our driver (dist/transports)';
  if (/dist\/bench\//.test(url)) return 'bench server code';
  if (/events|task_queues|timers|async_hooks/.test(url)) return 'node events/ticks/timers';
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return '(program: native, unattributed)';
  return 'other';
}

function label(n: ProfileNode, root: string): string {
  const cf = n.callFrame;
  const fn = cf.functionName || '(anonymous)';
  if (!cf.url) return fn;
  let url = cf.url.replace(/^file:\/\//, '');
  if (url.startsWith(root)) url = url.slice(root.length + 1);
  return `${fn} ${url}:${cf.lineNumber + 1}`;
}

/**
 * `weight: 'samples'` counts every sample as one tick instead of weighting it by its time
 * delta: when other processes share the core, the deltas include time the process was not
 * running at all, and sample counts then track CPU time better.
 */
export function summarizeProfile(path: string, repoRoot: string, top = 15, weight: 'time' | 'samples' = 'time'): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const timeById = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = weight === 'samples' ? 1000 : (p.timeDeltas[i] ?? 0);
    total += dt;
    timeById.set(p.samples[i]!, (timeById.get(p.samples[i]!) ?? 0) + dt);
  }
  const self = new Map<string, number>();
  const cats = new Map<string, number>();
  const incl = new Map<string, number>();
  let idle = 0;
  for (const [id, t] of timeById) {
    const n = byId.get(id)!;
    const name = label(n, repoRoot);
    if (n.callFrame.functionName === '(idle)') {
      idle += t;
      continue;
    }
    self.set(name, (self.get(name) ?? 0) + t);
    const cat = category(n);
    cats.set(cat, (cats.get(cat) ?? 0) + t);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = label(byId.get(cur)!, repoRoot);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + t);
    }
  }
  const busy = total - idle;
  const rank = (m: Map<string, number>, filter: (k: string) => boolean) =>
    [...m]
      .filter(([k]) => filter(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, t]) => ({ name, pct: (100 * t) / Math.max(1, busy) }));
  return {
    totalMs: total / 1000,
    busyMs: busy / 1000,
    self: rank(self, () => true),
    inclusive: rank(incl, (k) => k.includes('dist/') && !k.includes('dist/bench/')),
    categories: rank(cats, () => true),
  };
}

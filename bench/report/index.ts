/**
 * `npm run bench -- report [--quick] [--only PARTS] [--out DIR] [--rounds N]`: issue 13's
 * side-by-side suite in one run, on this machine, each figure a ratio to its peer measured in
 * the same run (or to its target where there is no peer):
 *   handshakes  PSK full handshakes/s against concurrency and the latency percentiles at C=4:
 *               coaps vs libcoap+GnuTLS vs libcoap+OpenSSL, dtls-load hs   (suite-handshakes.ts)
 *   coap        CoAP CON GET/s over DTLS, 16 sessions, W=1 and 4            (suite-coap.ts)
 *   ecdhe       ECDHE-ECDSA (RPK) handshakes/s, ours, vs DESIGN.md's ceiling (suite-ecdhe.ts)
 *   memory      bytes per idle session at 1k/10k/100k sessions              (suite-memory.ts)
 *   sessions    CoAP GET/s with 10k idle sessions vs without                (suite-sessions.ts)
 *   client      client handshake latency, sequential: ours vs node-dtls-client vs dtls-load
 *               against libcoap+GnuTLS                                      (suite-client.ts)
 *   floors      the datagram floor (dtls-load echo: our driver's send path, dgram's defaults,
 *               C) and the primitives' costs, JS beside node:crypto; with the figures above,
 *               what each throughput target leaves above the floors         (suite-floors.ts,
 *               budgets.ts)
 * Servers on cpu0, load on cpu1, interleaved rounds. Writes figures.json, one SVG per chart
 * (vega-lite compiled to vega, rendered headless) and REPORT.md into bench/results/ (or --out),
 * with issue 13's target table evaluated (targets.ts). Results on stdout, progress on stderr.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureDtlsLoad } from '../lib/dtls-load.js';
import { REPO_ROOT } from '../lib/paths.js';
import { Contention } from '../lib/report.js';
import { isStopping, runToEnd, stop } from '../lib/procs.js';
import { chartSpecs, renderSvg } from './charts.js';
import type { Ctx, Plan } from './context.js';
import { PARTS, type Figures, type PartName } from './figures.js';
import { machineFacts } from './machine.js';
import { renderReport, targetTable } from './markdown.js';
import { parseReportOptions, USAGE, type ReportOptions } from './options.js';
import { clock, Progress } from './progress.js';
import { planClient, runClient } from './suite-client.js';
import { planCoap, runCoap } from './suite-coap.js';
import { planEcdhe, runEcdhe } from './suite-ecdhe.js';
import { planFloors, runFloors } from './suite-floors.js';
import { planHandshakes, runHandshakes } from './suite-handshakes.js';
import { planMemory, runMemory } from './suite-memory.js';
import { planSessions, runSessions } from './suite-sessions.js';
import { evaluateTargets } from './targets.js';

const PLANS: Record<PartName, (o: ReportOptions) => Plan> = {
  handshakes: planHandshakes,
  coap: planCoap,
  ecdhe: planEcdhe,
  memory: planMemory,
  sessions: planSessions,
  client: planClient,
  floors: planFloors,
};

/** The commit measured: `abc1234` or `abc1234+dirty` (uncommitted changes in the working tree). */
async function commitOf(): Promise<string> {
  const head = await runToEnd('git', ['-C', REPO_ROOT, 'rev-parse', '--short=12', 'HEAD'], 5000);
  if (head.code !== 0) return 'unknown';
  const dirty = await runToEnd('git', ['-C', REPO_ROOT, 'status', '--porcelain', '--untracked-files=no'], 5000);
  return `${head.out.trim()}${dirty.out.trim() ? '+dirty' : ''}`;
}

/** Runs one part; a failure becomes a skip with its reason (an interrupt ends the run). */
async function part<T>(ctx: Ctx, name: string, run: () => Promise<T | { skipped: string }>): Promise<T | { skipped: string }> {
  try {
    return await run();
  } catch (e) {
    if (isStopping()) throw e;
    const why = `failed: ${e instanceof Error ? e.message : String(e)}`.slice(0, 400);
    ctx.log(`  ${name} ${why}`);
    ctx.progress.note(`${name} ${why}`);
    return { skipped: why };
  }
}

export async function main(args: string[]): Promise<number> {
  let o: ReportOptions;
  try {
    o = parseReportOptions(args);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    console.error(USAGE);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const start = new Date();
  const progress = new Progress();
  const want = (p: PartName) => o.only.includes(p);
  for (const p of PARTS) if (want(p)) progress.plan(PLANS[p](o).steps, PLANS[p](o).seconds);
  const planned = progress.planned;
  progress.note(`${o.quick ? '--quick run' : 'full run'}: ${o.only.join(', ')}; about ${clock(planned.seconds)} (${planned.steps} steps); results on stdout`);

  const dl = o.only.some((p) => p !== 'memory' && p !== 'ecdhe') ? await ensureDtlsLoad() : { skip: 'not needed' };
  if ('skip' in dl && dl.skip !== 'not needed') progress.note(`dtls-load unavailable: ${dl.skip}`);
  const ctx: Ctx = { o, progress, dl, servers: [], capS: Math.ceil(planned.seconds * 3 + 300), log: (l = '') => console.log(l), notes: [], contention: new Contention() };
  const out = resolve(REPO_ROOT, o.out);
  const f: Omit<Figures, 'targets' | 'elapsedS' | 'machine' | 'commit'> = { schema: 1, quick: o.quick, parts: [...o.only], notes: ctx.notes };
  try {
    if (want('handshakes')) {
      const r = await part(ctx, 'handshakes', async () => ({ ok: await runHandshakes(ctx) }));
      if ('skipped' in r) Object.assign(f, { handshakes: r, latency: r });
      else Object.assign(f, r.ok);
    }
    if (want('coap')) f.coap = await part(ctx, 'coap', () => runCoap(ctx));
    if (want('ecdhe')) f.ecdhe = await part(ctx, 'ecdhe', () => runEcdhe(ctx));
    if (want('memory')) f.memory = await part(ctx, 'memory', () => runMemory(ctx));
    if (want('sessions')) f.sessions = await part(ctx, 'sessions', () => runSessions(ctx));
    if (want('client')) f.client = await part(ctx, 'client', () => runClient(ctx));
    if (want('floors')) f.floors = await part(ctx, 'floors', () => runFloors(ctx));
  } finally {
    for (const s of ctx.servers.splice(0)) await stop(s.t);
  }
  if (isStopping()) return 130;
  const c = ctx.contention;
  if (c.contended) {
    ctx.notes.push(
      `Other processes used cpu0/cpu1 (more than 10% of a core beyond the server and dtls-load) during ${c.contended} of ${c.measured} dtls-load measurements: ` +
        'the ratios (same run, interleaved) hold better than the absolute rates.',
    );
  }

  const machine = await machineFacts(start, 'bin' in dl ? dl.bin : undefined);
  const partial = { ...f, machine, commit: await commitOf(), elapsedS: progress.elapsedS() };
  const figures: Figures = { ...partial, targets: evaluateTargets(partial) };
  mkdirSync(out, { recursive: true });
  const charts = chartSpecs(figures);
  for (const c of charts) writeFileSync(join(out, c.file), await renderSvg(c.spec));
  figures.elapsedS = progress.elapsedS();
  writeFileSync(join(out, 'figures.json'), `${JSON.stringify(figures, null, 2)}\n`);
  const report = renderReport(figures, charts);
  writeFileSync(join(out, 'REPORT.md'), report);

  console.log('\n## Issue 13 targets\n');
  for (const l of targetTable(figures.targets)) console.log(l);
  console.log(`\nwrote ${out}/figures.json, REPORT.md and ${charts.length} SVG chart(s) in ${clock(progress.elapsedS())}`);
  progress.note(`done in ${clock(progress.elapsedS())}`);
  return 0;
}

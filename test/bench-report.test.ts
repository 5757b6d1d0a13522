/**
 * `npm run bench -- report` without measuring: from a small hand-made figures object, issue 13's
 * target table comes out met / not met / not measured as the figures say (boundaries included),
 * the charts render headless to well-formed SVG (vega-lite -> vega, no canvas), and REPORT.md is
 * well-formed markdown (tables with as many cells as their header, a link to every chart).
 * No timing assertions: the figures are fixed numbers.
 */
import { describe, expect, it } from 'vitest';
import { chartSpecs, colorScale, renderSvg } from '../bench/report/charts.js';
import { DTLS_LOAD_CLIENT, GNUTLS, OPENSSL, OURS, OURS_SMALL_YOUNG, type EcdheFigures, type Figures, type TargetRow } from '../bench/report/figures.js';
import { boundBy } from '../bench/report/suite-ecdhe.js';
import { formatMeasured, formatTarget, renderReport, targetTable, verdict } from '../bench/report/markdown.js';
import { parseReportOptions } from '../bench/report/options.js';
import { Progress } from '../bench/report/progress.js';
import { evaluateTargets, meets } from '../bench/report/targets.js';
import { budgets, HANDSHAKE_ROUND_TRIPS } from '../bench/report/budgets.js';

type Measured = Omit<Figures, 'targets'>;

function fixture(): Measured {
  const hp = (server: string, concurrency: number, rate: number, p99Ms: number) => ({ server, concurrency, rate, rates: [rate], serverCpuPct: 97, p50Ms: p99Ms / 4, p90Ms: p99Ms / 2, p99Ms, failed: 0 });
  return {
    schema: 1,
    quick: true,
    commit: '0123456789ab',
    parts: ['handshakes', 'coap', 'ecdhe', 'memory', 'sessions', 'client'],
    machine: {
      cpuModel: 'Test CPU',
      cores: 2,
      node: 'v20.0.0',
      os: 'Linux test',
      date: '2026-12-07T00:00:00.000Z',
      peers: { 'libcoap (coap-server-gnutls, coap-server-openssl)': '4.3.4' },
      absent: { tinydtls: 'not packaged here' },
      serverCpu: 0,
      loadCpu: 1,
    },
    handshakes: {
      durationS: 1,
      rounds: 1,
      concurrency: [1, 4, 16],
      points: [hp(OURS, 1, 1000, 2), hp(OURS, 4, 2800, 3), hp(OURS, 16, 3000, 9), hp(GNUTLS, 1, 2000, 1), hp(GNUTLS, 4, 4000, 1), hp(GNUTLS, 16, 4200, 5), hp(OPENSSL, 4, 3000, 1.2)],
      missing: {},
    },
    // p99 ratio exactly at the 2× boundary: met
    latency: {
      concurrency: 4,
      rows: [
        { server: OURS, p50Ms: 1, p90Ms: 1.5, p99Ms: 2 },
        { server: GNUTLS, p50Ms: 0.5, p90Ms: 0.8, p99Ms: 1 },
      ],
    },
    coap: {
      sessions: 16,
      path: '/time',
      durationS: 1,
      rounds: 1,
      rows: [
        { server: OURS, window: 1, rate: 5000, rates: [5000], serverCpuPct: 99, p50Ms: 0.2, p99Ms: 1, problems: [] },
        { server: GNUTLS, window: 1, rate: 10000, rates: [10000], serverCpuPct: 99, p50Ms: 0.1, p99Ms: 0.5, problems: ['timeouts 2 | odd'] },
      ],
      missing: { [OPENSSL]: 'not installed' },
    },
    ecdhe: { rate: 3500, rates: [3500], serverCpuPct: 99, capacity: 3535, concurrency: 8, ceiling: 5450, bound: 'server-bound', clientCrypto: 'node' },
    memory: {
      source: 'bench/memory.ts',
      what: 'growth per session',
      points: [
        { sessions: 1000, heapBytes: 500, nativeBytes: 100, rssBytes: 900, establishMs: 500 },
        { sessions: 100_000, heapBytes: 400, nativeBytes: 113, rssBytes: 800, establishMs: 40_000 },
      ],
    },
    sessions: { idleSessions: 10_400, idleGoal: 10_000, activeSessions: 16, window: 1, ratesWithout: [5000, 5200], ratesWith: [4400, 4600], rateWithout: 5100, rateWith: 4500, ratio: 4500 / 5100, openMs: 6000, problems: [] },
    client: {
      server: GNUTLS,
      rows: [
        { client: OURS, p50Ms: 0.39, p99Ms: 0.9, n: 300, what: 'connect()' },
        { client: 'node-dtls-client', p50Ms: 1.2, p99Ms: 2, n: 200, what: 'createSocket' },
      ],
      missing: {},
    },
    elapsedS: 12,
    notes: ['a note'],
  };
}

const byId = (rows: TargetRow[]) => Object.fromEntries(rows.map((r) => [r.id, r]));

describe('issue 13 target table', () => {
  it('meets() compares in the direction of the target; no figure is not measured', () => {
    expect(meets(0.7, { op: '>=', value: 0.7, unit: '×' })).toBe(true);
    expect(meets(0.69, { op: '>=', value: 0.7, unit: '×' })).toBe(false);
    expect(meets(2, { op: '<=', value: 2, unit: '×' })).toBe(true);
    expect(meets(2.01, { op: '<=', value: 2, unit: '×' })).toBe(false);
    expect(meets(null, { op: '<=', value: 2, unit: '×' })).toBe(null);
    expect(meets(Number.NaN, { op: '>=', value: 2, unit: '×' })).toBe(null);
  });

  it('the p99 row counts the default coaps server; the 1 MB young-generation run is named in its note, and in the latency table', () => {
    const f = fixture();
    if (!('rows' in f.latency!)) throw new Error('fixture has latency rows');
    f.latency.rows.push({ server: OURS_SMALL_YOUNG, p50Ms: 1, p90Ms: 1.2, p99Ms: 1.5 });
    const t = byId(evaluateTargets(f));
    expect(t['p99-c4']!.measured).toBe(2);
    expect(t['p99-c4']!.note).toContain('1.50 ms, 1.50×');
    const full: Figures = { ...f, targets: evaluateTargets(f) };
    const md = renderReport(full, chartSpecs(full));
    expect(md).toContain(`| ${OURS_SMALL_YOUNG} | 1.00 | 1.20 | 1.50 |`);
    expect(md).toContain('young generation capped at 1 MB');
  });

  it('each row from the figures: ratios to libcoap+GnuTLS at C=4 and W=1, absolutes against their targets', () => {
    const t = byId(evaluateTargets(fixture()));
    expect(Object.keys(t)).toEqual(['psk-handshakes', 'coap-w1', 'p99-c4', 'ecdhe', 'memory', 'sessions-10k', 'client-p50']);
    expect(t['psk-handshakes']!.measured).toBeCloseTo(0.7, 10); // 2800 / 4000 at C=4, not C=1 or 16
    expect(t['psk-handshakes']!.met).toBe(true);
    expect(t['coap-w1']!.measured).toBe(0.5);
    expect(t['coap-w1']!.met).toBe(false);
    expect(t['p99-c4']!.measured).toBe(2);
    expect(t['p99-c4']!.met).toBe(true);
    expect(t['ecdhe']!.measured).toBe(3500);
    expect(t['ecdhe']!.met).toBe(true);
    // the largest count: 400 + 113 = 513 B > 512 B
    expect(t['memory']!.measured).toBe(513);
    expect(t['memory']!.met).toBe(false);
    expect(t['sessions-10k']!.measured).toBeCloseTo(0.882, 3);
    expect(t['sessions-10k']!.met).toBe(false);
    expect(t['client-p50']!.measured).toBe(0.39);
    expect(t['client-p50']!.met).toBe(true);
    expect(t['client-p50']!.note).toContain('node-dtls-client 1.20 ms');
  });

  it('a skipped or missing part is not measured, with the reason', () => {
    const f = fixture();
    f.handshakes = { skipped: 'no dtls-load' };
    f.latency = { skipped: 'no dtls-load' };
    delete f.coap;
    f.coap = { sessions: 16, path: '/time', durationS: 1, rounds: 1, rows: [{ server: OURS, window: 1, rate: 1, rates: [1], serverCpuPct: null, p50Ms: 1, p99Ms: 1, problems: [] }], missing: { [GNUTLS]: 'coap-server-gnutls not installed' } };
    f.memory = { skipped: 'child failed' };
    delete f.client;
    const t = byId(evaluateTargets(f));
    expect(t['psk-handshakes']!.met).toBe(null);
    expect(t['psk-handshakes']!.note).toContain('no dtls-load');
    expect(t['p99-c4']!.met).toBe(null);
    expect(t['coap-w1']!.met).toBe(null);
    expect(t['coap-w1']!.note).toContain('coap-server-gnutls not installed');
    expect(t['memory']!.note).toContain('child failed');
    expect(t['client-p50']!.met).toBe(null);
    expect(t['client-p50']!.note).toContain('part not run');
    expect(t['ecdhe']!.met).toBe(true);
  });

  it('formats: ratios as ×, absolutes with their ratio to the target, verdicts', () => {
    const t = byId(evaluateTargets(fixture()));
    expect(formatMeasured(t['coap-w1']!)).toBe('0.50×');
    expect(formatMeasured(t['memory']!)).toBe('513 B (1.00× target)');
    expect(formatMeasured(t['client-p50']!)).toBe('0.39 ms (0.97× target)');
    expect(formatTarget(t['ecdhe']!)).toBe('≥ 3,500/s');
    expect(formatTarget(t['p99-c4']!)).toBe('≤ 2×');
    expect(verdict(t['coap-w1']!)).toBe('not met');
    expect(verdict({ ...t['coap-w1']!, met: null })).toBe('not measured');
  });
});

/** Checks that tags nest and close (a small XML well-formedness check: no parser in the dependencies). */
function wellFormed(xml: string): void {
  const stack: string[] = [];
  const body = xml.replace(/<!--[\s\S]*?-->/g, '');
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:.-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g)) {
    const [, close, name, , self] = m;
    if (self) continue;
    if (close) expect(stack.pop(), `</${name}>`).toBe(name);
    else stack.push(name!);
  }
  expect(stack).toEqual([]);
  // no stray markup characters outside tags, no undefined numbers
  expect(body.replace(/<(?:[^>"']|"[^"]*"|'[^']*')*>/g, '')).not.toMatch(/[<>]/);
  expect(xml).not.toMatch(/NaN|undefined|Infinity/);
}

describe('charts', () => {
  it('one chart per measured part with data, each rendered to well-formed SVG with its title and series', async () => {
    const f = { ...fixture(), targets: [] };
    const charts = chartSpecs(f);
    expect(charts.map((c) => c.file)).toEqual(['handshakes.svg', 'latency.svg', 'memory.svg', 'coap.svg', 'client.svg']);
    for (const c of charts) {
      const svg = await renderSvg(c.spec);
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      expect(svg).toMatch(/viewBox="0 0 \d+ \d+"/);
      wellFormed(svg);
      expect(svg).toContain('Test CPU');
      if (c.file !== 'memory.svg') expect(svg).toContain(OURS);
      // the dashed target lines are drawn (a rule with no data of its own draws nothing)
      if (c.file === 'memory.svg' || c.file === 'client.svg') expect(svg).toMatch(/<line[^>]*stroke-dasharray="5,4"/);
    }
    const hs = await renderSvg(charts[0]!.spec);
    for (const s of [GNUTLS, OPENSSL, 'PSK full handshakes/s against concurrency', '--quick']) expect(hs).toContain(s);
    // a legend only names what the chart shows
    expect(hs).not.toContain('node-dtls-client');
  });

  it('a skipped part has no chart', () => {
    const f = { ...fixture(), targets: [] };
    f.handshakes = { skipped: 'x' };
    f.latency = { skipped: 'x' };
    f.memory = { skipped: 'x' };
    expect(chartSpecs(f).map((c) => c.file)).toEqual(['coap.svg', 'client.svg']);
  });

  it('a name keeps its color in every chart; unknown names still get one', () => {
    const a = colorScale([OURS, GNUTLS]);
    const b = colorScale([GNUTLS, 'node-dtls-client', OURS, OURS]);
    expect(b.domain).toEqual([GNUTLS, 'node-dtls-client', OURS]);
    expect(b.range[b.domain.indexOf(OURS)]).toBe(a.range[0]);
    expect(colorScale(['something else']).range[0]).toMatch(/^#[0-9a-f]{6}$/);
  });
});

/** The cells of a markdown table row (pipes escaped as \| are not separators). */
const cells = (row: string): number => row.replace(/\\\|/g, '').split('|').length - 2;

describe('REPORT.md', () => {
  it('machine, target table, a link per chart, the figures; every table row as wide as its header', () => {
    const f = fixture();
    const full: Figures = { ...f, targets: evaluateTargets(f) };
    const charts = chartSpecs(full);
    const md = renderReport(full, charts);
    expect(md.startsWith('# Side-by-side benchmark report\n')).toBe(true);
    expect(md).toContain('commit 0123456789ab');
    expect(md).toContain('[figures.json](figures.json)');
    expect(md).toContain('--quick run');
    expect(md).toContain('tinydtls: not measured (not packaged here)');
    for (const c of charts) expect(md).toContain(`](${c.file})`);
    expect(md).not.toMatch(/undefined|NaN|\[object /);
    // tables: header, separator, rows of the same width
    const lines = md.split('\n');
    let tables = 0;
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i]!.startsWith('|') || (i > 0 && lines[i - 1]!.startsWith('|'))) continue;
      tables++;
      const width = cells(lines[i]!);
      expect(lines[i + 1]).toMatch(/^\|( --- \|)+$/);
      for (let j = i + 1; j < lines.length && lines[j]!.startsWith('|'); j++) expect(cells(lines[j]!), lines[j]).toBe(width);
    }
    expect(tables).toBe(6); // targets, handshakes, latency, coap, memory, client
    const t = targetTable(full.targets);
    expect(t).toHaveLength(2 + 7);
    expect(t.filter((l) => l.includes('| met |'))).toHaveLength(4);
    expect(t.filter((l) => l.includes('| not met |'))).toHaveLength(3);
  });

  it('ecdhe: the in-process server CPU per handshake beside the achieved rate, or why it is missing', () => {
    const f = fixture();
    f.ecdhe = { ...(f.ecdhe as EcdheFigures), serverUsPerHs: 283, inProcess: { serverUs: 250, pskServerUs: 200, floorUs: 180, capacity: 4000 } };
    const full: Figures = { ...f, targets: evaluateTargets(f) };
    const md = renderReport(full, chartSpecs(full));
    expect(md).toContain('283 us of server CPU per handshake');
    expect(md).toContain('250 us of server CPU per ECDHE handshake (engine capacity 4,000/s), a PSK handshake 200 us, the crypto floor (keygen + ECDH + sign) 180 us');
    expect(full.targets.find((t) => t.id === 'ecdhe')!.note).toContain('in-process server CPU 250 us/handshake (engine capacity 4000/s)');
    expect(md).not.toMatch(/undefined|NaN|\[object /);
    f.ecdhe = { ...(f.ecdhe as EcdheFigures), inProcess: { skipped: 'ecdhe-cpu measured nothing' } };
    expect(renderReport({ ...f, targets: evaluateTargets(f) }, [])).toContain('In-process figure skipped: ecdhe-cpu measured nothing.');
  });

  it('ecdhe: which side bound the rate, a shared machine named', () => {
    expect(boundBy(95, 40)).toBe('server-bound');
    expect(boundBy(50, 95)).toMatch(/^client-bound/);
    expect(boundBy(50, 50, [40, 45])).toBe('neither process saturated its core');
    expect(boundBy(50, 50)).toBe('neither process saturated its core');
    expect(boundBy(50, 50, [99, 97])).toBe('neither process saturated its core, but the cores were 99%/97% busy (other processes on a shared machine): read the capacity');
  });

  it('lists what was skipped and why', () => {
    const f = fixture();
    f.ecdhe = { skipped: 'ecdhe-load-client failed: boom' };
    const md = renderReport({ ...f, targets: evaluateTargets(f) }, []);
    expect(md).toContain('## Skipped');
    expect(md).toContain('- **ecdhe**: ecdhe-load-client failed: boom');
    expect(md).toContain('No chart: every part was skipped.');
  });
});

describe('options and progress', () => {
  it('--quick is short; the full run has 100k sessions and three rounds; bad options are refused', () => {
    const q = parseReportOptions(['--quick']);
    const full = parseReportOptions([]);
    expect(q.rounds).toBe(1);
    expect(full.rounds).toBe(3);
    expect(full.memoryCounts).toContain(100_000);
    expect(full.idleSessions).toBe(10_000);
    expect(q.hsDuration).toBeLessThan(full.hsDuration);
    expect(parseReportOptions(['--only', 'client,memory', '--out', 'x']).only).toEqual(['memory', 'client']);
    expect(() => parseReportOptions(['--only', 'nope'])).toThrow(/unknown part/);
    expect(() => parseReportOptions(['--rounds', '0'])).toThrow(/positive integer/);
    expect(() => parseReportOptions(['--frobnicate'])).toThrow(/unknown option/);
  });

  it('progress lines count the steps', () => {
    const lines: string[] = [];
    const p = new Progress((l) => lines.push(l));
    p.plan(2, 10);
    p.step('first', 5);
    p.step('second', 5);
    p.note('done');
    expect(lines[0]).toMatch(/^\[report 1\/2\] first · 0:\d\d · ETA /);
    expect(lines[1]).toMatch(/^\[report 2\/2\] second /);
    expect(lines[2]).toBe('[report] done');
  });
});

describe('floors: what each target leaves above what Node cannot avoid', () => {
  const withFloors = (): Measured => {
    const f = fixture();
    f.ecdhe = { ...(f.ecdhe as EcdheFigures), serverUsPerHs: 400, inProcess: { serverUs: 300, pskServerUs: 100, floorUs: 190, capacity: 3333 } };
    f.floors = {
      echo: {
        sockets: [4, 16],
        window: 1,
        size: 32,
        durationS: 1,
        rounds: 1,
        rows: [
          { server: 'node-driver', sockets: 4, rate: 40_000, rates: [40_000], serverCpuPct: 80, usPerRoundTrip: 20 },
          { server: 'node-driver', sockets: 16, rate: 80_000, rates: [80_000], serverCpuPct: 100, usPerRoundTrip: 12.5 },
          { server: 'c', sockets: 16, rate: 200_000, rates: [200_000], serverCpuPct: 100, usPerRoundTrip: 5 },
        ],
      },
      primitives: { node: 'v20.0.0', rows: [{ name: 'sha256-js', ns: 450, what: 'one block | JS' }] },
    };
    return f;
  };

  it('budget, floor, what is left and what coaps spends above the floor, from the same run', () => {
    const rows = Object.fromEntries(budgets(withFloors()).map((r) => [r.id, r]));
    // CoAP: 0.7 x 10,000/s = 7,000/s -> 142.86 us; the floor is one echo round trip
    expect(rows['coap-w1']!.budgetUs).toBeCloseTo(1e6 / 7000, 6);
    expect(rows['coap-w1']!.floorUs).toBe(12.5);
    expect(rows['coap-w1']!.leftUs).toBeCloseTo(1e6 / 7000 - 12.5, 6);
    // ours: 99% of a core over 5,000/s = 198 us, minus the floor
    expect(rows['coap-w1']!.oursAboveUs).toBeCloseTo(198 - 12.5, 6);
    expect(rows['coap-w1']!.peerUs).toBeCloseTo(99, 6);
    expect(rows['coap-w1']!.floorRate).toBeCloseTo(80_000, 6);
    expect(rows['coap-w1']!.floorWhat).toContain('16 sockets');
    // PSK at C=4: 0.7 x 4,000/s; 3.5 round trips of the 4-socket echo; engine 100 us in-process
    const psk = rows['psk-handshakes']!;
    expect(psk.budgetUs).toBeCloseTo(1e6 / 2800, 6);
    expect(psk.floorUs).toBeCloseTo(HANDSHAKE_ROUND_TRIPS * 20, 6);
    expect(psk.floorWhat).toContain('4 sockets');
    expect(psk.oursAboveUs).toBeCloseTo((0.97 * 1e6) / 2800 - 70, 6);
    expect(psk.note).toContain(`floor + engine allow ${Math.round(1e6 / 170)}/s`);
    // ECDHE: 3,500/s -> 285.7 us; the crypto floor plus the datagrams (C=8 not measured: the
    // cheapest echo, a lower bound)
    const e = rows['ecdhe']!;
    expect(e.floorWhat).toContain('the cheapest shape measured');
    expect(e.budgetUs).toBeCloseTo(1e6 / 3500, 6);
    expect(e.floorUs).toBeCloseTo(190 + 43.75, 6);
    expect(e.leftUs).toBeCloseTo(1e6 / 3500 - 233.75, 6);
    expect(e.oursAboveUs).toBeCloseTo(400 - 233.75, 6);
    expect(e.note).toContain('110 us above the crypto floor');
  });

  it('the client row: the C client against the same server is the floor of a sequential handshake', () => {
    const f = withFloors();
    f.client = {
      server: GNUTLS,
      rows: [
        { client: OURS, p50Ms: 0.65, p99Ms: 0.9, n: 300, what: 'connect()' },
        { client: DTLS_LOAD_CLIENT, p50Ms: 0.45, p99Ms: 0.7, n: 900, what: 'dtls-load hs' },
      ],
      missing: {},
    };
    const r = budgets(f).find((x) => x.id === 'client-p50')!;
    expect(r.budgetUs).toBe(400);
    expect(r.floorUs).toBeCloseTo(450, 6);
    expect(r.leftUs).toBeCloseTo(-50, 6); // the floor alone misses the target
    expect(r.oursAboveUs).toBeCloseTo(200, 6);
    expect(r.floorRate).toBeNull();
    const md = renderReport({ ...f, targets: evaluateTargets(f) }, []);
    expect(md).toContain('| -50.0 us | 200.0 us | - | - |');
    // no C client row (the fixture's), no client budget
    expect(budgets(withFloors()).some((x) => x.id === 'client-p50')).toBe(false);
  });

  it('no echo figure (or no CPU share), no budget rows; a missing part leaves its row out', () => {
    const f = withFloors();
    expect(budgets({ ...f, floors: { skipped: 'no dtls-load' } })).toEqual([]);
    expect(budgets({ ...f, floors: { echo: { skipped: 'x' }, primitives: { skipped: 'y' } } })).toEqual([]);
    const noCpu = withFloors();
    const echo = noCpu.floors as { echo: { rows: Array<{ usPerRoundTrip: number | null }> } };
    for (const r of echo.echo.rows) r.usPerRoundTrip = null;
    expect(budgets(noCpu)).toEqual([]);
    expect(budgets({ ...f, coap: { skipped: 'z' } }).map((r) => r.id)).toEqual(['psk-handshakes', 'ecdhe']);
    const noEngine = { ...f, ecdhe: { ...(f.ecdhe as EcdheFigures), inProcess: { skipped: 'no' } } };
    const rows = budgets(noEngine);
    expect(rows.map((r) => r.id)).toEqual(['coap-w1', 'psk-handshakes']);
    expect(rows[1]!.note).toContain('not measured');
  });

  it('REPORT.md has the floors section with well-formed tables', () => {
    const f = withFloors();
    const md = renderReport({ ...f, targets: evaluateTargets(f) }, []);
    expect(md).toContain('## Floors: what Node leaves each target');
    expect(md).toContain('| C (dtls-load echo-server: it outruns the load client, so its figure is an upper bound) | 16 | 200,000 | 100% | 5.0 us |');
    expect(md).toContain('one block \\| JS');
    expect(md).not.toMatch(/undefined|NaN|\[object /);
    const lines = md.slice(md.indexOf('## Floors')).split('\n');
    let tables = 0;
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i]!.startsWith('|') || (i > 0 && lines[i - 1]!.startsWith('|'))) continue;
      tables++;
      const width = cells(lines[i]!);
      for (let j = i + 1; j < lines.length && lines[j]!.startsWith('|'); j++) expect(cells(lines[j]!), lines[j]).toBe(width);
    }
    expect(tables).toBe(3); // echo, primitives, budgets
    expect(renderReport({ ...fixture(), targets: [] }, [])).not.toContain('## Floors');
  });
});

/**
 * The report's charts: vega-lite specs built from the figures, compiled to vega and rendered
 * to SVG headless in Node (`new vega.View(vega.parse(spec), { renderer: 'none' }).toSVG()`: no
 * canvas, no browser). A part that was skipped has no chart. Pure apart from the rendering,
 * which is deterministic for the same figures.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { GNUTLS, isSkipped, OPENSSL, OURS, type Figures } from './figures.js';

export interface Chart {
  /** file name in bench/results/ */
  file: string;
  title: string;
  spec: TopLevelSpec;
}

/** The same color for a server or client in every chart. */
const COLORS: Record<string, string> = {
  [OURS]: '#d62728',
  [GNUTLS]: '#1f77b4',
  [OPENSSL]: '#2ca02c',
  'node-dtls-client': '#9467bd',
  'dtls-load (C, Mbed TLS)': '#7f7f7f',
};
/** A color scale for the names a chart shows (only they appear in its legend). */
export function colorScale(names: readonly string[]): { domain: string[]; range: string[] } {
  const domain = [...new Set(names)];
  return { domain, range: domain.map((n, i) => COLORS[n] ?? ['#ff7f0e', '#8c564b', '#e377c2', '#17becf'][i % 4]!) };
}
/** Issue 13's target for our client's sequential handshake p50, ms. */
const CLIENT_P50_TARGET_MS = 0.4;
const WIDTH = 460;
const HEIGHT = 260;
const CONFIG = { font: 'Helvetica, Arial, sans-serif', view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320 } };

function base(title: string, subtitle: string): Record<string, unknown> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle, anchor: 'start', fontSize: 14, subtitleFontSize: 11 },
    width: WIDTH,
    height: HEIGHT,
    background: 'white',
    padding: 8,
    config: CONFIG,
  };
}

export const AXIS = {
  concurrency: 'concurrent handshakes (C)',
  handshakesPerS: 'PSK full handshakes/s',
  percentile: 'percentile',
  latencyMs: 'handshake latency (ms)',
  sessions: 'established idle sessions',
  bytesPerSession: 'bytes per session',
  window: 'requests in flight per session',
  requestsPerS: 'CoAP CON GET/s',
  client: 'client',
  clientMs: 'client handshake latency (ms)',
} as const;

export function chartSpecs(f: Figures): Chart[] {
  const charts: Chart[] = [];
  const when = `${f.machine.cpuModel}, ${f.machine.date.slice(0, 10)}${f.quick ? ', --quick' : ''}`;

  const h = f.handshakes;
  if (!isSkipped(h) && h.points.length) {
    charts.push({
      file: 'handshakes.svg',
      title: 'PSK handshakes/s against concurrency',
      spec: {
        ...base('PSK full handshakes/s against concurrency', `server on one core, dtls-load hs (C over Mbed TLS) on the other; median of ${h.rounds} × ${h.durationS} s; ${when}`),
        data: { values: h.points.map((p) => ({ server: p.server, concurrency: p.concurrency, rate: Math.round(p.rate) })) },
        mark: { type: 'line', point: { size: 50 }, strokeWidth: 2 },
        encoding: {
          x: { field: 'concurrency', type: 'quantitative', title: AXIS.concurrency, scale: { type: 'log', base: 2 }, axis: { values: h.concurrency, format: 'd' } },
          y: { field: 'rate', type: 'quantitative', title: AXIS.handshakesPerS, scale: { zero: true } },
          color: { field: 'server', type: 'nominal', title: 'server', scale: colorScale(h.points.map((p) => p.server)) },
          tooltip: [{ field: 'server' }, { field: 'concurrency' }, { field: 'rate' }],
        },
      } as TopLevelSpec,
    });
  }

  const l = f.latency;
  if (!isSkipped(l) && l.rows.length) {
    const values = l.rows.flatMap((r) => [
      { server: r.server, percentile: 'p50', ms: r.p50Ms },
      { server: r.server, percentile: 'p90', ms: r.p90Ms },
      { server: r.server, percentile: 'p99', ms: r.p99Ms },
    ]);
    charts.push({
      file: 'latency.svg',
      title: `Handshake latency percentiles at C=${l.concurrency}`,
      spec: {
        ...base(`PSK handshake latency at C=${l.concurrency}`, `first ClientHello to Finished, as dtls-load hs measures it; ${when}`),
        data: { values },
        mark: { type: 'bar' },
        encoding: {
          x: { field: 'percentile', type: 'nominal', title: AXIS.percentile, axis: { labelAngle: 0 } },
          xOffset: { field: 'server', type: 'nominal', scale: { domain: l.rows.map((r) => r.server) } },
          y: { field: 'ms', type: 'quantitative', title: AXIS.latencyMs },
          color: { field: 'server', type: 'nominal', title: 'server', scale: colorScale(l.rows.map((r) => r.server)) },
          tooltip: [{ field: 'server' }, { field: 'percentile' }, { field: 'ms', format: '.3f' }],
        },
      } as TopLevelSpec,
    });
  }

  const m = f.memory;
  if (!isSkipped(m) && m.points.length) {
    const values = m.points.flatMap((p) => [
      { sessions: p.sessions, measure: 'heap + native', bytes: Math.round(p.heapBytes + p.nativeBytes) },
      { sessions: p.sessions, measure: 'heap', bytes: Math.round(p.heapBytes) },
      { sessions: p.sessions, measure: 'native (external)', bytes: Math.round(p.nativeBytes) },
      { sessions: p.sessions, measure: 'RSS', bytes: Math.round(p.rssBytes) },
    ]);
    const counts = m.points.map((p) => p.sessions);
    charts.push({
      file: 'memory.svg',
      title: 'Memory per session against session count',
      spec: {
        ...base('Memory per established idle session', `${m.source}; dashed: the 512 B target; ${when}`),
        layer: [
          {
            data: { values },
            mark: { type: 'line', point: { size: 50 }, strokeWidth: 2 },
            encoding: {
              x: { field: 'sessions', type: 'quantitative', title: AXIS.sessions, scale: { type: 'log' }, axis: { values: counts, format: '~s' } },
              y: { field: 'bytes', type: 'quantitative', title: AXIS.bytesPerSession, scale: { zero: true } },
              color: { field: 'measure', type: 'nominal', title: 'growth per session', scale: { domain: ['heap + native', 'heap', 'native (external)', 'RSS'], range: ['#d62728', '#ff9896', '#9467bd', '#7f7f7f'] } },
              tooltip: [{ field: 'sessions' }, { field: 'measure' }, { field: 'bytes' }],
            },
          },
          { data: { values: [{}] }, mark: { type: 'rule', strokeDash: [5, 4], color: '#444' }, encoding: { y: { datum: 512 } } },
        ],
      } as TopLevelSpec,
    });
  }

  const c = f.coap;
  if (!isSkipped(c) && c.rows.length) {
    const servers = [...new Set(c.rows.map((r) => r.server))];
    charts.push({
      file: 'coap.svg',
      title: `CoAP CON GET/s over DTLS, ${c.sessions} sessions`,
      spec: {
        ...base(`CoAP CON GET/s over DTLS PSK, ${c.sessions} sessions`, `dtls-load coap, GET ${c.path}; median of ${c.rounds} × ${c.durationS} s; ${when}`),
        data: { values: c.rows.map((r) => ({ server: r.server, window: `W=${r.window}`, rate: Math.round(r.rate) })) },
        mark: { type: 'bar' },
        encoding: {
          x: { field: 'window', type: 'nominal', title: AXIS.window, axis: { labelAngle: 0 } },
          xOffset: { field: 'server', type: 'nominal', scale: { domain: servers } },
          y: { field: 'rate', type: 'quantitative', title: AXIS.requestsPerS },
          color: { field: 'server', type: 'nominal', title: 'server', scale: colorScale(servers) },
          tooltip: [{ field: 'server' }, { field: 'window' }, { field: 'rate' }],
        },
      } as TopLevelSpec,
    });
  }

  const cl = f.client;
  if (!isSkipped(cl) && cl.rows.length) {
    const values = cl.rows.flatMap((r) => [
      { client: r.client, percentile: 'p50', ms: r.p50Ms },
      { client: r.client, percentile: 'p99', ms: r.p99Ms },
    ]);
    charts.push({
      file: 'client.svg',
      title: `Client handshake latency against ${cl.server}`,
      spec: {
        ...base(`Client PSK handshake latency, sequential, against ${cl.server}`, `one handshake at a time, fresh socket each; dashed: issue 13's 0.4 ms target for the p50; ${when}`),
        layer: [
          {
            data: { values },
            mark: { type: 'bar' },
            encoding: {
              x: { field: 'percentile', type: 'nominal', title: AXIS.percentile, axis: { labelAngle: 0 } },
              xOffset: { field: 'client', type: 'nominal', scale: { domain: cl.rows.map((r) => r.client) } },
              y: { field: 'ms', type: 'quantitative', title: AXIS.clientMs },
              color: { field: 'client', type: 'nominal', title: AXIS.client, scale: colorScale(cl.rows.map((r) => r.client)) },
              tooltip: [{ field: 'client' }, { field: 'percentile' }, { field: 'ms', format: '.3f' }],
            },
          },
          { data: { values: [{}] }, mark: { type: 'rule', strokeDash: [5, 4], color: '#444' }, encoding: { y: { datum: CLIENT_P50_TARGET_MS } } },
        ],
      } as TopLevelSpec,
    });
  }
  return charts;
}

/** vega-lite -> vega -> SVG, headless (no canvas: text widths are estimated). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

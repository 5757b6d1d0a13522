/**
 * The shape of bench/results/figures.json: every figure the side-by-side report measured, the
 * machine it ran on, and what it skipped and why. Pure data (no IO): the charts, the target
 * table and the README are computed from it, and the unit test builds one by hand.
 */

/** A part that could not run, and why (a missing peer, no dtls-load, a failure). */
export interface Skipped {
  skipped: string;
}

/** The measured part, or why not. */
export type Part<T> = T | Skipped;

/** Skipped, or not run at all (not asked for with --only). */
export function isSkipped<T extends object>(p: Part<T> | undefined): p is Skipped | undefined {
  return p === undefined || 'skipped' in p;
}

/** The servers measured side by side (names as they appear in the charts and the JSON). */
export const OURS = 'coaps';
export const GNUTLS = 'libcoap-gnutls';
export const OPENSSL = 'libcoap-openssl';
/**
 * The same coaps server with V8's young generation capped at 1 MB (`node --max-semi-space-size=1`),
 * measured at the latency rows' concurrency only: it shows how much of the tail is scavenge pauses.
 */
export const OURS_SMALL_YOUNG = 'coaps, --max-semi-space-size=1';
export const SMALL_YOUNG_NODE_ARGS = ['--max-semi-space-size=1'];
/** dtls-load's C client, in the client latency rows (and the client row's floor). */
export const DTLS_LOAD_CLIENT = 'dtls-load (C, Mbed TLS)';

export interface MachineFacts {
  cpuModel: string;
  cores: number;
  node: string;
  os: string;
  /** ISO 8601, when the run started */
  date: string;
  /** name -> version, e.g. libcoap, GnuTLS, OpenSSL, Mbed TLS (dtls-load), node-dtls-client */
  peers: Record<string, string>;
  /** Peers that could have been measured but are not on this machine, and why. */
  absent: Record<string, string>;
  /** server core, load core */
  serverCpu: number;
  loadCpu: number;
}

/** One server at one concurrency: the median over the rounds, and every round. */
export interface HandshakePoint {
  server: string;
  concurrency: number;
  /** handshakes/s, median of the rounds */
  rate: number;
  rates: number[];
  /** server CPU, % of one core (median round) */
  serverCpuPct: number | null;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  failed: number;
}

export interface HandshakeFigures {
  /** window per measurement, s */
  durationS: number;
  rounds: number;
  concurrency: number[];
  points: HandshakePoint[];
  /** server name -> why it is absent from the points */
  missing: Record<string, string>;
}

export interface LatencyRow {
  server: string;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

export interface LatencyFigures {
  concurrency: number;
  rows: LatencyRow[];
}

export interface CoapRow {
  server: string;
  window: number;
  /** CON GET/s, median of the rounds */
  rate: number;
  rates: number[];
  serverCpuPct: number | null;
  p50Ms: number;
  p99Ms: number;
  problems: string[];
}

export interface CoapFigures {
  sessions: number;
  path: string;
  durationS: number;
  rounds: number;
  rows: CoapRow[];
  missing: Record<string, string>;
}

export interface EcdheFigures {
  /** achieved handshakes/s, median of the windows */
  rate: number;
  rates: number[];
  serverCpuPct: number | null;
  /** 1e6 / server us per handshake: what one server core would do if the client kept up */
  capacity: number;
  concurrency: number;
  /** DESIGN.md's ceiling (5.3-5.6k/s) */
  ceiling: number;
  /** what limited the achieved rate */
  bound: string;
  clientCrypto: string;
  /** the server process's CPU per achieved handshake, us (its CPU share / the rate) */
  serverUsPerHs?: number;
  /**
   * bench/ecdhe-cpu.ts on the server's core: process CPU inside the sans-IO endpoint per
   * handshake (no sockets), beside a PSK handshake and the crypto floor; robust to a shared
   * machine. capacity = 1e6 / serverUs (the engine alone, without the driver's syscalls).
   */
  inProcess?: { serverUs: number; pskServerUs: number | null; floorUs: number | null; capacity: number } | { skipped: string };
}

export interface MemoryPoint {
  sessions: number;
  /** growth per session over the baseline, bytes */
  heapBytes: number;
  nativeBytes: number;
  rssBytes: number;
  /** time to establish them, ms */
  establishMs: number;
}

export interface MemoryFigures {
  /** which measurement made the points (see bench/report/memory.ts) */
  source: string;
  what: string;
  points: MemoryPoint[];
}

export interface SessionsScaleFigures {
  /** idle established sessions held open on the second server (dtls-load hs counted them) */
  idleSessions: number;
  /** the count asked for (10k; fewer with --quick) */
  idleGoal: number;
  activeSessions: number;
  window: number;
  /** CON GET/s on the active sessions, each round: the server without idle sessions, and with */
  ratesWithout: number[];
  ratesWith: number[];
  /** medians */
  rateWithout: number;
  rateWith: number;
  /** rateWith / rateWithout */
  ratio: number;
  /** time to open the idle sessions, ms */
  openMs: number;
  problems: string[];
}

export interface ClientLatencyRow {
  client: string;
  p50Ms: number;
  p99Ms: number;
  n: number;
  what: string;
}

export interface ClientLatencyFigures {
  server: string;
  /** seconds each client ran, untimed, in its process before its timed window */
  warmupS?: number;
  rows: ClientLatencyRow[];
  missing: Record<string, string>;
}

/** One echo server under `dtls-load echo` (plain UDP, no DTLS): the datagram floor. */
export interface EchoRow {
  /** `node-driver` (node:dgram with our driver's send path), `node-plain` (dgram's defaults), `c` (dtls-load echo-server) */
  server: string;
  /** sockets of the load, each with `window` datagrams in flight */
  sockets: number;
  /** round trips/s, median of the rounds */
  rate: number;
  rates: number[];
  serverCpuPct: number | null;
  /** server CPU per round trip (one datagram in, one out), us: its CPU share / the rate (median round) */
  usPerRoundTrip: number | null;
}

export interface EchoFigures {
  /** the socket counts measured: the handshake row's concurrency and the CoAP row's sessions */
  sockets: number[];
  window: number;
  /** datagram payload, bytes */
  size: number;
  durationS: number;
  rounds: number;
  rows: EchoRow[];
}

/** A primitive's cost in one Node process (bench/floors.ts), ns of process CPU per operation. */
export interface PrimitiveRow {
  name: string;
  ns: number;
  what: string;
}

/** Part `floors`: the datagram floor and the primitives' costs (bench/report/suite-floors.ts). */
export interface FloorsFigures {
  echo: Part<EchoFigures>;
  primitives: Part<{ node: string; rows: PrimitiveRow[] }>;
}

/** One row of issue 13's target table, evaluated (bench/report/targets.ts). */
export interface TargetRow {
  id: string;
  metric: string;
  /** the figure the issue started from */
  before: string;
  target: { op: '>=' | '<='; value: number; unit: string };
  measured: number | null;
  /** what the measured figure is (a ratio of what to what, or an absolute) */
  basis: string;
  /** null: not measured (see note) */
  met: boolean | null;
  note: string;
}

export interface Figures {
  schema: 1;
  quick: boolean;
  /** the commit measured (`+dirty`: with uncommitted changes) */
  commit: string;
  /** the parts asked for (all, or --only) */
  parts: string[];
  machine: MachineFacts;
  handshakes?: Part<HandshakeFigures>;
  latency?: Part<LatencyFigures>;
  coap?: Part<CoapFigures>;
  ecdhe?: Part<EcdheFigures>;
  memory?: Part<MemoryFigures>;
  sessions?: Part<SessionsScaleFigures>;
  client?: Part<ClientLatencyFigures>;
  floors?: Part<FloorsFigures>;
  targets: TargetRow[];
  /** seconds the run took */
  elapsedS: number;
  notes: string[];
}

/** The parts of the report, in the order they run (`--only` takes these names). */
export const PARTS = ['handshakes', 'coap', 'ecdhe', 'memory', 'sessions', 'client', 'floors'] as const;
export type PartName = (typeof PARTS)[number];

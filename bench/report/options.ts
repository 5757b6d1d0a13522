/** The options of `npm run bench -- report` and what --quick changes. */
import { PARTS, type PartName } from './figures.js';

export interface ReportOptions {
  quick: boolean;
  only: PartName[];
  /** where figures.json, the SVGs and REPORT.md go (relative to the repository root) */
  out: string;
  /** rounds of every interleaved comparison (medians) */
  rounds: number;
  /** handshake window per measurement, s */
  hsDuration: number;
  concurrency: number[];
  /** CoAP window per measurement, s */
  coapDuration: number;
  coapSessions: number;
  coapWindows: number[];
  ecdheWindows: number;
  ecdheDuration: number;
  ecdheConcurrency: number;
  memoryCounts: number[];
  idleSessions: number;
  /** client latency: seconds of sequential handshakes per client per round */
  clientDuration: number;
}

export const USAGE = `usage: npm run bench -- report [--quick] [--only ${PARTS.join(',')}] [--out DIR] [--rounds N]
  Runs the side-by-side suite (coaps vs libcoap+GnuTLS and libcoap+OpenSSL through dtls-load, server on cpu0,
  load on cpu1, interleaved; our client vs node-dtls-client and dtls-load against libcoap+GnuTLS) and writes
  figures.json, SVG charts and REPORT.md into bench/results/. Progress on stderr, results on stdout.
  --quick    1 s windows, fewer points, one round, 10k sessions at most: proves the plumbing (~2 min)
  --only     run these parts only (the others are left out of the JSON, the charts and the target table)
  --out DIR  write somewhere else (default bench/results)`;

export function parseReportOptions(args: string[]): ReportOptions {
  const quick = args.includes('--quick');
  const o: ReportOptions = quick
    ? {
        quick,
        only: [...PARTS],
        out: 'bench/results',
        rounds: 1,
        hsDuration: 1,
        concurrency: [1, 4, 16],
        coapDuration: 1,
        coapSessions: 16,
        coapWindows: [1, 4],
        ecdheWindows: 1,
        ecdheDuration: 1,
        ecdheConcurrency: 8,
        memoryCounts: [1_000, 10_000],
        idleSessions: 2_000,
        clientDuration: 1,
      }
    : {
        quick,
        only: [...PARTS],
        out: 'bench/results',
        rounds: 3,
        hsDuration: 2.5,
        concurrency: [1, 2, 4, 8, 16],
        coapDuration: 3,
        coapSessions: 16,
        coapWindows: [1, 4],
        ecdheWindows: 3,
        ecdheDuration: 3,
        ecdheConcurrency: 8,
        memoryCounts: [1_000, 10_000, 100_000],
        idleSessions: 10_000,
        clientDuration: 3,
      };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) throw new Error(`report: ${a} needs a value`);
      return v;
    };
    if (a === '--quick') continue;
    else if (a === '--only') {
      const names = value().split(',').map((s) => s.trim()).filter(Boolean);
      for (const n of names) if (!(PARTS as readonly string[]).includes(n)) throw new Error(`report: unknown part ${n} (parts: ${PARTS.join(', ')})`);
      o.only = PARTS.filter((p) => names.includes(p));
    } else if (a === '--out') o.out = value();
    else if (a === '--rounds') {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) throw new Error('report: --rounds takes a positive integer');
      o.rounds = n;
    } else if (a === '--help' || a === '-h') continue;
    else throw new Error(`report: unknown option ${a}\n${USAGE}`);
  }
  return o;
}

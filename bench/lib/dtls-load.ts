/**
 * Finding, building and running the neutral load generator dtls-load (C over Mbed TLS). Its
 * source is in this repository, bench/tools/dtls-load/ (a copy of the tool shared with the other
 * implementations measured against the same load, so that a clone alone can run the
 * benchmarks); it is built into bench/.build/ on first use. BENCH_DTLS_LOAD_DIR names another
 * directory holding dtls-load.c (BENCH_SHARED_DIR, the older override, names a directory with
 * tools/dtls-load/ in it); without a source or a C compiler and libmbedtls-dev, each benchmark
 * says which measurements it skips and runs the others.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BUILD_DIR, REPO_ROOT } from './paths.js';
import { runToEnd } from './procs.js';

/** Where dtls-load.c is: bench/tools/dtls-load, unless an environment variable names another place. */
function sourceDir(): string {
  const dir = process.env['BENCH_DTLS_LOAD_DIR'];
  if (dir) return resolve(REPO_ROOT, dir);
  const shared = process.env['BENCH_SHARED_DIR'];
  if (shared) return join(resolve(REPO_ROOT, shared), 'tools/dtls-load');
  return join(REPO_ROOT, 'bench/tools/dtls-load');
}
export const DTLS_LOAD_SRC_DIR = sourceDir();
const BIN_NAME = 'dtls-load';

/** Path of a built dtls-load binary, or a reason why there is none. */
export async function ensureDtlsLoad(): Promise<{ bin: string } | { skip: string }> {
  const src = join(DTLS_LOAD_SRC_DIR, 'dtls-load.c');
  if (!existsSync(src)) {
    return { skip: `the neutral load generator dtls-load is not here: ${src} not found (it is in bench/tools/dtls-load; BENCH_DTLS_LOAD_DIR or BENCH_SHARED_DIR name another place)` };
  }
  const bin = join(BUILD_DIR, BIN_NAME);
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) return { bin };
  mkdirSync(BUILD_DIR, { recursive: true });
  const r = await runToEnd('cc', ['-O2', '-o', bin, src, '-lmbedtls', '-lmbedx509', '-lmbedcrypto'], 120_000);
  if (r.code !== 0 || !existsSync(bin)) {
    return { skip: `building dtls-load failed (is libmbedtls-dev installed?):\n${(r.err || r.out).trim().split('\n').slice(-8).join('\n')}` };
  }
  return { bin };
}

/** The JSON line dtls-load prints last (the fields we use). */
export interface DtlsLoadResult {
  mode: string;
  ok: number;
  rate: number;
  duration_s: number;
  version?: string;
  p50_ms: number;
  p90_ms?: number;
  p99_ms: number;
  p999_ms?: number;
  max_ms?: number;
  mean_ms?: number;
  failed?: number;
  timeouts?: number;
  refused?: number;
  started?: number;
  abandoned?: number;
  full_handshakes?: number;
  cookie_exchanges?: number;
  server_ems?: number;
  server_no_ems?: number;
  negotiated?: string;
  errors: Record<string, number>;
  client_cpu_pct: number;
  client_cpu_us_per_op: number;
  server_cpu_pct: number | null;
  cpu_busy_pct: number[];
  cpu_steal_pct: number[];
  udp_rcvbuf_drops: number;
  per_sec: number[];
}

export interface DtlsLoadRun {
  result: DtlsLoadResult | undefined;
  /** the human-readable lines (everything but the JSON) */
  text: string;
  stderr: string;
  code: number | null;
}

/** `taskset -c <cpu> dtls-load <args>`; parses the last line. */
export async function runDtlsLoad(bin: string, cpu: number, args: readonly string[], limitMs: number): Promise<DtlsLoadRun> {
  const r = await runToEnd('taskset', ['-c', String(cpu), bin, ...args], limitMs);
  const lines = r.out.trim().split('\n');
  let result: DtlsLoadResult | undefined;
  const last = lines[lines.length - 1] ?? '';
  if (last.startsWith('{')) {
    try {
      result = JSON.parse(last) as DtlsLoadResult;
      lines.pop();
    } catch {
      /* leave undefined */
    }
  }
  return { result, text: lines.join('\n'), stderr: r.err, code: r.code };
}

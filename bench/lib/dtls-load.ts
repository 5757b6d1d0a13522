/** Finding, building and running the shared neutral load generator (../shared/tools/dtls-load). */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runToEnd } from './procs.js';

/** The repository root (dist/bench/lib/ -> ../../..). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** ../shared from the repository root (BENCH_SHARED_DIR overrides it, e.g. to test the skip path). */
export const SHARED_DIR = resolve(REPO_ROOT, process.env['BENCH_SHARED_DIR'] ?? '../shared');
export const DTLS_LOAD_SRC_DIR = join(SHARED_DIR, 'tools/dtls-load');
export const BUILD_DIR = join(REPO_ROOT, 'bench/.build');
const BIN_NAME = 'dtls-load';

/** Path of a built dtls-load binary, or a reason why there is none. */
export async function ensureDtlsLoad(): Promise<{ bin: string } | { skip: string }> {
  const src = join(DTLS_LOAD_SRC_DIR, 'dtls-load.c');
  if (!existsSync(src)) return { skip: `${src} not found (the shared tools directory is missing)` };
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
  p50_ms: number;
  p99_ms: number;
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

/**
 * Starting the servers the benchmarks measure: ours (a dist/bench/*-server.js script) or
 * libcoap's coap-server-gnutls, pinned to the server core under a `timeout`, so nothing
 * outlives a killed run for long. The load runs on the other core.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { GNUTLS_CCM8_ONLY, REPO_ROOT } from './paths.js';
import { grandchildPid, spawnTracked, stop, waitForOutput, type Tracked } from './procs.js';
import { udpBound, which } from './sys.js';

export const SERVER_CPU = 0;
export const LOAD_CPU = 1;

export interface ServerProcess {
  t: Tracked;
  /** The server's own pid (under timeout and taskset), for its CPU ticks. */
  pid: number;
}

/**
 * `node [nodeArgs] dist/bench/<script> <port> 127.0.0.1 [args]` on the server core, under
 * `timeout capS`; resolves once it prints `LISTENING`.
 */
export async function startNodeServer(script: string, port: number, o: { capS: number; nodeArgs?: string[]; args?: string[] }): Promise<ServerProcess> {
  const path = join(REPO_ROOT, 'dist/bench', script);
  if (!existsSync(path)) throw new Error(`${path} missing: run \`npm run build\` first`);
  const t = spawnTracked('timeout', ['-k', '2', String(o.capS), 'taskset', '-c', String(SERVER_CPU), process.execPath, ...(o.nodeArgs ?? []), path, String(port), '127.0.0.1', ...(o.args ?? [])]);
  await waitForOutput(t, /LISTENING (\d+)/, 10_000);
  return { t, pid: await grandchildPid(t.proc.pid!) };
}

/**
 * libcoap's example server on the server core, under `timeout capS`: coap on `port`, coaps on
 * port+1 (interop/PEERS.md), GnuTLS forced to CCM_8, no PSK hint, the benchmark PSK (-k is
 * the ASCII key, dtls-load's default). Or why it cannot run.
 */
export async function startLibcoap(port: number, capS: number): Promise<ServerProcess | { skip: string }> {
  const bin = which('coap-server-gnutls');
  if (!bin) return { skip: 'coap-server-gnutls not installed (apt-get install libcoap3-bin, see interop/PEERS.md)' };
  if (!existsSync(GNUTLS_CCM8_ONLY)) return { skip: `${GNUTLS_CCM8_ONLY} missing: cannot force libcoap+GnuTLS to CCM_8` };
  const t = spawnTracked(
    'timeout',
    ['-k', '2', String(capS), 'taskset', '-c', String(SERVER_CPU), bin, '-A', '127.0.0.1', '-p', String(port), '-k', 'secretPSK', '-h', ''],
    { env: { ...process.env, GNUTLS_SYSTEM_PRIORITY_FILE: GNUTLS_CCM8_ONLY } },
  );
  const deadline = performance.now() + 5000;
  while (!udpBound(port + 1)) {
    if (t.proc.exitCode !== null || performance.now() > deadline) {
      await stop(t);
      return { skip: `coap-server-gnutls did not bind UDP ${port + 1}: ${t.err().trim().slice(-300)}` };
    }
    await sleep(20);
  }
  return { t, pid: await grandchildPid(t.proc.pid!) };
}

/** Runs `body` with a list it adds its servers to; whatever happens, every server still in it is stopped. */
export async function withServers<S extends ServerProcess>(body: (servers: S[]) => Promise<number>): Promise<number> {
  const servers: S[] = [];
  try {
    return await body(servers);
  } finally {
    for (const s of servers) await stop(s.t);
  }
}

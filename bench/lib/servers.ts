/**
 * Starting the servers the benchmarks measure: ours (a dist/bench/*-server.js script) or
 * libcoap's coap-server-gnutls or coap-server-openssl, pinned to the server core under a `timeout`, so nothing
 * outlives a killed run for long. The load runs on the other core.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { GNUTLS_CCM8_ONLY, REPO_ROOT } from './paths.js';
import { grandchildPid, runToEnd, spawnTracked, stop, waitForOutput, type Tracked } from './procs.js';
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

/** The two builds of libcoap's example server Debian packages (libcoap3-bin). */
export type LibcoapFlavor = 'gnutls' | 'openssl';

/**
 * libcoap's example server on the server core, under `timeout capS`: coap on `port`, coaps on
 * port+1 (interop/PEERS.md), no PSK hint, the benchmark PSK (-k is the ASCII key, dtls-load's
 * default). The GnuTLS build is forced to CCM_8 by a priority file; the OpenSSL build takes
 * the suite the client offers (dtls-load offers only TLS_PSK_WITH_AES_128_CCM_8). Or why it
 * cannot run.
 */
export async function startLibcoap(port: number, capS: number, flavor: LibcoapFlavor = 'gnutls'): Promise<ServerProcess | { skip: string }> {
  const name = `coap-server-${flavor}`;
  const bin = which(name);
  if (!bin) return { skip: `${name} not installed (apt-get install libcoap3-bin, see interop/PEERS.md)` };
  if (flavor === 'gnutls' && !existsSync(GNUTLS_CCM8_ONLY)) return { skip: `${GNUTLS_CCM8_ONLY} missing: cannot force libcoap+GnuTLS to CCM_8` };
  const env = flavor === 'gnutls' ? { ...process.env, GNUTLS_SYSTEM_PRIORITY_FILE: GNUTLS_CCM8_ONLY } : process.env;
  const t = spawnTracked('timeout', ['-k', '2', String(capS), 'taskset', '-c', String(SERVER_CPU), bin, '-A', '127.0.0.1', '-p', String(port), '-k', 'secretPSK', '-h', ''], { env });
  const deadline = performance.now() + 5000;
  while (!udpBound(port + 1)) {
    if (t.proc.exitCode !== null || performance.now() > deadline) {
      await stop(t);
      return { skip: `${name} did not bind UDP ${port + 1}: ${t.err().trim().slice(-300)}` };
    }
    await sleep(20);
  }
  return { t, pid: await grandchildPid(t.proc.pid!) };
}

/** The resources libcoap's server lists in /.well-known/core (over plain coap://). */
export async function libcoapResources(coapPort: number): Promise<string[] | { error: string }> {
  const client = which('coap-client-gnutls') ?? which('coap-client') ?? which('coap-client-openssl');
  if (!client) return { error: 'no coap-client binary' };
  const r = await runToEnd(client, ['-m', 'get', '-B', '3', `coap://127.0.0.1:${coapPort}/.well-known/core`], 8000);
  const links = [...r.out.matchAll(/<([^>]*)>/g)].map((m) => m[1]!);
  if (!links.length) return { error: `no links from ${client}: ${(r.err || r.out).trim().slice(-200)}` };
  return links;
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

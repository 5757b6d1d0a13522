/** The facts of the machine and of the peers a report ran with (CPU, cores, Node, versions). */
import { existsSync, readFileSync } from 'node:fs';
import { cpus, release, type } from 'node:os';
import { join } from 'node:path';
import { runToEnd } from '../lib/procs.js';
import { INTEROP_PEERS_DIR } from '../lib/paths.js';
import type { MachineFacts } from './figures.js';
import { LOAD_CPU, SERVER_CPU } from '../lib/servers.js';
import { which } from '../lib/sys.js';

async function dpkgVersion(pkg: string): Promise<string | undefined> {
  if (!which('dpkg-query')) return undefined;
  const r = await runToEnd('dpkg-query', ['-W', '-f', '${Version}', pkg], 5000);
  return r.code === 0 && r.out.trim() ? r.out.trim() : undefined;
}

/** The first line of `cmd args` that matches `re` (group 1), e.g. a version banner. */
async function banner(cmd: string, args: string[], re: RegExp): Promise<string | undefined> {
  if (!which(cmd) && !existsSync(cmd)) return undefined;
  const r = await runToEnd(cmd, args, 5000);
  return re.exec(`${r.out}\n${r.err}`)?.[1];
}

export async function machineFacts(start: Date, dtlsLoadBin: string | undefined): Promise<MachineFacts> {
  const c = cpus();
  const peers: Record<string, string> = {};
  const libcoap = (await banner('coap-server-gnutls', ['-h'], /v(\d+\.\d+\.\d+)/)) ?? (await dpkgVersion('libcoap3-bin'));
  if (libcoap) peers['libcoap (coap-server-gnutls, coap-server-openssl)'] = libcoap;
  const gnutls = await dpkgVersion('libgnutls30');
  if (gnutls) peers['GnuTLS (libgnutls30)'] = gnutls;
  const openssl = await banner('openssl', ['version'], /OpenSSL (\S+)/);
  const libssl = openssl ?? (await dpkgVersion('libssl3'));
  if (libssl) peers['OpenSSL'] = libssl;
  if (dtlsLoadBin) {
    const line = (await banner(dtlsLoadBin, ['--help'], /^(dtls-load .*)$/m)) ?? '';
    const version = /^dtls-load (\S+)/.exec(line)?.[1] ?? '?';
    const mbed = /\((Mbed TLS [^)]*)\)/.exec(line)?.[1];
    peers['dtls-load (bench/tools/dtls-load)'] = mbed ? `${version}, over ${mbed}` : version;
  }
  const ndc = join(INTEROP_PEERS_DIR, 'node_modules/node-dtls-client/package.json');
  if (existsSync(ndc)) peers['node-dtls-client'] = String((JSON.parse(readFileSync(ndc, 'utf8')) as { version?: string }).version ?? '?');
  return {
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    node: process.version,
    os: `${type()} ${release()}`,
    date: start.toISOString(),
    peers,
    absent: { tinydtls: 'not packaged here (no Debian or npm package on this machine), so its server and client are not in this report; the client row is measured against libcoap+GnuTLS instead' },
    serverCpu: SERVER_CPU,
    loadCpu: LOAD_CPU,
  };
}

/**
 * The built CLI (dist/lib/cli/main.js): `coaps lwm2m client --cid --sessions FILE` against
 * `coaps lwm2m bootstrap-server` and `coaps lwm2m server --cid 4`. The first client bootstraps,
 * registers with a full handshake (with a Connection ID) and keeps the resumption blobs in FILE
 * (mode 0600); stopped with SIGINT (it de-registers, exit 0) and started again with the same
 * --state and --sessions, it resumes the session with the LwM2M server (abbreviated handshake,
 * with a Connection ID again) and registers. Neither log shows the blobs or the keys.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CLI, LOOPBACK, killAllPeers, portAllocator, removeTempDirs, runPeer, tempDir, type Peer } from './helpers.js';

const nextPort = portAllocator('interop/cli-lwm2m-sessions.test.ts');
const built = existsSync(CLI) || !!process.env.CI; // `npm ci` builds dist/ (prepare)

const BS_KEY = '73656372657450534b';
const DM_KEY = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';

afterEach(async () => {
  await killAllPeers();
});
afterAll(() => removeTempDirs());

const cli = (args: string[]): Peer => runPeer(process.execPath, [CLI, ...args], { timeoutMs: 60_000 });

/** SIGINT, then the exit: 0 (the client de-registers and stops). */
async function interrupt(p: Peer): Promise<void> {
  p.signal('SIGINT');
  const exit = await p.waitExit(10_000);
  expect(exit, p.describe()).toEqual({ code: 0, signal: null });
}

describe.skipIf(!built)('coaps lwm2m client --cid --sessions FILE', () => {
  it('a restarted client resumes its session with the LwM2M server from FILE and registers', async () => {
    const dir = tempDir('coaps-lwm2m-cli-');
    const bsPort = await nextPort();
    const dmPort = await nextPort();
    const bsUri = `coaps://${LOOPBACK}:${bsPort}`;
    const dmUri = `coaps://${LOOPBACK}:${dmPort}`;
    writeFileSync(
      join(dir, 'bs.json'),
      JSON.stringify({
        listen: `${LOOPBACK}:${bsPort}`,
        endpoints: { ep1: { psk: { identity: 'ep1-bs', key: BS_KEY }, servers: [{ shortServerId: 1, uri: dmUri, lifetime: 60, psk: { identity: 'ep1', key: DM_KEY } }] } },
      }),
    );
    writeFileSync(join(dir, 'server.json'), JSON.stringify({ listen: `${LOOPBACK}:${dmPort}`, psk: [{ identity: 'ep1', key: DM_KEY }] }));
    const bs = cli(['lwm2m', 'bootstrap-server', '--config', join(dir, 'bs.json')]);
    const server = cli(['lwm2m', 'server', '--config', join(dir, 'server.json'), '--cid', '4']);
    await bs.waitFor(/listening on coaps:/, 10_000);
    await server.waitFor(/listening on coaps:/, 10_000);

    const sessions = join(dir, 'sessions.json');
    const args = ['lwm2m', 'client', '--endpoint', 'ep1', '--bootstrap', bsUri, '--psk', `ep1-bs:${BS_KEY}`, '--state', join(dir, 'state.json'), '--cid', '--sessions', sessions];
    const esc = (s: string) => s.replace(/[.]/g, '\\.');

    // first run: full handshakes, the LwM2M server's with a Connection ID
    const first = cli(args);
    await first.waitFor(/Register -> 2\.01/, 20_000);
    expect(first.stderr).toMatch(new RegExp(`client: session ${esc(bsUri)}: resumed no, cid no$`, 'm'));
    expect(first.stderr).toMatch(new RegExp(`client: session ${esc(dmUri)}: resumed no, cid yes$`, 'm'));
    await interrupt(first);
    expect(existsSync(sessions)).toBe(true);
    expect(statSync(sessions).mode & 0o777).toBe(0o600);
    const kept = JSON.parse(readFileSync(sessions, 'utf8')) as { version: number; sessions: Record<string, string> };
    expect(kept.version).toBe(1);
    expect(Object.keys(kept.sessions)).toContain(dmUri);

    // second run, same state and sessions: no bootstrap, the session resumed, registered
    const second = cli(args);
    await second.waitFor(/Register -> 2\.01/, 20_000);
    expect(second.stderr).toMatch(new RegExp(`client: session ${esc(dmUri)}: resumed yes, cid yes$`, 'm'));
    expect(second.stderr).not.toMatch(/Bootstrap-Request/);
    await server.waitFor(/Register ep=ep1 .*-> 2\.01 \/rd\/2/, 5000);
    await interrupt(second);

    // no secrets in the logs: neither the keys nor the resumption blobs
    for (const p of [first, second, server, bs]) {
      for (const secret of [BS_KEY, DM_KEY, ...Object.values(kept.sessions)]) expect(p.output).not.toContain(secret);
    }
  });
});

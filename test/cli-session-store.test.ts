/**
 * `--session-store URL` (lib/cli/session-store.ts) on `coaps dtls server`, `coaps serve` and
 * `coaps lwm2m server`: the URL checked as a usage error before anything opens, no password in
 * any message, a Redis that cannot be reached a one-line start failure, and a stop that leaves
 * the sessions in a shared store. The live restart tests are interop/cli-session-store.test.ts.
 */
import { createServer as createTcpServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../lib/cli/args.js';
import { parseFlags } from '../lib/cli/flags.js';
import { commandHelp } from '../lib/cli/help.js';
import { openSessionStore, parseSessionStoreArg, SessionStoreUnavailable, stopServer } from '../lib/cli/session-store.js';
import { DTLS_SERVER } from '../lib/cli/specs/dtls.js';
import { LWM2M_SERVER } from '../lib/cli/specs/lwm2m.js';
import { SERVE } from '../lib/cli/specs/serve.js';

describe('--session-store', () => {
  it('is a flag of the three servers, in --help, with --cid [LEN]', () => {
    for (const spec of [DTLS_SERVER, SERVE, LWM2M_SERVER]) {
      const help = commandHelp(spec);
      expect(help, spec.path.join(' ')).toContain('--session-store URL');
      expect(help, spec.path.join(' ')).toContain('--cid [LEN]');
    }
    const base = ['--config', 'server.json'];
    expect(parseFlags(LWM2M_SERVER, [...base, '--cid', '--session-store', 'redis://h:1']).values).toMatchObject({ cid: '4', 'session-store': 'redis://h:1' });
    expect(parseFlags(LWM2M_SERVER, [...base, '--cid', '6']).values.cid).toBe('6');
    expect(parseFlags(DTLS_SERVER, ['--listen', 'h:1', '--psk', 'a:00', '--cid', '--echo']).values).toMatchObject({ cid: '4', echo: true });
  });

  it('takes redis://HOST:PORT[/DB], rediss://, and memory', () => {
    expect(parseSessionStoreArg(undefined)).toBeUndefined();
    expect(parseSessionStoreArg('memory')).toEqual({ kind: 'memory' });
    expect(parseSessionStoreArg('redis://127.0.0.1:6379')).toEqual({ kind: 'redis', url: 'redis://127.0.0.1:6379', shown: 'redis://127.0.0.1:6379' });
    expect(parseSessionStoreArg('redis://cache.local/2')).toMatchObject({ kind: 'redis', url: 'redis://cache.local/2' });
    expect(parseSessionStoreArg('rediss://[::1]:6380')).toMatchObject({ kind: 'redis' });
    expect(parseSessionStoreArg('redis://app:s3cret@10.0.0.5:6379')).toEqual({ kind: 'redis', url: 'redis://app:s3cret@10.0.0.5:6379', shown: 'redis://app:***@10.0.0.5:6379' });
  });

  it('anything else is a usage error that shows no password', () => {
    for (const bad of ['', 'redis', '127.0.0.1:6379', 'http://127.0.0.1:6379', 'redis://', 'redis://h:1/x', 'redis://h:1/?db=1', 'redis://h:99999', 'file:///tmp/s', 'mem']) {
      expect(() => parseSessionStoreArg(bad), bad).toThrow(UsageError);
      expect(() => parseSessionStoreArg(bad), bad).toThrow(/--session-store/);
    }
    for (const bad of ['redis://u:s3cret@h:1/x', 'http://u:s3cret@h/', 'redis://u:s3cret@h:99999']) {
      try {
        parseSessionStoreArg(bad);
        expect.unreachable(bad);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        expect((e as Error).message).not.toContain('s3cret');
      }
    }
  });

  it('memory: a store in the process, not shared', async () => {
    const s = await openSessionStore({ kind: 'memory' }, () => undefined);
    expect(s.shared).toBe(false);
    await s.store.put('k', new Uint8Array([1, 2]), 1000);
    expect(await s.store.get('k')).toEqual(new Uint8Array([1, 2]));
    await s.close();
  });

  it('a Redis that cannot be reached: SessionStoreUnavailable, one line, no password', async () => {
    // a port nothing listens on: bound, then closed
    const port = await new Promise<number>((resolve) => {
      const t = createTcpServer();
      t.listen(0, '127.0.0.1', () => {
        const p = (t.address() as { port: number }).port;
        t.close(() => resolve(p));
      });
    });
    const arg = parseSessionStoreArg(`redis://u:s3cret@127.0.0.1:${port}`)!;
    const e = await openSessionStore(arg, () => undefined).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(SessionStoreUnavailable);
    const m = (e as Error).message;
    expect(m).toBe(`session store redis://u:***@127.0.0.1:${port}: cannot connect: connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('stopping: a shared store keeps the sessions (no close_notify) and closes after the server; otherwise the sessions end', async () => {
    const calls: string[] = [];
    const server = { close: async (o?: { keepSessions?: boolean }) => void calls.push(`server keepSessions=${o?.keepSessions}`) };
    const store = (shared: boolean) => ({ store: {} as never, shared, name: 'redis://h:1', close: async () => void calls.push('store closed') });
    const lines: string[] = [];
    await stopServer(server, store(true), (l) => lines.push(l));
    expect(calls).toEqual(['server keepSessions=true', 'store closed']);
    expect(lines).toEqual(['stopped; the sessions stay in redis://h:1 for the next server']);
    calls.length = 0;
    await stopServer(server, store(false), (l) => lines.push(l));
    await stopServer(server, undefined, (l) => lines.push(l));
    expect(calls).toEqual(['server keepSessions=false', 'store closed', 'server keepSessions=false']);
    expect(lines).toHaveLength(1);
  });
});

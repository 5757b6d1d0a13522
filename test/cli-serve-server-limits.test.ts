/**
 * `coaps serve` takes the DTLS server limits of `coaps dtls server` (lib/cli/server-limits.ts,
 * issue 10 finding 5): the same flags in --help with their defaults, the same endpoint options,
 * and refusals logged the same way (logServerLimits, shared by both commands). A live
 * CoapServer with --max-sessions 1 on loopback refuses a second client, and the log says so.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../lib/cli/args.js';
import { parseFlags } from '../lib/cli/flags.js';
import { commandHelp } from '../lib/cli/help.js';
import { logServerLimits, SERVER_LIMIT_FLAGS, serverLimits } from '../lib/cli/server-limits.js';
import { DTLS_SERVER } from '../lib/cli/specs/dtls.js';
import { SERVE } from '../lib/cli/specs/serve.js';
import { DtlsError } from '../lib/dtls/errors.js';
import { pskMap } from '../lib/dtls/keystore.js';
import { createServer } from '../lib/entry/coap.js';
import { connect, type DtlsSession } from '../lib/entry/dtls.js';
import { serve } from '../lib/cli/serve.js';

const PSK = 'Client_identity:73656372657450534b';
const IDENTITY = new TextEncoder().encode('Client_identity');
const KEY = Buffer.from('73656372657450534b', 'hex');

describe('coaps serve: the DTLS server limits as flags', () => {
  it('--help lists each flag of coaps dtls server, with its default', () => {
    const serveHelp = commandHelp(SERVE);
    const dtlsHelp = commandHelp(DTLS_SERVER);
    for (const f of SERVER_LIMIT_FLAGS) {
      const row = (help: string) => help.split('\n').find((l) => l.includes(`--${f.name} ${f.arg} `));
      expect(row(serveHelp), f.name).toBeDefined();
      expect(row(serveHelp)).toContain(`[default: ${f.default}]`);
      expect(row(serveHelp)!.trim()).toBe(row(dtlsHelp)!.trim());
    }
  });

  it('they parse into the endpoint options as for coaps dtls server; bad values are usage errors naming the flag', () => {
    const argv = ['--listen', '127.0.0.1:5684', '--psk', PSK, '--max-sessions', '100000', '--max-handshakes', '5000', '--max-handshakes-per-address', '8', '--handshake-timeout', '10000'];
    const want = { maxSessions: 100_000, maxHandshakes: 5000, maxHandshakesPerAddress: 8, handshakeTimeoutMs: 10_000 };
    expect(serverLimits(parseFlags(SERVE, argv).values)).toEqual(want);
    expect(serverLimits(parseFlags(DTLS_SERVER, argv).values)).toEqual(want);
    // absent: the defaults of the table, which are the endpoint's
    expect(serverLimits(parseFlags(SERVE, ['--listen', '127.0.0.1:5684', '--psk', PSK]).values)).toEqual({ maxSessions: 10_000, maxHandshakes: 1000, maxHandshakesPerAddress: 64, handshakeTimeoutMs: 30_000 });
    for (const [flag, bad] of [['max-sessions', '0'], ['max-handshakes', 'many'], ['max-handshakes-per-address', '-1'], ['handshake-timeout', '1.5']] as const) {
      const { values } = parseFlags(SERVE, ['--listen', '127.0.0.1:5684', '--psk', PSK, `--${flag}=${bad}`]);
      expect(() => serverLimits(values)).toThrow(UsageError);
      expect(() => serverLimits(values)).toThrow(`--${flag}`);
    }
  });

  it('on coap:// (no --psk, no --key) they are usage errors: they limit DTLS handshakes', async () => {
    for (const extra of [['--max-sessions', '5'], ['--max-handshakes=9'], ['--cid'], ['--session-store', 'memory']]) {
      await expect(serve(['--listen', '127.0.0.1:5683', ...extra])).rejects.toThrow(/is for coaps:\/\/ \(DTLS\): give --psk or --key too/);
    }
  });
});

describe('logServerLimits (coaps dtls server and coaps serve)', () => {
  const peer = (i: number) => ({ address: `10.0.0.${i % 7}`, port: 1000 + i });

  it('refusals: the first of each reason at once, then summed up; evictions the same; key store failures with identity and cause; other failures only when asked', () => {
    const lines: string[] = [];
    const server = new EventEmitter();
    logServerLimits(server as never, (l) => lines.push(l));
    for (let i = 0; i < 100; i++) server.emit('handshakeRefused', peer(i), 'max-sessions');
    for (let i = 0; i < 50; i++) server.emit('handshakeError', new DtlsError('EVICTED', 'evicted'), peer(i));
    server.emit('keyStoreError', { lookup: 'psk', identity: IDENTITY, cause: new Error('database down'), peer: peer(1) });
    server.emit('handshakeError', new DtlsError('HANDSHAKE_TIMEOUT', 'gave up'), peer(2));
    expect(lines).toEqual([
      'refused a handshake from 10.0.0.0:1000: max-sessions (more are summed up every 10 s)',
      'evicted a handshake from 10.0.0.0:1000: stalled, it made room for a new one (more are summed up every 10 s)',
      'key store failed (psk identity=Client_identity) for 10.0.0.1:1001: database down',
    ]);
    const verbose: string[] = [];
    const s2 = new EventEmitter();
    logServerLimits(s2 as never, (l) => verbose.push(l), { handshakeErrors: true });
    s2.emit('handshakeError', new DtlsError('HANDSHAKE_TIMEOUT', 'gave up'), peer(2));
    expect(verbose).toEqual(['handshake failed 10.0.0.2:1002 HANDSHAKE_TIMEOUT: gave up']);
  });

  it('a coaps:// CoapServer with maxSessions 1 (coaps serve --max-sessions 1) refuses a second client, and the log says so', async () => {
    const { values } = parseFlags(SERVE, ['--listen', '127.0.0.1:0', '--psk', PSK, '--max-sessions', '1']);
    const server = createServer({ dtls: { psk: pskMap([[IDENTITY, KEY]]), ...serverLimits(values) } }, (_req, res) => res.end('hi'));
    const lines: string[] = [];
    logServerLimits(server, (l) => lines.push(l));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address();
    const sessions: DtlsSession[] = [];
    try {
      sessions.push(await connect({ host: '127.0.0.1', port, psk: { identity: IDENTITY, key: KEY }, timeoutMs: 5000 }));
      const second = connect({ host: '127.0.0.1', port, psk: { identity: IDENTITY, key: KEY }, timeoutMs: 1500, retransmission: { initialMs: 200, maxMs: 400 } });
      await expect(second).rejects.toThrow(DtlsError);
      expect(lines[0]).toMatch(/^refused a handshake from 127\.0\.0\.1:\d+: max-sessions \(more are summed up every 10 s\)$/);
    } finally {
      for (const s of sessions) await s.close();
      await server.close();
    }
  });
});

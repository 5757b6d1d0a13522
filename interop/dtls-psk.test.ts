/**
 * DTLS 1.2 PSK (TLS_PSK_WITH_AES_128_CCM_8) against real peers (interop/PEERS.md):
 * OpenSSL 3.0 s_server/s_client, GnuTLS 3.7 gnutls-serv/gnutls-cli, node-dtls-client 1.1.1,
 * and our CLI. Install them with `interop/install-peers.sh`.
 *
 * Every case goes through a recording UDP relay (helpers.ts `UdpTap`) so that, besides what
 * each program prints, the datagrams themselves are checked: a protected alert must cross
 * in each direction at the end (close_notify both ways), and tshark (an independent DTLS
 * dissector, decrypting with the PSK) must read every alert as a warning close_notify.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, DtlsError, pskMap } from '../lib/entry/dtls.js';
import {
  ALERT_BAD_RECORD_MAC,
  ALERT_CLOSE_NOTIFY,
  CLI,
  CONTENT_TYPE,
  GNUTLS_PSK_PRIORITY,
  LOOPBACK,
  PEERS_DIR,
  PSK_ASCII,
  PSK_HEX,
  PSK_IDENTITY,
  killAllPeers,
  onCleanup,
  once,
  parseRecords,
  portAllocator,
  removeTempDirs,
  runCleanups,
  runPeer,
  tempDir,
  tsharkAlerts,
  UdpTap,
  waitFor,
  type Peer,
} from './helpers.js';
import { FAST, ourClient, ourEchoServer, text, type OurClient, type OurServer } from './our-dtls.js';

const nextPort = portAllocator('interop/dtls-psk.test.ts');

const KEY = Buffer.from(PSK_HEX, 'hex');
const WRONG_KEY_HEX = '73656372657450534c';
const IDENTITY = new TextEncoder().encode(PSK_IDENTITY);
const OPENSSL_PSK = ['-psk_identity', PSK_IDENTITY, '-cipher', 'PSK-AES128-CCM8'];

let tmp = '';
beforeAll(() => {
  tmp = tempDir();
});
afterEach(async () => {
  await killAllPeers();
  await runCleanups();
});
afterAll(() => removeTempDirs());

// ---------------------------------------------------------------------------------------
// Our side (our-dtls.ts), with the test PSK

const ourPskServer = async (extra: { mtu?: number } = {}): Promise<OurServer> => ourEchoServer(await nextPort(), { psk: pskMap([[PSK_IDENTITY, KEY]]), ...extra });
const ourPskClient = (port: number, extra: { mtu?: number } = {}): Promise<OurClient> => ourClient(port, { psk: { identity: IDENTITY, key: KEY }, ...extra });

// ---------------------------------------------------------------------------------------
// Peers

function opensslServer(port: number, extra: string[] = [], key = PSK_HEX): Peer {
  return runPeer(
    'openssl',
    ['s_server', '-dtls1_2', '-accept', `${LOOPBACK}:${port}`, '-nocert', '-psk', key, '-cipher', 'PSK-AES128-CCM8', '-naccept', '1', ...extra],
    { timeoutMs: 15_000 },
  );
}

/**
 * s_client with stdin a pipe. `-quiet` alone implies `-ign_eof` (s_client then never
 * exits on stdin EOF): `-no_ign_eof` makes EOF send close_notify and exit.
 */
function opensslClient(port: number, extra: string[] = [], key = PSK_HEX): Peer {
  return runPeer('openssl', ['s_client', '-dtls1_2', '-connect', `${LOOPBACK}:${port}`, '-psk', key, ...OPENSSL_PSK, '-quiet', '-no_ign_eof', ...extra], {
    timeoutMs: 15_000,
  });
}

// ---------------------------------------------------------------------------------------
// Wire checks

/** One protected alert each way, the closer's first, and tshark reads both as close_notify. */
async function expectCloseNotifyBothWays(tap: UdpTap, first: 'c2s' | 's2c'): Promise<void> {
  const alertsNow = () => tap.records().filter((r) => r.type === CONTENT_TYPE.alert);
  // the answer may still be in flight through the relay when the closer reports done
  await waitFor(() => new Set(alertsNow().map((r) => r.dir)).size === 2, 1000, 'an alert each way').catch(() => undefined);
  const alerts = alertsNow();
  // no plaintext (epoch 0) alert: nothing went wrong during the handshake
  expect(alerts.filter((r) => r.epoch === 0)).toEqual([]);
  const dirs = alerts.map((r) => r.dir);
  expect(dirs[0], `the ${first} side closes first`).toBe(first);
  expect(dirs).toContain('c2s');
  expect(dirs).toContain('s2c');
  // CCM_8: 8-byte explicit nonce + 2-byte alert + 8-byte tag
  for (const a of alerts) expect(a.length).toBe(18);
  const decoded = await tsharkAlerts(tap, tmp);
  if (decoded === undefined) return; // tshark missing: header-level check only
  expect(decoded.length, 'tshark decrypted every alert').toBe(alerts.length);
  for (const a of decoded) expect(a, 'tshark: warning close_notify').toEqual({ dir: a.dir, level: 1, description: ALERT_CLOSE_NOTIFY });
}

/** Types of the plaintext handshake messages sent in fragments (fragment_length < length). */
function fragmentedMessages(tap: UdpTap, dir: 'c2s' | 's2c'): number[] {
  const types = new Set<number>();
  for (const r of tap.records()) {
    if (r.dir !== dir || r.type !== CONTENT_TYPE.handshake || r.epoch !== 0) continue;
    for (let at = 0; at + 12 <= r.fragment.length; ) {
      const length = r.fragment.readUIntBE(at + 1, 3);
      const fragmentLength = r.fragment.readUIntBE(at + 9, 3);
      if (fragmentLength < length) types.add(r.fragment[at]!);
      at += 12 + fragmentLength;
    }
  }
  return [...types].sort();
}

/**
 * The extension types of a ClientHello handshake message (fragment = 12-byte handshake
 * header + body), or undefined when it has no extensions block at all.
 */
function clientHelloExtensions(msg: Buffer): number[] | undefined {
  let at = 12 + 2 + 32; // header, client_version, random
  at += 1 + msg[at]!; // session_id
  at += 1 + msg[at]!; // cookie
  at += 2 + msg.readUInt16BE(at); // cipher_suites
  at += 1 + msg[at]!; // compression_methods
  if (at === msg.length) return undefined;
  const end = at + 2 + msg.readUInt16BE(at);
  const types: number[] = [];
  for (at += 2; at < end; at += 4 + msg.readUInt16BE(at + 2)) types.push(msg.readUInt16BE(at));
  return types;
}

/** The part of node-dtls-client 1.1.1's API used here. */
interface NodeDtlsClient {
  createSocket(opts: {
    type: 'udp4' | 'udp6';
    address: string;
    port: number;
    psk: Record<string, string>;
    ciphers?: string[];
    timeout?: number;
  }): NodeJS.EventEmitter & { send(data: Buffer): void; close(): void };
}

function largestDatagram(tap: UdpTap, dir: 'c2s' | 's2c'): number {
  return Math.max(0, ...tap.datagrams.filter((d) => d.dir === dir).map((d) => d.data.length));
}

// ---------------------------------------------------------------------------------------

describe('OpenSSL 3.0', () => {
  it('our client <-> openssl s_server: data both ways, we close, s_server sees close_notify', async () => {
    const sPort = await nextPort();
    const ss = opensslServer(sPort);
    await ss.waitFor(/ACCEPT/, 5000);
    const tap = await UdpTap.start(await nextPort(), sPort);

    const c = await ourPskClient(tap.port);
    expect(c.session.info.cipherSuite).toBe(0xc0a8);
    expect(c.session.info.extendedMasterSecret).toBe(true);
    const ourHello = tap.records().find((r) => r.dir === 'c2s' && r.type === CONTENT_TYPE.handshake && r.fragment[0] === 1)!;
    expect(clientHelloExtensions(ourHello.fragment)).toContain(23); // extended_master_secret
    c.session.send('hello from coaps\n');
    await ss.waitFor(/hello from coaps/, 3000);
    ss.write('hello from s_server\n');
    await waitFor(() => c.received().includes('hello from s_server'), 3000, 'our client to receive the line');

    await c.session.close();
    // s_server's stdin is still open: "DONE" can only come from our close_notify.
    await ss.waitFor(/DONE\s+shutting down SSL\s+CONNECTION CLOSED/, 3000);
    expect((await ss.waitExit(3000)).code).toBe(0);
    expect(c.closeEvents).toEqual([undefined]);
    await expectCloseNotifyBothWays(tap, 'c2s');
  });

  it('openssl s_client <-> our server: echo, s_client closes at EOF, our session closes cleanly', async () => {
    const srv = await ourPskServer();
    const tap = await UdpTap.start(await nextPort(), srv.port);
    const sc = opensslClient(tap.port);
    sc.write('hello from s_client\n');
    await sc.waitFor(/hello from s_client/, 5000); // the echo, on stdout
    expect(sc.stdout).toContain('hello from s_client');
    expect(srv.received.join('')).toBe('hello from s_client\n');
    expect(srv.sessions).toHaveLength(1);
    expect(text(srv.sessions[0]!.peerIdentity)).toBe(PSK_IDENTITY);
    expect(srv.sessions[0]!.info.extendedMasterSecret).toBe(true);

    sc.end(); // EOF -> close_notify
    await waitFor(() => srv.closes.length > 0, 3000, "our session's 'close'");
    expect(srv.closes.map((c) => c.error)).toEqual([undefined]);
    expect((await sc.waitExit(3000)).code).toBe(0);
    expect(srv.handshakeErrors).toEqual([]);
    await expectCloseNotifyBothWays(tap, 'c2s');
  });

  it('-mtu 256: openssl s_client <-> our server (mtu 256)', async () => {
    const srv = await ourPskServer({ mtu: 256 });
    const tap = await UdpTap.start(await nextPort(), srv.port);
    const sc = opensslClient(tap.port, ['-mtu', '256']);
    const line = 'x'.repeat(150) + '\n';
    sc.write(line);
    await sc.waitFor(/x{150}/, 5000);
    sc.end();
    await waitFor(() => srv.closes.length > 0, 3000, "our session's 'close'");
    expect(srv.closes.map((c) => c.error)).toEqual([undefined]);
    expect((await sc.waitExit(3000)).code).toBe(0);
    expect(largestDatagram(tap, 'c2s')).toBeLessThanOrEqual(256);
    expect(largestDatagram(tap, 's2c')).toBeLessThanOrEqual(256);
    await expectCloseNotifyBothWays(tap, 'c2s');
  });

  it('-mtu 256: our client (mtu 256) <-> openssl s_server -mtu 256', async () => {
    const sPort = await nextPort();
    const ss = opensslServer(sPort, ['-mtu', '256']);
    await ss.waitFor(/ACCEPT/, 5000);
    const tap = await UdpTap.start(await nextPort(), sPort);

    const c = await ourPskClient(tap.port, { mtu: 256 });
    c.session.send('y'.repeat(150) + '\n');
    await ss.waitFor(/y{150}/, 3000);
    ss.write('z'.repeat(150) + '\n');
    await waitFor(() => c.received().includes('z'.repeat(150)), 3000, 'the 150-byte line');
    await c.session.close();
    await ss.waitFor(/DONE\s+shutting down SSL\s+CONNECTION CLOSED/, 3000);
    expect(c.closeEvents).toEqual([undefined]);
    expect(largestDatagram(tap, 'c2s')).toBeLessThanOrEqual(256);
    expect(largestDatagram(tap, 's2c')).toBeLessThanOrEqual(256);
    await expectCloseNotifyBothWays(tap, 'c2s');
  });

  // OpenSSL refuses an MTU below 256 and no PSK handshake message comes near that, so it
  // never fragments here; ours goes down to 64: OpenSSL must reassemble our fragments.
  it('mtu 64: our server fragments its ServerHello, openssl s_client reassembles it', async () => {
    const srv = await ourPskServer({ mtu: 64 });
    const tap = await UdpTap.start(await nextPort(), srv.port);
    const sc = opensslClient(tap.port);
    sc.write('short line\n');
    await sc.waitFor(/short line/, 5000);
    sc.end();
    await waitFor(() => srv.closes.length > 0, 3000, "our session's 'close'");
    expect(srv.closes.map((c) => c.error)).toEqual([undefined]);
    expect((await sc.waitExit(3000)).code).toBe(0);
    expect(largestDatagram(tap, 's2c')).toBeLessThanOrEqual(64);
    expect(fragmentedMessages(tap, 's2c')).toContain(2); // server_hello
    await expectCloseNotifyBothWays(tap, 'c2s');
  });

  it('mtu 64 and a 100-byte identity: our client fragments its ClientKeyExchange, openssl s_server reassembles it', async () => {
    const identity = 'I'.repeat(100);
    const sPort = await nextPort();
    const ss = opensslServer(sPort, ['-psk_identity', identity]);
    await ss.waitFor(/ACCEPT/, 5000);
    const tap = await UdpTap.start(await nextPort(), sPort);

    const session = await connect({ host: LOOPBACK, port: tap.port, psk: { identity: Buffer.from(identity), key: KEY }, retransmission: FAST, timeoutMs: 5000, mtu: 64 });
    onCleanup(() => session.close());
    const got: string[] = [];
    session.on('data', (d: Uint8Array) => got.push(text(d)));
    session.send('short line\n');
    await ss.waitFor(/short line/, 3000);
    expect(ss.output).not.toMatch(/PSK warning/); // s_server got the whole identity
    ss.write('answer\n');
    await waitFor(() => got.join('').includes('answer'), 3000, 'the answer');
    await session.close();
    await ss.waitFor(/DONE\s+shutting down SSL\s+CONNECTION CLOSED/, 3000);
    // every datagram fits, except the ClientHello, which travels whole by design (flights.ts)
    const isClientHello = (d: Buffer) => d[0] === CONTENT_TYPE.handshake && d[13 + 0] === 1;
    const overs = tap.datagrams.filter((d) => d.dir === 'c2s' && d.data.length > 64);
    expect(overs.every((d) => isClientHello(d.data))).toBe(true);
    expect(fragmentedMessages(tap, 'c2s')).toContain(16); // client_key_exchange
    await expectCloseNotifyBothWays(tap, 'c2s');
  });

  it('openssl s_client with a wrong key: handshakeError BAD_RECORD_MAC, then a correct client is served', async () => {
    const srv = await ourPskServer();
    const tap = await UdpTap.start(await nextPort(), srv.port);
    const bad = opensslClient(tap.port, [], WRONG_KEY_HEX);
    bad.write('never delivered\n');
    const exit = await bad.waitExit(5000);
    expect(exit.code).not.toBe(0);
    expect(bad.stderr).toMatch(/alert bad record mac/);
    await waitFor(() => srv.handshakeErrors.length > 0, 2000, "'handshakeError'");
    expect(srv.handshakeErrors).toHaveLength(1);
    const { error, peer } = srv.handshakeErrors[0]!;
    expect(error).toBeInstanceOf(DtlsError);
    expect(error.code).toBe('BAD_RECORD_MAC');
    expect(peer.address).toBe(LOOPBACK);
    expect(srv.sessions).toEqual([]);
    expect(srv.received).toEqual([]);
    // on the wire: our fatal bad_record_mac alert in plaintext (the handshake never finished)
    const alerts = tap.records().filter((r) => r.type === CONTENT_TYPE.alert);
    expect(alerts.map((a) => [a.dir, a.epoch, [...a.fragment]])).toEqual([['s2c', 0, [2, ALERT_BAD_RECORD_MAC]]]);

    const good = opensslClient(tap.port);
    good.write('after the bad one\n');
    await good.waitFor(/after the bad one/, 5000);
    good.end();
    await waitFor(() => srv.closes.length > 0, 3000, "our session's 'close'");
    expect(srv.closes.map((c) => c.error)).toEqual([undefined]);
    expect(srv.handshakeErrors).toHaveLength(1);
    expect((await good.waitExit(3000)).code).toBe(0);
  });
});

describe('GnuTLS 3.7', () => {
  it('our client <-> gnutls-serv --udp --echo: echo, we close, gnutls-serv sees EOF', async () => {
    const keys = join(tmp, 'keys.psk');
    writeFileSync(keys, `${PSK_IDENTITY}:${PSK_HEX}\n`, { mode: 0o600 });
    const sPort = await nextPort();
    // gnutls-serv binds every address (no bind option): only ever reach it on 127.0.0.1.
    // stdbuf: its stdout is a pipe, line-buffer it so that "EOF" shows up at once.
    const gs = runPeer('stdbuf', ['-oL', '-eL', 'gnutls-serv', '--udp', '--echo', '-p', String(sPort), '--pskpasswd', keys, '--priority', GNUTLS_PSK_PRIORITY], {
      timeoutMs: 15_000,
      maxOutput: 64 * 1024,
    });
    await gs.waitFor(/listening on IPv4 0\.0\.0\.0 port \d+\.\.\.done/, 5000);
    const tap = await UdpTap.start(await nextPort(), sPort);

    const c = await ourPskClient(tap.port);
    expect(c.session.info.extendedMasterSecret).toBe(true);
    c.session.send('hello gnutls-serv\n');
    await waitFor(() => c.received().includes('hello gnutls-serv'), 3000, 'the echo');
    expect(gs.stdout).toMatch(/Accepted connection from IPv4 127\.0\.0\.1/);
    await c.session.close();
    // udp-serv.c prints "EOF" when gnutls_record_recv returns 0: our close_notify arrived
    await gs.waitFor(/EOF/, 3000);
    expect(c.closeEvents).toEqual([undefined]);
    expect(gs.output).not.toMatch(/Error/);
    // gnutls-serv does not answer close_notify (udp-serv.c just deinits the session): only
    // ours crosses, and it is a protected warning close_notify.
    const alerts = tap.records().filter((r) => r.type === CONTENT_TYPE.alert);
    expect(alerts.map((a) => [a.dir, a.epoch, a.length])).toEqual([['c2s', 1, 18]]);
    const decoded = await tsharkAlerts(tap, tmp);
    if (decoded) expect(decoded).toEqual([{ dir: 'c2s', level: 1, description: ALERT_CLOSE_NOTIFY }]);
  });

  it('gnutls-cli --udp <-> our server: echo, EOF, close_notify reaches our server', async () => {
    const srv = await ourPskServer();
    const tap = await UdpTap.start(await nextPort(), srv.port);
    const gc = runPeer(
      'gnutls-cli',
      ['--udp', '-p', String(tap.port), '--pskusername', PSK_IDENTITY, '--pskkey', PSK_HEX, '--priority', GNUTLS_PSK_PRIORITY, LOOPBACK],
      { timeoutMs: 15_000 },
    );
    await gc.waitFor(/Handshake was completed/, 5000);
    expect(gc.output).toMatch(/\(DTLS1\.2[^)]*\)-\(PSK\)-\(AES-128-CCM-8\)/);
    expect(gc.output).toMatch(/extended master secret/);
    gc.write('hello from gnutls-cli\n');
    await waitFor(() => gc.stdout.split('\n').includes('hello from gnutls-cli'), 3000, 'the echo on stdout');
    gc.end();
    await waitFor(() => srv.closes.length > 0, 3000, "our session's 'close'");
    expect(srv.closes.map((c) => c.error)).toEqual([undefined]);
    // gnutls-cli's bye(SHUT_WR) is answered by our close_notify
    await gc.waitFor(/Peer has closed the GnuTLS connection/, 3000);
    expect((await gc.waitExit(3000)).code).toBe(0);
    await expectCloseNotifyBothWays(tap, 'c2s');
  });
});

describe('libcoap 4.3.1 (GnuTLS build)', () => {
  // OpenSSL's s_server cannot close first (its stdin commands close the socket before
  // SSL_shutdown) and gnutls-serv never does: coap-server sends close_notify to every
  // session when it stops on SIGINT.
  it('coap-server-gnutls closes first (SIGINT): our client session closes without error', async () => {
    const base = await nextPort(2); // coap on P, coaps on P+1
    const cs = runPeer('coap-server-gnutls', ['-A', LOOPBACK, '-p', String(base), '-k', PSK_ASCII, '-h', ''], { timeoutMs: 15_000 });
    const tap = await UdpTap.start(await nextPort(), base + 1);
    // coap-server prints nothing when it is ready: our ClientHello is retransmitted until it is
    const c = await ourPskClient(tap.port);
    expect(c.session.info.cipherSuite).toBe(0xc0a8);
    // CoAP GET /time (CON, message id 0x1234): the server answers with a piggybacked 2.05
    const answer = once<[Uint8Array]>(c.session, 'data', 3000);
    c.session.send(Uint8Array.from([0x40, 0x01, 0x12, 0x34, 0xb4, ...Buffer.from('time')]));
    const [response] = await answer;
    expect([...response.subarray(0, 4)]).toEqual([0x60, 0x45, 0x12, 0x34]); // ACK, 2.05 Content

    const closed = once(c.session, 'close', 3000);
    cs.signal('SIGINT');
    const [err] = await closed;
    expect(err).toBeUndefined();
    expect(c.closeEvents).toEqual([undefined]);
    await cs.waitExit(3000);
    await expectCloseNotifyBothWays(tap, 's2c');
  });
});

describe('node-dtls-client 1.1.1', () => {
  const requirePeer = createRequire(join(PEERS_DIR, 'package.json'));
  // skipped on a developer machine without it; in CI (install-peers.sh ran) a missing peer fails
  const installed = existsSync(join(PEERS_DIR, 'node_modules/node-dtls-client/package.json')) || !!process.env.CI;

  it.skipIf(!installed)('node-dtls-client <-> our server (no PSK hint): echo, close', async () => {
    const { dtls } = requirePeer('node-dtls-client') as { dtls: NodeDtlsClient };
    const srv = await ourPskServer(); // no pskHint: node-dtls-client throws on a ServerKeyExchange
    const tap = await UdpTap.start(await nextPort(), srv.port);
    const sock = dtls.createSocket({
      type: 'udp4',
      address: LOOPBACK,
      port: tap.port,
      psk: { [PSK_IDENTITY]: PSK_ASCII },
      ciphers: ['TLS_PSK_WITH_AES_128_CCM_8'],
      timeout: 5000,
    });
    const errors: Error[] = [];
    const got: string[] = [];
    sock.on('error', (e: Error) => errors.push(e));
    sock.on('message', (m: Buffer) => got.push(m.toString('utf8')));
    let sockClosed = false;
    sock.on('close', () => (sockClosed = true));
    onCleanup(() => sockClosed || sock.close());
    await once(sock, 'connected', 5000);

    expect(srv.sessions).toHaveLength(1);
    const info = srv.sessions[0]!.info;
    expect(info.cipherSuite).toBe(0xc0a8);
    // node-dtls-client sends a ClientHello without extensions: no extended master secret,
    // which our server accepts by default (requireExtendedMasterSecret: false).
    expect(info.extendedMasterSecret).toBe(false);
    // on the wire: its ClientHellos carry no extensions at all
    const hellos = tap.records().filter((r) => r.dir === 'c2s' && r.type === CONTENT_TYPE.handshake && r.fragment[0] === 1);
    expect(hellos.length).toBe(2); // without and with the cookie
    for (const h of hellos) expect(clientHelloExtensions(h.fragment)).toBeUndefined();

    sock.send(Buffer.from('hello from node-dtls-client'));
    await waitFor(() => got.join('') === 'hello from node-dtls-client', 3000, 'the echo');
    sock.close();
    await waitFor(() => srv.closes.length > 0, 3000, "our session's 'close'");
    expect(srv.closes.map((c) => c.error)).toEqual([undefined]);
    expect(errors).toEqual([]);
    // node-dtls-client closes its socket right after its close_notify; ours still goes out
    const alerts = tap.records().filter((r) => r.type === CONTENT_TYPE.alert);
    expect(alerts.map((a) => a.dir)).toEqual(['c2s', 's2c']);
    const decoded = await tsharkAlerts(tap, tmp);
    if (decoded) for (const a of decoded) expect(a).toEqual({ dir: a.dir, level: 1, description: ALERT_CLOSE_NOTIFY });
  });
});

describe('CLI (dist/lib/cli/main.js dtls client)', () => {
  const built = existsSync(CLI) || !!process.env.CI; // `npm ci` builds dist/ (prepare)

  it.skipIf(!built)('against openssl s_server: exits 0, prints what s_server sends, writes a key log tshark can use', async () => {
    const sPort = await nextPort();
    const ss = opensslServer(sPort);
    await ss.waitFor(/ACCEPT/, 5000);
    const tap = await UdpTap.start(await nextPort(), sPort);
    const keylog = join(tmp, 'cli.keylog');
    const cli = runPeer(process.execPath, [CLI, 'dtls', 'client', `${LOOPBACK}:${tap.port}`, '--psk', `${PSK_IDENTITY}:${PSK_HEX}`, '--keylog', keylog, '--timeout', '5000'], {
      timeoutMs: 15_000,
      stdin: 'hello from the cli\n',
    });
    await ss.waitFor(/hello from the cli/, 5000);
    ss.write('hello from s_server\n');
    await cli.waitFor(/hello from s_server/, 3000);
    cli.end(); // EOF: the CLI waits --wait (500 ms) for late answers, then close_notify
    const exit = await cli.waitExit(5000);
    expect(exit.code, cli.describe()).toBe(0);
    expect(cli.stdout).toBe('hello from s_server\n');
    await ss.waitFor(/DONE\s+shutting down SSL\s+CONNECTION CLOSED/, 3000);
    await expectCloseNotifyBothWays(tap, 'c2s');

    // key log: one NSS line whose client random is the one in our ClientHello
    const lines = readFileSync(keylog, 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    const m = /^CLIENT_RANDOM ([0-9a-f]{64}) ([0-9a-f]{96})$/.exec(lines[0]!);
    expect(m, lines[0]).not.toBeNull();
    const firstHello = parseRecords(tap.datagrams.find((d) => d.dir === 'c2s')!.data)[0]!;
    expect(firstHello.type).toBe(CONTENT_TYPE.handshake);
    expect(firstHello.fragment.subarray(12 + 2, 12 + 2 + 32).toString('hex')).toBe(m![1]);

    // bonus: tshark decrypts the capture with the key log alone (no PSK)
    const pcap = join(tmp, 'cli.pcap');
    tap.writePcap(pcap);
    const ts = runPeer('tshark', ['-n', '-r', pcap, '-d', `udp.port==${tap.port},dtls`, '-o', `tls.keylog_file:${keylog}`, '-x'], { timeoutMs: 15_000, endStdin: true });
    const tsExit = await ts.waitExit(15_000);
    if (tsExit.code !== 127) {
      // (127: tshark is not installed) -x prints the decrypted records as "Decrypted DTLS" hex dumps
      expect(tsExit.code, ts.describe()).toBe(0);
      expect(ts.stdout).toMatch(/Decrypted DTLS/);
      expect(ts.stdout).toMatch(/hello from the c/); // the hex dump's ASCII column is 16 wide
      expect(ts.stdout).toMatch(/hello from s_ser/);
    }
  });

  it.skipIf(!built)('with a wrong key: exits non-zero with a one-line reason (timeout: openssl drops the bad Finished)', async () => {
    const sPort = await nextPort();
    const ss = opensslServer(sPort);
    await ss.waitFor(/ACCEPT/, 5000);
    const started = Date.now();
    const cli = runPeer(process.execPath, [CLI, 'dtls', 'client', `${LOOPBACK}:${sPort}`, '--psk', `${PSK_IDENTITY}:${WRONG_KEY_HEX}`, '--timeout', '3000'], {
      timeoutMs: 10_000,
      stdin: 'never delivered\n',
    });
    const exit = await cli.waitExit(8000);
    expect(exit.code, cli.describe()).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(Date.now() - started).toBeLessThan(7000);
    const lines = cli.stderr.split('\n').filter(Boolean);
    expect(lines, cli.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^coaps: handshake failed: .*3000 ms/);
    expect(cli.stdout).toBe('');
    expect(ss.output).not.toMatch(/never delivered/);
  });
});

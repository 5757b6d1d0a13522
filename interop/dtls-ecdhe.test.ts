/**
 * DTLS 1.2 TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (0xC0AE, secp256r1) against real peers
 * (interop/PEERS.md): GnuTLS 3.7 with RFC 7250 raw public keys (the tinydtls example
 * key pairs), OpenSSL 3.0 with X.509 (test/fixtures/pki), our CLI with tinydtls-style hex
 * key files, and the failures a user meets first (unknown CA, wrong name, expired, an
 * untrusted client certificate or raw key). Install the peers with `interop/install-peers.sh`.
 *
 * Every case goes through a recording UDP relay (helpers.ts `UdpTap`): besides what each
 * program prints, the plaintext handshake on the wire is checked independently of our engine
 * (the Certificate messages carry exactly the expected raw key / certificate, a
 * CertificateRequest only when we ask for client authentication), and the close: a protected
 * alert each way, which tshark decrypts with the NSS key log our side writes (`keyLog`) and
 * reads as a warning close_notify.
 */
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fromHex } from '../lib/bytes/util.js';
import {
  AlertDescription,
  CipherSuite,
  DtlsError,
  keyStore,
  nodeCrypto,
  type ConnectOptions,
  type PeerIdentity,
  type ServerOptions,
} from '../lib/entry/dtls.js';
import {
  ALERT_CLOSE_NOTIFY,
  CLI,
  CONTENT_TYPE,
  GNUTLS_RPK_PRIORITY,
  LOOPBACK,
  OPENSSL_ECDHE_ARGS,
  killAllPeers,
  portAllocator,
  randomP256HexKey,
  removeTempDirs,
  runCleanups,
  runPeer,
  tempDir,
  tsharkAlerts,
  UdpTap,
  waitFor,
  writeP256KeyFiles,
  type Direction,
  type P256HexKey,
  type P256KeyFiles,
  type Peer,
} from './helpers.js';
import { keyLogTo, ourClient, ourClientFails, ourEchoServer, text, type OurClient, type OurServer } from './our-dtls.js';
import { fixturePath, readFixture } from '../test/helpers/fixtures.js';
import { tinydtlsKeys } from '../test/helpers/tinydtls.js';

const nextPort = portAllocator('interop/dtls-ecdhe.test.ts');

const ECDHE_SUITE = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8;
const HS = { server_hello: 2, certificate: 11, certificate_request: 13, certificate_verify: 15 } as const;
const EXT = { client_certificate_type: 19, server_certificate_type: 20 } as const;
const RAW_PUBLIC_KEY = 2;

const pki = (f: string) => readFixture(`pki/${f}`);
const pkiPath = (f: string) => fixturePath(`pki/${f}`);
const sha256hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const spkiDer = (pem: string) => new Uint8Array(createPublicKey(pem).export({ type: 'spki', format: 'der' }));

// The tinydtls example key pairs (tests/dtls-server.c and tests/dtls-client.c)
const TK = tinydtlsKeys();
const TINY_SERVER: P256HexKey = { privHex: TK.server_priv_hex, xHex: TK.server_pub_x_hex, yHex: TK.server_pub_y_hex };
const TINY_CLIENT: P256HexKey = { privHex: TK.client_priv_hex, xHex: TK.client_pub_x_hex, yHex: TK.client_pub_y_hex };

let tmp = '';
/** PEM / hex files of the tinydtls server and client keys and of a key nobody trusts. */
let tinyServer: P256KeyFiles;
let tinyClient: P256KeyFiles;
let stranger: P256KeyFiles;
let serverSpki: Uint8Array;
let clientSpki: Uint8Array;
beforeAll(() => {
  tmp = tempDir('coaps-interop-ecdhe-');
  tinyServer = writeP256KeyFiles(tmp, 'tinydtls-server', TINY_SERVER);
  tinyClient = writeP256KeyFiles(tmp, 'tinydtls-client', TINY_CLIENT);
  stranger = writeP256KeyFiles(tmp, 'stranger', randomP256HexKey());
  serverSpki = spkiDer(readFileSync(tinyServer.pubPem, 'utf8'));
  clientSpki = spkiDer(readFileSync(tinyClient.pubPem, 'utf8'));
});
afterEach(async () => {
  await killAllPeers();
  await runCleanups();
});
afterAll(() => removeTempDirs());

// ---------------------------------------------------------------------------------------
// Our side

let keylogCounter = 0;
/** A fresh key log file name in the temp dir (tshark decrypts with it). */
const nextKeyLog = () => join(tmp, `keylog-${++keylogCounter}.txt`);

/** ourEchoServer with a key log. */
async function ourKeyLoggingServer(opts: Omit<ServerOptions, 'retransmission'>): Promise<OurServer & { keylog: string }> {
  const keylog = nextKeyLog();
  return Object.assign(await ourEchoServer(await nextPort(), { keyLog: keyLogTo(keylog), ...opts }), { keylog });
}

/** Our X.509 server: server.crt (CN=localhost, SAN localhost + 127.0.0.1). */
const x509Server = () => ({ key: pki('server.key'), certificate: pki('server.crt'), rawPublicKey: false });

/** ourClient with a key log. */
async function ourKeyLoggingClient(port: number, opts: Omit<ConnectOptions, 'host' | 'port'>): Promise<OurClient & { keylog: string }> {
  const keylog = nextKeyLog();
  return Object.assign(await ourClient(port, { keyLog: keyLogTo(keylog), ...opts }), { keylog });
}

function expectRpkIdentity(id: PeerIdentity, spki: Uint8Array, name: string): void {
  expect(id.kind).toBe('rpk');
  if (id.kind !== 'rpk') return;
  expect(id.name).toBe(name);
  expect(Buffer.from(id.spki).equals(Buffer.from(spki))).toBe(true);
  expect(id.fingerprint).toBe(sha256hex(spki));
}

function expectX509Identity(id: PeerIdentity, cn: string, certFile: string): void {
  expect(id.kind).toBe('x509');
  if (id.kind !== 'x509') return;
  expect(id.subject).toContain(`CN=${cn}`);
  expect(id.fingerprint).toBe(sha256hex(new X509Certificate(pki(certFile)).raw));
}

// ---------------------------------------------------------------------------------------
// Peers

function gnutlsServ(port: number, extra: string[] = []): Peer {
  // gnutls-serv binds every address (no bind option): only ever reach it on 127.0.0.1.
  // stdbuf: its stdout is a pipe, line-buffer it so that "EOF" shows up at once.
  return runPeer(
    'stdbuf',
    ['-oL', '-eL', 'gnutls-serv', '--udp', '--echo', '-p', String(port), '--priority', GNUTLS_RPK_PRIORITY, '--rawpkkeyfile', tinyServer.keyPem, '--rawpkfile', tinyServer.pubPem, ...extra],
    { timeoutMs: 15_000, maxOutput: 64 * 1024 },
  );
}
const GNUTLS_SERV_READY = /listening on IPv4 0\.0\.0\.0 port \d+\.\.\.done/;

/** gnutls-cli with raw public keys; `key` given: it presents that key when asked. */
function gnutlsCli(port: number, key?: P256KeyFiles): Peer {
  const keyArgs = key ? ['--rawpkkeyfile', key.keyPem, '--rawpkfile', key.pubPem] : [];
  return runPeer('gnutls-cli', ['--udp', '-p', String(port), '--priority', GNUTLS_RPK_PRIORITY, ...keyArgs, '--insecure', LOOPBACK], { timeoutMs: 15_000 });
}
const GNUTLS_RPK_DESCRIPTION = /\(DTLS1\.2-(?:X\.509-)?Raw Public Key\)-\(ECDHE-SECP256R1\)-\(ECDSA-SHA256\)-\(AES-128-CCM-8\)/;

function opensslServer(port: number, extra: string[] = []): Peer {
  return runPeer(
    'openssl',
    ['s_server', '-dtls1_2', '-accept', `${LOOPBACK}:${port}`, '-cert', pkiPath('server.crt'), '-key', pkiPath('server.key'), ...OPENSSL_ECDHE_ARGS, '-naccept', '1', ...extra],
    { timeoutMs: 15_000 },
  );
}

/** s_client verifying our server against ca.crt; `-no_ign_eof`: stdin EOF sends close_notify and exits. */
function opensslClient(port: number, extra: string[] = []): Peer {
  return runPeer(
    'openssl',
    ['s_client', '-dtls1_2', '-connect', `${LOOPBACK}:${port}`, ...OPENSSL_ECDHE_ARGS, '-sigalgs', 'ECDSA+SHA256', '-CAfile', pkiPath('ca.crt'), '-verify_return_error', '-quiet', '-no_ign_eof', ...extra],
    { timeoutMs: 15_000 },
  );
}
const S_SERVER_CLOSED = /DONE\s+shutting down SSL\s+CONNECTION CLOSED/;

// ---------------------------------------------------------------------------------------
// Wire checks (from the relay's capture alone)

interface HandshakeMessage {
  type: number;
  seq: number;
  body: Buffer;
}

/** The plaintext (epoch 0) handshake messages sent in a direction, reassembled, in order. */
function handshakeMessages(tap: UdpTap, dir: Direction): HandshakeMessage[] {
  const msgs = new Map<string, HandshakeMessage>();
  for (const r of tap.records()) {
    if (r.dir !== dir || r.type !== CONTENT_TYPE.handshake || r.epoch !== 0) continue;
    for (let at = 0; at + 12 <= r.fragment.length; ) {
      const type = r.fragment[at]!;
      const length = r.fragment.readUIntBE(at + 1, 3);
      const seq = r.fragment.readUInt16BE(at + 4);
      const offset = r.fragment.readUIntBE(at + 6, 3);
      const fragmentLength = r.fragment.readUIntBE(at + 9, 3);
      const key = `${r.clientPort}/${seq}`;
      let m = msgs.get(key);
      if (!m) msgs.set(key, (m = { type, seq, body: Buffer.alloc(length) }));
      r.fragment.copy(m.body, offset, at + 12, at + 12 + fragmentLength);
      at += 12 + fragmentLength;
    }
  }
  return [...msgs.values()];
}
const messageTypes = (tap: UdpTap, dir: Direction) => handshakeMessages(tap, dir).map((m) => m.type);

/** The Certificate message a side sent: for RFC 7250 exactly the SPKI, for X.509 the chain. */
function certificateBody(tap: UdpTap, dir: Direction): Buffer {
  const certs = handshakeMessages(tap, dir).filter((m) => m.type === HS.certificate);
  expect(certs, `one Certificate ${dir}`).toHaveLength(1);
  return certs[0]!.body;
}
function expectRawPublicKeySent(tap: UdpTap, dir: Direction, spki: Uint8Array): void {
  const body = certificateBody(tap, dir);
  // RFC 7250 §3: opaque ASN.1_subjectPublicKeyInfo<1..2^24-1>
  expect(body.readUIntBE(0, 3)).toBe(spki.length);
  expect(body.subarray(3).equals(Buffer.from(spki))).toBe(true);
}
function expectCertificateSent(tap: UdpTap, dir: Direction, certFile: string): void {
  const body = certificateBody(tap, dir);
  const der = new X509Certificate(pki(certFile)).raw;
  // certificate_list<0..2^24-1>, leaf first: 3-byte list length, 3-byte cert length, DER
  expect(body.readUIntBE(0, 3)).toBe(body.length - 3);
  expect(body.readUIntBE(3, 3)).toBe(der.length);
  expect(body.subarray(6, 6 + der.length).equals(der)).toBe(true);
}

/** The ServerHello's extensions: type -> data. */
function serverHelloExtensions(tap: UdpTap): Map<number, Buffer> {
  const hello = handshakeMessages(tap, 's2c').find((m) => m.type === HS.server_hello);
  expect(hello, 'a ServerHello').toBeDefined();
  const b = hello!.body;
  let at = 2 + 32; // server_version, random
  at += 1 + b[at]!; // session_id
  expect(b.readUInt16BE(at), 'ServerHello cipher_suite').toBe(ECDHE_SUITE);
  at += 2 + 1; // cipher_suite, compression_method
  const out = new Map<number, Buffer>();
  if (at === b.length) return out;
  const end = at + 2 + b.readUInt16BE(at);
  for (at += 2; at < end; at += 4 + b.readUInt16BE(at + 2)) out.set(b.readUInt16BE(at), b.subarray(at + 4, at + 4 + b.readUInt16BE(at + 2)));
  return out;
}
/** RFC 7250 §4.2: the certificate types the server chose (undefined: extension absent, X.509). */
function chosenCertificateTypes(tap: UdpTap): { client: number | undefined; server: number | undefined } {
  const ext = serverHelloExtensions(tap);
  const one = (t: number) => {
    const d = ext.get(t);
    if (d === undefined) return undefined;
    expect(d.length, `extension ${t} holds one type`).toBe(1);
    return d[0];
  };
  return { client: one(EXT.client_certificate_type), server: one(EXT.server_certificate_type) };
}

/** Plaintext (epoch 0) alerts on the wire: [dir, level, description]. */
function plaintextAlerts(tap: UdpTap): Array<[Direction, number, number]> {
  return tap
    .records()
    .filter((r) => r.type === CONTENT_TYPE.alert && r.epoch === 0)
    .map((r) => [r.dir, r.fragment[0]!, r.fragment[1]!]);
}

/**
 * The close: `dirs` lists the protected alerts expected (the closer's first), every one an
 * 18-byte CCM_8 record that tshark, with our key log, decrypts as a warning close_notify.
 */
async function expectCloseNotify(tap: UdpTap, keylog: string, dirs: Direction[]): Promise<void> {
  const alertsNow = () => tap.records().filter((r) => r.type === CONTENT_TYPE.alert);
  // the answer may still be in flight through the relay when the closer reports done
  await waitFor(() => alertsNow().length >= dirs.length, 1000, 'the close_notify alerts').catch(() => undefined);
  const alerts = alertsNow();
  expect(alerts.filter((r) => r.epoch === 0), 'no plaintext alert').toEqual([]);
  expect(alerts.map((a) => a.dir)).toEqual(dirs);
  // CCM_8: 8-byte explicit nonce + 2-byte alert + 8-byte tag
  for (const a of alerts) expect(a.length).toBe(18);
  const decoded = await tsharkAlerts(tap, tmp, undefined, keylog);
  if (decoded === undefined) return; // tshark missing: header-level check only
  expect(decoded.map((a) => a.dir), 'tshark decrypted every alert').toEqual(dirs);
  for (const a of decoded) expect(a, 'tshark: warning close_notify').toEqual({ dir: a.dir, level: 1, description: ALERT_CLOSE_NOTIFY });
}

// ---------------------------------------------------------------------------------------

describe('GnuTLS 3.7, RFC 7250 raw public keys (tinydtls example keys)', () => {
  it('gnutls-cli -> our server (one-way): echo, anonymous client, close_notify both ways', async () => {
    const srv = await ourKeyLoggingServer({ ecdhe: { key: readFileSync(tinyServer.keyPem, 'utf8'), rawPublicKey: true }, clientAuth: 'none' });
    const tap = await UdpTap.start(await nextPort(), srv.port);
    // gnutls-cli has a key of its own (and offers client_certificate_type RawPublicKey), but
    // our server does not ask for it
    const gc = gnutlsCli(tap.port, tinyClient);
    await gc.waitFor(/Handshake was completed/, 5000);
    expect(gc.output).toMatch(/Certificate type: Raw Public Key/);
    expect(gc.output).toMatch(GNUTLS_RPK_DESCRIPTION);
    expect(gc.output).not.toMatch(/sent \d+ certificate/);
    expect(gc.output).toMatch(/extended master secret/);
    gc.write('hello from gnutls-cli\n');
    await waitFor(() => gc.stdout.split('\n').includes('hello from gnutls-cli'), 3000, 'the echo on stdout');

    expect(srv.sessions).toHaveLength(1);
    const info = srv.sessions[0]!.info;
    expect(info.cipherSuite).toBe(ECDHE_SUITE);
    expect(info.identity).toEqual({ kind: 'anonymous' });
    expect(srv.received.join('')).toBe('hello from gnutls-cli\n');

    gc.end();
    await waitFor(() => srv.closes.length > 0, 3000, "our session's 'close'");
    expect(srv.closes.map((c) => c.error)).toEqual([undefined]);
    await gc.waitFor(/Peer has closed the GnuTLS connection/, 3000);
    expect((await gc.waitExit(3000)).code).toBe(0);
    // on the wire: our raw key, no CertificateRequest, no client Certificate
    expectRawPublicKeySent(tap, 's2c', serverSpki);
    expect(messageTypes(tap, 's2c')).not.toContain(HS.certificate_request);
    expect(messageTypes(tap, 'c2s')).not.toContain(HS.certificate);
    // RFC 7250 §4.2: without a CertificateRequest the server omits client_certificate_type
    expect(chosenCertificateTypes(tap)).toEqual({ client: undefined, server: RAW_PUBLIC_KEY });
    expect(srv.handshakeErrors).toEqual([]);
    await expectCloseNotify(tap, srv.keylog, ['c2s', 's2c']);
  });

  it('gnutls-cli -> our server (mutual, clientAuth required): identity rpk "tinydtls-client"', async () => {
    const srv = await ourKeyLoggingServer({
      ecdhe: { key: readFileSync(tinyServer.keyPem, 'utf8'), rawPublicKey: true },
      keyStore: { rawPublicKeys: [[readFileSync(tinyClient.pubPem, 'utf8'), 'tinydtls-client']] },
      clientAuth: 'required',
    });
    const tap = await UdpTap.start(await nextPort(), srv.port);
    const gc = gnutlsCli(tap.port, tinyClient);
    await gc.waitFor(/Handshake was completed/, 5000);
    expect(gc.output).toMatch(/\(DTLS1\.2-Raw Public Key\)-\(ECDHE-SECP256R1\)-\(ECDSA-SHA256\)-\(AES-128-CCM-8\)/);
    expect(gc.output).toMatch(/Successfully sent 1 certificate\(s\) to server/);
    gc.write('mutual hello\n');
    await waitFor(() => gc.stdout.split('\n').includes('mutual hello'), 3000, 'the echo on stdout');

    expect(srv.sessions).toHaveLength(1);
    const info = srv.sessions[0]!.info;
    expect(info.cipherSuite).toBe(ECDHE_SUITE);
    expectRpkIdentity(info.identity, clientSpki, 'tinydtls-client');
    expect(Buffer.from(info.peerIdentity).equals(Buffer.from(clientSpki))).toBe(true);

    gc.end();
    await waitFor(() => srv.closes.length > 0, 3000, "our session's 'close'");
    expect(srv.closes.map((c) => c.error)).toEqual([undefined]);
    expect((await gc.waitExit(3000)).code).toBe(0);
    expectRawPublicKeySent(tap, 's2c', serverSpki);
    expect(messageTypes(tap, 's2c')).toContain(HS.certificate_request);
    expect(chosenCertificateTypes(tap)).toEqual({ client: RAW_PUBLIC_KEY, server: RAW_PUBLIC_KEY });
    expectRawPublicKeySent(tap, 'c2s', clientSpki);
    expect(messageTypes(tap, 'c2s')).toContain(HS.certificate_verify);
    await expectCloseNotify(tap, srv.keylog, ['c2s', 's2c']);
  });

  it('our client without a key -> gnutls-serv (one-way, trusting the server key): identity rpk "tinydtls-server"', async () => {
    const sPort = await nextPort();
    const gs = gnutlsServ(sPort);
    await gs.waitFor(GNUTLS_SERV_READY, 5000);
    const tap = await UdpTap.start(await nextPort(), sPort);

    const c = await ourKeyLoggingClient(tap.port, { trust: { rawPublicKeys: [[readFileSync(tinyServer.pubPem, 'utf8'), 'tinydtls-server']] } });
    expect(c.session.info.cipherSuite).toBe(ECDHE_SUITE);
    expectRpkIdentity(c.session.info.identity, serverSpki, 'tinydtls-server');
    c.session.send('hello gnutls-serv\n');
    await waitFor(() => c.received().includes('hello gnutls-serv'), 3000, 'the echo');
    await gs.waitFor(/received\[[0-9a-f]+\]: hello gnutls-serv/, 1000);
    await c.session.close();
    // udp-serv.c prints "EOF" when gnutls_record_recv returns 0: our close_notify arrived
    await gs.waitFor(/EOF/, 3000);
    expect(c.closeEvents).toEqual([undefined]);
    expect(gs.output).not.toMatch(/Error/);
    expectRawPublicKeySent(tap, 's2c', serverSpki);
    // gnutls-serv asks for a client certificate by default (optional): without a key of our
    // own we answer with an empty certificate_list (RFC 5246 §7.4.6) and no CertificateVerify
    expect(messageTypes(tap, 's2c')).toContain(HS.certificate_request);
    expect(certificateBody(tap, 'c2s').toString('hex')).toBe('000000');
    expect(messageTypes(tap, 'c2s')).not.toContain(HS.certificate_verify);
    // gnutls-serv does not answer close_notify (udp-serv.c just deinits the session)
    await expectCloseNotify(tap, c.keylog, ['c2s']);
  });

  it('our client -> gnutls-serv --require-client-cert (mutual, our key = tinydtls client scalar)', async () => {
    const sPort = await nextPort();
    const gs = gnutlsServ(sPort, ['--require-client-cert']);
    await gs.waitFor(GNUTLS_SERV_READY, 5000);
    const tap = await UdpTap.start(await nextPort(), sPort);

    const c = await ourKeyLoggingClient(tap.port, {
      // the key as a parsed scalar, as tinydtls keeps it
      ecdhe: { key: nodeCrypto.p256.privateKeyFromScalar(fromHex(TINY_CLIENT.privHex)), rawPublicKey: true },
      trust: { rawPublicKeys: [[serverSpki, 'tinydtls-server']] },
    });
    expect(c.session.info.cipherSuite).toBe(ECDHE_SUITE);
    expectRpkIdentity(c.session.info.identity, serverSpki, 'tinydtls-server');
    c.session.send('mutual hello gnutls-serv\n');
    await waitFor(() => c.received().includes('mutual hello gnutls-serv'), 3000, 'the echo');
    await c.session.close();
    await gs.waitFor(/EOF/, 3000);
    expect(c.closeEvents).toEqual([undefined]);
    expect(gs.output).not.toMatch(/Error/);
    expect(messageTypes(tap, 's2c')).toContain(HS.certificate_request);
    expectRawPublicKeySent(tap, 'c2s', clientSpki);
    expect(messageTypes(tap, 'c2s')).toContain(HS.certificate_verify);
    await expectCloseNotify(tap, c.keylog, ['c2s']);
  });
});

describe('OpenSSL 3.0, X.509 (test/fixtures/pki)', () => {
  it('our client -> openssl s_server (one-way, trust ca.crt): data both ways, close_notify both ways', async () => {
    const sPort = await nextPort();
    const ss = opensslServer(sPort);
    await ss.waitFor(/ACCEPT/, 5000);
    const tap = await UdpTap.start(await nextPort(), sPort);

    const c = await ourKeyLoggingClient(tap.port, { trust: { ca: pki('ca.crt') } });
    expect(c.session.info.cipherSuite).toBe(ECDHE_SUITE);
    expectX509Identity(c.session.info.identity, 'localhost', 'server.crt');
    c.session.send('hello from coaps\n');
    await ss.waitFor(/hello from coaps/, 3000);
    ss.write('hello from s_server\n');
    await waitFor(() => c.received().includes('hello from s_server'), 3000, 'our client to receive the line');
    expect(ss.output).toMatch(/CIPHER is ECDHE-ECDSA-AES128-CCM8/);
    expect(ss.output).toMatch(/Shared groups: secp256r1/);

    await c.session.close();
    await ss.waitFor(S_SERVER_CLOSED, 3000);
    expect((await ss.waitExit(3000)).code).toBe(0);
    expect(c.closeEvents).toEqual([undefined]);
    expectCertificateSent(tap, 's2c', 'server.crt');
    expect(messageTypes(tap, 's2c')).not.toContain(HS.certificate_request);
    await expectCloseNotify(tap, c.keylog, ['c2s', 's2c']);
  });

  it('our client (client.crt) -> openssl s_server -Verify 1 (mutual): s_server prints our subject', async () => {
    const sPort = await nextPort();
    const ss = opensslServer(sPort, ['-Verify', '1', '-CAfile', pkiPath('ca.crt')]);
    await ss.waitFor(/ACCEPT/, 5000);
    const tap = await UdpTap.start(await nextPort(), sPort);

    const c = await ourKeyLoggingClient(tap.port, { ecdhe: { key: pki('client.key'), certificate: pki('client.crt') }, trust: { ca: pki('ca.crt') } });
    expect(c.session.info.cipherSuite).toBe(ECDHE_SUITE);
    expectX509Identity(c.session.info.identity, 'localhost', 'server.crt');
    c.session.send('mutual hello from coaps\n');
    await ss.waitFor(/mutual hello from coaps/, 3000);
    ss.write('hello client.example\n');
    await waitFor(() => c.received().includes('hello client.example'), 3000, 'our client to receive the line');
    // s_server verified our chain and names us
    expect(ss.output).toMatch(/depth=0 O = coaps tests, CN = client\.example\s+verify return:1/);
    expect(ss.output).toMatch(/subject=O = coaps tests, CN = client\.example/);

    await c.session.close();
    await ss.waitFor(S_SERVER_CLOSED, 3000);
    expect(c.closeEvents).toEqual([undefined]);
    expect(messageTypes(tap, 's2c')).toContain(HS.certificate_request);
    expectCertificateSent(tap, 'c2s', 'client.crt');
    expect(messageTypes(tap, 'c2s')).toContain(HS.certificate_verify);
    await expectCloseNotify(tap, c.keylog, ['c2s', 's2c']);
  });

  it('openssl s_client -> our server (server.crt, one-way): echo, anonymous client, close_notify both ways', async () => {
    const srv = await ourKeyLoggingServer({ ecdhe: x509Server(), clientAuth: 'none' });
    const tap = await UdpTap.start(await nextPort(), srv.port);
    const sc = opensslClient(tap.port);
    sc.write('hello from s_client\n');
    await sc.waitFor(/hello from s_client/, 5000); // the echo, on stdout
    expect(srv.sessions).toHaveLength(1);
    expect(srv.sessions[0]!.info.cipherSuite).toBe(ECDHE_SUITE);
    expect(srv.sessions[0]!.info.identity).toEqual({ kind: 'anonymous' });
    expect(srv.received.join('')).toBe('hello from s_client\n');

    sc.end(); // EOF -> close_notify
    await waitFor(() => srv.closes.length > 0, 3000, "our session's 'close'");
    expect(srv.closes.map((c) => c.error)).toEqual([undefined]);
    expect((await sc.waitExit(3000)).code).toBe(0);
    expect(srv.handshakeErrors).toEqual([]);
    expectCertificateSent(tap, 's2c', 'server.crt');
    expect(messageTypes(tap, 'c2s')).not.toContain(HS.certificate);
    await expectCloseNotify(tap, srv.keylog, ['c2s', 's2c']);
  });

  it('openssl s_client -cert client.crt -> our server (mutual, clientAuth required): identity x509 client.example', async () => {
    const srv = await ourKeyLoggingServer({ ecdhe: x509Server(), keyStore: { ca: pki('ca.crt') }, clientAuth: 'required' });
    const tap = await UdpTap.start(await nextPort(), srv.port);
    const sc = opensslClient(tap.port, ['-cert', pkiPath('client.crt'), '-key', pkiPath('client.key')]);
    sc.write('hello from client.example\n');
    await sc.waitFor(/hello from client\.example/, 5000);
    expect(srv.sessions).toHaveLength(1);
    const info = srv.sessions[0]!.info;
    expect(info.cipherSuite).toBe(ECDHE_SUITE);
    expectX509Identity(info.identity, 'client.example', 'client.crt');
    expect(text(info.peerIdentity)).toContain('client.example');

    sc.end();
    await waitFor(() => srv.closes.length > 0, 3000, "our session's 'close'");
    expect(srv.closes.map((c) => c.error)).toEqual([undefined]);
    expect((await sc.waitExit(3000)).code).toBe(0);
    expect(messageTypes(tap, 's2c')).toContain(HS.certificate_request);
    expectCertificateSent(tap, 'c2s', 'client.crt');
    expect(messageTypes(tap, 'c2s')).toContain(HS.certificate_verify);
    await expectCloseNotify(tap, srv.keylog, ['c2s', 's2c']);
  });
});

describe('CLI with the tinydtls example key files (hex scalar, hex X‖Y)', () => {
  const built = existsSync(CLI) || !!process.env.CI; // `npm ci` builds dist/ (prepare)

  it.skipIf(!built)('coaps dtls server --key <hex> --trust <x‖y> --require-client-auth --echo <- gnutls-cli (client key)', async () => {
    const port = await nextPort();
    const cli = runPeer(
      process.execPath,
      [CLI, 'dtls', 'server', '--listen', `${LOOPBACK}:${port}`, '--key', tinyServer.scalarHex, '--trust', tinyClient.xyHex, '--require-client-auth', '--echo'],
      { timeoutMs: 15_000 },
    );
    await cli.waitFor(/listening on 127\.0\.0\.1:\d+/, 5000);
    const tap = await UdpTap.start(await nextPort(), port);
    const gc = gnutlsCli(tap.port, tinyClient);
    await gc.waitFor(/Handshake was completed/, 5000);
    expect(gc.output).toMatch(/\(DTLS1\.2-Raw Public Key\)-\(ECDHE-SECP256R1\)-\(ECDSA-SHA256\)-\(AES-128-CCM-8\)/);
    gc.write('hello coaps cli\n');
    await waitFor(() => gc.stdout.split('\n').includes('hello coaps cli'), 3000, 'the echo on stdout');
    // the CLI names the client by its key's fingerprint and the --trust file
    const fp = sha256hex(clientSpki).slice(0, 16);
    const escaped = tinyClient.xyHex.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await cli.waitFor(new RegExp(`session 127\\.0\\.0\\.1:\\d+ raw public key sha256:${fp}… \\(${escaped}\\) suite=0xc0ae`), 1000);
    expect(cli.stdout).toBe('hello coaps cli\n');
    gc.end();
    await cli.waitFor(/closed 127\.0\.0\.1:\d+\n/, 3000);
    expect((await gc.waitExit(3000)).code).toBe(0);
    expectRawPublicKeySent(tap, 's2c', serverSpki);
    expectRawPublicKeySent(tap, 'c2s', clientSpki);
    cli.signal('SIGTERM');
    expect((await cli.waitExit(3000)).code, cli.describe()).toBe(0);
    expect(cli.stderr).not.toMatch(/handshake failed/);
  });

  it.skipIf(!built)('coaps dtls client --key <hex> --trust <x‖y> -> gnutls-serv (raw public keys, mutual)', async () => {
    const sPort = await nextPort();
    const gs = gnutlsServ(sPort, ['--require-client-cert']);
    await gs.waitFor(GNUTLS_SERV_READY, 5000);
    const tap = await UdpTap.start(await nextPort(), sPort);
    const cli = runPeer(process.execPath, [CLI, 'dtls', 'client', `${LOOPBACK}:${tap.port}`, '--key', tinyClient.scalarHex, '--trust', tinyServer.xyHex, '--timeout', '5000'], {
      timeoutMs: 15_000,
      stdin: 'hello from the coaps cli\n',
    });
    await cli.waitFor(/hello from the coaps cli/, 5000); // gnutls-serv's echo on our stdout
    cli.end(); // EOF: the CLI waits --wait (500 ms), then close_notify
    const exit = await cli.waitExit(5000);
    expect(exit.code, cli.describe()).toBe(0);
    expect(cli.stdout).toBe('hello from the coaps cli\n');
    const fp = sha256hex(serverSpki).slice(0, 16);
    expect(cli.stderr).toMatch(new RegExp(`connected to 127\\.0\\.0\\.1:\\d+: raw public key sha256:${fp}… \\(.*tinydtls-server\\.xy\\.hex\\) suite=0xc0ae`));
    await gs.waitFor(/EOF/, 3000);
    expect(gs.output).not.toMatch(/Error/);
    expectRawPublicKeySent(tap, 's2c', serverSpki);
    expectRawPublicKeySent(tap, 'c2s', clientSpki);
    const alerts = tap.records().filter((r) => r.type === CONTENT_TYPE.alert);
    expect(alerts.map((a) => [a.dir, a.epoch, a.length])).toEqual([['c2s', 1, 18]]);
  });
});

describe('failures, live', () => {
  /** Our client against s_server (server.crt) with `opts`: the error, and what s_server printed. */
  async function clientRejectsServer(opts: Omit<ConnectOptions, 'host' | 'port'>, alertText: RegExp, alert: number) {
    const sPort = await nextPort();
    const ss = opensslServer(sPort);
    await ss.waitFor(/ACCEPT/, 5000);
    const tap = await UdpTap.start(await nextPort(), sPort);
    const err = await ourClientFails(tap.port, opts);
    // s_server reads our fatal alert (sent in plaintext: the handshake never finished)
    await ss.waitFor(alertText, 3000);
    expect(ss.output).toMatch(new RegExp(`SSL alert number ${alert}`));
    expect(plaintextAlerts(tap)).toEqual([['c2s', 2, alert]]);
    return err;
  }

  it('our client trusting other-ca.crt -> s_server: UNKNOWN_CA, s_server reads "unknown ca"', async () => {
    const err = await clientRejectsServer({ trust: { ca: pki('other-ca.crt') } }, /alert unknown ca/, AlertDescription.unknown_ca);
    expect(err.code).toBe('UNKNOWN_CA');
    expect(err.alert).toBe(AlertDescription.unknown_ca);
  });

  it("our client with serverName 'wrong.example' -> s_server: CERTIFICATE_UNKNOWN", async () => {
    const err = await clientRejectsServer({ trust: { ca: pki('ca.crt') }, serverName: 'wrong.example' }, /alert certificate unknown/, AlertDescription.certificate_unknown);
    expect(err.code).toBe('CERTIFICATE_UNKNOWN');
    expect(err.alert).toBe(AlertDescription.certificate_unknown);
    expect(err.message).toMatch(/wrong\.example/);
  });

  it('our client with a clock in 2050 (keyStore({ca, clock})) -> s_server: CERTIFICATE_EXPIRED', async () => {
    const trust = keyStore({ ca: pki('ca.crt'), clock: () => new Date('2050-01-01') });
    const err = await clientRejectsServer({ trust }, /alert certificate expired/, AlertDescription.certificate_expired);
    expect(err.code).toBe('CERTIFICATE_EXPIRED');
    expect(err.alert).toBe(AlertDescription.certificate_expired);
  });

  it('s_client presenting stranger.crt (other-ca) -> our server requiring client auth: UNKNOWN_CA, then a good client is served', async () => {
    const srv = await ourKeyLoggingServer({ ecdhe: x509Server(), keyStore: { ca: pki('ca.crt') }, clientAuth: 'required' });
    const tap = await UdpTap.start(await nextPort(), srv.port);
    const bad = opensslClient(tap.port, ['-cert', pkiPath('stranger.crt'), '-key', pkiPath('stranger.key')]);
    bad.write('never delivered\n');
    const exit = await bad.waitExit(5000);
    expect(exit.code).not.toBe(0);
    expect(bad.stderr).toMatch(/alert unknown ca/);
    await waitFor(() => srv.handshakeErrors.length > 0, 2000, "'handshakeError'");
    expect(srv.handshakeErrors).toHaveLength(1);
    const { error, peer } = srv.handshakeErrors[0]!;
    expect(error).toBeInstanceOf(DtlsError);
    expect(error.code).toBe('UNKNOWN_CA');
    expect(error.alert).toBe(AlertDescription.unknown_ca);
    expect(peer.address).toBe(LOOPBACK);
    expect(srv.sessions).toEqual([]);
    expect(srv.received).toEqual([]);
    expect(plaintextAlerts(tap)).toEqual([['s2c', 2, AlertDescription.unknown_ca]]);

    const good = opensslClient(tap.port, ['-cert', pkiPath('client.crt'), '-key', pkiPath('client.key')]);
    good.write('after the stranger\n');
    await good.waitFor(/after the stranger/, 5000);
    expect(srv.sessions).toHaveLength(1);
    expectX509Identity(srv.sessions[0]!.info.identity, 'client.example', 'client.crt');
    good.end();
    await waitFor(() => srv.closes.length > 0, 3000, "our session's 'close'");
    expect(srv.closes.map((c) => c.error)).toEqual([undefined]);
    expect(srv.handshakeErrors).toHaveLength(1);
    expect((await good.waitExit(3000)).code).toBe(0);
  });

  it('gnutls-cli with an untrusted raw public key -> our server (clientAuth required): CERTIFICATE_UNKNOWN, then the trusted key is served', async () => {
    const srv = await ourKeyLoggingServer({
      ecdhe: { key: readFileSync(tinyServer.keyPem, 'utf8'), rawPublicKey: true },
      keyStore: { rawPublicKeys: [[readFileSync(tinyClient.pubPem, 'utf8'), 'tinydtls-client']] },
      clientAuth: 'required',
    });
    const tap = await UdpTap.start(await nextPort(), srv.port);
    const gc = gnutlsCli(tap.port, stranger);
    gc.write('never delivered\n');
    const exit = await gc.waitExit(5000);
    expect(exit.code).not.toBe(0);
    expect(gc.output).toMatch(/Received alert \[46\]: Unknown certificate/);
    await waitFor(() => srv.handshakeErrors.length > 0, 2000, "'handshakeError'");
    expect(srv.handshakeErrors).toHaveLength(1);
    const { error } = srv.handshakeErrors[0]!;
    expect(error.code).toBe('CERTIFICATE_UNKNOWN');
    expect(error.alert).toBe(AlertDescription.certificate_unknown);
    expect(srv.sessions).toEqual([]);
    expect(srv.received).toEqual([]);
    expectRawPublicKeySent(tap, 'c2s', spkiDer(readFileSync(stranger.pubPem, 'utf8')));
    expect(plaintextAlerts(tap)).toEqual([['s2c', 2, AlertDescription.certificate_unknown]]);

    // the trusted key is still served
    const good = gnutlsCli(tap.port, tinyClient);
    await good.waitFor(/Handshake was completed/, 5000);
    good.write('trusted after all\n');
    await waitFor(() => good.stdout.split('\n').includes('trusted after all'), 3000, 'the echo on stdout');
    expect(srv.sessions).toHaveLength(1);
    expectRpkIdentity(srv.sessions[0]!.info.identity, clientSpki, 'tinydtls-client');
    good.end();
    await waitFor(() => srv.closes.length > 0, 3000, "our session's 'close'");
    expect(srv.closes.map((c) => c.error)).toEqual([undefined]);
    expect(srv.handshakeErrors).toHaveLength(1);
  });
});

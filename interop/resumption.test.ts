/**
 * Session resumption (RFC 5246 §7.3 abbreviated handshake; RFC 5077 session tickets) against
 * real peers, both roles, live on 127.0.0.1 (interop/PEERS.md): OpenSSL 3.0 s_client
 * (`-sess_out`/`-sess_in`) and s_server, GnuTLS 3.7 gnutls-cli (`--resume`) and gnutls-serv,
 * and our CLI (`coaps dtls client --resume FILE`), with TLS_PSK_WITH_AES_128_CCM_8.
 *
 * Every case goes through a recording relay (helpers.ts `UdpTap`) and checks the handshake
 * on the wire, independently of our engine: the full handshake has a ServerHelloDone, the
 * abbreviated one has none (and no key exchange): the server answers the ClientHello with
 * ServerHello, ChangeCipherSpec and Finished, and the client finishes; the ServerHello echoes
 * the session_id the client offered (RFC 5246 §7.4.1.3, RFC 5077 §3.4).
 *
 * What the peers do (seen here):
 * - s_client sends an empty SessionTicket extension by default; our server (tickets on by
 *   default for clients that ask) answers with a NewSessionTicket and an empty session_id;
 *   s_client makes up a session ID itself and, with `-sess_in`, offers it with the ticket: the
 *   resumption goes by ticket. With `-no_ticket` it goes by session ID from our cache.
 * - s_server (its internal cache, on by default) serves two clients in a row with `-naccept 2`
 *   and resumes by session ID, or by ticket for a client that asks; it does not renew the
 *   ticket in the abbreviated handshake.
 * - gnutls-cli --resume reconnects from a new port within one run and offers a ticket by
 *   default (session ID with `--noticket`); gnutls-serv serves the two connections of our
 *   client one after the other in one run (its resumption database, or a ticket).
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pskMap, type DtlsSession } from '../lib/entry/dtls.js';
import { decodeClientResumption } from '../lib/dtls/resumption.js';
import {
  CLI,
  CONTENT_TYPE,
  GNUTLS_PSK_PRIORITY,
  LOOPBACK,
  PSK_HEX,
  PSK_IDENTITY,
  killAllPeers,
  portAllocator,
  removeTempDirs,
  runCleanups,
  runPeer,
  tempDir,
  UdpTap,
  waitFor,
  type Peer,
} from './helpers.js';
import { ourClient, ourEchoServer, text, type OurServer } from './our-dtls.js';

const nextPort = portAllocator('interop/resumption.test.ts');

const KEY = Buffer.from(PSK_HEX, 'hex');
const IDENTITY = new TextEncoder().encode(PSK_IDENTITY);
const PSK = { identity: IDENTITY, key: KEY };
const OPENSSL_PSK = ['-psk', PSK_HEX, '-psk_identity', PSK_IDENTITY, '-cipher', 'PSK-AES128-CCM8'];

/** RFC 5246 §7.4 HandshakeType values seen here. */
const HS = { client_hello: 1, server_hello: 2, hello_verify_request: 3, new_session_ticket: 4, server_key_exchange: 12, server_hello_done: 14, client_key_exchange: 16 } as const;
/** RFC 5077 SessionTicket extension. */
const EXT_SESSION_TICKET = 35;

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
// The handshake on the wire

interface Message {
  type: number;
  body: Buffer;
}

/** One connection through the tap (one client source port): its plaintext handshake and ChangeCipherSpecs, in order. */
interface Connection {
  clientPort: number;
  /** epoch-0 handshake messages each way (unfragmented on loopback) */
  c2s: Message[];
  s2c: Message[];
  /** direction of each ChangeCipherSpec, in the order they crossed */
  ccs: Array<'c2s' | 's2c'>;
}

/** The tap's connections in order of their first datagram (each client connection comes from its own port). */
function connections(tap: UdpTap): Connection[] {
  const byPort = new Map<number, Connection>();
  for (const r of tap.records()) {
    let c = byPort.get(r.clientPort);
    if (!c) byPort.set(r.clientPort, (c = { clientPort: r.clientPort, c2s: [], s2c: [], ccs: [] }));
    if (r.type === CONTENT_TYPE.change_cipher_spec) c.ccs.push(r.dir);
    if (r.type !== CONTENT_TYPE.handshake || r.epoch !== 0) continue;
    for (let at = 0; at + 12 <= r.fragment.length; ) {
      const length = r.fragment.readUIntBE(at + 1, 3);
      const fragmentLength = r.fragment.readUIntBE(at + 9, 3);
      expect(fragmentLength, 'an unfragmented handshake message').toBe(length);
      c[r.dir].push({ type: r.fragment[at]!, body: r.fragment.subarray(at + 12, at + 12 + fragmentLength) });
      at += 12 + fragmentLength;
    }
  }
  return [...byPort.values()];
}

/** A ClientHello without the cookie repeat: the last one (the one that carried the cookie). */
const lastOf = (msgs: Message[], type: number): Message => {
  const m = msgs.filter((x) => x.type === type).at(-1);
  if (!m) throw new Error(`no handshake message of type ${type}`);
  return m;
};

/** ServerHello.session_id (RFC 5246 §7.4.1.3: version, random, then session_id<0..32>). */
function serverHelloSessionId(body: Buffer): Buffer {
  return body.subarray(35, 35 + body[34]!);
}

/** ClientHello.session_id and its extensions (type -> data). */
function parseClientHello(body: Buffer): { sessionId: Buffer; extensions: Map<number, Buffer> } {
  let at = 2 + 32;
  const sessionId = body.subarray(at + 1, at + 1 + body[at]!);
  at += 1 + body[at]!;
  at += 1 + body[at]!; // cookie
  at += 2 + body.readUInt16BE(at); // cipher_suites
  at += 1 + body[at]!; // compression_methods
  const extensions = new Map<number, Buffer>();
  if (at < body.length) {
    const end = at + 2 + body.readUInt16BE(at);
    for (at += 2; at < end; at += 4 + body.readUInt16BE(at + 2)) extensions.set(body.readUInt16BE(at), body.subarray(at + 4, at + 4 + body.readUInt16BE(at + 2)));
  }
  return { sessionId, extensions };
}

/** The server's plaintext messages of a full PSK handshake: a ServerHelloDone, a ServerHello with this many session_id bytes. */
function expectFull(c: Connection): void {
  expect(c.s2c.map((m) => m.type)).toContain(HS.server_hello_done);
  expect(c.c2s.map((m) => m.type)).toContain(HS.client_key_exchange);
}

/**
 * The abbreviated handshake (RFC 5246 §7.3): after the cookie exchange the server's only
 * plaintext message is the ServerHello (no ServerKeyExchange, no ServerHelloDone; a renewed
 * ticket may come with it), it sends its ChangeCipherSpec first, the client answers with its
 * own, and no ClientKeyExchange crosses. The ServerHello echoes the offered session_id.
 * Returns that session_id and the ClientHello's extensions.
 */
function expectAbbreviated(c: Connection, o: { ticketRenewed?: boolean } = {}): { sessionId: Buffer; extensions: Map<number, Buffer> } {
  const types = c.s2c.map((m) => m.type);
  expect(types).not.toContain(HS.server_hello_done);
  expect(types).not.toContain(HS.server_key_exchange);
  const expected = o.ticketRenewed ? [HS.hello_verify_request, HS.server_hello, HS.new_session_ticket] : [HS.hello_verify_request, HS.server_hello];
  if (o.ticketRenewed === undefined) expect(types.filter((t) => t !== HS.new_session_ticket)).toEqual(expected);
  else expect(types).toEqual(expected);
  expect(c.c2s.map((m) => m.type)).toEqual([HS.client_hello, HS.client_hello]);
  expect(c.ccs, 'the server changes cipher spec first, then the client').toEqual(['s2c', 'c2s']);
  const hello = parseClientHello(lastOf(c.c2s, HS.client_hello).body);
  expect(hello.sessionId.length).toBeGreaterThan(0);
  expect(serverHelloSessionId(lastOf(c.s2c, HS.server_hello).body).toString('hex'), 'the ServerHello echoes the session_id').toBe(hello.sessionId.toString('hex'));
  return hello;
}

// ---------------------------------------------------------------------------------------
// Peers and our side

/** s_client: sends `line`, waits for the echo, closes at EOF (close_notify). */
async function sClient(port: number, line: string, extra: string[]): Promise<Peer> {
  const sc = runPeer('openssl', ['s_client', '-dtls1_2', '-connect', `${LOOPBACK}:${port}`, ...OPENSSL_PSK, '-no_ign_eof', ...extra], { timeoutMs: 15_000 });
  sc.write(`${line}\n`);
  await sc.waitFor(new RegExp(`^${line}$`, 'm'), 5000);
  sc.end();
  expect((await sc.waitExit(5000)).code, sc.describe()).toBe(0);
  return sc;
}

function sServer(port: number, extra: string[] = []): Peer {
  return runPeer('openssl', ['s_server', '-dtls1_2', '-accept', `${LOOPBACK}:${port}`, '-nocert', '-psk', PSK_HEX, '-cipher', 'PSK-AES128-CCM8', '-naccept', '2', ...extra], {
    timeoutMs: 20_000,
  });
}

async function gnutlsServ(extra: string[] = []): Promise<{ peer: Peer; port: number }> {
  const keys = join(tmp, 'keys.psk');
  writeFileSync(keys, `${PSK_IDENTITY}:${PSK_HEX}\n`, { mode: 0o600 });
  const port = await nextPort();
  // gnutls-serv binds every address: only ever reach it on 127.0.0.1 (PEERS.md)
  const peer = runPeer('stdbuf', ['-oL', '-eL', 'gnutls-serv', '--udp', '--echo', '-p', String(port), '--pskpasswd', keys, '--priority', GNUTLS_PSK_PRIORITY, ...extra], {
    timeoutMs: 20_000,
    maxOutput: 64 * 1024,
  });
  await peer.waitFor(/listening on IPv4 0\.0\.0\.0 port \d+\.\.\.done/, 5000);
  return { peer, port };
}

/**
 * Our client: connects, sends `line`, waits until it arrived (the echo, or what `arrived`
 * says: s_server only prints it), closes; returns the session and its resumption blob.
 */
async function ourRound(
  port: number,
  line: string,
  o: { resume?: Uint8Array; sessionTickets?: boolean } = {},
  arrived?: () => boolean,
): Promise<{ session: DtlsSession; blob: Uint8Array | undefined }> {
  const c = await ourClient(port, { psk: PSK, ...o });
  c.session.send(`${line}\n`);
  await waitFor(arrived ?? (() => c.received().includes(line)), 3000, `${line} to arrive`);
  const blob = c.session.resumption;
  await c.session.close();
  return { session: c.session, blob };
}

/** Our server's sessions' `resumed`, in order. */
const resumedFlags = (srv: OurServer) => srv.sessions.map((s) => s.info.resumed === true);

// ---------------------------------------------------------------------------------------

describe('OpenSSL 3.0 s_client -sess_out / -sess_in -> our server', () => {
  it('-no_ticket: resumes by session ID from our cache', async () => {
    const srv = await ourEchoServer(await nextPort(), { psk: pskMap([[PSK_IDENTITY, KEY]]) });
    const tap = await UdpTap.start(await nextPort(), srv.port);
    const sess = join(tmp, 'openssl-id.sess');
    const first = await sClient(tap.port, 'first', ['-sess_out', sess, '-no_ticket']);
    expect(first.output).toMatch(/^New, TLSv1\.2, Cipher is PSK-AES128-CCM8/m);
    const second = await sClient(tap.port, 'second', ['-sess_in', sess, '-no_ticket']);
    expect(second.output).toMatch(/^Reused, TLSv1\.2, Cipher is PSK-AES128-CCM8/m);

    const [full, abbreviated] = connections(tap);
    expectFull(full!);
    const givenId = serverHelloSessionId(lastOf(full!.s2c, HS.server_hello).body);
    expect(givenId.length, 'our server names the session in its ServerHello').toBe(32);
    expect(parseClientHello(lastOf(full!.c2s, HS.client_hello).body).extensions.has(EXT_SESSION_TICKET)).toBe(false);
    const { sessionId } = expectAbbreviated(abbreviated!, { ticketRenewed: false });
    expect(sessionId.toString('hex'), 's_client offers the session ID our server gave').toBe(givenId.toString('hex'));

    await waitFor(() => srv.closes.length === 2, 3000, 'both sessions closed');
    expect(resumedFlags(srv)).toEqual([false, true]);
    expect(srv.sessions.map((s) => text(s.peerIdentity))).toEqual([PSK_IDENTITY, PSK_IDENTITY]);
    expect(srv.sessions[1]!.info.extendedMasterSecret).toBe(true);
    expect(srv.received).toEqual(['first\n', 'second\n']);
    expect(srv.closes.map((c) => c.error)).toEqual([undefined, undefined]);
  });

  it('by default (the SessionTicket extension): our server gives a ticket, s_client resumes with it', async () => {
    const srv = await ourEchoServer(await nextPort(), { psk: pskMap([[PSK_IDENTITY, KEY]]) });
    const tap = await UdpTap.start(await nextPort(), srv.port);
    const sess = join(tmp, 'openssl-ticket.sess');
    const first = await sClient(tap.port, 'first', ['-sess_out', sess]);
    expect(first.output).toMatch(/^New, TLSv1\.2/m);
    expect(first.output).toMatch(/TLS session ticket lifetime hint: \d+/);
    const second = await sClient(tap.port, 'second', ['-sess_in', sess]);
    expect(second.output).toMatch(/^Reused, TLSv1\.2, Cipher is PSK-AES128-CCM8/m);

    const [full, abbreviated] = connections(tap);
    expectFull(full!);
    // s_client asked (an empty SessionTicket extension); we sent a NewSessionTicket and no session ID
    expect(parseClientHello(lastOf(full!.c2s, HS.client_hello).body).extensions.get(EXT_SESSION_TICKET)?.length).toBe(0);
    expect(full!.s2c.map((m) => m.type)).toContain(HS.new_session_ticket);
    expect(serverHelloSessionId(lastOf(full!.s2c, HS.server_hello).body).length).toBe(0);
    const ticket = lastOf(full!.s2c, HS.new_session_ticket).body.subarray(6); // lifetime_hint u32, ticket<0..2^16-1>
    // the abbreviated handshake: the ticket comes back in the extension, with a session ID of
    // s_client's own making (RFC 5077 §3.4), which our server echoes
    const { extensions } = expectAbbreviated(abbreviated!);
    expect(extensions.get(EXT_SESSION_TICKET)?.toString('hex')).toBe(ticket.toString('hex'));

    await waitFor(() => srv.closes.length === 2, 3000, 'both sessions closed');
    expect(resumedFlags(srv)).toEqual([false, true]);
    expect(text(srv.sessions[1]!.peerIdentity)).toBe(PSK_IDENTITY);
    expect(srv.received).toEqual(['first\n', 'second\n']);
  });

  it('a server with tickets off and no cache gives nothing to resume: s_client keeps no session', async () => {
    const srv = await ourEchoServer(await nextPort(), { psk: pskMap([[PSK_IDENTITY, KEY]]), sessionCache: false, sessionTickets: false });
    const tap = await UdpTap.start(await nextPort(), srv.port);
    const sess = join(tmp, 'openssl-none.sess');
    await sClient(tap.port, 'first', ['-sess_out', sess]);
    const [full] = connections(tap);
    expectFull(full!);
    // s_client asked for a ticket; the answer has no SessionTicket extension, no ticket and no session ID
    expect(parseClientHello(lastOf(full!.c2s, HS.client_hello).body).extensions.get(EXT_SESSION_TICKET)?.length).toBe(0);
    expect(full!.s2c.map((m) => m.type)).not.toContain(HS.new_session_ticket);
    expect(serverHelloSessionId(lastOf(full!.s2c, HS.server_hello).body).length).toBe(0);
    expect(existsSync(sess), 'OpenSSL writes no session it cannot resume').toBe(false);
    await waitFor(() => srv.closes.length === 1, 3000, 'the session closed');
    expect(resumedFlags(srv)).toEqual([false]);
  });
});

describe('our client -> OpenSSL 3.0 s_server -naccept 2 (its internal session cache)', () => {
  it('by session ID: the second connection resumes, no ServerKeyExchange or ServerHelloDone', async () => {
    const sPort = await nextPort();
    const ss = sServer(sPort);
    await ss.waitFor(/ACCEPT/, 5000);
    const tap = await UdpTap.start(await nextPort(), sPort);

    const printed = (line: string) => () => ss.stdout.includes(`${line}\n`);
    const one = await ourRound(tap.port, 'first', {}, printed('first'));
    expect(one.session.info.resumed).toBe(false);
    expect(one.blob).toBeInstanceOf(Uint8Array);
    const r = decodeClientResumption(one.blob!);
    expect(r.sessionId.length).toBe(32);
    expect(r.ticket).toBeUndefined();
    await ss.waitFor(/^DONE$/m, 3000); // the rest of its log stays in its stdout buffer until it exits
    const two = await ourRound(tap.port, 'second', { resume: one.blob! }, printed('second'));
    expect(two.session.info.resumed).toBe(true);
    expect(two.session.info.identity).toEqual({ kind: 'psk', identity: IDENTITY });
    await ss.waitFor(/Reused session-id[\s\S]*second/, 3000);

    const [full, abbreviated] = connections(tap);
    expectFull(full!);
    const { sessionId } = expectAbbreviated(abbreviated!, { ticketRenewed: false });
    expect(sessionId.toString('hex')).toBe(Buffer.from(r.sessionId).toString('hex'));
    expect((await ss.waitExit(5000)).code, ss.describe()).toBe(0);
    expect(ss.output).toMatch(/1 session cache hits/);
  });

  it('sessionTickets: s_server sends a NewSessionTicket, our second ClientHello carries it back and resumes', async () => {
    const sPort = await nextPort();
    const ss = sServer(sPort);
    await ss.waitFor(/ACCEPT/, 5000);
    const tap = await UdpTap.start(await nextPort(), sPort);

    const printed = (line: string) => () => ss.stdout.includes(`${line}\n`);
    const one = await ourRound(tap.port, 'first', { sessionTickets: true }, printed('first'));
    const r = decodeClientResumption(one.blob!);
    expect(r.ticket?.length).toBeGreaterThan(0);
    expect(r.expiresAt).toBeGreaterThan(Date.now());
    await ss.waitFor(/^DONE$/m, 3000); // the rest of its log stays in its stdout buffer until it exits
    const two = await ourRound(tap.port, 'second', { resume: one.blob!, sessionTickets: true }, printed('second'));
    expect(two.session.info.resumed).toBe(true);

    const [full, abbreviated] = connections(tap);
    expectFull(full!);
    expect(full!.s2c.map((m) => m.type)).toContain(HS.new_session_ticket);
    const { extensions } = expectAbbreviated(abbreviated!);
    expect(extensions.get(EXT_SESSION_TICKET)?.toString('hex')).toBe(Buffer.from(r.ticket!).toString('hex'));
    expect((await ss.waitExit(5000)).code, ss.describe()).toBe(0);
  });
});

describe('GnuTLS 3.7', () => {
  /** gnutls-cli --resume: a full handshake, then a resumed one from a new port, then stdin (one line) and EOF. */
  async function gnutlsResume(port: number, priority = GNUTLS_PSK_PRIORITY): Promise<Peer> {
    const gc = runPeer('gnutls-cli', ['--udp', '--resume', '-p', String(port), '--pskusername', PSK_IDENTITY, '--pskkey', PSK_HEX, '--priority', priority, LOOPBACK], {
      timeoutMs: 15_000,
    });
    await gc.waitFor(/Resume Handshake was completed/, 8000);
    gc.write('after resuming\n');
    await waitFor(() => gc.stdout.split('\n').includes('after resuming'), 3000, 'the echo on stdout');
    gc.end();
    expect((await gc.waitExit(5000)).code, gc.describe()).toBe(0);
    expect(gc.output).toMatch(/\*\*\* This is a resumed session/);
    return gc;
  }

  it('gnutls-cli --resume -> our server: resumes by ticket (GnuTLS asks for one by default)', async () => {
    const srv = await ourEchoServer(await nextPort(), { psk: pskMap([[PSK_IDENTITY, KEY]]) });
    const tap = await UdpTap.start(await nextPort(), srv.port);
    await gnutlsResume(tap.port);
    const [full, abbreviated] = connections(tap);
    expectFull(full!);
    expect(full!.s2c.map((m) => m.type)).toContain(HS.new_session_ticket);
    const { extensions } = expectAbbreviated(abbreviated!);
    expect(extensions.get(EXT_SESSION_TICKET)?.length).toBeGreaterThan(0);
    await waitFor(() => srv.closes.length === 2, 3000, 'both sessions closed');
    expect(resumedFlags(srv)).toEqual([false, true]);
    expect(srv.received).toEqual(['after resuming\n']);
  });

  // gnutls-cli 3.7.9's --noticket still offers the SessionTicket extension over DTLS (and
  // resumes by ticket): the priority keyword %NO_TICKETS is what leaves it out.
  it('gnutls-cli --resume with %NO_TICKETS -> our server: resumes by session ID', async () => {
    const srv = await ourEchoServer(await nextPort(), { psk: pskMap([[PSK_IDENTITY, KEY]]) });
    const tap = await UdpTap.start(await nextPort(), srv.port);
    await gnutlsResume(tap.port, `${GNUTLS_PSK_PRIORITY}:%NO_TICKETS`);
    const [full, abbreviated] = connections(tap);
    expectFull(full!);
    expect(full!.s2c.map((m) => m.type)).not.toContain(HS.new_session_ticket);
    const givenId = serverHelloSessionId(lastOf(full!.s2c, HS.server_hello).body);
    expect(givenId.length).toBe(32);
    const { sessionId, extensions } = expectAbbreviated(abbreviated!, { ticketRenewed: false });
    expect(sessionId.toString('hex')).toBe(givenId.toString('hex'));
    expect(extensions.has(EXT_SESSION_TICKET)).toBe(false);
    await waitFor(() => srv.closes.length === 2, 3000, 'both sessions closed');
    expect(resumedFlags(srv)).toEqual([false, true]);
  });

  it('our client -> gnutls-serv: by session ID, then by ticket, each resumed in the same run', async () => {
    const gs = await gnutlsServ();
    const tap = await UdpTap.start(await nextPort(), gs.port);

    const one = await ourRound(tap.port, 'by-id-1');
    expect(decodeClientResumption(one.blob!).sessionId.length).toBeGreaterThan(0);
    const two = await ourRound(tap.port, 'by-id-2', { resume: one.blob! });
    expect(two.session.info.resumed).toBe(true);

    const three = await ourRound(tap.port, 'by-ticket-1', { sessionTickets: true });
    expect(decodeClientResumption(three.blob!).ticket?.length).toBeGreaterThan(0);
    const four = await ourRound(tap.port, 'by-ticket-2', { resume: three.blob!, sessionTickets: true });
    expect(four.session.info.resumed).toBe(true);

    const cs = connections(tap);
    expect(cs).toHaveLength(4);
    expectFull(cs[0]!);
    expectAbbreviated(cs[1]!, { ticketRenewed: false });
    expectFull(cs[2]!);
    expect(cs[2]!.s2c.map((m) => m.type)).toContain(HS.new_session_ticket);
    const { extensions } = expectAbbreviated(cs[3]!);
    expect(extensions.get(EXT_SESSION_TICKET)?.toString('hex')).toBe(Buffer.from(decodeClientResumption(three.blob!).ticket!).toString('hex'));
    expect(gs.peer.output.match(/Accepted connection from/g)).toHaveLength(4);
  });
});

describe('CLI: coaps dtls client --resume FILE against coaps dtls server', () => {
  const built = existsSync(CLI) || !!process.env.CI; // `npm ci` builds dist/ (prepare)

  it.skipIf(!built)('the second run resumes (its log says so), the file is kept with mode 0600', async () => {
    const sPort = await nextPort();
    const server = runPeer(process.execPath, [CLI, 'dtls', 'server', '--listen', `${LOOPBACK}:${sPort}`, '--psk', `${PSK_IDENTITY}:${PSK_HEX}`, '--echo'], { timeoutMs: 20_000 });
    await server.waitFor(/listening on/, 5000);
    const tap = await UdpTap.start(await nextPort(), sPort);
    const file = join(tmp, 'cli-session.bin');
    const run = async (line: string): Promise<Peer> => {
      const cli = runPeer(process.execPath, [CLI, 'dtls', 'client', `${LOOPBACK}:${tap.port}`, '--psk', `${PSK_IDENTITY}:${PSK_HEX}`, '--resume', file, '--timeout', '5000', '--wait', '300'], {
        timeoutMs: 15_000,
        stdin: `${line}\n`,
        endStdin: true,
      });
      const exit = await cli.waitExit(10_000);
      expect(exit.code, cli.describe()).toBe(0);
      expect(cli.stdout).toBe(`${line}\n`);
      return cli;
    };
    const first = await run('one');
    expect(first.stderr).not.toMatch(/resumed/);
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const kept = decodeClientResumption(new Uint8Array(readFileSync(file)));
    expect(kept.server).toBe(`${LOOPBACK}:${tap.port}`);

    const second = await run('two');
    expect(second.stderr).toMatch(new RegExp(`^resumed the session kept in ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(abbreviated handshake\\)$`, 'm'));
    expect(second.stderr).toMatch(/^connected to .* resumed$/m);
    await server.waitFor(/session 127\.0\.0\.1:\d+ psk identity=Client_identity suite=0xc0a8 resumed/, 3000);
    const [full, abbreviated] = connections(tap);
    expectFull(full!);
    expectAbbreviated(abbreviated!, { ticketRenewed: false });

    // a file that is not a session: a full handshake, said so, and a good file again
    writeFileSync(file, 'garbage', { mode: 0o600 });
    const third = await run('three');
    expect(third.stderr).toMatch(/ignoring .*: not a session to resume/);
    expect(decodeClientResumption(new Uint8Array(readFileSync(file))).sessionId.length).toBe(32);
    server.signal('SIGTERM');
    await server.waitExit(5000);
  });
});

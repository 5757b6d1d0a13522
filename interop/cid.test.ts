/**
 * RFC 9146 Connection ID live on 127.0.0.1: our client (`connectionId: true`) and our server
 * (`connectionId: 4`) through a relay (helpers.ts `UdpTap`) that moves the client to a new
 * source port mid-session, as a NAT rebinding does (`moveClient`: the server sees the client's
 * records come from a new port, and the old mapping is gone).
 *
 * With a CID the session follows the client (RFC 9146 §6): its next record, authenticated and
 * newer than any before, moves the session to the new address; the server's DtlsServer emits
 * 'peerMoved', the session's `peer` is the new port, and the answers reach the client from
 * there. A captured record replayed from another port moves nothing. Without a CID the same
 * move leaves the server with no session for the new port (its records are dropped) and the old
 * session where it was: a new address never takes a session over.
 *
 * CoAP over it: an observation (RFC 7641) on coaps:// keeps delivering notifications after the
 * move. The server learns the new address only from a record the client sends from there (the
 * relay loses what it still sends to the old port), and until a second one confirms the
 * address it sends there at most three times what it received (the endpoint's anti-
 * amplification bound, endpoint-moves.ts movePeer()): confirmable notifications are ACKed, which
 * confirms the address at once; non-confirmable ones stall after the bound until the client's
 * next message.
 */
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { CoapClient, createServer as createCoapServer, type CoapResponse } from '../lib/entry/coap.js';
import { demoRouter } from '../lib/cli/serve.js';
import { pskMap, type DtlsSession, type PeerAddress } from '../lib/entry/dtls.js';
import { CLI, CONTENT_TYPE, LOOPBACK, PSK_HEX, PSK_IDENTITY, killAllPeers, onCleanup, portAllocator, runCleanups, runPeer, sleep, UdpTap, waitFor } from './helpers.js';
import { FAST, ourClient, ourEchoServer, type OurClient, type OurServer } from './our-dtls.js';

const nextPort = portAllocator('interop/cid.test.ts');

const KEY = Buffer.from(PSK_HEX, 'hex');
const IDENTITY = new TextEncoder().encode(PSK_IDENTITY);
const PSK = { identity: IDENTITY, key: KEY };
const SERVER_PSK = pskMap([[PSK_IDENTITY, KEY]]);
/** The server's CID length (the client asks for none: it keeps its socket). */
const CID_LENGTH = 4;

afterEach(async () => {
  await killAllPeers();
  await runCleanups();
});

/** Sends a line and waits for its echo. */
async function roundTrip(c: OurClient, line: string): Promise<void> {
  c.session.send(`${line}\n`);
  await waitFor(() => c.received().includes(`${line}\n`), 3000, `the echo of ${line}`);
}

interface Setup {
  srv: OurServer;
  tap: UdpTap;
  c: OurClient;
  /** the client's own port (the tap's front side) */
  clientPort: number;
  /** the client's port as the server first saw it */
  oldPort: number;
  moves: Array<{ to: PeerAddress; from: PeerAddress }>;
}

async function setup(cid: boolean): Promise<Setup> {
  const srv = await ourEchoServer(await nextPort(), { psk: SERVER_PSK, ...(cid ? { connectionId: CID_LENGTH } : {}) });
  const moves: Setup['moves'] = [];
  srv.server.on('peerMoved', (to: PeerAddress, from: PeerAddress) => moves.push({ to, from }));
  const tap = await UdpTap.start(await nextPort(), srv.port);
  const c = await ourClient(tap.port, { psk: PSK, ...(cid ? { connectionId: true } : {}) });
  await roundTrip(c, 'before the move');
  const clientPort = tap.datagrams[0]!.clientPort;
  return { srv, tap, c, clientPort, oldPort: await tap.upstreamPortOf(clientPort), moves };
}

describe('our client (connectionId: true) <-> our server (connectionId: 4), the client moved to a new port', () => {
  it('the session follows: records both ways, peerMoved, the session\'s peer is the new port, answers reach the client', async () => {
    const { srv, tap, c, clientPort, oldPort, moves } = await setup(true);
    expect(c.session.info.connectionId?.write.length).toBe(CID_LENGTH);
    expect(c.session.info.connectionId?.read.length).toBe(0);
    const session = srv.sessions[0]!;
    expect(session.peer.port).toBe(oldPort);
    const sessionMoves: PeerAddress[] = [];
    session.on('moved', (to: PeerAddress) => sessionMoves.push(to));
    const serverCid = Buffer.from(c.session.info.connectionId!.write);
    expect(Buffer.from(session.info.connectionId!.read).equals(serverCid)).toBe(true);

    // a captured record replayed from another port (an attacker's) moves nothing
    const captured = tap.datagrams.filter((d) => d.dir === 'c2s').at(-1)!.data;
    expect(captured[0]).toBe(CONTENT_TYPE.tls12_cid);
    const attacker = createSocket('udp4');
    onCleanup(() => attacker.close());
    await new Promise<void>((r) => attacker.bind(0, LOOPBACK, () => r()));
    attacker.send(captured, srv.port, LOOPBACK);
    await sleep(200);
    expect(moves).toEqual([]);
    expect(session.peer.port).toBe(oldPort);
    expect(srv.received).toEqual(['before the move\n']);

    const mark = tap.datagrams.length;
    const newPort = await tap.moveClient(clientPort);
    expect(newPort).not.toBe(oldPort);
    for (let i = 1; i <= 5; i++) await roundTrip(c, `after the move ${i}`);
    // the server pushes on its own too: it reaches the client at the new port
    session.send('pushed by the server\n');
    await waitFor(() => c.received().includes('pushed by the server\n'), 3000, 'the push');

    expect(moves).toHaveLength(1);
    expect(moves[0]!.from).toMatchObject({ address: LOOPBACK, port: oldPort });
    expect(moves[0]!.to).toMatchObject({ address: LOOPBACK, port: newPort });
    expect(sessionMoves.map((p) => p.port)).toEqual([newPort]);
    expect(session.peer.port).toBe(newPort);
    // one session all along: no new handshake, nothing closed or failed
    expect(srv.sessions).toHaveLength(1);
    expect(srv.server.endpoint.sessionCount).toBe(1);
    expect(srv.handshakeErrors).toEqual([]);
    expect(srv.closes).toEqual([]);
    expect(c.closeEvents).toEqual([]);
    expect(srv.server.endpoint.stats.peersMoved).toBe(1);
    expect(srv.server.endpoint.stats.amplificationDrops).toBe(0);

    // on the wire after the move: everything went through the new port; the client's records
    // are tls12_cid with the server's CID, the server's plain (the client asked for no CID)
    const after = tap.datagrams.slice(mark);
    expect(after.every((d) => d.upstreamPort === newPort)).toBe(true);
    const moved = tap.records(CID_LENGTH).filter((r) => r.upstreamPort === newPort);
    const c2s = moved.filter((r) => r.dir === 'c2s');
    const s2c = moved.filter((r) => r.dir === 's2c');
    expect(c2s.length).toBe(5);
    expect(c2s.every((r) => r.type === CONTENT_TYPE.tls12_cid && r.cid!.equals(serverCid) && r.epoch === 1)).toBe(true);
    expect(s2c.length).toBe(6);
    expect(s2c.every((r) => r.type === CONTENT_TYPE.application_data && r.epoch === 1)).toBe(true);
    expect(srv.received.slice(1)).toEqual([1, 2, 3, 4, 5].map((i) => `after the move ${i}\n`));
  });

  it('without a CID the same move finds no session: the records are dropped, the old session stays where it was', async () => {
    const { srv, tap, c, clientPort, oldPort, moves } = await setup(false);
    expect(c.session.info.connectionId).toBeUndefined();
    const session: DtlsSession = srv.sessions[0]!;
    const dropped = srv.server.endpoint.stats.datagramsDropped;
    // the relay keeps the old mapping too, so that the server can still show it uses it
    const newPort = await tap.moveClient(clientPort, { keepOld: true });
    for (let i = 0; i < 3; i++) c.session.send(`from the new port ${i}\n`);
    await waitFor(() => tap.datagrams.filter((d) => d.dir === 'c2s' && d.upstreamPort === newPort).length === 3, 2000, 'the three records to reach the server');
    await sleep(300);

    expect(srv.received).toEqual(['before the move\n']);
    expect(srv.server.endpoint.stats.datagramsDropped - dropped).toBe(3);
    expect(moves).toEqual([]);
    expect(srv.server.endpoint.stats.peersMoved).toBe(0);
    expect(session.peer.port).toBe(oldPort);
    expect(session.closed).toBe(false);
    expect(srv.server.endpoint.sessionCount).toBe(1);
    expect([...srv.server.endpoint.sessions()].map((s) => s.peer.port)).toEqual([oldPort]);
    // nothing went to the new port, and the session still answers at the old one
    expect(tap.datagrams.some((d) => d.dir === 's2c' && d.upstreamPort === newPort)).toBe(false);
    session.send('still at the old address\n');
    await waitFor(() => c.received().includes('still at the old address\n'), 3000, 'the old session to reach the client');
    expect(tap.datagrams.filter((d) => d.dir === 's2c').at(-1)!.upstreamPort).toBe(oldPort);
    expect(srv.handshakeErrors).toEqual([]);
  });
});

describe('CoAP over it: createServer({ dtls: { connectionId: 4 } }) <-> CoapClient({ dtls: { connectionId: true } })', () => {
  async function observed(confirmable: boolean) {
    const port = await nextPort();
    const route = demoRouter().handler();
    const server = createCoapServer({ dtls: { psk: SERVER_PSK, connectionId: CID_LENGTH, retransmission: FAST } }, route);
    await new Promise<void>((r) => server.listen(port, LOOPBACK, r));
    onCleanup(() => server.close());
    const tick = setInterval(() => server.notify('/time', { confirmable }), 100);
    onCleanup(() => clearInterval(tick));
    const tap = await UdpTap.start(await nextPort(), port);
    const client = new CoapClient({ dtls: { psk: PSK, connectionId: true, retransmission: FAST, timeoutMs: 5000 } });
    onCleanup(() => client.close());
    const base = `coaps://${LOOPBACK}:${tap.port}`;
    const { first, observation } = await client.observe(`${base}/time`, { timeoutMs: 5000 });
    expect(first.codeText).toBe('2.05');
    const notes: Array<{ at: number; r: CoapResponse }> = [];
    observation.on('notification', (r: CoapResponse) => notes.push({ at: tap.datagrams.length, r }));
    onCleanup(() => observation.cancel());
    await waitFor(() => notes.length >= 3, 3000, 'three notifications before the move');
    const clientPort = tap.datagrams[0]!.clientPort;
    const oldPort = await tap.upstreamPortOf(clientPort);
    return { server, tap, client, base, notes, clientPort, oldPort };
  }

  it('confirmable notifications: after the move and one request from the new port, they keep coming there', async () => {
    const { server, tap, client, base, notes, clientPort, oldPort } = await observed(true);
    const newPort = await tap.moveClient(clientPort);
    const mark = tap.datagrams.length;
    // nothing reaches the client until it sends from the new port (the old mapping is gone)
    const hello = await client.request(`${base}/hello`, { timeoutMs: 5000 });
    expect(hello.text()).toBe('Hello, coaps!');
    const n = notes.length;
    await waitFor(() => notes.length >= n + 5, 5000, 'five notifications after the move');
    const late = notes.slice(n);
    expect(late.every((x) => x.r.codeText === '2.05' && /^\d{4}-\d\d-\d\dT/.test(x.r.text()))).toBe(true);
    const seqs = notes.map((x) => x.r.observe!);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
    // everything since came through the new port; the one observation is still the server's
    const after = tap.datagrams.slice(mark);
    expect(after.filter((d) => d.dir === 's2c').length).toBeGreaterThanOrEqual(6);
    expect(after.every((d) => d.upstreamPort === newPort)).toBe(true);
    expect(newPort).not.toBe(oldPort);
    expect(server.observerCount).toBe(1);
  });

  it('non-confirmable notifications: bounded to three times what the new address sent until it sends again, then they flow', async () => {
    const { server, tap, client, base, notes, clientPort } = await observed(false);
    const newPort = await tap.moveClient(clientPort);
    const mark = tap.datagrams.length;
    await client.request(`${base}/hello`, { timeoutMs: 5000 });
    const before = notes.length;
    await sleep(800); // eight notification ticks
    // the response and at most a notification or two fit the bound: then they stop (seen: 1 of 8)
    expect(notes.length - before).toBeLessThanOrEqual(2);
    const fromNew = () => tap.datagrams.slice(mark).filter((d) => d.upstreamPort === newPort);
    const bytes = (dir: 'c2s' | 's2c') => fromNew().filter((d) => d.dir === dir).reduce((a, d) => a + d.data.length, 0);
    expect(bytes('s2c'), 'at most 3x what the one request brought').toBeLessThanOrEqual(3 * bytes('c2s'));
    const stalled = notes.length;
    // a second message from the new address confirms it: the bound is gone
    await client.request(`${base}/hello`, { timeoutMs: 5000 });
    await waitFor(() => notes.length >= stalled + 5, 5000, 'five notifications once the address is confirmed');
    expect(server.observerCount).toBe(1);
  });
});

describe('CLI: --cid', () => {
  const built = existsSync(CLI) || !!process.env.CI; // `npm ci` builds dist/ (prepare)
  const PSK_ARG = `${PSK_IDENTITY}:${PSK_HEX}`;

  it.skipIf(!built)('coaps dtls client --cid <-> coaps dtls server --cid 4: moved mid-session, the echo goes on, the server logs the move', async () => {
    const sPort = await nextPort();
    const server = runPeer(process.execPath, [CLI, 'dtls', 'server', '--listen', `${LOOPBACK}:${sPort}`, '--psk', PSK_ARG, '--cid', '4', '--echo'], { timeoutMs: 20_000 });
    await server.waitFor(/listening on/, 5000);
    const tap = await UdpTap.start(await nextPort(), sPort);
    const cli = runPeer(process.execPath, [CLI, 'dtls', 'client', `${LOOPBACK}:${tap.port}`, '--psk', PSK_ARG, '--cid', '--timeout', '5000', '--wait', '300'], { timeoutMs: 15_000 });
    await cli.waitFor(/^connected to .* cid=-\/[0-9a-f]{8}$/m, 5000);
    await server.waitFor(/^session 127\.0\.0\.1:\d+ psk identity=Client_identity suite=0xc0a8 cid=[0-9a-f]{8}\/-$/m, 3000);
    cli.write('before\n');
    await cli.waitFor(/^before$/m, 3000);
    const clientPort = tap.datagrams[0]!.clientPort;
    const oldPort = await tap.upstreamPortOf(clientPort);
    const newPort = await tap.moveClient(clientPort);
    cli.write('after\n');
    await cli.waitFor(/^after$/m, 3000);
    await server.waitFor(new RegExp(`^moved 127\\.0\\.0\\.1:${oldPort} -> 127\\.0\\.0\\.1:${newPort} \\(connection ID\\)$`, 'm'), 3000);
    cli.end();
    expect((await cli.waitExit(5000)).code, cli.describe()).toBe(0);
    expect(cli.stdout).toBe('before\nafter\n');
    const c2s = tap.records(CID_LENGTH).filter((r) => r.dir === 'c2s' && r.epoch === 1 && r.upstreamPort === newPort);
    expect(c2s.length).toBeGreaterThan(0);
    expect(c2s.every((r) => r.type === CONTENT_TYPE.tls12_cid)).toBe(true);
    server.signal('SIGTERM');
    await server.waitExit(5000);
  });

  it.skipIf(!built)('coaps get --cid <-> coaps serve --cid 4: the request goes in tls12_cid records', async () => {
    const sPort = await nextPort();
    const server = runPeer(process.execPath, [CLI, 'serve', '--listen', `${LOOPBACK}:${sPort}`, '--psk', PSK_ARG, '--cid', '4'], { timeoutMs: 20_000 });
    await server.waitFor(/serving coaps:/, 5000);
    const tap = await UdpTap.start(await nextPort(), sPort);
    const get = runPeer(process.execPath, [CLI, 'get', `coaps://${LOOPBACK}:${tap.port}/hello`, '--psk', PSK_ARG, '--cid'], { timeoutMs: 15_000, endStdin: true });
    expect((await get.waitExit(10_000)).code, get.describe()).toBe(0);
    expect(get.stdout).toBe('Hello, coaps!\n');
    const protectedC2s = tap.records(CID_LENGTH).filter((r) => r.dir === 'c2s' && r.epoch === 1);
    expect(protectedC2s.map((r) => r.type)).toContain(CONTENT_TYPE.tls12_cid);
    expect(protectedC2s.every((r) => r.type === CONTENT_TYPE.tls12_cid || r.type === CONTENT_TYPE.handshake)).toBe(true);
    server.signal('SIGTERM');
    await server.waitExit(5000);
  });
});

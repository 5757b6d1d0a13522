/**
 * Our client through a lossy relay (seeded, both directions) to real servers: OpenSSL 3.0
 * s_server and libcoap's coap-server-gnutls (GnuTLS 3.7). Retransmission, the dropping of a
 * half-received answer when a flight is re-sent, and the fresh start after an unanswered last
 * flight, against peers that are not ours.
 *
 * Seen here: gnutls-serv 3.7 --udp, like tinydtls, does not re-send its ChangeCipherSpec+Finished
 * when our repeated last flight shows it was lost (RFC 6347 §4.2.4 asks it to), and it serves one
 * client at a time, denying a new port while it holds the old session: nothing can recover that.
 * libcoap's coap-server-gnutls does re-send; to show the fresh start against a real server, the
 * relay loses every ChangeCipherSpec+Finished of the first session, and the client's fresh start
 * from a new port is a new session for libcoap.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type DtlsSession } from '../lib/entry/dtls.js';
import { seededRandom } from '../transports/sim.js';
import { GNUTLS_CCM8_ONLY, LOOPBACK, PSK_ASCII, PSK_HEX, PSK_IDENTITY, UdpTap, killAllPeers, parseRecords, portAllocator, runCleanups, runPeer, udpPortFree, waitFor, type Peer } from './helpers.js';

const nextPort = portAllocator('interop/lossy.test.ts');
const identity = new TextEncoder().encode(PSK_IDENTITY);
const key = Buffer.from(PSK_HEX, 'hex');
const FAST = { retransmission: { initialMs: 150, maxMs: 1200, maxRetransmits: 10, restartAfter: 3 } } as const;

afterEach(async () => {
  await runCleanups();
  await killAllPeers();
});

function opensslServer(port: number): Peer {
  return runPeer('openssl', ['s_server', '-dtls1_2', '-accept', `${LOOPBACK}:${port}`, '-nocert', '-psk', PSK_HEX, '-cipher', 'PSK-AES128-CCM8', '-naccept', '1'], { timeoutMs: 30_000 });
}

/** coap-server-gnutls (CCM_8 only) on `port` (coap://) and `port + 1` (coaps://). */
async function libcoapServer(port: number): Promise<Peer> {
  const peer = runPeer('coap-server-gnutls', ['-A', LOOPBACK, '-p', String(port), '-k', PSK_ASCII, '-h', ''], {
    env: { ...process.env, GNUTLS_SYSTEM_PRIORITY_FILE: GNUTLS_CCM8_ONLY },
    timeoutMs: 60_000,
    endStdin: true,
  });
  await waitForBound(port + 1);
  return peer;
}

async function waitForBound(port: number): Promise<void> {
  for (let i = 0; i < 100 && (await udpPortFree(port)); i++) await new Promise((r) => setTimeout(r, 50));
}

/** A CoAP CON GET /time (message ID `mid`), as one record. */
const getTime = (mid: number) => Uint8Array.from([0x40, 0x01, mid >> 8, mid & 0xff, 0xb4, ...Buffer.from('time')]);
/** Whether a record is the 2.05 answer to message `mid` (piggybacked ACK). */
const isAnswer = (d: Uint8Array, mid: number) => d.length >= 4 && d[0] === 0x60 && d[1] === 0x45 && ((d[2]! << 8) | d[3]!) === mid;

/** Sends `line` until the server shows it (the line itself may be lost too). */
async function deliver(s: DtlsSession, line: string | Uint8Array, seen: () => boolean): Promise<void> {
  for (let i = 0; i < 40 && !seen(); i++) {
    s.send(line);
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(seen()).toBe(true);
}

const isChangeCipherSpec = (d: Buffer) => parseRecords(d).some((r) => r.type === 20 && r.epoch === 0);

describe('30% loss each way, seeded', () => {
  it('openssl s_server: five handshakes in a row complete and carry data', async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const port = await nextPort();
      const ss = opensslServer(port);
      await waitFor(() => /ACCEPT/.test(ss.stdout), 5000, 's_server');
      const tap = await UdpTap.start(await nextPort(), port);
      const rand = seededRandom(seed);
      tap.dropIf = () => rand() < 0.3;
      const s = await connect({ host: LOOPBACK, port: tap.port, psk: { identity, key }, ...FAST, timeoutMs: 25_000 });
      await deliver(s, `seed ${seed}\n`, () => ss.stdout.includes(`seed ${seed}`));
      void s.close();
      await tap.close();
    }
  }, 120_000);

  it('coap-server-gnutls: five handshakes complete and GET /time is answered', async () => {
    const port = await nextPort(2);
    await libcoapServer(port);
    const tap = await UdpTap.start(await nextPort(), port + 1);
    const rand = seededRandom(11);
    tap.dropIf = () => rand() < 0.3;
    for (let i = 0; i < 5; i++) {
      const s = await connect({ host: LOOPBACK, port: tap.port, psk: { identity, key }, ...FAST, timeoutMs: 25_000 });
      let answered = false;
      s.on('data', (d: Uint8Array) => (answered ||= isAnswer(d, 0x1000 + i)));
      await deliver(s, getTime(0x1000 + i), () => answered);
      void s.close();
    }
    expect(tap.dropped.c2s + tap.dropped.s2c).toBeGreaterThan(5);
  }, 120_000);
});

describe("a server whose ChangeCipherSpec+Finished never arrives (tinydtls never re-sends it; gnutls-serv neither)", () => {
  it('coap-server-gnutls: the client starts over once, from a new port, and connects', async () => {
    const port = await nextPort(2);
    await libcoapServer(port);
    const tap = await UdpTap.start(await nextPort(), port + 1);
    let firstPort: number | undefined;
    tap.dropIf = (dir, d, clientPort) => {
      firstPort ??= clientPort;
      // every ChangeCipherSpec+Finished of the first session is lost
      return dir === 's2c' && clientPort === firstPort && isChangeCipherSpec(d);
    };
    const s = await connect({ host: LOOPBACK, port: tap.port, psk: { identity, key }, ...FAST, timeoutMs: 25_000 });
    let answered = false;
    s.on('data', (d: Uint8Array) => (answered ||= isAnswer(d, 0x2222)));
    await deliver(s, getTime(0x2222), () => answered);
    // the fresh start came from a second client port, and no ChangeCipherSpec but the lost one was ever re-sent
    expect(new Set(tap.datagrams.filter((d) => d.dir === 'c2s').map((d) => d.clientPort)).size).toBe(2);
    expect(tap.dropped.s2c).toBeGreaterThanOrEqual(1);
    await s.close();
  }, 60_000);
});

/**
 * A client that recovers from real servers' mistakes (issue 10, finding 9), against scripted
 * servers that behave as tinydtls 0.8.6 does under loss:
 * - when its ServerHello flight is partly lost, tinydtls answers our repeated ClientHello with a
 *   *new* flight (new random, new key exchange) under the same message_seq numbers: the client
 *   must not mix the old flight's buffered ServerKeyExchange with the new ServerHello (it got
 *   BAD_SIGNATURE). When it re-sends a flight it now drops what it buffered of the answer.
 * - when its ChangeCipherSpec+Finished is lost, tinydtls never re-sends it: the client waited out
 *   its whole retransmission budget (40 s). After `restartAfter` unanswered retransmissions of
 *   its last flight it now starts over, once, with a fresh ClientHello.
 */
import { describe, expect, it } from 'vitest';
import { fromHex } from '../lib/bytes/util.js';
import { nodeCrypto } from '../lib/crypto/node.js';
import { resolveConfig } from '../lib/dtls/config.js';
import type { DtlsEvent } from '../lib/dtls/events.js';
import { ServerConnection } from '../lib/dtls/handshake/server.js';
import { memoryKeyStore, type PeerAddress } from '../lib/dtls/keystore.js';
import { ContentType, HandshakeType } from '../lib/dtls/wire/constants.js';
import { splitRecords } from '../lib/dtls/wire/record.js';
import { decodeHandshakeFragments } from '../lib/dtls/wire/handshake.js';
import type { SimNode } from '../transports/sim.js';
import { Pair, SERVER } from './helpers/harness.js';

const serverKey = nodeCrypto.p256.privateKeyFromScalar(fromHex('d9e2707a72da6a0504995c86eddbe3efc7f1cd74838f7570c8072d0a76261bd4'));
const CLIENT_ECDHE = { psk: undefined, acceptPeerCertificateTypes: [2], suites: [0xc0ae] };
const clientStore = memoryKeyStore({ rawPublicKeys: [[serverKey.publicKey.spki, 'server']] });

/** Handshake messages (type, message_seq) in a datagram's epoch-0 records. */
function messages(d: Uint8Array): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const r of splitRecords(d)) {
    if (r.type !== ContentType.handshake || r.epoch !== 0) continue;
    try {
      for (const f of decodeHandshakeFragments(r.fragment)) out.push([f.msgType, f.messageSeq]);
    } catch {
      /* not ours to judge */
    }
  }
  return out;
}
const hasChangeCipherSpec = (d: Uint8Array) => splitRecords(d).some((r) => r.type === ContentType.change_cipher_spec && r.epoch === 0);

/**
 * A server as tinydtls 0.8.6 behaves: each ClientHello (a repeated one too) starts a new
 * handshake with a new flight (new random, new ephemeral key), message_seq counted as before.
 */
class FreshFlightServer implements SimNode {
  readonly address = SERVER;
  flights = 0;
  private conn: ServerConnection | undefined;
  private client: PeerAddress | undefined;
  readonly events: DtlsEvent[] = [];
  constructor(private readonly mtu: number) {}
  handleDatagram(now: number, from: PeerAddress, data: Uint8Array): void {
    this.client = from;
    const hello = messages(data).find(([t]) => t === HandshakeType.client_hello);
    if (hello) {
      const rec = splitRecords(data)[0]!;
      this.conn = new ServerConnection(resolveConfig({ ecdhe: { key: serverKey, rawPublicKey: true }, mtu: this.mtu }), rec.sequence, hello[1], false);
      this.flights++;
    }
    this.conn?.handleDatagram(now, data);
    for (let e = this.conn?.pollEvent(); e; e = this.conn?.pollEvent()) this.events.push(e);
  }
  handleTimeout(now: number): void {
    this.conn?.handleTimeout(now);
  }
  pollTransmit() {
    const d = this.conn?.pollTransmit();
    return d && this.client ? { to: this.client, data: d } : undefined;
  }
  pollTimeout() {
    return this.conn?.pollTimeout();
  }
}

describe('a server that answers a repeated ClientHello with a new flight (tinydtls)', () => {
  it('the client drops the old flight\'s buffered messages when it re-sends, and connects', () => {
    let firstServerHello = true;
    const p = new Pair({
      client: CLIENT_ECDHE,
      clientStore,
      // the first flight's datagram with the ServerHello is lost; its other datagrams arrive
      filter: (d) => {
        if (d.from.port !== SERVER.port || !messages(d.data).some(([t]) => t === HandshakeType.server_hello)) return true;
        const keep = !firstServerHello;
        firstServerHello = false;
        return keep;
      },
    });
    p.net.remove(p.server);
    const server = p.net.add(new FreshFlightServer(200));
    const c = p.addClient();
    c.conn.start(0);
    p.run(30_000, () => p.has(c, 'connected') || p.has(c, 'failed'));
    expect(server.flights).toBe(2); // the repeated ClientHello got a new flight
    expect(c.events.find((e) => e.type === 'failed')).toBeUndefined();
    expect(p.has(c, 'connected')).toBe(true);
    expect(server.events.some((e) => e.type === 'connected')).toBe(true);
  });
});

describe('a server that never re-sends its ChangeCipherSpec and Finished (tinydtls)', () => {
  for (const suite of ['psk', 'ecdhe'] as const) {
    it(`${suite}: after restartAfter unanswered retransmissions the client starts over once, and connects`, () => {
      let sessions = 0;
      const p = new Pair({
        ...(suite === 'ecdhe'
          ? {
              client: CLIENT_ECDHE,
              clientStore,
              server: { psk: undefined, ecdhe: { key: serverKey, rawPublicKey: true } },
            }
          : {}),
        // every ChangeCipherSpec of the server's first session is lost: the first one on the way, the rest never sent
        filter: (d) => !(d.from.port === SERVER.port && hasChangeCipherSpec(d.data) && sessions === 0),
      });
      const c = p.addClient();
      c.conn.start(0);
      const restartAt = (1 + 2 + 4) * 1000; // 1 s, 2 s, then the timer after the second retransmission
      p.run(60_000, () => {
        sessions = p.serverEvents.filter((e) => e.type === 'connected').length > 0 && p.serverEvents.some((e) => e.type === 'failed' && e.error.code === 'REPLACED') ? 1 : 0;
        return p.has(c, 'connected') || p.has(c, 'failed');
      });
      expect(p.has(c, 'connected')).toBe(true);
      expect(p.net.now).toBeGreaterThanOrEqual(restartAt);
      expect(p.net.now).toBeLessThan(restartAt + 1000);
      const hellos = p.net.log.filter((d) => d.from.port !== SERVER.port && messages(d.data).some(([t, seq]) => t === HandshakeType.client_hello && seq === 0));
      expect(hellos.length).toBe(2); // the first handshake's, and the fresh start's
      expect(p.serverEvents.filter((e) => e.type === 'failed').map((e) => e.type === 'failed' && e.error.code)).toEqual(['REPLACED']);
    });
  }

  it('with restartAfter 0 it waits out its budget as before (HANDSHAKE_TIMEOUT)', () => {
    const p = new Pair({
      client: { retransmission: { initialMs: 1000, maxMs: 4000, maxRetransmits: 3, restartAfter: 0 } },
      filter: (d) => !(d.from.port === SERVER.port && hasChangeCipherSpec(d.data)),
    });
    const c = p.addClient();
    c.conn.start(0);
    p.run(60_000, () => p.has(c, 'connected') || p.has(c, 'failed'));
    const f = c.events.find((e) => e.type === 'failed');
    expect(f?.type === 'failed' && f.error.code).toBe('HANDSHAKE_TIMEOUT');
  });
});

/**
 * RFC 6347 §4.2.4: a peer that re-sends the flight we answered lost our answer, so we send it
 * again. A peer that re-sends the flight it is sending NOW (parts of which we already took) has
 * our answer: it is waiting for us. Answering that with our previous flight made two of our own
 * peers answer each other's repeats without end while the server waited for a message it held
 * only in part (found by the dtls-endpoint fuzz target: bench/fuzz/regressions/dtls-endpoint/).
 */
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../lib/crypto/node.js';
import { fromHex } from '../lib/bytes/util.js';
import { RETRANSMISSION_PRESETS } from '../lib/dtls/config.js';
import { LastFlight, type FlightItem } from '../lib/dtls/handshake/flights.js';
import { memoryKeyStore } from '../lib/dtls/keystore.js';
import { HandshakeType } from '../lib/dtls/wire/constants.js';
import { claimOneMoreByte, DirectLink, handshakeMessages, rewriteRecords } from './helpers/direct-link.js';
import { tinydtlsKeys } from './helpers/tinydtls.js';

const ITEM: FlightItem = { kind: 'handshake', msgType: HandshakeType.server_hello, messageSeq: 1, body: new Uint8Array(0), epoch: 0 };

describe('LastFlight.peerRepeats', () => {
  it('during the handshake, only the messages of the flight we answered count as its repeat', () => {
    const f = new LastFlight(RETRANSMISSION_PRESETS.rfc6347);
    // the peer's flight 1..1 (a ClientHello with message_seq 1) answered; its next flight starts at 2
    f.replace(0, [ITEM], true, 2);
    expect(f.peerRepeats(0, false)).toBe(true);
    expect(f.peerRepeats(1, false)).toBe(true);
    // message_seq 2 and up: the peer's next flight, which we took (in part): it has our flight
    expect(f.peerRepeats(2, false)).toBe(false);
    expect(f.peerRepeats(3, false)).toBe(false);
    // our next flight answers 2..4; the peer's answer to it starts at 5
    f.replace(0, [ITEM], true, 5);
    expect(f.peerRepeats(1, false)).toBe(false);
    expect([2, 3, 4].map((s) => f.peerRepeats(s, false))).toEqual([true, true, true]);
    expect(f.peerRepeats(5, false)).toBe(false);
  });

  it('after the handshake, any repeat is answered with the lingering flight; without a flight, none', () => {
    const f = new LastFlight(RETRANSMISSION_PRESETS.rfc6347);
    expect(f.peerRepeats(0, false)).toBe(false);
    expect(f.peerRepeats(0, true)).toBe(false);
    f.replace(0, [ITEM], false, 5);
    f.settle(0, 1000);
    expect(f.peerRepeats(2, true)).toBe(true);
    expect(f.peerRepeats(7, true)).toBe(true);
  });
});

/** Runs the cookie exchange; returns the server's flight (ServerHello ... ServerHelloDone) as it came. */
function toServerFlight(l: DirectLink): Uint8Array {
  l.client.start(l.now);
  const [hello] = l.fromClient();
  l.toServer(hello!);
  const [hvr] = l.fromServer();
  l.toClient(hvr!);
  const [withCookie] = l.fromClient();
  l.toServer(withCookie!);
  const flight = l.fromServer();
  expect(flight).toHaveLength(1);
  expect(handshakeMessages(flight[0]!)[0]?.msgType).toBe(HandshakeType.server_hello);
  return flight[0]!;
}

/** The client gets the server's flight twice: it sends its own, then sends it again for the repeat. */
function clientFlightTwice(l: DirectLink, serverFlight: Uint8Array): [Uint8Array, Uint8Array] {
  l.toClient(serverFlight);
  const first = l.fromClient();
  l.toClient(serverFlight);
  const again = l.fromClient();
  expect(first).toHaveLength(1);
  expect(again).toHaveLength(1);
  return [first[0]!, again[0]!];
}

describe('a repeat of the flight the peer is sending now is not answered with our previous one', () => {
  it('PSK: the server took the ClientKeyExchange but not the Finished; the repeat gets the Finished flight only', () => {
    const l = new DirectLink();
    const [a, b] = clientFlightTwice(l, toServerFlight(l));
    // the first copy without its epoch-1 record (the Finished): the server waits for it
    l.toServer(rewriteRecords(a, (r) => (r.epoch === 0 ? r : undefined)));
    expect(l.fromServer()).toEqual([]);
    // the second copy: its ClientKeyExchange is old to the server, its Finished is new
    l.toServer(b);
    const answer = l.fromServer();
    expect(answer.length).toBeGreaterThan(0);
    for (const d of answer) expect(handshakeMessages(d).map((m) => m.msgType)).not.toContain(HandshakeType.server_hello);
    expect(l.serverHas('connected')).toBe(true);
    for (const d of answer) l.toClient(d);
    expect(l.clientHas('connected')).toBe(true);
  });

  it('ECDHE with client certificates: a CertificateVerify held in part makes no endless exchange; the timer recovers it', () => {
    const keys = tinydtlsKeys();
    const serverKey = nodeCrypto.p256.privateKeyFromScalar(fromHex(keys.server_priv_hex));
    const clientKey = nodeCrypto.p256.privateKeyFromScalar(fromHex(keys.client_priv_hex));
    const l = new DirectLink({
      server: { psk: undefined, ecdhe: { key: serverKey, rawPublicKey: true }, clientAuth: 'required', keyStore: memoryKeyStore({ rawPublicKeys: [[clientKey.publicKey.spki, 'client']] }) },
      client: { psk: undefined, ecdhe: { key: clientKey, rawPublicKey: true }, acceptPeerCertificateTypes: [2] },
      clientStore: memoryKeyStore({ rawPublicKeys: [[serverKey.publicKey.spki, 'server']] }),
    });
    const [a, b] = clientFlightTwice(l, toServerFlight(l));
    expect(handshakeMessages(a).map((m) => m.msgType)).toEqual([HandshakeType.certificate, HandshakeType.client_key_exchange, HandshakeType.certificate_verify]);
    // on the way, the first copy's CertificateVerify comes to claim one byte more than it has
    l.toServer(rewriteRecords(a, (r) => (r.type === 22 && r.epoch === 0 && r.fragment[0] === HandshakeType.certificate_verify ? claimOneMoreByte(r) : r)));
    expect(l.fromServer()).toEqual([]);
    // the second copy: its Certificate and ClientKeyExchange are old to the server, which still
    // waits for the last byte of the first CertificateVerify: nothing to send. (Its flight
    // again here had the client send its own again, and so on: settle() threw.)
    l.toServer(b);
    expect(l.settle()).toBe(0);
    expect(l.serverHas('connected')).toBe(false);
    // the server's retransmission timer: its flight again, what it held in part dropped; the
    // client's flight again; connected
    for (let i = 0; i < 8 && !(l.serverHas('connected') && l.clientHas('connected')); i++) {
      l.nextTimer();
      l.settle();
    }
    expect(l.serverHas('connected')).toBe(true);
    expect(l.clientHas('connected')).toBe(true);
    expect(l.serverHas('failed')).toBe(false);
  });
});

/**
 * The endpoint decodes a ClientHello to check its cookie and hands that decode to the new
 * ServerConnection, so the hello is parsed once (issue 13). The connection takes it only for
 * the very bytes it was made from: these tests give it a doctored decode (offering no suite we
 * support) and show that it is used when the bytes match, and ignored (the hello decoded anew
 * from the datagram) when they differ by one byte.
 */
import { describe, expect, it } from 'vitest';
import '../lib/crypto/node.js';
import { resolveConfig } from '../lib/dtls/config.js';
import { DtlsEndpoint } from '../lib/dtls/endpoint.js';
import type { DtlsEvent } from '../lib/dtls/events.js';
import { ClientConnection } from '../lib/dtls/handshake/client.js';
import { ServerConnection } from '../lib/dtls/handshake/server.js';
import { pskMap } from '../lib/dtls/keystore.js';
import { decodeClientHello } from '../lib/dtls/wire/client-hello.js';
import { HandshakeType } from '../lib/dtls/wire/constants.js';
import { HANDSHAKE_HEADER_LENGTH } from '../lib/dtls/wire/handshake.js';
import { RECORD_HEADER_LENGTH } from '../lib/dtls/wire/record.js';

const ID = new TextEncoder().encode('Client_identity');
const KEY = new TextEncoder().encode('secretPSK');

function firstHello(): { datagram: Uint8Array; body: Uint8Array } {
  const client = new ClientConnection(resolveConfig({ psk: { identity: ID, key: KEY } }));
  client.start(0);
  const datagram = client.pollTransmit()!;
  expect(datagram[RECORD_HEADER_LENGTH]).toBe(HandshakeType.client_hello);
  return { datagram, body: datagram.subarray(RECORD_HEADER_LENGTH + HANDSHAKE_HEADER_LENGTH) };
}

function events(c: ServerConnection): DtlsEvent['type'][] {
  const out: DtlsEvent['type'][] = [];
  for (let e = c.pollEvent(); e; e = c.pollEvent()) out.push(e.type);
  return out;
}

describe('the ClientHello is decoded once on the server', () => {
  it('a decode of the same bytes is used as it is', () => {
    const { datagram, body } = firstHello();
    const doctored = { ...decodeClientHello(body), cipherSuites: [0x1234] };
    const server = new ServerConnection(resolveConfig({}), 0, 0, true, undefined, { body: body.slice(), ch: doctored });
    server.handleDatagram(0, datagram);
    expect(events(server)).toContain('failed');
  });

  it('a decode of other bytes is ignored: the hello is decoded from the datagram', () => {
    const { datagram, body } = firstHello();
    const other = body.slice();
    other[other.length - 1] = other[other.length - 1]! ^ 1;
    const doctored = { ...decodeClientHello(body), cipherSuites: [0x1234] };
    const server = new ServerConnection(resolveConfig({}), 0, 0, true, undefined, { body: other, ch: doctored });
    server.handleDatagram(0, datagram);
    expect(events(server)).not.toContain('failed');
    expect(server.pollTransmit()?.[RECORD_HEADER_LENGTH]).toBe(HandshakeType.server_hello);
  });

  it('through the endpoint, a cookie-verified hello still starts a handshake that completes', () => {
    const ep = new DtlsEndpoint({ psk: pskMap([[ID, KEY]]) });
    const client = new ClientConnection(resolveConfig({ psk: { identity: ID, key: KEY } }));
    const peer = { address: '192.0.2.1', port: 5000 };
    client.start(0);
    let connected = false;
    for (let round = 0; round < 10 && !connected; round++) {
      for (let d = client.pollTransmit(); d; d = client.pollTransmit()) ep.handleDatagram(0, peer, d);
      for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) client.handleDatagram(0, t.data);
      while (ep.pollEvent());
      for (let e = client.pollEvent(); e; e = client.pollEvent()) if (e.type === 'connected') connected = true;
    }
    expect(connected).toBe(true);
  });
});

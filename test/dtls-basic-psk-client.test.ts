/**
 * BasicPskClientConnection and resolveBasicConfig (the small PSK build): a full PSK handshake
 * with our server, which offers Connection IDs, session IDs and tickets that this client never
 * asks for; and the configurations it refuses because their code is left out.
 */
import { describe, expect, it } from 'vitest';
import { resolveBasicConfig } from '../lib/dtls/basic-config.js';
import { resolveConfig } from '../lib/dtls/config.js';
import type { ClientConnection } from '../lib/dtls/handshake/client.js';
import { BasicPskClientConnection } from '../lib/dtls/handshake/client-psk-basic.js';
import { PskClientConnection } from '../lib/dtls/handshake/client-psk.js';
import { DtlsError } from '../lib/dtls/errors.js';
import { CipherSuite } from '../lib/dtls/wire/constants.js';
import type { DtlsEvent } from '../lib/dtls/events.js';
import { SimClient } from '../transports/sim-nodes.js';
import { dec, enc, IDENTITY, KEY, Pair, SERVER } from './helpers/harness.js';

describe('BasicPskClientConnection', () => {
  it('completes a PSK handshake with a server that offers CID and tickets, and carries data both ways', () => {
    const p = new Pair({ server: { connectionId: 4, sessionTickets: true } });
    const conn = new BasicPskClientConnection(resolveBasicConfig({ psk: { identity: IDENTITY, key: KEY } }));
    const node = p.net.add(new SimClient({ address: '10.0.0.2', port: 40000 }, SERVER, conn as unknown as ClientConnection));
    const c = { node, conn: conn as unknown as ClientConnection, events: [] as DtlsEvent[] };
    p.clients.push(c);
    conn.start(p.net.now);
    p.run(60_000, () => p.settled(c));
    const connected = c.events.find((e) => e.type === 'connected');
    expect(connected, JSON.stringify(c.events.map((e) => e.type))).toBeDefined();
    if (connected?.type !== 'connected') return;
    expect(connected.session.resumed).toBe(false);
    expect(connected.session.connectionId).toBeUndefined();
    expect(dec(connected.session.peerIdentity)).toBe('Client_identity');
    const server = p.serverEvents.find((e) => e.type === 'connected');
    expect(server).toBeDefined();
    conn.send(p.net.now, enc('ping'));
    p.net.flush();
    p.run(p.net.now + 100, () => p.serverEvents.some((e) => e.type === 'data'));
    const data = p.serverEvents.find((e) => e.type === 'data');
    expect(data && data.type === 'data' && dec(data.data)).toBe('ping');
  });

  it('refuses connectionId, resume and sessionTickets, which need PskClientConnection', () => {
    for (const extra of [{ connectionId: true }, { sessionTickets: true }] as const) {
      // resolveBasicConfig refuses them, and so does the connection given a full configuration
      expect(() => resolveBasicConfig({ psk: { identity: IDENTITY, key: KEY }, ...extra })).toThrow(DtlsError);
      expect(() => new BasicPskClientConnection(resolveConfig({ psk: { identity: IDENTITY, key: KEY }, ...extra }))).toThrow(DtlsError);
      expect(() => new PskClientConnection(resolveConfig({ psk: { identity: IDENTITY, key: KEY }, ...extra }))).not.toThrow();
    }
    expect(() => new BasicPskClientConnection(resolveBasicConfig({}))).toThrow(/needs a psk/);
  });

  it('resolveBasicConfig gives what resolveConfig gives for the options it takes, with the same defaults', () => {
    const psk = { identity: 'Client_identity', key: KEY };
    const pick = (c: ReturnType<typeof resolveConfig>) => {
      const { suites: _s, publicKeyCache: _p, ...rest } = c;
      return rest;
    };
    for (const o of [
      { psk },
      { psk, retransmission: 'rfc7925', mtu: 300, recordSizeLimit: 256, maxFragmentLength: 512, requireExtendedMasterSecret: true, idleTimeoutMs: 5000, maxEarlyRecords: 2, maxHandshakeBytes: 4096 },
      { psk, retransmission: { initialMs: 500 }, connectionId: false, sessionTickets: false },
    ] as const) {
      expect(pick(resolveBasicConfig(o))).toEqual(pick(resolveConfig(o)));
    }
    expect(resolveBasicConfig({ psk }).suites).toEqual([CipherSuite.TLS_PSK_WITH_AES_128_CCM_8]);
  });

  it('resolveBasicConfig: a wrong option is a typed INVALID_ARGUMENT naming it, before any datagram', () => {
    const psk = { identity: IDENTITY, key: KEY };
    const cases: Array<[object, RegExp]> = [
      [{ psk: { identity: IDENTITY, key: '0102' } }, /psk\.key must be bytes/],
      [{ psk: { identity: IDENTITY, key: new Uint8Array(0) } }, /psk\.key must be 1\.\.64 bytes/],
      [{ psk: { identity: new Uint8Array(129), key: KEY } }, /psk\.identity must be 0\.\.128 bytes/],
      [{ psk: 'secret' }, /psk must be \{ identity, key \}/],
      [{ psk, mtu: 10 }, /mtu must be an integer in 64\.\.65507/],
      [{ psk, mtu: '1200' }, /mtu must be an integer/],
      [{ psk, retransmission: 'fast' }, /retransmission must be/],
      [{ psk, retransmission: { initialMs: 0 } }, /retransmission\.initialMs/],
      [{ psk, retransmission: { initialMs: 5000, maxMs: 1000 } }, /retransmission\.maxMs/],
      [{ psk, recordSizeLimit: 32 }, /recordSizeLimit/],
      [{ psk, maxFragmentLength: 100 }, /maxFragmentLength/],
      [{ psk, requireExtendedMasterSecret: 'yes' }, /requireExtendedMasterSecret/],
      [{ psk, suites: [0x1234] }, /suites/],
      [{ psk, keyLog: 'file' }, /keyLog must be a function/],
      [{ psk, crypto: {} }, /crypto must be a CryptoProvider/],
      [{ psk, ecdhe: {} }, /ecdhe needs resolveConfig/],
      [{ psk, serverName: 'x' }, /serverName needs resolveConfig/],
      [{ psk, pskHint: 'x' }, /pskHint needs resolveConfig/],
      [{ psk, cidPadding: 16 }, /cidPadding needs resolveConfig/],
    ];
    for (const [o, re] of cases) {
      let err: unknown;
      try {
        resolveBasicConfig(o as never);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(o)).toBeInstanceOf(DtlsError);
      expect((err as DtlsError).code).toBe('INVALID_ARGUMENT');
      expect((err as Error).message).toMatch(re);
    }
    expect(() => resolveBasicConfig(null as never)).toThrow(/options must be an object/);
    // a psk function's answer is checked when it is called
    const cfg = resolveBasicConfig({ psk: () => ({ identity: IDENTITY, key: 'text' as never }) });
    expect(() => (cfg.psk as (h: Uint8Array | undefined) => unknown)(undefined)).toThrow(/the psk function's answer\.key must be bytes/);
    expect((resolveBasicConfig({ psk: () => undefined }).psk as (h: Uint8Array | undefined) => unknown)(undefined)).toBeUndefined();
  });

  it('resolveBasicConfig refuses a resume blob (resolveConfig decodes it, or names what is wrong)', () => {
    const blob = new Uint8Array([1, 2, 3]);
    expect(() => resolveBasicConfig({ psk: { identity: IDENTITY, key: KEY }, resume: blob })).toThrow(/no session resumption/);
    expect(() => resolveConfig({ psk: { identity: IDENTITY, key: KEY }, resume: blob })).toThrow(/not a resumption blob/);
  });
});

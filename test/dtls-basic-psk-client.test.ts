/**
 * BasicPskClientConnection and resolveBasicConfig (the small PSK build): a full PSK handshake
 * with our server, which offers Connection IDs, session IDs and tickets that this client never
 * asks for; and the configurations it refuses because their code is left out.
 */
import { describe, expect, it } from 'vitest';
import { resolveBasicConfig, resolveConfig } from '../lib/dtls/config.js';
import type { ClientConnection } from '../lib/dtls/handshake/client.js';
import { BasicPskClientConnection } from '../lib/dtls/handshake/client-psk-basic.js';
import { PskClientConnection } from '../lib/dtls/handshake/client-psk.js';
import { DtlsError } from '../lib/dtls/errors.js';
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
      const cfg = resolveBasicConfig({ psk: { identity: IDENTITY, key: KEY }, ...extra });
      expect(() => new BasicPskClientConnection(cfg)).toThrow(DtlsError);
      expect(() => new PskClientConnection(resolveConfig({ psk: { identity: IDENTITY, key: KEY }, ...extra }))).not.toThrow();
    }
    expect(() => new BasicPskClientConnection(resolveBasicConfig({}))).toThrow(/needs a psk/);
  });

  it('resolveBasicConfig refuses a resume blob (resolveConfig decodes it, or names what is wrong)', () => {
    const blob = new Uint8Array([1, 2, 3]);
    expect(() => resolveBasicConfig({ psk: { identity: IDENTITY, key: KEY }, resume: blob })).toThrow(/no session resumption/);
    expect(() => resolveConfig({ psk: { identity: IDENTITY, key: KEY }, resume: blob })).toThrow(/not a resumption blob/);
  });
});

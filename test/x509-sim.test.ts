import { describe, expect, it } from 'vitest';
import { ecdheCredentials, keyStore } from '../lib/dtls/credentials.js';
import { AlertDescription } from '../lib/dtls/wire/constants.js';
import { readFixture } from './helpers/fixtures.js';
import { handshake, Pair, type PairClient } from './helpers/harness.js';

const pki = (f: string) => readFixture(`pki/${f}`);
const server = ecdheCredentials({ key: pki('server.key'), certificate: pki('server.crt'), rawPublicKey: false });
const client = ecdheCredentials({ key: pki('client.key'), certificate: pki('client.crt'), rawPublicKey: false });
const stranger = ecdheCredentials({ key: pki('stranger.key'), certificate: pki('stranger.crt'), rawPublicKey: false });
/** Inside every fixture's validity period: the engine reads no clock, the key store brings one. */
const IN_VALIDITY = () => new Date('2030-06-01T00:00:00Z');

function x509Pair(o: { ca?: string; clock?: () => Date; serverName?: string; mutual?: boolean; clientCred?: typeof client } = {}) {
  return new Pair({
    server: {
      psk: undefined,
      ecdhe: server,
      ...(o.mutual ? { clientAuth: 'required' as const, keyStore: keyStore({ ca: pki('ca.crt'), clock: IN_VALIDITY }) } : {}),
    },
    client: { psk: undefined, acceptPeerCertificateTypes: [0], serverName: o.serverName ?? 'localhost', ...(o.mutual ? { ecdhe: o.clientCred ?? client } : {}) },
    clientStore: keyStore({ ca: o.ca ?? pki('ca.crt'), clock: o.clock ?? IN_VALIDITY }),
  });
}

/** The client's error code and the alert the server saw. */
function clientFailure(p: Pair, c: PairClient) {
  const f = c.events.find((e) => e.type === 'failed');
  const sf = p.serverEvents.find((e) => e.type === 'failed');
  return { code: f?.type === 'failed' ? f.error.code : undefined, serverSaw: sf?.type === 'failed' ? sf.error.alert : undefined };
}

describe('ECDHE-ECDSA with X.509 on a virtual clock', () => {
  it('one-way: the client validates the chain and the name', () => {
    const p = x509Pair();
    const c = handshake(p);
    const ev = c.events.find((e) => e.type === 'connected');
    expect(ev?.type === 'connected' && ev.session.identity).toMatchObject({ kind: 'x509', subject: expect.stringContaining('CN=localhost') });
  });

  it('mutual: the server sees the client certificate subject', () => {
    const p = x509Pair({ mutual: true });
    handshake(p);
    const ev = p.serverEvents.find((e) => e.type === 'connected');
    expect(ev?.type === 'connected' && ev.session.identity).toMatchObject({ kind: 'x509', subject: expect.stringContaining('client.example') });
  });

  it('an unknown CA fails with unknown_ca', () => {
    const p = x509Pair({ ca: pki('other-ca.crt') });
    expect(clientFailure(p, handshake(p))).toEqual({ code: 'UNKNOWN_CA', serverSaw: AlertDescription.unknown_ca });
  });

  it('an expired certificate (injected clock) fails with certificate_expired', () => {
    const p = x509Pair({ clock: () => new Date('2050-01-01T00:00:00Z') });
    expect(clientFailure(p, handshake(p))).toEqual({ code: 'CERTIFICATE_EXPIRED', serverSaw: AlertDescription.certificate_expired });
  });

  it('a name mismatch fails with certificate_unknown', () => {
    const p = x509Pair({ serverName: 'wrong.example' });
    expect(clientFailure(p, handshake(p))).toEqual({ code: 'CERTIFICATE_UNKNOWN', serverSaw: AlertDescription.certificate_unknown });
  });

  it('a client certificate from an unknown CA fails the server with unknown_ca', () => {
    const p = x509Pair({ mutual: true, clientCred: stranger });
    const c = handshake(p);
    const sf = p.serverEvents.find((e) => e.type === 'failed');
    expect(sf?.type === 'failed' && sf.error.code).toBe('UNKNOWN_CA');
    const f = c.events.find((e) => e.type === 'failed');
    expect(f?.type === 'failed' && f.error.alert).toBe(AlertDescription.unknown_ca);
  });

  it('a server requiring client auth refuses a client without a certificate', () => {
    const p = new Pair({
      server: { psk: undefined, ecdhe: server, clientAuth: 'required', keyStore: keyStore({ ca: pki('ca.crt'), clock: IN_VALIDITY }) },
      client: { psk: undefined, acceptPeerCertificateTypes: [0], serverName: 'localhost' },
      clientStore: keyStore({ ca: pki('ca.crt'), clock: IN_VALIDITY }),
    });
    const c = handshake(p);
    const sf = p.serverEvents.find((e) => e.type === 'failed');
    expect(sf?.type === 'failed' && sf.error.code).toBe('CLIENT_AUTH_REQUIRED');
    const f = c.events.find((e) => e.type === 'failed');
    expect(f?.type === 'failed' && f.error.alert).toBe(AlertDescription.handshake_failure);
  });
});

/**
 * Public API input (issue 10, finding 7): `connect({ psk: { identity: 'Client_identity', key } })`
 * with a string identity, or a hex string as the key, used to end in the server's bad_record_mac
 * with nothing saying the argument was wrong. Strings are accepted where their meaning is clear
 * (an identity or a hint is UTF-8 text); anything else is a typed INVALID_ARGUMENT naming the
 * option, before any datagram is sent.
 */
import { createSocket } from 'node:dgram';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveConfig, type ConnectionOptions } from '../lib/dtls/config.js';
import { DtlsEndpoint } from '../lib/dtls/endpoint.js';
import { DtlsError } from '../lib/dtls/errors.js';
import { pskMap } from '../lib/dtls/keystore.js';
import { AlertDescription } from '../lib/dtls/wire/constants.js';
import { connect, createServer } from '../lib/entry/dtls.js';
import { dec, IDENTITY, KEY, Pair } from './helpers/harness.js';

function invalid(f: () => unknown, mentions: string | RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DtlsError);
  expect((err as DtlsError).code).toBe('INVALID_ARGUMENT');
  expect((err as DtlsError).message).toMatch(mentions);
}

describe('resolveConfig checks every option', () => {
  const wrong: Array<[string, Record<string, unknown>, string | RegExp]> = [
    ['a hex string key', { psk: { identity: 'Client_identity', key: '73656372657450534b' } }, /psk\.key must be bytes .*not a string/],
    ['a numeric identity', { psk: { identity: 42, key: KEY } }, /psk\.identity/],
    ['an empty key', { psk: { identity: 'x', key: new Uint8Array(0) } }, /psk\.key must be 1\.\.64 bytes/],
    ['a 129-byte identity', { psk: { identity: 'i'.repeat(129), key: KEY } }, /psk\.identity must be 0\.\.128 bytes/],
    ['psk without a key', { psk: { identity: 'x' } }, /psk\.key/],
    ['mtu as a string', { mtu: '1000' }, /mtu must be an integer in 64\.\.65507/],
    ['a tiny mtu', { mtu: 10 }, /mtu/],
    ['recordSizeLimit below 64', { recordSizeLimit: 10 }, /recordSizeLimit/],
    ['maxFragmentLength 300', { maxFragmentLength: 300 }, /maxFragmentLength/],
    ['a suite name', { suites: ['psk'] }, /suites\[0\]/],
    ['suites not an array', { suites: 0xc0a8 }, /suites must be an array/],
    ['clientAuth yes', { clientAuth: 'yes' }, /clientAuth must be one of none, optional, required/],
    ['a negative retransmission timeout', { retransmission: { initialMs: -1 } }, /retransmission\.initialMs/],
    ['an unknown retransmission preset', { retransmission: 'fast' }, /retransmission preset/],
    ['idleTimeoutMs as a string', { idleTimeoutMs: '5' }, /idleTimeoutMs/],
    ['requireExtendedMasterSecret as a string', { requireExtendedMasterSecret: 'true' }, /requireExtendedMasterSecret must be true or false/],
    ['pskHint as a number', { pskHint: 42 }, /pskHint/],
    ['serverName as a number', { serverName: 5 }, /serverName must be a string/],
    ['keyLog as a file name', { keyLog: 'keys.txt' }, /keyLog must be a function/],
    ['ecdhe with a PEM string key', { ecdhe: { key: '-----BEGIN PRIVATE KEY-----' } }, /ecdhe must be/],
    ['crypto that is not a provider', { crypto: {} }, /crypto must be a CryptoProvider/],
  ];
  for (const [what, o, mentions] of wrong) it(`rejects ${what}`, () => invalid(() => resolveConfig(o as ConnectionOptions), mentions));

  it('accepts a UTF-8 identity and a text hint, as bytes', () => {
    const cfg = resolveConfig({ psk: { identity: 'Client_identity', key: KEY }, pskHint: 'hint' });
    expect(typeof cfg.psk === 'object' && dec(cfg.psk.identity)).toBe('Client_identity');
    expect(cfg.pskHint).toEqual(new TextEncoder().encode('hint'));
  });

  it('any value of any option: a configuration or INVALID_ARGUMENT, nothing else', () => {
    const names = ['mtu', 'recordSizeLimit', 'maxFragmentLength', 'suites', 'clientAuth', 'retransmission', 'idleTimeoutMs', 'requireExtendedMasterSecret', 'pskHint', 'serverName', 'keyLog', 'psk', 'maxHandshakeBytes', 'maxEarlyRecords', 'acceptPeerCertificateTypes', 'ecdhe'];
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.anything(), (name, value) => {
        try {
          resolveConfig({ [name]: value } as ConnectionOptions);
          return true;
        } catch (e) {
          return e instanceof DtlsError && e.code === 'INVALID_ARGUMENT';
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('the server side', () => {
  it('pskMap refuses a string key; the endpoint checks its key store and limits', () => {
    invalid(() => pskMap([['Client_identity', '73656372657450534b' as unknown as Uint8Array]]), /pskMap entry 0 key must be bytes/);
    invalid(() => new DtlsEndpoint({ keyStore: { psk: 'not a function' as never } }), /keyStore\.psk must be a lookup function/);
    invalid(() => new DtlsEndpoint({ psk: pskMap([[IDENTITY, KEY]]), maxSessions: 0 }), /maxSessions/);
    invalid(() => new DtlsEndpoint({ psk: pskMap([[IDENTITY, KEY]]), cookieRotationMs: -5 }), /cookieRotationMs/);
    invalid(() => new DtlsEndpoint({ psk: pskMap([[IDENTITY, KEY]]), keyStore: { x509: { anchors: [] } } }), /x509\.clock/);
  });

  it('a PSK lookup that answers a string is a key store failure (internal_error), not a wrong key', async () => {
    const p = new Pair({ server: { psk: () => '73656372657450534b' as unknown as Uint8Array } });
    const c = p.addClient();
    c.conn.start(0);
    await p.runAsync(10_000, () => p.settled(c));
    const f = c.events.find((e) => e.type === 'failed');
    expect(f?.type === 'failed' && f.error.alert).toBe(AlertDescription.internal_error);
    const ks = p.serverEvents.find((e) => e.type === 'key-store-error');
    expect(ks?.type === 'key-store-error' && (ks.cause as DtlsError).message).toMatch(/answered a string, not bytes/);
  });
});

describe('connect()', () => {
  it('takes a string identity and connects; the server sees its UTF-8 bytes', async () => {
    const server = createServer({ psk: pskMap([['Client_identity', KEY]]) });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const seen = new Promise<string>((r) => server.once('session', (s) => r(dec(s.peerIdentity))));
      const s = await connect({ host: '127.0.0.1', port: server.address().port, psk: { identity: 'Client_identity', key: KEY } });
      expect(await seen).toBe('Client_identity');
      await s.close();
    } finally {
      await server.close();
    }
  });

  it('rejects a hex string key with INVALID_ARGUMENT before sending anything', async () => {
    const sink = createSocket('udp4');
    let received = 0;
    sink.on('message', () => received++);
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
    try {
      const port = sink.address().port;
      const err = await connect({ host: '127.0.0.1', port, psk: { identity: 'Client_identity', key: '73656372657450534b' as unknown as Uint8Array } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DtlsError);
      expect((err as DtlsError).code).toBe('INVALID_ARGUMENT');
      const bad = await connect({ host: '127.0.0.1', port: 70000 } as never).catch((e: unknown) => e);
      expect((bad as DtlsError).code).toBe('INVALID_ARGUMENT');
      await new Promise((r) => setTimeout(r, 50));
      expect(received).toBe(0);
    } finally {
      sink.close();
    }
  });
});

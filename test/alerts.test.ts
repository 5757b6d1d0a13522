/**
 * One source of alerts: the error -> alert table in lib/dtls/errors.ts is the only place an
 * alert is chosen. A row per error code (the expected alert written out here, with the RFC that
 * asks for it), and for the codes a peer can provoke, the alert that actually goes on the wire.
 * Also: a failed connection stays failed.
 */
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../lib/crypto/node.js';
import { resolveConfig, type ConnectionOptions } from '../lib/dtls/config.js';
import { ALERT_FOR, alertFor, DtlsError, DtlsErrorCode } from '../lib/dtls/errors.js';
import { ClientConnection } from '../lib/dtls/handshake/client.js';
import { decodeClientHello } from '../lib/dtls/wire/client-hello.js';
import { AlertDescription as A, CipherSuite, ContentType, DTLS_1_0, DTLS_1_2, ExtensionType, HandshakeType } from '../lib/dtls/wire/constants.js';
import type { Extension } from '../lib/dtls/wire/extensions.js';
import { decodeHandshakeFragments, encodeHandshake } from '../lib/dtls/wire/handshake.js';
import { encodeRecord, splitRecords } from '../lib/dtls/wire/record.js';
import { encodeServerHello, type ServerHello } from '../lib/dtls/wire/server-hello.js';
import { IDENTITY, KEY, Pair } from './helpers/harness.js';

/** Every code, and the alert we must send for it (undefined: none). */
const EXPECTED: Record<DtlsErrorCode, number | undefined> = {
  PEER_ALERT: undefined, // the peer ended it; we answer nothing
  HANDSHAKE_TIMEOUT: undefined, // nobody is listening
  IDLE_TIMEOUT: undefined,
  BAD_RECORD_MAC: A.bad_record_mac, // RFC 5246 §7.2.2
  DECRYPT_ERROR: A.decrypt_error, // RFC 5246 §7.4.9: Finished mismatch
  DECODE_ERROR: A.decode_error,
  UNEXPECTED_MESSAGE: A.unexpected_message,
  ILLEGAL_PARAMETER: A.illegal_parameter,
  UNSUPPORTED_EXTENSION: A.unsupported_extension, // RFC 5246 §7.4.1.4
  HANDSHAKE_FAILURE: A.handshake_failure,
  PROTOCOL_VERSION: A.protocol_version,
  INSUFFICIENT_SECURITY: A.insufficient_security,
  RESOURCE_LIMIT: A.internal_error,
  KEY_STORE_FAILURE: A.internal_error, // the server's own trouble, not the client's
  BAD_CERTIFICATE: A.bad_certificate,
  UNSUPPORTED_CERTIFICATE: A.unsupported_certificate,
  CERTIFICATE_EXPIRED: A.certificate_expired,
  CERTIFICATE_UNKNOWN: A.certificate_unknown,
  UNKNOWN_CA: A.unknown_ca,
  BAD_SIGNATURE: A.decrypt_error, // RFC 5246 §7.2.2: a signature that cannot be verified
  CLIENT_AUTH_REQUIRED: A.handshake_failure, // RFC 5246 §7.4.6
  EVICTED: undefined, // the peer went silent; a newer handshake took its slot
  REPLACED: undefined, // local: a newer handshake took the address
  TAKEN_OVER: undefined, // local: another process continues the session, silently
  CLOSED: undefined, // API misuse
  RECORD_TOO_LARGE: undefined, // that send fails, nothing else
  INVALID_ARGUMENT: undefined,
  INTERNAL: A.internal_error,
};

describe('the error -> alert table', () => {
  for (const code of Object.values(DtlsErrorCode)) {
    it(`${code} -> ${EXPECTED[code] ?? 'no alert'}`, () => {
      const e = new DtlsError(code, 'x');
      expect(alertFor(e)).toBe(EXPECTED[code]);
      expect(ALERT_FOR[code]).toBe(code === 'PEER_ALERT' ? undefined : EXPECTED[code]);
      if (code !== 'PEER_ALERT') expect(e.alert).toBe(EXPECTED[code]);
    });
  }

  it('a peer alert records the alert received and sends none', () => {
    const e = DtlsError.peerAlert(A.unknown_ca);
    expect(e.code).toBe('PEER_ALERT');
    expect(e.alert).toBe(A.unknown_ca);
    expect(alertFor(e)).toBeUndefined();
  });

  it('no place in lib/ chooses an alert but the table', async () => {
    const { readdirSync, readFileSync, statSync } = await import('node:fs');
    const { join } = await import('node:path');
    const root = new URL('../lib/', import.meta.url).pathname;
    const files: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts')) files.push(p);
      }
    };
    walk(root);
    const offenders = files.filter((f) => !f.endsWith('dtls/errors.ts') && /new DtlsError\([^)]*AlertDescription\./.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });
});

// --- on the wire: a client answered by a scripted server ------------------------------------

function startClient(o: ConnectionOptions = {}) {
  const conn = new ClientConnection(resolveConfig({ crypto: nodeCrypto, psk: { identity: IDENTITY, key: KEY }, ...o }));
  conn.start(0);
  const d = conn.pollTransmit()!;
  const frag = decodeHandshakeFragments(splitRecords(d)[0]!.fragment)[0]!;
  return { conn, hello: decodeClientHello(frag.body) };
}

function serverHelloFor(random: Uint8Array, over: Partial<ServerHello> = {}): ServerHello {
  const exts: Extension[] = [
    { type: ExtensionType.extended_master_secret, data: new Uint8Array(0) },
    { type: ExtensionType.renegotiation_info, data: new Uint8Array([0]) },
  ];
  return { serverVersion: DTLS_1_2, random: random.fill(7), sessionId: new Uint8Array(0), cipherSuite: CipherSuite.TLS_PSK_WITH_AES_128_CCM_8, compressionMethod: 0, extensions: exts, ...over };
}

function datagram(msgType: number, body: Uint8Array, messageSeq = 0): Uint8Array {
  return encodeRecord({ type: ContentType.handshake, version: DTLS_1_2, epoch: 0, sequence: messageSeq }, encodeHandshake(msgType, messageSeq, body));
}

/** The fatal alerts a connection put on the wire. */
function alertsSent(conn: ClientConnection): number[] {
  const out: number[] = [];
  for (let d = conn.pollTransmit(); d; d = conn.pollTransmit()) {
    for (const r of splitRecords(d)) if (r.type === ContentType.alert && r.epoch === 0 && r.fragment[0] === 2) out.push(r.fragment[1]!);
  }
  return out;
}

function failure(conn: ClientConnection): DtlsError | undefined {
  for (let e = conn.pollEvent(); e; e = conn.pollEvent()) if (e.type === 'failed') return e.error;
  return undefined;
}

describe('alerts on the wire (client side, scripted ServerHello)', () => {
  const cases: Array<[string, DtlsErrorCode, (random: Uint8Array) => Uint8Array, ConnectionOptions?]> = [
    ['an extension that was not offered', 'UNSUPPORTED_EXTENSION', (r) => {
      const sh = serverHelloFor(r);
      return datagram(HandshakeType.server_hello, encodeServerHello({ ...sh, extensions: [...sh.extensions, { type: 0x1234, data: new Uint8Array(0) }] }));
    }],
    ['a cipher suite that was not offered', 'ILLEGAL_PARAMETER', (r) => datagram(HandshakeType.server_hello, encodeServerHello(serverHelloFor(r, { cipherSuite: 0xc0ac })))],
    ['DTLS 1.0', 'PROTOCOL_VERSION', (r) => datagram(HandshakeType.server_hello, encodeServerHello(serverHelloFor(r, { serverVersion: DTLS_1_0 })))],
    ['a truncated ServerHello', 'DECODE_ERROR', (r) => datagram(HandshakeType.server_hello, encodeServerHello(serverHelloFor(r)).subarray(0, 20))],
    ['ServerHelloDone first', 'UNEXPECTED_MESSAGE', () => datagram(HandshakeType.server_hello_done, new Uint8Array(0))],
    ['no extended_master_secret when it is required', 'HANDSHAKE_FAILURE', (r) => datagram(HandshakeType.server_hello, encodeServerHello(serverHelloFor(r, { extensions: [] }))), { requireExtendedMasterSecret: true }],
  ];
  for (const [what, code, make, opts] of cases) {
    it(`${what}: ${code}, alert ${EXPECTED[code]}`, () => {
      const { conn } = startClient(opts);
      conn.handleDatagram(1, make(new Uint8Array(32)));
      expect(failure(conn)?.code).toBe(code);
      expect(alertsSent(conn)).toEqual([EXPECTED[code]]);
      expect(conn.state).toBe('failed');
    });
  }

  it('a handshake timeout sends no alert', () => {
    const { conn } = startClient({ retransmission: { initialMs: 10, maxMs: 10, maxRetransmits: 2 } });
    for (let t = 0; t <= 100; t += 10) conn.handleTimeout(t);
    expect(failure(conn)?.code).toBe('HANDSHAKE_TIMEOUT');
    expect(alertsSent(conn)).toEqual([]);
  });
});

describe('a failed connection stays failed', () => {
  it('ignores everything after the failure: datagrams, timers, answers', () => {
    const { conn, hello } = startClient();
    conn.handleDatagram(1, datagram(HandshakeType.server_hello_done, new Uint8Array(0)));
    expect(failure(conn)?.code).toBe('UNEXPECTED_MESSAGE');
    alertsSent(conn);
    // a perfectly good ServerHello now changes nothing
    conn.handleDatagram(2, datagram(HandshakeType.server_hello, encodeServerHello(serverHelloFor(hello.random.slice()))));
    conn.handleTimeout(10_000);
    conn.providePsk(3, KEY);
    conn.resolvePeer(3, { ok: false, error: new DtlsError('INTERNAL', 'x') });
    conn.close(4);
    expect(conn.state).toBe('failed');
    expect(conn.pollTransmit()).toBeUndefined();
    expect(conn.pollEvent()).toBeUndefined();
    expect(conn.pollTimeout()).toBeUndefined();
    expect(() => conn.send(5, new Uint8Array(1))).toThrow(DtlsError);
  });
});

describe('alerts on the wire (server side)', () => {
  it('a key store that throws: internal_error (80), not bad_record_mac', () => {
    const p = new Pair({ server: { psk: () => { throw new Error('database unreachable'); } } });
    const c = p.addClient();
    c.conn.start(0);
    p.run(10_000, () => p.settled(c));
    const f = c.events.find((e) => e.type === 'failed');
    expect(f?.type === 'failed' && f.error.code).toBe('PEER_ALERT');
    expect(f?.type === 'failed' && f.error.alert).toBe(A.internal_error);
  });
});

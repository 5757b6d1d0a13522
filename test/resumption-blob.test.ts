/**
 * The client's resumption blob (lib/dtls/resumption.ts) and the peer identity codec under it
 * (lib/dtls/peer-identity-codec.ts): byte vectors both ways, round trips of any value, typed
 * errors for anything else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError, Reader } from '../lib/bytes/reader.js';
import { fromHex, toHex, utf8 } from '../lib/bytes/util.js';
import { Writer } from '../lib/bytes/writer.js';
import type { PeerIdentity } from '../lib/dtls/keystore.js';
import { readPeerIdentity, writePeerIdentity } from '../lib/dtls/peer-identity-codec.js';
import { decodeClientResumption, encodeClientResumption, ResumptionDecodeError, type ClientResumption } from '../lib/dtls/resumption.js';
import { CipherSuite } from '../lib/dtls/wire/constants.js';
import { mutated } from './helpers/bytes.js';

const MASTER_HEX = Array.from({ length: 48 }, (_, i) => i.toString(16).padStart(2, '0')).join('');
const BLOB: ClientResumption = {
  session: {
    cipherSuite: CipherSuite.TLS_PSK_WITH_AES_128_CCM_8,
    extendedMasterSecret: true,
    masterSecret: fromHex(MASTER_HEX),
    peer: { kind: 'psk', identity: utf8('id') },
    createdAt: 100,
  },
  sessionId: fromHex('aaaaaaaa'),
  server: 'h:1',
};
const BLOB_HEX =
  '01' + // version
  '04' + // parts: server
  'c0a8' + '01' + MASTER_HEX + '000000000064' + '01' + '0002' + '6964' + // session: suite, EMS, master, created_at 100, psk "id"
  '04' + 'aaaaaaaa' + // session_id
  '03' + '683a31'; // server "h:1"

const peerArb: fc.Arbitrary<PeerIdentity> = fc.oneof(
  fc.constant<PeerIdentity>({ kind: 'anonymous' }),
  fc.uint8Array({ maxLength: 64 }).map((identity): PeerIdentity => ({ kind: 'psk', identity })),
  fc
    .record({ spki: fc.uint8Array({ minLength: 1, maxLength: 120 }), fp: fc.uint8Array({ minLength: 32, maxLength: 32 }), name: fc.option(fc.string(), { nil: undefined }) })
    .map(({ spki, fp, name }): PeerIdentity => ({ kind: 'rpk', spki, fingerprint: toHex(fp), name })),
  fc
    .record({ subject: fc.string(), fp: fc.uint8Array({ minLength: 32, maxLength: 32 }), name: fc.option(fc.string(), { nil: undefined }) })
    .map(({ subject, fp, name }): PeerIdentity => ({ kind: 'x509', subject, fingerprint: toHex(fp), name })),
);
/** Strings without lone surrogates (UTF-8 cannot carry them: the encoder makes them U+FFFD). */
const wellFormed = (p: PeerIdentity) => p.kind === 'anonymous' || p.kind === 'psk' || (!/[\uD800-\uDFFF]/.test(p.kind === 'x509' ? p.subject : '') && !/[\uD800-\uDFFF]/.test(p.name ?? ''));

const blobArb: fc.Arbitrary<ClientResumption> = fc
  .record({
    suite: fc.integer({ min: 0, max: 0xffff }),
    ems: fc.boolean(),
    master: fc.uint8Array({ minLength: 48, maxLength: 48 }),
    peer: peerArb.filter(wellFormed),
    createdAt: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    sessionId: fc.uint8Array({ maxLength: 32 }),
    ticket: fc.option(fc.uint8Array({ minLength: 1, maxLength: 300 }), { nil: undefined }),
    expiresAt: fc.option(fc.integer({ min: 0, max: 2 ** 48 - 1 }), { nil: undefined }),
    server: fc.option(fc.string({ minLength: 1, maxLength: 60 }).filter((s) => !/[\uD800-\uDFFF]/.test(s)), { nil: undefined }),
  })
  .map((v) => ({
    session: { cipherSuite: v.suite, extendedMasterSecret: v.ems, masterSecret: v.master, peer: v.peer, createdAt: v.createdAt },
    sessionId: v.sessionId,
    ...(v.ticket ? { ticket: v.ticket } : {}),
    ...(v.expiresAt !== undefined ? { expiresAt: v.expiresAt } : {}),
    ...(v.server !== undefined ? { server: v.server } : {}),
  }));

describe('client resumption blob', () => {
  it('byte vector both ways', () => {
    expect(toHex(encodeClientResumption(BLOB))).toBe(BLOB_HEX);
    expect(decodeClientResumption(fromHex(BLOB_HEX))).toEqual(BLOB);
  });

  it('a ticket and an expiry come after the session_id, in that order', () => {
    const withTicket: ClientResumption = { ...BLOB, sessionId: new Uint8Array(0), ticket: fromHex('0102'), expiresAt: 0x10000 };
    const hex = toHex(encodeClientResumption(withTicket));
    expect(hex.slice(0, 4)).toBe('0107'); // parts: ticket | expires_at | server
    expect(hex.endsWith('00' + '0002' + '0102' + '000000010000' + '03683a31')).toBe(true);
    expect(decodeClientResumption(fromHex(hex))).toEqual(withTicket);
  });

  it('is small: a PSK session by session ID in about 100 bytes', () => {
    const b = encodeClientResumption({ ...BLOB, sessionId: new Uint8Array(32), session: { ...BLOB.session, peer: { kind: 'psk', identity: utf8('Client_identity') } } });
    expect(b.length).toBe(2 + (2 + 1 + 48 + 6 + 1 + 2 + 15) + 33 + 4);
  });

  it('property: encode then decode gives the value back, and decoding copies', () => {
    fc.assert(
      fc.property(blobArb, (r) => {
        const bytes = encodeClientResumption(r);
        const back = decodeClientResumption(bytes);
        expect(back).toEqual(r);
        expect(toHex(encodeClientResumption(back))).toBe(toHex(bytes));
        bytes.fill(0); // wiping the blob leaves the decoded secret alone
        expect(toHex(back.session.masterSecret)).toBe(toHex(r.session.masterSecret));
      }),
    );
  });

  it('an unknown version is UNSUPPORTED_VERSION; bad bytes are MALFORMED; both are DecodeErrors', () => {
    const err = (hex: string) => {
      try {
        decodeClientResumption(fromHex(hex));
      } catch (e) {
        expect(e).toBeInstanceOf(ResumptionDecodeError);
        expect(e).toBeInstanceOf(DecodeError);
        return (e as ResumptionDecodeError).code;
      }
      throw new Error(`decoded ${hex}`);
    };
    expect(err('02' + BLOB_HEX.slice(2))).toBe('UNSUPPORTED_VERSION');
    expect(err('00')).toBe('UNSUPPORTED_VERSION');
    expect(err('')).toBe('MALFORMED');
    for (let n = 1; n < BLOB_HEX.length / 2; n++) expect(err(BLOB_HEX.slice(0, 2 * n)), `first ${n} bytes`).toBe('MALFORMED');
    expect(err(BLOB_HEX + '00')).toBe('MALFORMED'); // trailing byte
    expect(err('0108' + BLOB_HEX.slice(4))).toBe('MALFORMED'); // unknown part bit
    expect(err('0104c0a803' + BLOB_HEX.slice(10))).toBe('MALFORMED'); // unknown session flag
    expect(err(BLOB_HEX.replace('01000269640', '07000269640'))).toBe('MALFORMED'); // unknown peer kind
    const longId = BLOB_HEX.replace('04aaaaaaaa', '21' + 'aa'.repeat(33));
    expect(err(longId)).toBe('MALFORMED'); // session_id over 32 bytes
    expect(err(BLOB_HEX.replace('03683a31', '02c328'))).toBe('MALFORMED'); // bad UTF-8 in server
    expect(err(BLOB_HEX.replace('03683a31', '00'))).toBe('MALFORMED'); // empty server
  });

  it('property: damaged blobs decode or throw ResumptionDecodeError, nothing else', () => {
    const valid = encodeClientResumption({ ...BLOB, ticket: fromHex('00112233'), expiresAt: 5 });
    fc.assert(
      fc.property(fc.oneof(mutated(valid), fc.uint8Array({ maxLength: 120 })), (b) => {
        try {
          decodeClientResumption(b);
        } catch (e) {
          expect(e).toBeInstanceOf(ResumptionDecodeError);
        }
      }),
    );
  });

  it('encoding refuses what the format cannot hold', () => {
    expect(() => encodeClientResumption({ ...BLOB, sessionId: new Uint8Array(33) })).toThrow(RangeError);
    expect(() => encodeClientResumption({ ...BLOB, ticket: new Uint8Array(0) })).toThrow(RangeError);
    expect(() => encodeClientResumption({ ...BLOB, server: '' })).toThrow(RangeError);
    expect(() => encodeClientResumption({ ...BLOB, server: 'x'.repeat(256) })).toThrow(RangeError);
    expect(() => encodeClientResumption({ ...BLOB, session: { ...BLOB.session, masterSecret: new Uint8Array(47) } })).toThrow(RangeError);
    expect(() => encodeClientResumption({ ...BLOB, session: { ...BLOB.session, createdAt: -1 } })).toThrow(RangeError);
    expect(() => encodeClientResumption({ ...BLOB, expiresAt: 2 ** 48 })).toThrow(RangeError);
  });
});

describe('peer identity codec', () => {
  const encode = (p: PeerIdentity) => {
    const w = new Writer(8);
    writePeerIdentity(w, p);
    return w.finish();
  };
  const decode = (b: Uint8Array) => {
    const r = new Reader(b);
    const p = readPeerIdentity(r);
    r.end('peer');
    return p;
  };

  it('byte vectors both ways, one per kind', () => {
    const fp = '0f'.repeat(32);
    const cases: Array<[PeerIdentity, string]> = [
      [{ kind: 'anonymous' }, '00'],
      [{ kind: 'psk', identity: utf8('ab') }, '01' + '0002' + '6162'],
      [{ kind: 'rpk', spki: fromHex('3000'), fingerprint: fp, name: undefined }, '02' + '0002' + '3000' + fp + '00'],
      [{ kind: 'x509', subject: 'CN=é', fingerprint: fp, name: 'n' }, '03' + '0005' + '434e3dc3a9' + fp + '01' + '0001' + '6e'],
    ];
    for (const [p, hex] of cases) {
      expect(toHex(encode(p)), p.kind).toBe(hex);
      expect(decode(fromHex(hex)), p.kind).toEqual(p);
    }
  });

  it('property: round trip of any identity', () => {
    fc.assert(
      fc.property(peerArb.filter(wellFormed), (p) => {
        expect(decode(encode(p))).toEqual(p);
      }),
    );
  });

  it('malformed input is a DecodeError; a fingerprint that is not SHA-256 hex cannot be written', () => {
    for (const hex of ['', '04', '0100', '010002ff', '020000' + '00'.repeat(33), '0300016e' + '00'.repeat(32) + '02', '030001ff' + '00'.repeat(32) + '00']) {
      expect(() => decode(fromHex(hex)), hex).toThrow(DecodeError);
    }
    expect(() => encode({ kind: 'rpk', spki: fromHex('3000'), fingerprint: 'AB'.repeat(32), name: undefined })).toThrow(RangeError);
    expect(() => encode({ kind: 'x509', subject: 's', fingerprint: 'ab', name: undefined })).toThrow(RangeError);
  });
});

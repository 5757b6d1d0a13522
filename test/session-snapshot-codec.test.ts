/**
 * The session snapshot's binary form (lib/dtls/session-snapshot-codec.ts): byte vectors both
 * ways, random snapshots round-trip, and whatever a store returns (truncated, mutated,
 * random) decodes to a snapshot that re-encodes to the same bytes or throws DecodeError,
 * never anything else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../lib/bytes/reader.js';
import { concat, fromHex, toHex } from '../lib/bytes/util.js';
import { DtlsError } from '../lib/dtls/errors.js';
import type { PeerIdentity } from '../lib/dtls/keystore.js';
import { decodeSessionSnapshot, encodeSessionSnapshot } from '../lib/dtls/session-snapshot-codec.js';
import type { SessionSnapshot } from '../lib/dtls/session-snapshot.js';
import { counting, mutated } from './helpers/bytes.js';

const enc = (s: string) => new TextEncoder().encode(s);

/** A PSK server session with a 4-byte CID to receive with and a zero-length one to send with (RFC 9146 one-directional). */
const PSK_SNAPSHOT: SessionSnapshot = {
  version: 1,
  role: 'server',
  cipherSuite: 0xc0a8,
  extendedMasterSecret: true,
  masterSecret: counting(0x00, 0x2f),
  epoch: 1,
  writeKey: counting(0x40, 0x4f),
  writeIv: counting(0x50, 0x53),
  readKey: counting(0x60, 0x6f),
  readIv: counting(0x70, 0x73),
  writeSequenceLease: 2048,
  replayTop: 1000,
  replayBitmap: 0xffff_ffff_0000_0001n,
  readCid: fromHex('a1b2c3d4'),
  writeCid: new Uint8Array(0),
  sendLimit: 16384,
  receiveLimit: 1024,
  peer: { kind: 'psk', identity: enc('Client_identity') },
};

// Written out field by field from the layout in the codec's doc comment, not by the encoder.
const PSK_HEX = [
  '01', // version
  '0f', // flags: server | extended master secret | read CID | write CID
  'c0a8', // TLS_PSK_WITH_AES_128_CCM_8
  '01', // epoch 1
  '10', '04', // key_length 16, iv_length 4
  toHex(counting(0x00, 0x2f)), // master_secret
  toHex(counting(0x40, 0x4f)), toHex(counting(0x50, 0x53)), // write key, iv
  toHex(counting(0x60, 0x6f)), toHex(counting(0x70, 0x73)), // read key, iv
  '8010', // lease 2048 = 0x800: 0x00|0x80, 0x10
  'e907', // replay top 1000 -> 1001 = 0x3e9: 0x69|0x80, 0x07
  'ffffffff00000001', // replay bitmap
  '4000', '0400', // send limit 16384, receive limit 1024
  '04a1b2c3d4', // read CID
  '00', // write CID: zero length
  '01', '0f', toHex(enc('Client_identity')), // psk, identity
].join('');

const FINGERPRINT = 'ab'.repeat(32);

describe('byte vectors', () => {
  it('a PSK snapshot with CIDs both ways', () => {
    const bytes = encodeSessionSnapshot(PSK_SNAPSHOT);
    expect(toHex(bytes)).toBe(PSK_HEX);
    expect(decodeSessionSnapshot(fromHex(PSK_HEX))).toEqual(PSK_SNAPSHOT);
  });

  it('size: 113 bytes plus the identity for a PSK session without CIDs (128 B with a 15-byte identity)', () => {
    const noCid = { ...PSK_SNAPSHOT, readCid: undefined, writeCid: undefined };
    expect(encodeSessionSnapshot(noCid)).toHaveLength(113 + 15);
    // The largest numbers cost 5 more bytes each: at most 123 + identity.
    const worst = { ...noCid, writeSequenceLease: 2 ** 48, replayTop: 2 ** 48 - 1 };
    expect(encodeSessionSnapshot(worst)).toHaveLength(123 + 15);
    // Each CID adds its length byte and its bytes.
    expect(encodeSessionSnapshot({ ...noCid, readCid: new Uint8Array(8), writeCid: new Uint8Array(8) })).toHaveLength(113 + 15 + 18);
  });

  it('a client snapshot of an x509 server with a name, nothing read yet', () => {
    const s: SessionSnapshot = {
      ...PSK_SNAPSHOT,
      role: 'client',
      cipherSuite: 0xc0ae,
      extendedMasterSecret: false,
      writeSequenceLease: 0,
      replayTop: -1,
      replayBitmap: 0n,
      readCid: undefined,
      writeCid: undefined,
      sendLimit: 64,
      receiveLimit: 16384,
      peer: { kind: 'x509', subject: 'CN=é', fingerprint: FINGERPRINT, name: 'srv' },
    };
    const hex = toHex(encodeSessionSnapshot(s));
    expect(hex).toBe(
      [
        '01', '00', 'c0ae', '01', '10', '04',
        PSK_HEX.slice(14, 14 + 2 * (48 + 40)),
        '00', '00', '0000000000000000', '0040', '4000',
        '83', // x509 | name
        '05', toHex(enc('CN=é')), FINGERPRINT, '03', toHex(enc('srv')),
      ].join(''),
    );
    expect(decodeSessionSnapshot(fromHex(hex))).toEqual(s);
  });

  it('rpk and anonymous peers', () => {
    const rpk: PeerIdentity = { kind: 'rpk', spki: fromHex('3059'), fingerprint: FINGERPRINT, name: undefined };
    const a = encodeSessionSnapshot({ ...PSK_SNAPSHOT, peer: rpk });
    expect(toHex(a.subarray(a.length - 36))).toBe('0202' + '3059' + FINGERPRINT);
    expect(decodeSessionSnapshot(a).peer).toEqual(rpk);
    const b = encodeSessionSnapshot({ ...PSK_SNAPSHOT, peer: { kind: 'anonymous' } });
    expect(b[b.length - 1]).toBe(0);
    expect(decodeSessionSnapshot(b).peer).toEqual({ kind: 'anonymous' });
  });

  it('the decoded snapshot owns its bytes (no view of the input)', () => {
    const input = fromHex(PSK_HEX);
    const s = decodeSessionSnapshot(input);
    input.fill(0);
    expect(s).toEqual(PSK_SNAPSHOT);
  });
});

describe('refusals', () => {
  const decodeFails = (hex: string, pattern: RegExp) => {
    let err: unknown;
    try {
      decodeSessionSnapshot(fromHex(hex));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DecodeError);
    expect(String(err)).toMatch(pattern);
  };

  it('decoding: another version, unknown flags, a non-shortest varint, epoch 0, a limit out of range, trailing bytes, a named PSK peer, bad UTF-8', () => {
    decodeFails('02' + PSK_HEX.slice(2), /unsupported version 2/);
    decodeFails('01' + '1f' + PSK_HEX.slice(4), /unknown flags/);
    decodeFails(PSK_HEX.slice(0, 8) + '8100' + PSK_HEX.slice(10), /epoch is not in its shortest form/);
    decodeFails(PSK_HEX.slice(0, 8) + '00' + PSK_HEX.slice(10), /epoch 0/);
    decodeFails(PSK_HEX + '00', /trailing/);
    const limitAt = PSK_HEX.indexOf('40000400');
    decodeFails(PSK_HEX.slice(0, limitAt) + '4001' + PSK_HEX.slice(limitAt + 4), /send_limit 16385/);
    const peerAt = PSK_HEX.length - 2 * 17;
    decodeFails(PSK_HEX.slice(0, peerAt) + '81' + PSK_HEX.slice(peerAt + 2), /psk peer has no name/);
    decodeFails(PSK_HEX.slice(0, peerAt) + '0301c3' + FINGERPRINT, /subject: invalid UTF-8/);
    decodeFails(PSK_HEX.slice(0, peerAt) + '03' + 'ffffffffffffff01', /too long/);
    decodeFails(PSK_HEX.slice(0, peerAt) + '03' + '808004', /exceeds 65535/);
  });

  it('encoding: fields outside the layout are INVALID_ARGUMENT', () => {
    const bad: Partial<Record<keyof SessionSnapshot, unknown>>[] = [
      { masterSecret: new Uint8Array(47) },
      { epoch: 0 },
      { epoch: 65536 },
      { readKey: new Uint8Array(15) },
      { readIv: new Uint8Array(5) },
      { writeKey: new Uint8Array(0), readKey: new Uint8Array(0) },
      { writeSequenceLease: 2 ** 48 + 1 },
      { writeSequenceLease: 1.5 },
      { replayTop: -2 },
      { replayBitmap: 1n << 64n },
      { replayBitmap: -1n },
      { sendLimit: 63 },
      { receiveLimit: 16385 },
      { readCid: new Uint8Array(256) },
      { peer: { kind: 'rpk', spki: new Uint8Array(1), fingerprint: 'AB'.repeat(32), name: undefined } },
      { peer: { kind: 'x509', subject: 'a\ud800', fingerprint: FINGERPRINT, name: undefined } },
      { peer: { kind: 'x509', subject: 'a', fingerprint: FINGERPRINT, name: '\udc00' } },
      { peer: { kind: 'psk', identity: new Uint8Array(65536) } },
      { peer: { kind: 'nobody' } },
    ];
    for (const b of bad) {
      expect(() => encodeSessionSnapshot({ ...PSK_SNAPSHOT, ...b } as SessionSnapshot), JSON.stringify(Object.keys(b))).toThrow(DtlsError);
    }
  });
});

// ---------------------------------------------------------------------------------------
// Properties

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const text = fc.string({ unit: 'binary', maxLength: 40 });
const fingerprint = bytes(32).map(toHex);
const sequence = fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.bigInt(0n, 1n << 48n).map(Number));

const peerArb: fc.Arbitrary<PeerIdentity> = fc.oneof(
  fc.constant({ kind: 'anonymous' as const }),
  fc.record({ kind: fc.constant('psk' as const), identity: fc.uint8Array({ maxLength: 200 }) }),
  fc.record({ kind: fc.constant('rpk' as const), spki: fc.uint8Array({ maxLength: 200 }), fingerprint, name: fc.option(text, { nil: undefined }) }),
  fc.record({ kind: fc.constant('x509' as const), subject: text, fingerprint, name: fc.option(text, { nil: undefined }) }),
);

const snapshotArb: fc.Arbitrary<SessionSnapshot> = fc
  .record({ keyLength: fc.oneof(fc.constant(16), fc.integer({ min: 1, max: 255 })), ivLength: fc.oneof(fc.constant(4), fc.integer({ min: 0, max: 255 })) })
  .chain(({ keyLength, ivLength }) =>
    fc.record({
      version: fc.constant(1 as const),
      role: fc.constantFrom('client' as const, 'server' as const),
      cipherSuite: fc.oneof(fc.constantFrom(0xc0a8, 0xc0ae), fc.integer({ min: 0, max: 0xffff })),
      extendedMasterSecret: fc.boolean(),
      masterSecret: bytes(48),
      epoch: fc.integer({ min: 1, max: 0xffff }),
      writeKey: bytes(keyLength),
      writeIv: bytes(ivLength),
      readKey: bytes(keyLength),
      readIv: bytes(ivLength),
      writeSequenceLease: sequence,
      replayTop: fc.oneof(fc.constant(-1), sequence.map((v) => Math.min(v, 2 ** 48 - 1))),
      replayBitmap: fc.bigInt(0n, (1n << 64n) - 1n),
      readCid: fc.option(fc.uint8Array({ maxLength: 255 }), { nil: undefined }),
      writeCid: fc.option(fc.uint8Array({ maxLength: 255 }), { nil: undefined }),
      sendLimit: fc.integer({ min: 64, max: 16384 }),
      receiveLimit: fc.integer({ min: 64, max: 16384 }),
      peer: peerArb,
    }),
  );

/** Decodes, and if that works, checks that the snapshot re-encodes to the same bytes (the form is canonical). */
function decodeOrDecodeError(b: Uint8Array): 'ok' | 'refused' {
  let s: SessionSnapshot;
  try {
    s = decodeSessionSnapshot(b);
  } catch (e) {
    if (e instanceof DecodeError) return 'refused';
    throw e;
  }
  expect(toHex(encodeSessionSnapshot(s))).toBe(toHex(b));
  return 'ok';
}

describe('properties', () => {
  it('random snapshots round-trip', () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const b = encodeSessionSnapshot(s);
        expect(decodeSessionSnapshot(b)).toEqual(s);
      }),
      { numRuns: 200 },
    );
  });

  it('every proper prefix of an encoding is refused with DecodeError', () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const b = encodeSessionSnapshot(s);
        for (let n = 0; n < b.length; n++) expect(() => decodeSessionSnapshot(b.subarray(0, n))).toThrow(DecodeError);
      }),
      { numRuns: 30 },
    );
  });

  it('a mutated encoding is refused with DecodeError or is a valid snapshot that re-encodes to those bytes', () => {
    fc.assert(
      fc.property(snapshotArb.map(encodeSessionSnapshot).chain(mutated), (b) => {
        decodeOrDecodeError(b);
      }),
      { numRuns: 1000 },
    );
  });

  it('every bit flip and every edge value at every offset of the PSK vector never crashes the decoder', () => {
    const valid = fromHex(PSK_HEX);
    const edges = [0x00, 0x01, 0x03, 0x0f, 0x3f, 0x40, 0x7f, 0x80, 0x81, 0x83, 0xc3, 0xfe, 0xff];
    let ok = 0;
    let refused = 0;
    for (let at = 0; at < valid.length; at++) {
      const values = [...edges, ...[0, 1, 2, 3, 4, 5, 6, 7].map((bit) => valid[at]! ^ (1 << bit))];
      for (const v of values) {
        const b = valid.slice();
        b[at] = v;
        if (decodeOrDecodeError(b) === 'ok') ok++;
        else refused++;
      }
    }
    // Keys, the bitmap and the identity take any byte; the structure does not.
    expect(ok).toBeGreaterThan(100 * 21);
    expect(refused).toBeGreaterThan(100);
  });

  it('random bytes (and random bytes after a valid header) never crash the decoder', () => {
    const header = fromHex(PSK_HEX.slice(0, 12));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (tail, withHeader) => {
        decodeOrDecodeError(withHeader ? concat(header, tail) : tail);
      }),
      { numRuns: 2000 },
    );
  });
});

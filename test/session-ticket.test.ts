/**
 * Ticket protection (lib/dtls/session-ticket.ts): a sealed ticket opens to the session it was
 * made from, on both crypto providers; tampered, foreign, rotated-out and expired tickets are
 * refused with undefined, never an exception.
 */
import { randomFillSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concat, toHex, utf8 } from '../lib/bytes/util.js';
import { nodeCrypto } from '../lib/crypto/node.js';
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { createPureCrypto } from '../lib/crypto/pure.js';
import { DtlsError } from '../lib/dtls/errors.js';
import type { PeerIdentity } from '../lib/dtls/keystore.js';
import type { ResumableSession } from '../lib/dtls/resumable-session.js';
import { TicketSealer } from '../lib/dtls/session-ticket.js';
import { CipherSuite } from '../lib/dtls/wire/constants.js';
import { flipBit, mutated } from './helpers/bytes.js';

const pureCrypto = createPureCrypto((n) => randomFillSync(new Uint8Array(n)));
const PROVIDERS: Array<[string, CryptoProvider]> = [
  ['node', nodeCrypto],
  ['pure', pureCrypto],
];

const MASTER = Uint8Array.from({ length: 48 }, (_, i) => 0xa0 ^ i);
const FP = 'ab'.repeat(32);
const PEERS: PeerIdentity[] = [
  { kind: 'psk', identity: utf8('Client_identity') },
  { kind: 'psk', identity: new Uint8Array(0) },
  { kind: 'rpk', spki: Uint8Array.from({ length: 91 }, (_, i) => i), fingerprint: FP, name: 'sensor-7' },
  { kind: 'rpk', spki: new Uint8Array([0x30, 0]), fingerprint: FP, name: undefined },
  { kind: 'x509', subject: 'CN=Zürich device, O=Example', fingerprint: FP, name: '' },
  { kind: 'anonymous' },
];

function session(o: Partial<ResumableSession> = {}): ResumableSession {
  return { cipherSuite: CipherSuite.TLS_PSK_WITH_AES_128_CCM_8, extendedMasterSecret: true, masterSecret: MASTER.slice(), peer: PEERS[0]!, createdAt: 1_000, ...o };
}

const HOUR = 3600_000;

for (const [name, c] of PROVIDERS) {
  describe(`TicketSealer (${name} provider)`, () => {
    it('round trip: a ticket opens to the session it sealed, for every kind of peer', () => {
      const sealer = new TicketSealer(c, { lifetimeMs: HOUR });
      for (const peer of PEERS) {
        const s = session({ peer, cipherSuite: CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 });
        const sealed = sealer.seal(2_000, s)!;
        expect(sealed).toBeDefined();
        const opened = sealer.open(3_000, sealed.ticket)!;
        expect(opened).toBeDefined();
        expect(opened.session).toEqual(s);
        expect(opened.expiresAt).toBe(1_000 + HOUR);
      }
    });

    it('the ticket hides the state: no master secret or identity in clear, a fresh nonce every time', () => {
      const sealer = new TicketSealer(c);
      const a = sealer.seal(2_000, session())!.ticket;
      const b = sealer.seal(2_000, session())!.ticket;
      expect(toHex(a)).not.toContain(toHex(MASTER.subarray(0, 8)));
      expect(toHex(a)).not.toContain(toHex(utf8('Client_identity')));
      expect(toHex(a.subarray(0, 8))).toBe(toHex(b.subarray(0, 8))); // same key name
      expect(toHex(a.subarray(8, 20))).not.toBe(toHex(b.subarray(8, 20))); // different nonces
      expect(toHex(a)).not.toBe(toHex(b));
      // key_name 8 + nonce 12 + state (format 1, expires 6, suite 2, flags 1, master 48, created 6, peer 1+2+15) + tag 8
      expect(a.length).toBe(8 + 12 + (1 + 6 + 2 + 1 + 48 + 6 + 1 + 2 + 15) + 8);
    });
  });
}

describe('TicketSealer: what does not open', () => {
  const c = nodeCrypto;

  it('every single-bit flip, every truncation and any extension is refused', () => {
    const sealer = new TicketSealer(c);
    const ticket = sealer.seal(2_000, session())!.ticket;
    for (let bit = 0; bit < ticket.length * 8; bit++) expect(sealer.open(2_000, flipBit(ticket, bit)), `bit ${bit}`).toBeUndefined();
    for (let n = 0; n < ticket.length; n++) expect(sealer.open(2_000, ticket.subarray(0, n)), `first ${n} bytes`).toBeUndefined();
    expect(sealer.open(2_000, concat(ticket, new Uint8Array([0])))).toBeUndefined();
    expect(sealer.open(2_000, ticket)).toBeDefined();
  });

  it('property: mutated tickets and random bytes never open and never throw', () => {
    const sealer = new TicketSealer(c);
    const ticket = sealer.seal(2_000, session())!.ticket;
    fc.assert(
      fc.property(fc.oneof(mutated(ticket), fc.uint8Array({ maxLength: 200 })), (b) => {
        const opened = sealer.open(2_000, b);
        if (toHex(b) !== toHex(ticket)) expect(opened).toBeUndefined();
      }),
    );
  });

  it("another server's ticket is foreign (a different random key)", () => {
    const a = new TicketSealer(c);
    const b = new TicketSealer(c);
    const ticket = a.seal(2_000, session())!.ticket;
    expect(b.open(2_000, ticket)).toBeUndefined();
    expect(a.open(2_000, ticket)).toBeDefined();
  });

  it('expiry: the lifetime counts from the full handshake; open refuses at expiresAt, seal refuses after it', () => {
    const sealer = new TicketSealer(c, { lifetimeMs: 10_000 });
    const s = session({ createdAt: 5_000 }); // expires at 15 000
    const early = sealer.seal(5_000, s)!;
    expect(early.lifetimeHint).toBe(10);
    expect(sealer.open(14_999, early.ticket)).toBeDefined();
    expect(sealer.open(15_000, early.ticket)).toBeUndefined();
    // resealed later (a resumption issuing a new ticket): same end, shorter hint, never longer life
    const late = sealer.seal(14_500, s)!;
    expect(late.lifetimeHint).toBe(1); // 0.5 s left: at least 1, since 0 would mean "unspecified"
    expect(sealer.open(14_600, late.ticket)!.expiresAt).toBe(15_000);
    expect(sealer.open(15_000, late.ticket)).toBeUndefined();
    expect(sealer.seal(15_000, s)).toBeUndefined();
  });

  it('a session without extended master secret is never sealed (RFC 7627 §5.3)', () => {
    const sealer = new TicketSealer(c);
    expect(sealer.seal(2_000, session({ extendedMasterSecret: false }))).toBeUndefined();
  });
});

describe('TicketSealer: key rotation (current + previous)', () => {
  const c = nodeCrypto;

  it('automatic: a ticket of the previous period still opens; new tickets use a new key', () => {
    const sealer = new TicketSealer(c, { lifetimeMs: 10_000, rotationMs: 10_000 });
    sealer.open(0, new Uint8Array(0)); // first use: the period ends at 10 000
    const first = sealer.seal(9_000, session({ createdAt: 9_000 }))!.ticket;
    expect(sealer.open(12_000, first)).toBeDefined(); // rotated at 12 000: key 0 is now the previous
    const second = sealer.seal(12_000, session({ createdAt: 12_000 }))!.ticket;
    expect(toHex(second.subarray(0, 8))).not.toBe(toHex(first.subarray(0, 8)));
    expect(sealer.open(18_000, first)).toBeDefined();
    expect(sealer.open(18_000, second)).toBeDefined();
  });

  it('manual: sealed with the previous key opens, with the one before not (even unexpired)', () => {
    const sealer = new TicketSealer(c, { lifetimeMs: HOUR, rotationMs: Infinity });
    const s = session({ createdAt: 0 });
    const t0 = sealer.seal(0, s)!.ticket;
    sealer.installSecret(10, new Uint8Array(32).fill(1));
    const t1 = sealer.seal(20, s)!.ticket;
    expect(sealer.open(30, t0)).toBeDefined();
    expect(sealer.open(30, t1)).toBeDefined();
    sealer.installSecret(40, new Uint8Array(32).fill(2));
    expect(sealer.open(50, t0)).toBeUndefined();
    expect(sealer.open(50, t1)).toBeDefined();
    // rotationMs Infinity: time alone never drops a key
    expect(sealer.open(HOUR - 1, t1)).toBeDefined();
  });

  it('servers that install the same secret open each other\'s tickets', () => {
    const secret = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
    const a = new TicketSealer(nodeCrypto, { rotationMs: Infinity });
    const b = new TicketSealer(pureCrypto, { rotationMs: Infinity });
    a.installSecret(0, secret);
    b.installSecret(0, secret);
    const ticket = a.seal(2_000, session())!.ticket;
    expect(b.open(2_000, ticket)!.session).toEqual(session());
    expect(() => a.installSecret(0, new Uint8Array(15))).toThrow(DtlsError);
  });

  it('options are checked: lifetime at least 1 s, rotation no shorter than the lifetime', () => {
    expect(() => new TicketSealer(c, { lifetimeMs: 999 })).toThrow(DtlsError);
    expect(() => new TicketSealer(c, { lifetimeMs: 1.5e3 + 0.5 })).toThrow(DtlsError);
    expect(() => new TicketSealer(c, { lifetimeMs: 10_000, rotationMs: 9_999 })).toThrow(DtlsError);
    expect(() => new TicketSealer(c, { lifetimeMs: 2 ** 32 * 1000 })).toThrow(DtlsError);
    expect(new TicketSealer(c).lifetimeMs).toBe(24 * HOUR);
    expect(new TicketSealer(c).rotationMs).toBe(24 * HOUR);
  });
});

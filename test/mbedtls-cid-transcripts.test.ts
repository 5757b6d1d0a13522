/**
 * RFC 9146 Connection ID on the wire, checked passively against Mbed TLS 3.6.6 (its example
 * programs ssl_client2/ssl_server2; no Debian package speaks RFC 9146): the transcripts in
 * test/fixtures/mbedtls/ (H1 CID both ways, H2 server's only, H2b client's only, H3 an address
 * change, H6/H6b ECDHE-ECDSA), replayed through our record splitter (tls12_cid records with each
 * direction's CID length), reassembler, key schedule and tls12_cid record protection: every
 * record opens, our writer (padding to 16, as Mbed TLS does) makes each tls12_cid record byte for
 * byte, both Finished messages verify, the application data reads as expected, and the
 * connection_id extensions decode to the CIDs the programs were given.
 */
import { describe, expect, it } from 'vitest';
import { concat, fromHex, toHex } from '../lib/bytes/util.js';
import { nodeCrypto } from '../lib/crypto/node.js';
import { computeVerifyData, deriveKeyBlock } from '../lib/dtls/handshake/key-schedule.js';
import { Reassembler, type HandshakeMessage } from '../lib/dtls/handshake/reassembler.js';
import { Ccm8CidProtection } from '../lib/dtls/record/ccm8-cid.js';
import { Ccm8Protection } from '../lib/dtls/record/protection.js';
import { decodeClientHello } from '../lib/dtls/wire/client-hello.js';
import { decodeConnectionId } from '../lib/dtls/wire/connection-id.js';
import { ContentType, ExtensionType, HandshakeType } from '../lib/dtls/wire/constants.js';
import { findExtension } from '../lib/dtls/wire/extensions.js';
import { decodeHandshakeFragments, encodeHandshakeHeader, fragmentAt, HANDSHAKE_HEADER_LENGTH, readFragment } from '../lib/dtls/wire/handshake.js';
import { splitRecords, type RawRecord } from '../lib/dtls/wire/record.js';
import { decodeServerHello } from '../lib/dtls/wire/server-hello.js';
import { readFixtureJson } from './helpers/fixtures.js';

type Dir = 'c2s' | 's2c';
interface Transcript {
  description: string;
  cid: { negotiated: boolean; client_offered_cid_hex: string; server_offered_cid_hex: string; record_cid_len: Record<Dir, number> };
  keylog: Array<{ client_random_hex: string; master_secret_hex: string }>;
  app_data_expected: Record<Dir, string | string[]>;
  relay: { upstream_switches: Array<{ old_upstream_port: number; new_upstream_port: number }> };
  datagrams: Array<{ dir: Dir; hex: string; upstream_port: number; records: Array<{ type: string; epoch: number; seq: number; length: number; cid?: string }> }>;
}

const NAMES: Record<number, string> = { 20: 'change_cipher_spec', 21: 'alert', 22: 'handshake', 23: 'application_data', 25: 'tls12_cid' };
const hex = (s: string) => toHex(new TextEncoder().encode(s));

/** A handshake message as hashed (RFC 6347 §4.2.6: as if unfragmented). */
function hashed(m: { msgType: number; messageSeq: number; body: Uint8Array }): Uint8Array {
  const h = new Uint8Array(HANDSHAKE_HEADER_LENGTH);
  encodeHandshakeHeader(h, 0, m.msgType, m.body.length, m.messageSeq, 0, m.body.length);
  return concat(h, m.body);
}

function verify(file: string) {
  const t = readFixtureJson<Transcript>(`mbedtls/${file}.json`);
  const reassembler = { c2s: new Reassembler(0, 1 << 16), s2c: new Reassembler(0, 1 << 16) };
  /** Everything hashed, in the order it was sent: epoch-0 messages and the (protected) Finished. */
  const handshake: Array<HandshakeMessage & { dir: Dir }> = [];
  const protectedRecords: Array<{ dir: Dir; r: RawRecord }> = [];
  const cid = { c2s: fromHex(t.cid.server_offered_cid_hex), s2c: fromHex(t.cid.client_offered_cid_hex) };
  const app: Record<Dir, string[]> = { c2s: [], s2c: [] };
  const finished: Partial<Record<Dir, { body: Uint8Array; before: number }>> = {};
  let session: { master: Uint8Array; readers: Record<Dir, Ccm8CidProtection | Ccm8Protection>; writers: Partial<Record<Dir, Ccm8CidProtection>>; helloAt: number } | undefined;

  /** The keys, once both hellos are in: the master secret from the NSS key log, the randoms from the hellos. */
  const keys = () => {
    if (session) return session;
    const hellos = handshake.filter((m) => m.msgType === HandshakeType.client_hello);
    const ch = decodeClientHello(hellos.at(-1)!.body);
    const sh = decodeServerHello(handshake.find((m) => m.msgType === HandshakeType.server_hello)!.body);
    // the hellos: the extension carries each side's CID (RFC 9146 §3)
    expect(toHex(decodeConnectionId(findExtension(ch.extensions, ExtensionType.connection_id)!.data))).toBe(t.cid.client_offered_cid_hex);
    expect(toHex(decodeConnectionId(findExtension(sh.extensions, ExtensionType.connection_id)!.data))).toBe(t.cid.server_offered_cid_hex);
    const [log] = t.keylog;
    expect(log!.client_random_hex).toBe(toHex(ch.random));
    const master = fromHex(log!.master_secret_hex);
    const kb = deriveKeyBlock(nodeCrypto, master, ch.random, sh.random);
    const reader = (dir: Dir) => {
      const k = dir === 'c2s' ? kb.client : kb.server;
      const copy = { key: k.key.slice(), iv: k.iv.slice() };
      return cid[dir].length > 0 ? new Ccm8CidProtection(nodeCrypto, copy, cid[dir]) : new Ccm8Protection(nodeCrypto, copy);
    };
    const writer = (dir: Dir) => new Ccm8CidProtection(nodeCrypto, dir === 'c2s' ? kb.client : kb.server, cid[dir], 16);
    session = { master, readers: { c2s: reader('c2s'), s2c: reader('s2c') }, writers: { c2s: writer('c2s'), s2c: writer('s2c') }, helloAt: handshake.indexOf(hellos.at(-1)!) };
    return session;
  };

  for (const d of t.datagrams) {
    const records = splitRecords(fromHex(d.hex), t.cid.record_cid_len[d.dir]);
    // our splitter (tls12_cid with the CID length of that direction) agrees with the relay's dissector
    expect(records.map((r) => [NAMES[r.type], r.epoch, r.sequence, r.length, r.cid && toHex(r.cid)])).toEqual(d.records.map((r) => [r.type, r.epoch, r.seq, r.length, r.cid]));
    for (const r of records) {
      if (r.epoch === 0) {
        if (r.type !== ContentType.handshake) continue;
        const f = fragmentAt();
        for (let at = 0; at < r.fragment.length; ) {
          at = readFragment(r.fragment, at, f);
          reassembler[d.dir].add(f);
          for (let m = reassembler[d.dir].poll(); m; m = reassembler[d.dir].poll()) handshake.push({ msgType: m.msgType, messageSeq: m.messageSeq, epoch: m.epoch, body: m.body, dir: d.dir });
        }
        continue;
      }
      protectedRecords.push({ dir: d.dir, r });
      const outer = r.type;
      const fragment = r.fragment.slice();
      const pt = keys().readers[d.dir].open(r);
      expect(pt, `${d.dir} epoch ${r.epoch} seq ${r.sequence} opens`).toBeDefined();
      if (cid[d.dir].length > 0) {
        expect(outer).toBe(ContentType.tls12_cid);
        // and our writer, padding to 16 as Mbed TLS does, makes the same bytes
        const sealed = keys().writers[d.dir]!.seal(r.type, r.epoch, r.sequence, pt!);
        expect(toHex(sealed.subarray(13 + cid[d.dir].length))).toBe(toHex(fragment));
        expect(toHex(sealed.subarray(11, 11 + cid[d.dir].length))).toBe(toHex(cid[d.dir]));
      }
      if (r.type === ContentType.handshake && !finished[d.dir]) {
        const [f] = decodeHandshakeFragments(pt!);
        expect(f!.msgType).toBe(HandshakeType.finished);
        finished[d.dir] = { body: f!.body, before: handshake.length };
        handshake.push({ msgType: f!.msgType, messageSeq: f!.messageSeq, epoch: 1, body: f!.body, dir: d.dir });
      } else if (r.type === ContentType.application_data) {
        app[d.dir].push(toHex(pt!));
      }
    }
  }
  // RFC 5246 §7.4.9 over what was sent from the cookie exchange's second ClientHello on (RFC 6347 §4.2.1)
  const { master, helloAt } = keys();
  for (const dir of ['c2s', 's2c'] as const) {
    const f = finished[dir]!;
    const hash = nodeCrypto.sha256(concat(...handshake.slice(helloAt, f.before).map(hashed)));
    expect(toHex(computeVerifyData(nodeCrypto, master, dir === 'c2s' ? 'client' : 'server', hash)), `${dir} Finished`).toBe(toHex(f.body));
  }
  for (const dir of ['c2s', 's2c'] as const) {
    const want = t.app_data_expected[dir];
    expect(app[dir]).toEqual((Array.isArray(want) ? want : [want]).map(hex));
  }
  return { t, app, protectedRecords };
}

describe('Mbed TLS 3.6.6 transcripts with RFC 9146 connection IDs', () => {
  it('H1: CIDs both ways (the server\'s 5e7ec1d0 in the client\'s records, c11e back)', () => {
    const { protectedRecords } = verify('H1_psk_cid_both');
    expect(protectedRecords.every((p) => p.r.cid !== undefined)).toBe(true);
  });

  it('H2: the client asks for none: only its records carry a CID', () => {
    const { protectedRecords } = verify('H2_psk_cid_server_only');
    expect(protectedRecords.filter((p) => p.dir === 's2c').every((p) => p.r.cid === undefined)).toBe(true);
    expect(protectedRecords.filter((p) => p.dir === 'c2s').every((p) => p.r.cid !== undefined)).toBe(true);
  });

  it('H2b: the server asks for none: only its records carry a CID', () => {
    const { protectedRecords } = verify('H2b_psk_cid_client_only');
    expect(protectedRecords.filter((p) => p.dir === 'c2s').every((p) => p.r.cid === undefined)).toBe(true);
  });

  it('H3: after the address change the client\'s records still carry the CID and open (the server could follow them)', () => {
    const { t, protectedRecords } = verify('H3_psk_cid_address_change');
    const sw = t.relay.upstream_switches[0]!;
    const after = t.datagrams.filter((d) => d.dir === 'c2s' && d.upstream_port === sw.new_upstream_port);
    expect(after.length).toBeGreaterThanOrEqual(2);
    expect(protectedRecords.filter((p) => p.dir === 'c2s').at(-1)!.r.cid).toEqual(fromHex('5e7ec1d0'));
  });

  it('H6: ECDHE-ECDSA with CIDs both ways', () => {
    verify('H6_ecdhe_ecdsa_cid');
  });

  it('H6b: X25519 and ECDSA-SHA512 (no suite of ours), still every CID record opens', () => {
    verify('H6b_ecdhe_ecdsa_cid_lib_defaults');
  });
});

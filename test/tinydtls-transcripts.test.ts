/**
 * Passive verification of real tinydtls / OpenSSL / GnuTLS PSK sessions
 * (test/fixtures/tinydtls, described in interop/PEERS.md).
 *
 * For each transcript we rebuild the handshake from the captured datagrams with our own
 * record splitter, reassembler, transcript hash, key schedule and CCM_8 record layer, and
 * check that we arrive at the master secret the peer logged, at both Finished messages
 * and at the application data. This proves that our PRF, transcript hashing, extended
 * master secret and CCM nonce/AAD layout match the peers bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../lib/bytes/util.js';
import { nodeCrypto } from '../lib/crypto/node.js';
import { computeVerifyData, deriveKeyBlock, deriveMasterSecret } from '../lib/dtls/handshake/key-schedule.js';
import { Transcript } from '../lib/dtls/handshake/transcript.js';
import { openRecord } from '../lib/dtls/record/ccm8-cipher.js';
import { decodeAlert } from '../lib/dtls/wire/alert.js';
import { AlertDescription, AlertLevel, CipherSuite, ContentType, ExtensionType, HandshakeType } from '../lib/dtls/wire/constants.js';
import { findExtension } from '../lib/dtls/wire/extensions.js';
import { decodeFinished } from '../lib/dtls/wire/finished.js';
import { decodeHandshakeFragments } from '../lib/dtls/wire/handshake.js';
import { decodePskIdentity, pskPremasterSecret } from '../lib/dtls/wire/psk-key-exchange.js';
import { splitRecords } from '../lib/dtls/wire/record.js';
import { flipBit } from './helpers/bytes.js';
import { loadTranscript, type PskTranscript } from './helpers/tinydtls.js';
import { appText, cookieHandshake, expectedText, finishedMessage, msg, observe, openAll } from './helpers/transcript-observer.js';

const c = nodeCrypto;
/** The PSK transcripts (B and F are ECDHE_ECDSA). */
const PSK_TRANSCRIPTS = ['A', 'C', 'D', 'G', 'E2', 'E3'];

/** The whole passive analysis of one transcript; throws (inside a test) if any step fails. */
function analyse(t: PskTranscript) {
  const { messages, protectedRecords, ccs } = observe(t);
  const { hello, handshake, ch, sh } = cookieHandshake(messages);
  const cke = msg(handshake, 'c2s', HandshakeType.client_key_exchange);

  const transcript = new Transcript(c);
  for (const m of handshake) transcript.add(m.msgType, m.messageSeq, m.body);
  const sessionHash = transcript.hash();
  const preMaster = pskPremasterSecret(fromHex(t.psk_hex));
  const master = deriveMasterSecret(c, preMaster, ch.random, sh.random, sessionHash);
  const keys = deriveKeyBlock(c, master, ch.random, sh.random);
  return { messages, protectedRecords, ccs, hello, handshake, ch, sh, cke, sessionHash, preMaster, master, keys };
}

for (const prefix of PSK_TRANSCRIPTS) {
  const { file, t } = loadTranscript<PskTranscript>(prefix);

  describe(`transcript ${file}`, () => {
    let cached: ReturnType<typeof analyse> | undefined;
    const get = () => (cached ??= analyse(t));

    it('epoch-0 handshake: cookie exchange, then ClientHello … ClientKeyExchange, each message once', () => {
      const { messages, hello, handshake, ccs } = get();
      // Before the cookie: ClientHello (possibly retransmitted, delivered once) and HelloVerifyRequest.
      const before = messages.slice(0, messages.indexOf(hello));
      expect(before.map((m) => [m.dir, m.msgType])).toEqual([
        ['c2s', HandshakeType.client_hello],
        ['s2c', HandshakeType.hello_verify_request],
      ]);
      expect(handshake.map((m) => m.msgType)).toEqual([
        HandshakeType.client_hello,
        HandshakeType.server_hello,
        HandshakeType.server_hello_done,
        HandshakeType.client_key_exchange,
      ]);
      expect(handshake.map((m) => m.messageSeq)).toEqual([1, 1, 2, 2]);
      expect(ccs.c2s).toBeGreaterThanOrEqual(1);
      expect(ccs.s2c).toBeGreaterThanOrEqual(1);
    });

    it('negotiates TLS_PSK_WITH_AES_128_CCM_8 with extended_master_secret; the identity is the shared one', () => {
      const { ch, sh, cke } = get();
      expect(ch.cipherSuites).toContain(CipherSuite.TLS_PSK_WITH_AES_128_CCM_8);
      expect(sh.cipherSuite).toBe(CipherSuite.TLS_PSK_WITH_AES_128_CCM_8);
      expect(findExtension(ch.extensions, ExtensionType.extended_master_secret)).toBeDefined();
      expect(findExtension(sh.extensions, ExtensionType.extended_master_secret)).toBeDefined();
      expect(toHex(ch.random)).toBe(t.client_random_hex);
      const identity = decodePskIdentity(cke.body, 128, 'psk_identity');
      expect(new TextDecoder().decode(identity)).toBe(t.psk_identity);
    });

    it('recomputes the logged extended master secret from the PSK and the session hash', () => {
      const { master, ch, sh, preMaster } = get();
      expect(toHex(master)).toBe(t.master_secret_hex);
      for (const k of t.keylog) {
        expect(k.master_secret_hex).toBe(toHex(master));
        expect(k.client_random_hex).toBe(toHex(ch.random));
        if (k.server_random) expect(k.server_random).toBe(toHex(sh.random));
      }
      // Without the session hash (RFC 5246 master secret) the result differs: EMS really is in use.
      expect(toHex(deriveMasterSecret(c, preMaster, ch.random, sh.random, undefined))).not.toBe(t.master_secret_hex);
    });

    it('every protected record opens; both Finished messages verify over the right transcript hash', () => {
      const { keys, protectedRecords, master, sessionHash, handshake } = get();
      const opened = openAll(keys, protectedRecords);
      // message_seq 3 on both sides; retransmitted copies are identical.
      const clientFinished = finishedMessage(opened, 'c2s', 3);
      const serverFinished = finishedMessage(opened, 's2c', 3);

      expect(toHex(decodeFinished(clientFinished.body))).toBe(toHex(computeVerifyData(c, master, 'client', sessionHash)));
      // The server's Finished covers the client's Finished too (added once, as if unfragmented).
      const full = new Transcript(c);
      for (const m of [...handshake, clientFinished]) full.add(m.msgType, m.messageSeq, m.body);
      const serverHash = full.hash();
      expect(toHex(decodeFinished(serverFinished.body))).toBe(toHex(computeVerifyData(c, master, 'server', serverHash)));
      // And not over the shorter hash: the two hashes really differ.
      expect(toHex(serverFinished.body)).not.toBe(toHex(computeVerifyData(c, master, 'server', sessionHash)));
    });

    it('decrypts the application data and the close_notify alerts', () => {
      const { keys, protectedRecords } = get();
      const opened = openAll(keys, protectedRecords);
      expect(appText(opened, 'c2s')).toBe(t.app_data_expected.c2s);
      expect(appText(opened, 's2c')).toBe(expectedText(t.app_data_expected.s2c));

      const alerts = opened.filter((o) => o.record.type === ContentType.alert).map((o) => decodeAlert(o.plaintext));
      for (const a of alerts) expect(a).toEqual({ level: AlertLevel.warning, description: AlertDescription.close_notify });
      if (/close_notify/.test(t.description)) expect(alerts.length).toBeGreaterThanOrEqual(1);
    });

    it('the peers use epoch ‖ sequence_number as the explicit nonce (as sealRecord does)', () => {
      const { protectedRecords } = get();
      expect(protectedRecords.length).toBeGreaterThan(0);
      for (const { record } of protectedRecords) {
        const explicit = record.fragment.subarray(0, 8);
        const want = new Uint8Array(8);
        new DataView(want.buffer).setUint16(0, record.epoch);
        new DataView(want.buffer).setUint16(2, Math.floor(record.sequence / 2 ** 32));
        new DataView(want.buffer).setUint32(4, record.sequence >>> 0);
        expect(toHex(explicit)).toBe(toHex(want));
      }
    });

    it('datagrams the relay dropped carry nothing the peer did not receive again later', () => {
      const { keys, messages } = get();
      const dropped = t.datagrams.filter((d) => d.dropped);
      if (/drop/i.test(t.description)) expect(dropped.length).toBeGreaterThan(0);
      for (const d of dropped) {
        for (const r of splitRecords(fromHex(d.hex))) {
          if (r.type === ContentType.change_cipher_spec) continue;
          const plaintext = r.epoch === 0 ? r.fragment : openRecord(c, d.dir === 'c2s' ? keys.client : keys.server, r, r.fragment);
          expect(plaintext).toBeDefined();
          if (r.epoch > 0) {
            // e.g. a dropped Finished: an identical copy was delivered under a later sequence number.
            const delivered = t.datagrams
              .filter((x) => !x.dropped && x.dir === d.dir)
              .flatMap((x) => splitRecords(fromHex(x.hex)))
              .filter((x) => x.epoch === r.epoch && x.type === r.type)
              .map((x) => toHex(openRecord(c, d.dir === 'c2s' ? keys.client : keys.server, x, x.fragment)!));
            expect(delivered).toContain(toHex(plaintext!));
            continue;
          }
          for (const f of decodeHandshakeFragments(plaintext!)) {
            const again = messages.find((m) => m.dir === d.dir && m.messageSeq === f.messageSeq && m.msgType === f.msgType);
            expect(again, `dropped ${d.dir} message_seq ${f.messageSeq} was delivered later`).toBeDefined();
            expect(toHex(again!.body)).toBe(toHex(f.body));
          }
        }
      }
    });

    it('a record with one flipped ciphertext bit, or moved to another sequence number, does not open', () => {
      const { keys, protectedRecords } = get();
      const app = protectedRecords.find((p) => p.record.type === ContentType.application_data)!;
      const keysFor = app.dir === 'c2s' ? keys.client : keys.server;
      expect(openRecord(c, keysFor, app.record, app.record.fragment)).toBeDefined();
      for (const at of [8, app.record.fragment.length - 9, app.record.fragment.length - 1]) {
        expect(openRecord(c, keysFor, app.record, flipBit(app.record.fragment, 8 * at))).toBeUndefined();
      }
      expect(openRecord(c, keysFor, { ...app.record, sequence: app.record.sequence + 1 }, app.record.fragment)).toBeUndefined();
      // The other direction's keys do not open it either.
      expect(openRecord(c, app.dir === 'c2s' ? keys.server : keys.client, app.record, app.record.fragment)).toBeUndefined();
    });
  });
}

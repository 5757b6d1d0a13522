/**
 * Passive verification of real TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 sessions with RFC 7250 raw
 * public keys and mutual authentication (test/fixtures/tinydtls, interop/PEERS.md):
 *   B  tinydtls client <-> tinydtls server
 *   F  gnutls-cli      <-> tinydtls server
 *
 * From the captured datagrams alone, with our record splitter, reassembler, wire decoders,
 * transcript, P-256 provider and key schedule, we check: the negotiation (0xC0AE, RawPublicKey
 * both ways, ecdsa_sign/0x0403), that the Certificates carry the tinydtls test keys, both
 * signatures (ServerKeyExchange and the client's CertificateVerify), and, with the logged
 * master secret (the ephemeral ECDH keys are not in the files), both Finished messages and
 * the application data.
 */
import { createECDH } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { concat, fromHex, toHex } from '../lib/bytes/util.js';
import { nodeCrypto } from '../lib/crypto/node.js';
import { spkiFromPoint } from '../lib/crypto/p256-spki.js';
import type { P256PublicKey } from '../lib/crypto/provider.js';
import { DtlsError } from '../lib/dtls/errors.js';
import { readServerKeyExchange } from '../lib/dtls/handshake/ecdhe.js';
import { computeVerifyData, deriveKeyBlock, deriveMasterSecret } from '../lib/dtls/handshake/key-schedule.js';
import { Transcript } from '../lib/dtls/handshake/transcript.js';
import { openRecord } from '../lib/dtls/record/ccm8-cipher.js';
import { decodeAlert } from '../lib/dtls/wire/alert.js';
import { decodeCertificate } from '../lib/dtls/wire/certificate.js';
import { CLIENT_CERTIFICATE_TYPE_ECDSA_SIGN, decodeCertificateRequest } from '../lib/dtls/wire/certificate-request.js';
import { AlertDescription, AlertLevel, CipherSuite, ContentType, ExtensionType, HandshakeType } from '../lib/dtls/wire/constants.js';
import { CertificateType, decodeCertificateTypeChoice, decodeU16List, decodeU8List, EC_POINT_FORMAT_UNCOMPRESSED, ECDSA_SECP256R1_SHA256, NamedCurve } from '../lib/dtls/wire/ec-extensions.js';
import { decodeCertificateVerify, decodeClientEcdhKeyExchange, decodeServerEcdhKeyExchange } from '../lib/dtls/wire/ecdh-key-exchange.js';
import { findExtension } from '../lib/dtls/wire/extensions.js';
import { decodeFinished } from '../lib/dtls/wire/finished.js';
import { loadTranscript, type Dir, type EcdheTranscript } from './helpers/tinydtls.js';
import { appRecords, appText, cookieHandshake, expectedText, finishedMessage, msg, observe, openAll } from './helpers/transcript-observer.js';

const c = nodeCrypto;
const ECDHE_TRANSCRIPTS = ['B', 'F'];

/** The code of the DtlsError `f` throws; fails the test if it returns or throws anything else. */
function dtlsErrorCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof DtlsError) return e.code;
    throw e;
  }
  throw new Error('expected a DtlsError, got a value');
}

function flip(b: Uint8Array, at: number): Uint8Array {
  const out = b.slice();
  out[at] = out[at]! ^ 0x01;
  return out;
}

/** 0x04 ‖ X ‖ Y from the JSON's coordinates. */
function point(x: string, y: string): Uint8Array {
  return concat(new Uint8Array([4]), fromHex(x), fromHex(y));
}

function analyse(t: EcdheTranscript) {
  const { messages, protectedRecords, ccs } = observe(t);
  const { hello, handshake, ch, sh } = cookieHandshake(messages);

  const k = t.ecdsa_keys;
  const serverSpki = spkiFromPoint(point(k.server_pub_x_hex, k.server_pub_y_hex));
  const clientSpki = spkiFromPoint(point(k.client_pub_x_hex, k.client_pub_y_hex));
  const serverPub: P256PublicKey = c.p256.importPublicKey(serverSpki);
  const clientPub: P256PublicKey = c.p256.importPublicKey(clientSpki);

  // The transcript up to (not including) the CertificateVerify: what the client signed.
  const cvIndex = handshake.findIndex((m) => m.msgType === HandshakeType.certificate_verify);
  expect(cvIndex).toBeGreaterThan(0);
  const signedPart = new Transcript(c, true);
  for (const m of handshake.slice(0, cvIndex)) signedPart.add(m.msgType, m.messageSeq, m.body);
  const signedMessages = signedPart.messages();
  const cvSessionHash = signedPart.hash();

  // The whole epoch-0 transcript (… CertificateVerify): the session hash and the client Finished hash.
  const transcript = new Transcript(c);
  for (const m of handshake) transcript.add(m.msgType, m.messageSeq, m.body);
  const sessionHash = transcript.hash();

  const master = fromHex(t.master_secret_hex);
  const keys = deriveKeyBlock(c, master, ch.random, sh.random);
  return {
    messages,
    protectedRecords,
    ccs,
    hello,
    handshake,
    ch,
    sh,
    serverSpki,
    clientSpki,
    serverPub,
    clientPub,
    signedMessages,
    cvSessionHash,
    sessionHash,
    master,
    keys,
  };
}

for (const prefix of ECDHE_TRANSCRIPTS) {
  const { file, t } = loadTranscript<EcdheTranscript>(prefix);

  describe(`transcript ${file}`, () => {
    let cached: ReturnType<typeof analyse> | undefined;
    const get = () => (cached ??= analyse(t));

    it('epoch-0 handshake: cookie exchange, then the full mutual-auth ECDHE flights, each message once', () => {
      const { messages, hello, handshake, ccs } = get();
      const before = messages.slice(0, messages.indexOf(hello));
      expect(before.map((m) => [m.dir, m.msgType])).toEqual([
        ['c2s', HandshakeType.client_hello],
        ['s2c', HandshakeType.hello_verify_request],
      ]);
      expect(handshake.map((m) => [m.dir, m.msgType, m.messageSeq])).toEqual([
        ['c2s', HandshakeType.client_hello, 1],
        ['s2c', HandshakeType.server_hello, 1],
        ['s2c', HandshakeType.certificate, 2],
        ['s2c', HandshakeType.server_key_exchange, 3],
        ['s2c', HandshakeType.certificate_request, 4],
        ['s2c', HandshakeType.server_hello_done, 5],
        ['c2s', HandshakeType.certificate, 2],
        ['c2s', HandshakeType.client_key_exchange, 3],
        ['c2s', HandshakeType.certificate_verify, 4],
      ]);
      expect(ccs.c2s).toBeGreaterThanOrEqual(1);
      expect(ccs.s2c).toBeGreaterThanOrEqual(1);
    });

    it('the client offers what 0xC0AE with raw public keys needs; the ServerHello chooses 0xC0AE, RawPublicKey both ways and EMS', () => {
      const { ch, sh } = get();
      expect(t.cipher_suite_id.toLowerCase()).toBe('0xc0ae');
      expect(ch.cipherSuites).toContain(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
      expect(toHex(ch.random)).toBe(t.client_random_hex);
      const ext = (type: number) => {
        const e = findExtension(ch.extensions, type);
        expect(e, `ClientHello extension ${type}`).toBeDefined();
        return e!.data;
      };
      expect(decodeU16List(ext(ExtensionType.supported_groups), 'supported_groups')).toContain(NamedCurve.secp256r1);
      expect(decodeU8List(ext(ExtensionType.ec_point_formats), 'ec_point_formats')).toContain(EC_POINT_FORMAT_UNCOMPRESSED);
      expect(decodeU16List(ext(ExtensionType.signature_algorithms), 'signature_algorithms')).toContain(ECDSA_SECP256R1_SHA256);
      expect(decodeU8List(ext(ExtensionType.client_certificate_type), 'client_certificate_type')).toContain(CertificateType.RawPublicKey);
      expect(decodeU8List(ext(ExtensionType.server_certificate_type), 'server_certificate_type')).toContain(CertificateType.RawPublicKey);
      expect(findExtension(ch.extensions, ExtensionType.extended_master_secret)).toBeDefined();

      expect(sh.cipherSuite).toBe(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
      expect(sh.cipherSuite).toBe(0xc0ae);
      expect(sh.compressionMethod).toBe(0);
      const choice = (type: number) => {
        const e = findExtension(sh.extensions, type);
        expect(e, `ServerHello extension ${type}`).toBeDefined();
        return decodeCertificateTypeChoice(e!.data, 'certificate type');
      };
      expect(choice(ExtensionType.client_certificate_type)).toBe(CertificateType.RawPublicKey);
      expect(choice(ExtensionType.server_certificate_type)).toBe(2);
      expect(findExtension(sh.extensions, ExtensionType.extended_master_secret)).toBeDefined();
    });

    it('the static keys in the file are consistent: each private scalar gives its published point', () => {
      const k = t.ecdsa_keys;
      expect(k.curve).toBe('secp256r1');
      const server = c.p256.privateKeyFromScalar(fromHex(k.server_priv_hex));
      const client = c.p256.privateKeyFromScalar(fromHex(k.client_priv_hex));
      expect(toHex(server.publicKey.point)).toBe(toHex(point(k.server_pub_x_hex, k.server_pub_y_hex)));
      expect(toHex(client.publicKey.point)).toBe(toHex(point(k.client_pub_x_hex, k.client_pub_y_hex)));
      expect(toHex(server.publicKey.spki)).toBe(toHex(get().serverSpki));
      expect(toHex(client.publicKey.spki)).toBe(toHex(get().clientSpki));
    });

    it('both Certificate messages are RawPublicKey SPKIs of the published tinydtls test keys', () => {
      const { handshake, serverSpki, clientSpki } = get();
      const serverCert = decodeCertificate(msg(handshake, 's2c', HandshakeType.certificate).body, CertificateType.RawPublicKey);
      const clientCert = decodeCertificate(msg(handshake, 'c2s', HandshakeType.certificate).body, CertificateType.RawPublicKey);
      expect(serverCert.type).toBe(CertificateType.RawPublicKey);
      expect(clientCert.type).toBe(CertificateType.RawPublicKey);
      if (serverCert.type !== CertificateType.RawPublicKey || clientCert.type !== CertificateType.RawPublicKey) return;
      expect(toHex(serverCert.spki)).toBe(toHex(serverSpki));
      expect(toHex(clientCert.spki)).toBe(toHex(clientSpki));
      // The provider parses what was on the wire to the same point.
      expect(toHex(c.p256.importPublicKey(serverCert.spki).point)).toBe(toHex(point(t.ecdsa_keys.server_pub_x_hex, t.ecdsa_keys.server_pub_y_hex)));
    });

    it('CertificateRequest asks for ecdsa_sign with ecdsa_secp256r1_sha256 (0x0403)', () => {
      const { handshake } = get();
      const cr = decodeCertificateRequest(msg(handshake, 's2c', HandshakeType.certificate_request).body);
      expect(cr.certificateTypes).toContain(CLIENT_CERTIFICATE_TYPE_ECDSA_SIGN);
      expect(cr.certificateTypes).toContain(64);
      expect(cr.signatureAlgorithms).toContain(0x0403);
      expect(cr.certificateAuthorities).toEqual([]);
    });

    it('ServerKeyExchange: secp256r1, and its signature over client_random ‖ server_random ‖ params verifies with the server key', () => {
      const { handshake, ch, sh, serverPub, clientPub } = get();
      const body = msg(handshake, 's2c', HandshakeType.server_key_exchange).body;
      const ske = decodeServerEcdhKeyExchange(body);
      expect(ske.namedCurve).toBe(NamedCurve.secp256r1);
      expect(ske.publicKey).toHaveLength(65);
      expect(ske.publicKey[0]).toBe(0x04);
      expect(ske.signature.algorithm).toBe(ECDSA_SECP256R1_SHA256);
      expect(toHex(ske.params)).toBe(toHex(body.subarray(0, 4 + 65)));

      const signed = concat(ch.random, sh.random, ske.params);
      expect(c.p256.verify(serverPub, signed, ske.signature.signature)).toBe(true);
      // Our client-side check accepts it and hands back the ephemeral point.
      expect(toHex(readServerKeyExchange(c, serverPub, ch.random, sh.random, body))).toBe(toHex(ske.publicKey));

      // One flipped bit anywhere in what was signed, or in the signature, and it fails.
      for (const at of [0, 31, 32, 63, 64, 65, signed.length - 1]) expect(c.p256.verify(serverPub, flip(signed, at), ske.signature.signature), `signed byte ${at}`).toBe(false);
      const sig = ske.signature.signature;
      for (const at of [8, sig.length - 1]) expect(c.p256.verify(serverPub, signed, flip(sig, at)), `signature byte ${at}`).toBe(false);
      // Randoms in the wrong order, or the wrong key, fail too.
      expect(c.p256.verify(serverPub, concat(sh.random, ch.random, ske.params), sig)).toBe(false);
      expect(c.p256.verify(clientPub, signed, sig)).toBe(false);
      // And readServerKeyExchange turns a tampered body into BAD_SIGNATURE.
      const tampered = flip(body, 10); // a byte of the ephemeral point
      expect(dtlsErrorCode(() => readServerKeyExchange(c, serverPub, ch.random, sh.random, tampered))).toBe('BAD_SIGNATURE');
    });

    it("the client's CertificateVerify verifies over handshake_messages up to ClientKeyExchange, with the client key", () => {
      const { handshake, signedMessages, clientPub, serverPub } = get();
      const cv = decodeCertificateVerify(msg(handshake, 'c2s', HandshakeType.certificate_verify).body);
      expect(cv.algorithm).toBe(ECDSA_SECP256R1_SHA256);
      // handshake_messages = every message from the cookie ClientHello to the ClientKeyExchange, headers included.
      const cke = msg(handshake, 'c2s', HandshakeType.client_key_exchange);
      expect(toHex(signedMessages.subarray(signedMessages.length - cke.body.length))).toBe(toHex(cke.body));
      expect(signedMessages[0]).toBe(HandshakeType.client_hello);
      expect(c.p256.verify(clientPub, signedMessages, cv.signature)).toBe(true);

      for (const at of [0, 12, Math.floor(signedMessages.length / 2), signedMessages.length - 1]) {
        expect(c.p256.verify(clientPub, flip(signedMessages, at), cv.signature), `message byte ${at}`).toBe(false);
      }
      expect(c.p256.verify(clientPub, signedMessages, flip(cv.signature, cv.signature.length - 1))).toBe(false);
      expect(c.p256.verify(serverPub, signedMessages, cv.signature)).toBe(false);
      // Without the ClientKeyExchange (one message short) it does not verify: the boundary is right.
      const short = new Transcript(c, true);
      for (const m of handshake.filter((m) => m.msgType !== HandshakeType.certificate_verify && m.msgType !== HandshakeType.client_key_exchange)) {
        short.add(m.msgType, m.messageSeq, m.body);
      }
      expect(c.p256.verify(clientPub, short.messages(), cv.signature)).toBe(false);
    });

    it('the ClientKeyExchange carries a valid uncompressed P-256 point', () => {
      const { handshake } = get();
      const yc = decodeClientEcdhKeyExchange(msg(handshake, 'c2s', HandshakeType.client_key_exchange).body);
      expect(yc).toHaveLength(65);
      expect(yc[0]).toBe(0x04);
      // importPublicKey rejects points off the curve: this one is on it.
      expect(toHex(c.p256.importPublicKey(spkiFromPoint(yc)).point)).toBe(toHex(yc));
    });

    it('the key log agrees with the hellos; the master secret is not derivable from the static keys (the ECDH keys were ephemeral)', () => {
      const { ch, sh, handshake, sessionHash, master } = get();
      expect(t.keylog.length).toBeGreaterThanOrEqual(1);
      for (const k of t.keylog) {
        expect(k.master_secret_hex).toBe(t.master_secret_hex);
        expect(k.client_random_hex).toBe(toHex(ch.random));
        if (k.server_random) expect(k.server_random).toBe(toHex(sh.random));
        if (k.ems !== undefined) expect(k.ems).toBe('1');
      }
      expect(master).toHaveLength(48);

      // server_priv_hex / client_priv_hex are the static ECDSA keys. Every premaster we can form
      // from them (static-static, or static against the other side's ephemeral point) gives a
      // different extended master secret: the logged one cannot be recomputed, as it should be.
      const k = t.ecdsa_keys;
      const ecdh = (privHex: string, peer: Uint8Array) => {
        const e = createECDH('prime256v1');
        e.setPrivateKey(Buffer.from(privHex, 'hex'));
        return new Uint8Array(e.computeSecret(peer));
      };
      const skePoint = decodeServerEcdhKeyExchange(msg(handshake, 's2c', HandshakeType.server_key_exchange).body).publicKey;
      const ckePoint = decodeClientEcdhKeyExchange(msg(handshake, 'c2s', HandshakeType.client_key_exchange).body);
      const candidates = [
        ecdh(k.server_priv_hex, point(k.client_pub_x_hex, k.client_pub_y_hex)),
        ecdh(k.client_priv_hex, point(k.server_pub_x_hex, k.server_pub_y_hex)),
        ecdh(k.server_priv_hex, ckePoint),
        ecdh(k.client_priv_hex, skePoint),
      ];
      // (static-static ECDH is symmetric: the first two are the same secret.)
      expect(toHex(candidates[0]!)).toBe(toHex(candidates[1]!));
      for (const pm of candidates) {
        expect(pm).toHaveLength(32);
        expect(toHex(deriveMasterSecret(c, pm, ch.random, sh.random, sessionHash))).not.toBe(t.master_secret_hex);
        expect(toHex(deriveMasterSecret(c, pm, ch.random, sh.random, undefined))).not.toBe(t.master_secret_hex);
      }
    });

    it('with the logged master secret: every protected record opens and both Finished messages verify', () => {
      const { keys, protectedRecords, master, sessionHash, cvSessionHash, handshake } = get();
      const opened = openAll(keys, protectedRecords);
      const clientFinished = finishedMessage(opened, 'c2s', 5);
      const serverFinished = finishedMessage(opened, 's2c', 6);

      // The client's Finished covers everything through its CertificateVerify.
      expect(toHex(decodeFinished(clientFinished.body))).toBe(toHex(computeVerifyData(c, master, 'client', sessionHash)));
      expect(toHex(clientFinished.body)).not.toBe(toHex(computeVerifyData(c, master, 'client', cvSessionHash)));
      // The server's covers the client's Finished too.
      const full = new Transcript(c);
      for (const m of [...handshake, clientFinished]) full.add(m.msgType, m.messageSeq, m.body);
      expect(toHex(decodeFinished(serverFinished.body))).toBe(toHex(computeVerifyData(c, master, 'server', full.hash())));
      expect(toHex(serverFinished.body)).not.toBe(toHex(computeVerifyData(c, master, 'server', sessionHash)));
      // A master secret one bit off opens nothing.
      const wrong = deriveKeyBlock(c, flip(master, 0), get().ch.random, get().sh.random);
      for (const p of protectedRecords) expect(openRecord(c, p.dir === 'c2s' ? wrong.client : wrong.server, p.record, p.record.fragment)).toBeUndefined();
    });

    it('decrypts the application data (the server echoes) and the close_notify alerts', () => {
      const { keys, protectedRecords } = get();
      const opened = openAll(keys, protectedRecords);
      expect(appText(opened, 'c2s')).toBe(t.app_data_expected.c2s);
      expect(t.app_data_expected.s2c).toMatch(/ \(echo\)$/);
      expect(appText(opened, 's2c')).toBe(expectedText(t.app_data_expected.s2c));
      expect(appText(opened, 's2c')).toBe(appText(opened, 'c2s'));
      const lengths = (dir: Dir) => appRecords(opened, dir).map((o) => o.record.length);
      expect(lengths('s2c')).toEqual(lengths('c2s'));

      const alerts = opened.filter((o) => o.record.type === ContentType.alert).map((o) => decodeAlert(o.plaintext));
      expect(alerts.length).toBeGreaterThanOrEqual(1);
      for (const a of alerts) expect(a).toEqual({ level: AlertLevel.warning, description: AlertDescription.close_notify });
    });

    it('a protected record with one flipped bit, a moved sequence number or the other direction\'s keys does not open', () => {
      const { keys, protectedRecords } = get();
      const app = protectedRecords.find((p) => p.record.type === ContentType.application_data)!;
      const mine = app.dir === 'c2s' ? keys.client : keys.server;
      expect(openRecord(c, mine, app.record, app.record.fragment)).toBeDefined();
      for (const at of [8, app.record.fragment.length - 9, app.record.fragment.length - 1]) {
        expect(openRecord(c, mine, app.record, flip(app.record.fragment, at))).toBeUndefined();
      }
      expect(openRecord(c, mine, { ...app.record, sequence: app.record.sequence + 1 }, app.record.fragment)).toBeUndefined();
      expect(openRecord(c, app.dir === 'c2s' ? keys.server : keys.client, app.record, app.record.fragment)).toBeUndefined();
    });
  });
}

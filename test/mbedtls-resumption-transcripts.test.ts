/**
 * Passive verification of Mbed TLS 3.6 session resumption (test/fixtures/mbedtls/H4, H5):
 * ssl_client2 makes a full PSK handshake, closes, reconnects from a new port and resumes, by
 * session ID (H4) or by RFC 5077 ticket (H5). With our own record splitter, reassembler,
 * transcript hash, key schedule and CCM_8 record layer, and the PSK and key log in the file, we
 * check both handshakes: the full one's extended master secret and Finished messages, the
 * abbreviated one's keys (the old master secret, the new randoms), its Finished messages in
 * their reversed order, every record and the application data; and that our NewSessionTicket /
 * SessionTicket decoders and resumption rules read Mbed TLS's bytes as Mbed TLS meant them.
 * Neither file negotiates a Connection ID: no record is tls12_cid (25).
 */
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../lib/bytes/util.js';
import { nodeCrypto } from '../lib/crypto/node.js';
import { abbreviatedClientFinished, abbreviatedServerFinished, resumedKeyBlock } from '../lib/dtls/handshake/abbreviated.js';
import { computeVerifyData, deriveKeyBlock, deriveMasterSecret, keyLogLine } from '../lib/dtls/handshake/key-schedule.js';
import {
  checkResumedServerHello,
  classifyServerHello,
  readResumptionRequest,
  resumptionOffer,
  serverPromisesTicket,
  serverResumptionDecision,
} from '../lib/dtls/handshake/resumption-rules.js';
import { Transcript } from '../lib/dtls/handshake/transcript.js';
import { openRecord } from '../lib/dtls/record/ccm8-cipher.js';
import type { ResumableSession } from '../lib/dtls/resumable-session.js';
import { decodeClientResumption, encodeClientResumption, type ClientResumption } from '../lib/dtls/resumption.js';
import { decodeAlert } from '../lib/dtls/wire/alert.js';
import { decodeClientHello } from '../lib/dtls/wire/client-hello.js';
import { AlertDescription, AlertLevel, CipherSuite, ContentType, ExtensionType, HandshakeType } from '../lib/dtls/wire/constants.js';
import { findExtension } from '../lib/dtls/wire/extensions.js';
import { decodeFinished } from '../lib/dtls/wire/finished.js';
import { encodeHandshake } from '../lib/dtls/wire/handshake.js';
import { decodeNewSessionTicket, encodeNewSessionTicket } from '../lib/dtls/wire/new-session-ticket.js';
import { decodePskIdentity, pskPremasterSecret } from '../lib/dtls/wire/psk-key-exchange.js';
import { splitRecords } from '../lib/dtls/wire/record.js';
import { decodeClientSessionTicket, decodeServerSessionTicket } from '../lib/dtls/wire/session-ticket-extension.js';
import { connections, loadMbedtlsTranscript, type MbedtlsTranscript } from './helpers/mbedtls.js';
import type { Dir } from './helpers/tinydtls.js';
import { appRecords, cookieHandshake, finishedMessage, msg, observe, openAll, type Opened } from './helpers/transcript-observer.js';

const c = nodeCrypto;
const PSK = CipherSuite.TLS_PSK_WITH_AES_128_CCM_8;
const text = (b: Uint8Array) => new TextDecoder('utf-8', { fatal: true }).decode(b);

/** The full handshake (the first connection), verified from the PSK up. */
function analyseFull(t: MbedtlsTranscript) {
  const conn = connections(t)[0]!;
  const { messages, protectedRecords, ccs } = observe(conn);
  const { hello, handshake, ch, sh } = cookieHandshake(messages);
  const cke = msg(handshake, 'c2s', HandshakeType.client_key_exchange);
  // RFC 7627 §4: the session hash covers ClientHello (with cookie) … ClientKeyExchange
  const toCke = handshake.slice(0, handshake.indexOf(cke) + 1);
  const transcript = new Transcript(c);
  for (const m of toCke) transcript.add(m.msgType, m.messageSeq, m.body);
  const sessionHash = transcript.hash();
  const master = deriveMasterSecret(c, pskPremasterSecret(fromHex(t.psk_hex)), ch.random, sh.random, sessionHash);
  const keys = deriveKeyBlock(c, master, ch.random, sh.random);
  const opened = openAll(keys, protectedRecords);
  const identity = decodePskIdentity(cke.body, 128, 'psk_identity').slice();
  const session: ResumableSession = { cipherSuite: sh.cipherSuite, extendedMasterSecret: true, masterSecret: master, peer: { kind: 'psk', identity }, createdAt: 0 };
  return { conn, messages, hello, handshake, toCke, ch, sh, cke, ccs, sessionHash, master, keys, opened, session };
}

/** The abbreviated handshake (the second connection), with the first one's master secret. */
function analyseResumed(t: MbedtlsTranscript, full: ReturnType<typeof analyseFull>) {
  const conn = connections(t)[1]!;
  const { messages, protectedRecords, ccs } = observe(conn);
  const { hello, handshake, ch, sh } = cookieHandshake(messages);
  const keys = resumedKeyBlock(c, full.session, ch.random, sh.random);
  const opened = openAll(keys, protectedRecords);
  return { conn, messages, protectedRecords, hello, handshake, ch, sh, ccs, keys, opened };
}

function closeNotifies(opened: Opened[], dir: Dir) {
  return opened.filter((o) => o.dir === dir && o.record.type === ContentType.alert).map((o) => decodeAlert(o.plaintext));
}

for (const prefix of ['H4', 'H5']) {
  const { file, t } = loadMbedtlsTranscript(prefix);
  const byTicket = prefix === 'H5';

  describe(`Mbed TLS transcript ${file}`, () => {
    let full: ReturnType<typeof analyseFull> | undefined;
    let resumed: ReturnType<typeof analyseResumed> | undefined;
    const getFull = () => (full ??= analyseFull(t));
    const getResumed = () => (resumed ??= analyseResumed(t, getFull()));

    it('two connections from two client ports; no Connection ID: every record is a plain DTLS 1.2 record', () => {
      expect(t.mbedtls_version).toBe('3.6.6');
      expect(t.cid.negotiated).toBe(false);
      expect(t.verification.tls12_cid_records).toBe(0);
      const conns = connections(t);
      expect(conns).toHaveLength(2);
      expect(conns[0]!.clientPort).not.toBe(conns[1]!.clientPort);
      for (const d of t.datagrams) {
        for (const r of splitRecords(fromHex(d.hex))) expect([20, 21, 22, 23]).toContain(r.type);
      }
      expect(t.verification.handshakes.map((h) => h.kind)).toEqual(['full', 'abbreviated']);
    });

    describe('connection 1: the full handshake', () => {
      it('cookie exchange, then ClientHello … ClientKeyExchange' + (byTicket ? ', and a NewSessionTicket before the server CCS' : ''), () => {
        const { messages, hello, handshake, ccs } = getFull();
        expect(messages.slice(0, messages.indexOf(hello)).map((m) => [m.dir, m.msgType])).toEqual([
          ['c2s', HandshakeType.client_hello],
          ['s2c', HandshakeType.hello_verify_request],
        ]);
        const types: number[] = [HandshakeType.client_hello, HandshakeType.server_hello, HandshakeType.server_hello_done, HandshakeType.client_key_exchange];
        const seqs = [1, 1, 2, 2];
        if (byTicket) {
          types.push(HandshakeType.new_session_ticket);
          seqs.push(3);
        }
        expect(handshake.map((m) => m.msgType)).toEqual(types);
        expect(handshake.map((m) => m.messageSeq)).toEqual(seqs);
        expect(ccs).toEqual({ c2s: 1, s2c: 1 });
      });

      it('the extended master secret from the PSK is the one both programs logged', () => {
        const { master, ch, sh, cke } = getFull();
        expect(sh.cipherSuite).toBe(PSK);
        expect(findExtension(sh.extensions, ExtensionType.extended_master_secret)).toBeDefined();
        expect(text(decodePskIdentity(cke.body, 128, 'psk_identity'))).toBe(t.psk_identity);
        const log = t.keylog.find((k) => k.handshake_index === 0)!;
        expect(keyLogLine(ch.random, master)).toBe(`CLIENT_RANDOM ${log.client_random_hex} ${log.master_secret_hex}`);
        expect(toHex(sh.random)).toBe(t.verification.handshakes[0]!.server_random_hex);
      });

      it('both Finished messages verify; the server\'s covers the client Finished' + (byTicket ? ' and the NewSessionTicket' : ''), () => {
        const { opened, master, sessionHash, handshake, toCke } = getFull();
        const clientFinished = finishedMessage(opened, 'c2s', 3);
        expect(toHex(decodeFinished(clientFinished.body))).toBe(toHex(computeVerifyData(c, master, 'client', sessionHash)));
        // the server hashes what it received and sent before its Finished, in that order
        const serverSide = new Transcript(c);
        for (const m of [...toCke, clientFinished, ...handshake.slice(toCke.length)]) serverSide.add(m.msgType, m.messageSeq, m.body);
        const serverFinished = finishedMessage(opened, 's2c', byTicket ? 4 : 3);
        expect(toHex(decodeFinished(serverFinished.body))).toBe(toHex(computeVerifyData(c, master, 'server', serverSide.hash())));
      });

      it('the application data and close_notify of connection 1', () => {
        const { opened } = getFull();
        expect(appRecords(opened, 'c2s').map((o) => text(o.plaintext))).toEqual([t.app_data_expected.c2s[0]]);
        expect(appRecords(opened, 's2c').map((o) => text(o.plaintext))).toEqual([t.app_data_expected.s2c[0]]);
        for (const dir of ['c2s', 's2c'] as const) expect(closeNotifies(opened, dir)).toEqual([{ level: AlertLevel.warning, description: AlertDescription.close_notify }]);
      });
    });

    describe('connection 2: the abbreviated handshake', () => {
      it('cookie exchange, then only ClientHello and ServerHello in the clear; the server sends CCS and Finished first', () => {
        const { messages, hello, handshake, ccs, conn } = getResumed();
        expect(messages.slice(0, messages.indexOf(hello)).map((m) => [m.dir, m.msgType])).toEqual([
          ['c2s', HandshakeType.client_hello],
          ['s2c', HandshakeType.hello_verify_request],
        ]);
        expect(handshake.map((m) => [m.dir, m.msgType, m.messageSeq])).toEqual([
          ['c2s', HandshakeType.client_hello, 1],
          ['s2c', HandshakeType.server_hello, 1],
        ]);
        expect(ccs).toEqual({ c2s: 1, s2c: 1 });
        // the server's flight: ServerHello, ChangeCipherSpec, Finished in one datagram; then the client's CCS + Finished
        const flights = conn.datagrams.filter((d) => d.records.some((r) => r.type === 'change_cipher_spec'));
        expect(flights.map((d) => d.dir)).toEqual(['s2c', 'c2s']);
        expect(flights[0]!.records.map((r) => r.type)).toEqual(['handshake', 'change_cipher_spec', 'handshake']);
      });

      it('the resumed handshake logs the old master secret with its own client random', () => {
        const { ch, sh } = getResumed();
        const log = t.keylog.find((k) => k.handshake_index === 1)!;
        expect(keyLogLine(ch.random, getFull().master)).toBe(`CLIENT_RANDOM ${log.client_random_hex} ${log.master_secret_hex}`);
        expect(toHex(sh.random)).toBe(t.verification.handshakes[1]!.server_random_hex);
      });

      it('the same master secret with the new randoms opens every record; the old keys open none', () => {
        const { opened, protectedRecords } = getResumed();
        expect(opened.length).toBe(protectedRecords.length);
        const oldKeys = getFull().keys;
        for (const p of protectedRecords) expect(openRecord(c, p.dir === 'c2s' ? oldKeys.client : oldKeys.server, p.record, p.record.fragment)).toBeUndefined();
      });

      it('the server Finished covers ClientHello and ServerHello; the client Finished covers those and the server Finished', () => {
        const { opened, handshake } = getResumed();
        const master = getFull().master;
        const serverFinished = finishedMessage(opened, 's2c', 2);
        const clientFinished = finishedMessage(opened, 'c2s', 2);
        const tr = new Transcript(c);
        for (const m of handshake) tr.add(m.msgType, m.messageSeq, m.body);
        expect(toHex(decodeFinished(serverFinished.body))).toBe(toHex(abbreviatedServerFinished(c, master, tr)));
        tr.add(serverFinished.msgType, serverFinished.messageSeq, serverFinished.body);
        expect(toHex(decodeFinished(clientFinished.body))).toBe(toHex(abbreviatedClientFinished(c, master, tr)));
        // the Finished records are the whole message (one fragment), as encodeHandshake writes it
        const rec = opened.find((o) => o.dir === 's2c' && o.record.type === ContentType.handshake)!;
        expect(toHex(rec.plaintext)).toBe(toHex(encodeHandshake(HandshakeType.finished, 2, serverFinished.body)));
      });

      it('the application data and close_notify of connection 2', () => {
        const { opened } = getResumed();
        expect(appRecords(opened, 'c2s').map((o) => text(o.plaintext))).toEqual([t.app_data_expected.c2s[1]]);
        expect(appRecords(opened, 's2c').map((o) => text(o.plaintext))).toEqual([t.app_data_expected.s2c[1]]);
        for (const dir of ['c2s', 's2c'] as const) expect(closeNotifies(opened, dir)).toEqual([{ level: AlertLevel.warning, description: AlertDescription.close_notify }]);
      });

      it('our rules read it as a resumption: the server may resume, the client sees the echo, EMS is kept', () => {
        const f = getFull();
        const { ch, sh, messages } = getResumed();
        expect(findExtension(ch.extensions, ExtensionType.extended_master_secret)).toBeDefined(); // RFC 7627 §5.3: the offer carries EMS
        const req = readResumptionRequest(ch);
        expect(serverResumptionDecision(f.session, req, [PSK])).toBe('resume');
        const offer = { sessionId: ch.sessionId, ticket: req.ticket, session: f.session };
        expect(classifyServerHello(offer, sh)).toBe('resumed');
        expect(() => checkResumedServerHello(f.session, sh)).not.toThrow();
        // the first ClientHello (before the cookie) made the same offer
        const first = decodeClientHello(messages[0]!.body);
        expect(toHex(first.sessionId)).toBe(toHex(ch.sessionId));
        expect(toHex(findExtension(first.extensions, ExtensionType.session_ticket)?.data ?? new Uint8Array(0))).toBe(toHex(findExtension(ch.extensions, ExtensionType.session_ticket)?.data ?? new Uint8Array(0)));
      });
    });

    if (!byTicket) {
      it('by session ID: the full ServerHello names the session; the client offers that ID and the server echoes it', () => {
        const f = getFull();
        const r = getResumed();
        expect(f.sh.sessionId.length).toBe(32);
        expect(findExtension(f.ch.extensions, ExtensionType.session_ticket)).toBeUndefined(); // tickets=0
        expect(toHex(r.ch.sessionId)).toBe(toHex(f.sh.sessionId));
        expect(toHex(r.sh.sessionId)).toBe(toHex(f.sh.sessionId));
        expect(readResumptionRequest(r.ch).ticket).toBeUndefined();
        // what our client would keep after connection 1, through its blob, offers exactly this
        const kept: ClientResumption = { session: f.session, sessionId: f.sh.sessionId.slice(), server: '127.0.0.1:47340' };
        const offer = resumptionOffer(c, decodeClientResumption(encodeClientResumption(kept)));
        expect(toHex(offer.sessionId)).toBe(toHex(r.ch.sessionId));
      });
    } else {
      it('by ticket: the empty extension asks and promises, the full ServerHello has an empty session ID (RFC 5077 §3.4)', () => {
        const f = getFull();
        const ask = findExtension(f.ch.extensions, ExtensionType.session_ticket)!;
        expect(decodeClientSessionTicket(ask.data)).toEqual({ kind: 'request' });
        const promise = findExtension(f.sh.extensions, ExtensionType.session_ticket)!;
        expect(() => decodeServerSessionTicket(promise.data)).not.toThrow();
        expect(serverPromisesTicket(f.sh, f.ch.extensions)).toBe(true);
        expect(f.sh.sessionId.length).toBe(0);
        expect(f.ch.sessionId.length).toBe(0);
      });

      it("our NewSessionTicket decoder reads Mbed TLS's message and re-encodes it byte for byte", () => {
        const f = getFull();
        const nst = msg(f.handshake, 's2c', HandshakeType.new_session_ticket);
        const m = decodeNewSessionTicket(nst.body);
        expect(m.lifetimeHint).toBe(86400); // Mbed TLS's default ticket lifetime, one day
        expect(m.ticket.length).toBe(149);
        expect(toHex(encodeNewSessionTicket(m))).toBe(toHex(nst.body));
      });

      it('the resuming ClientHello carries that ticket as the bare extension_data, with a fresh 32-byte session ID that the server echoes', () => {
        const f = getFull();
        const r = getResumed();
        const ticket = decodeNewSessionTicket(msg(f.handshake, 's2c', HandshakeType.new_session_ticket).body).ticket;
        const st = decodeClientSessionTicket(findExtension(r.ch.extensions, ExtensionType.session_ticket)!.data);
        expect(st.kind === 'ticket' && toHex(st.ticket)).toBe(toHex(ticket));
        expect(toHex(readResumptionRequest(r.ch).ticket!)).toBe(toHex(ticket));
        expect(r.ch.sessionId.length).toBe(32);
        expect(toHex(r.sh.sessionId)).toBe(toHex(r.ch.sessionId));
        // no new ticket this time: no SessionTicket extension in the ServerHello, no NewSessionTicket
        expect(serverPromisesTicket(r.sh, r.ch.extensions)).toBe(false);
        expect(r.messages.some((m) => m.msgType === HandshakeType.new_session_ticket)).toBe(false);
        // what our client would keep after connection 1 offers the same ticket (with its own random ID)
        const kept: ClientResumption = { session: f.session, sessionId: new Uint8Array(0), ticket: ticket.slice(), expiresAt: 86400_000 };
        const offer = resumptionOffer(c, decodeClientResumption(encodeClientResumption(kept)));
        expect(toHex(offer.ticket!)).toBe(toHex(ticket));
        expect(offer.sessionId.length).toBe(32);
      });
    }
  });
}

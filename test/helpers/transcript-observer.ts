/**
 * Shared by the passive transcript tests: replaying the datagrams of a tinydtls transcript
 * (test/helpers/tinydtls.ts) as a passive observer would see them, through our own record
 * splitter and reassembler, then opening the protected records with the session's keys.
 */
import { expect } from 'vitest';
import { fromHex, toHex } from '../../lib/bytes/util.js';
import { nodeCrypto } from '../../lib/crypto/node.js';
import type { KeyBlock } from '../../lib/dtls/handshake/key-schedule.js';
import { openRecord } from '../../lib/dtls/record/ccm8-cipher.js';
import { Reassembler, type HandshakeMessage } from '../../lib/dtls/handshake/reassembler.js';
import { isChangeCipherSpec } from '../../lib/dtls/wire/change-cipher-spec.js';
import { decodeClientHello, type ClientHello } from '../../lib/dtls/wire/client-hello.js';
import { ContentType, HandshakeType } from '../../lib/dtls/wire/constants.js';
import { decodeHandshakeFragments, fragmentAt, readFragment, type HandshakeFragment } from '../../lib/dtls/wire/handshake.js';
import { splitRecords, type RawRecord } from '../../lib/dtls/wire/record.js';
import { decodeServerHello, type ServerHello } from '../../lib/dtls/wire/server-hello.js';
import type { Datagram, Dir } from './tinydtls.js';

export interface Delivered extends HandshakeMessage {
  dir: Dir;
}
export interface Protected {
  dir: Dir;
  record: RawRecord;
}
export interface Opened extends Protected {
  plaintext: Uint8Array;
}

const CONTENT_TYPE_NAME: Record<number, string> = {
  [ContentType.change_cipher_spec]: 'change_cipher_spec',
  [ContentType.alert]: 'alert',
  [ContentType.handshake]: 'handshake',
  [ContentType.application_data]: 'application_data',
};

/** Everything a passive observer sees: epoch-0 handshake messages in order, and the protected records. */
export function observe(t: { datagrams: Datagram[] }): { messages: Delivered[]; protectedRecords: Protected[]; ccs: Record<Dir, number> } {
  // One reassembler per direction; retransmitted copies come back as 'old' and are not delivered twice.
  const reassembler = { c2s: new Reassembler(0, 64 * 1024), s2c: new Reassembler(0, 64 * 1024) };
  const messages: Delivered[] = [];
  const protectedRecords: Protected[] = [];
  const ccs = { c2s: 0, s2c: 0 };
  for (const d of t.datagrams) {
    if (d.dropped) continue; // the relay dropped it: the peer never saw it
    const records = splitRecords(fromHex(d.hex));
    // Our splitter agrees with the independent dissector that wrote the JSON.
    expect(records.map((r) => [CONTENT_TYPE_NAME[r.type], r.epoch, r.sequence, r.length])).toEqual(
      d.records.map((r) => [r.type, r.epoch, r.seq, r.length]),
    );
    for (const r of records) {
      if (r.epoch !== 0) {
        protectedRecords.push({ dir: d.dir, record: r });
      } else if (r.type === ContentType.handshake) {
        const f = fragmentAt();
        for (let at = 0; at < r.fragment.length; ) {
          at = readFragment(r.fragment, at, f);
          expect(reassembler[d.dir].add(f)).not.toBe('dropped');
          for (let m = reassembler[d.dir].poll(); m; m = reassembler[d.dir].poll()) messages.push({ msgType: m.msgType, messageSeq: m.messageSeq, epoch: m.epoch, body: m.body, dir: d.dir });
        }
      } else if (r.type === ContentType.change_cipher_spec) {
        expect(isChangeCipherSpec(r.fragment)).toBe(true);
        ccs[d.dir]++;
      } else {
        throw new Error(`unexpected epoch-0 record of type ${r.type}`);
      }
    }
  }
  return { messages, protectedRecords, ccs };
}

/** The one element of `xs`; fails the test if there are none or several. */
export function only<T>(xs: T[], what: string): T {
  expect(xs, what).toHaveLength(1);
  return xs[0]!;
}

/** The message of a type sent in a direction, exactly once. */
export function msg(messages: Delivered[], dir: Dir, type: number): Delivered {
  return only(
    messages.filter((m) => m.dir === dir && m.msgType === type),
    `one ${dir} handshake message of type ${type}`,
  );
}

/**
 * The handshake the peers hashed: from the ClientHello that carries the cookie on (RFC 6347
 * §4.2.1: the first ClientHello and the HelloVerifyRequest are left out), with both hellos decoded.
 */
export function cookieHandshake(messages: Delivered[]): { hello: Delivered; handshake: Delivered[]; ch: ClientHello; sh: ServerHello } {
  const withCookie = messages.filter((m) => m.msgType === HandshakeType.client_hello && decodeClientHello(m.body).cookie.length > 0);
  const hello = only(withCookie, 'one ClientHello with a cookie');
  const handshake = messages.slice(messages.indexOf(hello));
  return { hello, handshake, ch: decodeClientHello(hello.body), sh: decodeServerHello(msg(handshake, 's2c', HandshakeType.server_hello).body) };
}

/** Every protected record opened with the session's keys; each must open. */
export function openAll(keys: KeyBlock, recs: Protected[]): Opened[] {
  return recs.map((p) => {
    const plaintext = openRecord(nodeCrypto, p.dir === 'c2s' ? keys.client : keys.server, p.record, p.record.fragment);
    expect(plaintext, `${p.dir} epoch ${p.record.epoch} seq ${p.record.sequence} must open`).toBeDefined();
    return { ...p, plaintext: plaintext! };
  });
}

/** The Finished a side sent, at `messageSeq`, whole; retransmitted copies must be identical. */
export function finishedMessage(opened: Opened[], dir: Dir, messageSeq: number): HandshakeFragment {
  const copies = opened
    .filter((o) => o.dir === dir && o.record.type === ContentType.handshake)
    .map((o) => only(decodeHandshakeFragments(o.plaintext), 'one Finished per record'));
  expect(copies.length).toBeGreaterThanOrEqual(1);
  for (const f of copies) {
    expect(f).toMatchObject({ msgType: HandshakeType.finished, messageSeq, fragmentOffset: 0, length: 12 });
    expect(toHex(f.body)).toBe(toHex(copies[0]!.body));
  }
  return copies[0]!;
}

/** The opened application_data records a side sent. */
export function appRecords(opened: Opened[], dir: Dir): Opened[] {
  return opened.filter((o) => o.dir === dir && o.record.type === ContentType.application_data);
}

/** The application data a side sent, as (strict) UTF-8 text. */
export function appText(opened: Opened[], dir: Dir): string {
  return appRecords(opened, dir)
    .map((o) => new TextDecoder('utf-8', { fatal: true }).decode(o.plaintext))
    .join('');
}

/**
 * app_data_expected marks an echoing server as `<message> (echo)`: the record carries the
 * client's bytes unchanged (its length proves it), the suffix is an annotation.
 */
export function expectedText(s: string): string {
  return s.endsWith(' (echo)') ? s.slice(0, -' (echo)'.length) : s;
}

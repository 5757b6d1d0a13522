/**
 * Shared by the passive transcript tests: replaying the datagrams of a tinydtls transcript
 * (test/helpers/tinydtls.ts) as a passive observer would see them, through our own record
 * splitter and reassembler.
 */
import { expect } from 'vitest';
import { fromHex } from '../../lib/bytes/util.js';
import { Reassembler, type HandshakeMessage } from '../../lib/dtls/record/reassembler.js';
import { isChangeCipherSpec } from '../../lib/dtls/wire/change-cipher-spec.js';
import { ContentType } from '../../lib/dtls/wire/constants.js';
import { decodeHandshakeFragments } from '../../lib/dtls/wire/handshake.js';
import { splitRecords, type RawRecord } from '../../lib/dtls/wire/record.js';
import type { Datagram, Dir } from './tinydtls.js';

export interface Delivered extends HandshakeMessage {
  dir: Dir;
}
export interface Protected {
  dir: Dir;
  record: RawRecord;
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
        for (const f of decodeHandshakeFragments(r.fragment)) {
          expect(reassembler[d.dir].add(f)).not.toBe('dropped');
          for (let m = reassembler[d.dir].poll(); m; m = reassembler[d.dir].poll()) messages.push({ ...m, dir: d.dir });
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

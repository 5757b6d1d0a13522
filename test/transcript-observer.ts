/**
 * Shared by the passive transcript tests: loading a tinydtls transcript file
 * (/work/shared/interop/tinydtls) and replaying its datagrams as a passive observer would
 * see them, through our own record splitter and reassembler.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { fromHex } from '../lib/bytes/util.js';
import { Reassembler, type HandshakeMessage } from '../lib/dtls/handshake/reassembler.js';
import { isChangeCipherSpec } from '../lib/dtls/wire/change-cipher-spec.js';
import { ContentType } from '../lib/dtls/wire/constants.js';
import { decodeHandshakeFragments } from '../lib/dtls/wire/handshake.js';
import { splitRecords, type RawRecord } from '../lib/dtls/wire/record.js';

export const TRANSCRIPT_DIR = new URL('../../shared/interop/tinydtls/', import.meta.url);

export type Dir = 'c2s' | 's2c';

export interface Datagram {
  dir: Dir;
  t_ms: number;
  hex: string;
  dropped?: boolean;
  records: Array<{ type: string; epoch: number; seq: number; length: number }>;
}

export interface Delivered extends HandshakeMessage {
  dir: Dir;
}
export interface Protected {
  dir: Dir;
  record: RawRecord;
}

/** The transcript file whose name starts with `<prefix>_`. */
export function loadTranscript<T>(prefix: string): { file: string; t: T } {
  const file = readdirSync(fileURLToPath(TRANSCRIPT_DIR)).find((f) => f.startsWith(`${prefix}_`) && f.endsWith('.json'));
  if (!file) throw new Error(`no transcript ${prefix}_*.json in ${fileURLToPath(TRANSCRIPT_DIR)}`);
  return { file, t: JSON.parse(readFileSync(new URL(file, TRANSCRIPT_DIR), 'utf8')) as T };
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

/**
 * The handshake reassembler (lib/dtls/handshake/reassembler.ts) against a reference model
 * written here the plain way (a coverage byte per message byte): same verdict for every
 * fragment, same buffered bytes, the same messages delivered in the same order with the same
 * bytes; never more buffered than the cap, message_seq strictly consecutive.
 *
 * Input: entries `epoch u8 ‖ handshake fragment (12-byte header ‖ body)`; the first byte is
 * the first expected message_seq. Each fragment passes decodeHandshakeFragments first, as in
 * the connection, so the reassembler sees only what it can be given.
 */
import { decodeHandshakeFragments, encodeHandshakeHeader, HANDSHAKE_HEADER_LENGTH, type HandshakeFragment } from '../../../lib/dtls/wire/handshake.js';
import { Reassembler, type FragmentVerdict, type HandshakeMessage } from '../../../lib/dtls/handshake/reassembler.js';
import { hexHead, sameBytes } from '../canon.js';
import { handshakeRecords } from '../dtls-seeds.js';
import type { Rng } from '../rng.js';
import { Violation, type FuzzTarget } from '../target.js';

const MAX_BYTES = 2048;

interface RefPartial {
  msgType: number;
  epoch: number;
  length: number;
  buf: Uint8Array;
  covered: Uint8Array;
}

/** The reference: the same contract as Reassembler, with none of its cleverness. */
class RefReassembler {
  next: number;
  readonly pending = new Map<number, RefPartial>();
  buffered = 0;
  constructor(first: number) {
    this.next = first;
  }
  add(f: HandshakeFragment, epoch: number): FragmentVerdict {
    if (f.messageSeq < this.next) return 'old';
    if (f.messageSeq >= this.next + 8) return 'dropped';
    let p = this.pending.get(f.messageSeq);
    if (!p) {
      if (f.length > MAX_BYTES || this.buffered + f.length > MAX_BYTES) return 'dropped';
      p = { msgType: f.msgType, epoch, length: f.length, buf: new Uint8Array(f.length), covered: new Uint8Array(f.length) };
      this.pending.set(f.messageSeq, p);
      this.buffered += f.length;
    } else if (p.msgType !== f.msgType || p.length !== f.length || p.epoch !== epoch) return 'dropped';
    if (f.fragmentOffset + f.body.length > p.length) return 'dropped';
    for (let i = 0; i < f.body.length; i++) {
      p.buf[f.fragmentOffset + i] = f.body[i]!;
      p.covered[f.fragmentOffset + i] = 1;
    }
    return 'accepted';
  }
  poll(): HandshakeMessage | undefined {
    const p = this.pending.get(this.next);
    if (!p || !p.covered.every((c) => c === 1)) return undefined;
    this.pending.delete(this.next);
    this.buffered -= p.length;
    return { msgType: p.msgType, messageSeq: this.next++, epoch: p.epoch, body: p.buf };
  }
}

function entry(epoch: number, msgType: number, length: number, seq: number, offset: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + HANDSHAKE_HEADER_LENGTH + body.length);
  out[0] = epoch;
  encodeHandshakeHeader(out, 1, msgType, length, seq, offset, body.length);
  out.set(body, 1 + HANDSHAKE_HEADER_LENGTH);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

let messages: HandshakeFragment[] | undefined;
function seedMessages(): HandshakeFragment[] {
  if (!messages) {
    messages = [];
    for (const r of handshakeRecords()) {
      try {
        for (const f of decodeHandshakeFragments(r)) if (f.fragmentOffset === 0 && f.body.length === f.length && f.length <= 1500) messages.push(f);
      } catch {
        /* skip */
      }
    }
    if (messages.length === 0) messages.push({ msgType: 1, length: 4, messageSeq: 0, fragmentOffset: 0, body: new Uint8Array([1, 2, 3, 4]) });
  }
  return messages;
}

/** A flight of consecutive messages cut into overlapping, shuffled, duplicated fragments. */
function generate(rng: Rng): Uint8Array {
  const all = seedMessages();
  const first = rng.below(4);
  const count = rng.range(1, 5);
  const parts: Uint8Array[] = [new Uint8Array([first])];
  for (let k = 0; k < count; k++) {
    const m = rng.pick(all);
    const seq = first + k + (rng.chance(0.1) ? rng.range(-2, 9) : 0);
    const epoch = rng.chance(0.9) ? 0 : 1;
    const len = m.body.length;
    const cuts = new Set([0, len]);
    for (let i = rng.below(6); i > 0; i--) cuts.add(rng.below(len + 1));
    const pts = [...cuts].sort((a, b) => a - b);
    for (let i = 0; i + 1 < pts.length; i++) {
      const s = Math.max(0, pts[i]! - (rng.chance(0.3) ? rng.below(16) : 0));
      const e = Math.min(len, pts[i + 1]! + (rng.chance(0.2) ? rng.below(16) : 0));
      parts.push(entry(epoch, m.msgType, len, seq, s, m.body.subarray(s, e)));
    }
    if (len === 0) parts.push(entry(epoch, m.msgType, 0, seq, 0, new Uint8Array(0)));
  }
  for (let i = parts.length - 1; i > 1; i--) {
    if (rng.chance(0.5)) continue;
    const j = 1 + rng.below(i);
    [parts[i], parts[j]] = [parts[j]!, parts[i]!];
  }
  if (rng.chance(0.3)) parts.push(parts[1 + rng.below(parts.length - 1)] ?? new Uint8Array(0));
  return concat(parts);
}

function same(a: HandshakeMessage | undefined, b: HandshakeMessage | undefined): boolean {
  if (!a || !b) return a === b;
  return a.msgType === b.msgType && a.messageSeq === b.messageSeq && a.epoch === b.epoch && sameBytes(a.body, b.body);
}

export const REASSEMBLER_TARGET: FuzzTarget = {
  name: 'dtls-reassembler',
  about: 'handshake Reassembler vs a reference model: verdicts, buffered bytes (<= cap), messages delivered in order with the same bytes',
  maxLength: 8192,
  seeds: () => {
    const out: Uint8Array[] = [];
    for (const r of handshakeRecords().slice(0, 64)) out.push(concat([new Uint8Array([0]), ...decodeSafe(r).map((f) => entry(0, f.msgType, f.length, f.messageSeq, f.fragmentOffset, f.body))]));
    return out;
  },
  generate,
  run(b) {
    const first = b[0] ?? 0;
    const real = new Reassembler(first, MAX_BYTES);
    const ref = new RefReassembler(first);
    const f: string[] = [];
    let at = 1;
    let expectSeq = first;
    while (at + 1 + HANDSHAKE_HEADER_LENGTH <= b.length) {
      const epoch = b[at]!;
      const fragLen = (b[at + 10]! << 16) | (b[at + 11]! << 8) | b[at + 12]!;
      const end = Math.min(b.length, at + 1 + HANDSHAKE_HEADER_LENGTH + fragLen);
      const slice = b.subarray(at + 1, end);
      at = end;
      let frags: HandshakeFragment[];
      try {
        frags = decodeHandshakeFragments(slice);
      } catch {
        f.push('invalid');
        continue;
      }
      for (const x of frags) {
        const v1 = real.add({ ...x, data: x.body, bodyAt: 0, bodyLength: x.body.length }, epoch);
        const v2 = ref.add(x, epoch);
        if (v1 !== v2) throw new Violation('reassembler', `verdict ${v1}, model ${v2} for seq ${x.messageSeq} ${x.fragmentOffset}+${x.body.length}/${x.length} epoch ${epoch}`);
        f.push(v1);
        if (real.bufferedBytes !== ref.buffered) throw new Violation('reassembler', `buffers ${real.bufferedBytes} bytes, model ${ref.buffered}`);
        if (real.bufferedBytes > MAX_BYTES) throw new Violation('reassembler', `buffers ${real.bufferedBytes} bytes over its cap of ${MAX_BYTES}`);
      }
      // the connection drains after every record
      for (;;) {
        const m1 = real.poll();
        const m2 = ref.poll();
        if (!same(m1, m2)) throw new Violation('reassembler', `delivered ${m1 ? `${m1.messageSeq}:${m1.msgType}:${hexHead(m1.body, 16)}` : 'nothing'}, model ${m2 ? `${m2.messageSeq}:${m2.msgType}:${hexHead(m2.body, 16)}` : 'nothing'}`);
        if (!m1) break;
        if (m1.messageSeq !== expectSeq) throw new Violation('reassembler', `message_seq ${m1.messageSeq} delivered, ${expectSeq} expected`);
        expectSeq++;
        f.push(`delivered:${m1.msgType}`);
      }
    }
    return f;
  },
};

function decodeSafe(r: Uint8Array): HandshakeFragment[] {
  try {
    return decodeHandshakeFragments(r);
  } catch {
    return [];
  }
}

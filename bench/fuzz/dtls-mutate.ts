/**
 * Structure-aware DTLS mutations: a datagram is split into records, a handshake record into
 * fragments, a ClientHello / ServerHello into fields (through the library's own decoders and
 * encoders), one thing is changed, and everything is framed again with consistent lengths,
 * or with one length deliberately wrong. Also: re-fragmenting a handshake message (overlaps,
 * reordering, one record or several), header fields set to edge values, records duplicated,
 * dropped, reordered or spliced from another datagram.
 */
import { DecodeError } from '../../lib/bytes/reader.js';
import { concat } from '../../lib/bytes/util.js';
import { decodeClientHello, encodeClientHello, type ClientHello } from '../../lib/dtls/wire/client-hello.js';
import { ContentType, ExtensionType, HandshakeType } from '../../lib/dtls/wire/constants.js';
import type { Extension } from '../../lib/dtls/wire/extensions.js';
import { decodeHandshakeFragments, encodeHandshakeHeader, HANDSHAKE_HEADER_LENGTH, type HandshakeFragment } from '../../lib/dtls/wire/handshake.js';
import { encodeRecord, splitRecords, type RawRecord } from '../../lib/dtls/wire/record.js';
import { decodeServerHello, encodeServerHello, type ServerHello } from '../../lib/dtls/wire/server-hello.js';
import { mutateBytes, type MutationContext } from './mutate.js';
import type { Rng } from './rng.js';

const u16 = (v: number) => new Uint8Array([v >> 8, v & 0xff]);

/** Plausible extensions (and broken ones) for hellos. */
export function randomExtension(rng: Rng): Extension {
  switch (rng.below(14)) {
    case 0:
      return { type: ExtensionType.supported_groups, data: rng.chance(0.8) ? new Uint8Array([0, 2, 0, 23]) : rng.bytes(rng.below(8)) };
    case 1:
      return { type: ExtensionType.ec_point_formats, data: rng.chance(0.8) ? new Uint8Array([1, 0]) : rng.bytes(rng.below(4)) };
    case 2:
      return { type: ExtensionType.signature_algorithms, data: rng.chance(0.8) ? new Uint8Array([0, 2, 4, 3]) : rng.bytes(rng.below(8)) };
    case 3:
      return { type: ExtensionType.client_certificate_type, data: rng.pick([new Uint8Array([1, 2]), new Uint8Array([2, 2, 0]), new Uint8Array([2]), new Uint8Array([0]), rng.bytes(rng.below(4))]) };
    case 4:
      return { type: ExtensionType.server_certificate_type, data: rng.pick([new Uint8Array([1, 2]), new Uint8Array([2, 0, 2]), new Uint8Array([2]), new Uint8Array([0]), rng.bytes(rng.below(4))]) };
    case 5:
      return { type: ExtensionType.extended_master_secret, data: rng.chance(0.9) ? new Uint8Array(0) : rng.bytes(rng.range(1, 3)) };
    case 6:
      return { type: ExtensionType.record_size_limit, data: rng.chance(0.8) ? u16(rng.pick([0, 1, 63, 64, 65, 256, 512, 16384, 16385, 0xffff])) : rng.bytes(rng.below(4)) };
    case 7:
      return { type: ExtensionType.max_fragment_length, data: rng.chance(0.8) ? new Uint8Array([rng.below(6)]) : rng.bytes(rng.below(3)) };
    case 8:
      return { type: ExtensionType.renegotiation_info, data: rng.chance(0.8) ? new Uint8Array([0]) : rng.bytes(rng.below(4)) };
    case 9:
      return { type: ExtensionType.encrypt_then_mac, data: new Uint8Array(0) };
    case 10:
      return { type: ExtensionType.session_ticket, data: rng.bytes(rng.below(8)) };
    case 11:
      return { type: ExtensionType.server_name, data: rng.bytes(rng.below(16)) };
    default:
      return { type: rng.below(0x10000), data: rng.bytes(rng.smallLength(32)) };
  }
}

function mutateExtensions(exts: Extension[], rng: Rng, ctx: MutationContext): Extension[] {
  const out = exts.map((e) => ({ type: e.type, data: e.data }));
  switch (rng.below(6)) {
    case 0:
      out.splice(rng.below(out.length + 1), 0, randomExtension(rng));
      break;
    case 1:
      if (out.length) out.splice(rng.below(out.length), 1);
      break;
    case 2:
      // a duplicate (must be refused)
      if (out.length) out.push({ ...rng.pick(out) });
      break;
    case 3:
      if (out.length) {
        const i = rng.below(out.length);
        out[i] = { type: out[i]!.type, data: mutateBytes(out[i]!.data, rng, { ...ctx, maxLength: 256 }) };
      }
      break;
    case 4:
      for (let i = out.length - 1; i > 0; i--) {
        const j = rng.below(i + 1);
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      break;
    default:
      return [];
  }
  return out;
}

const SUITES = [0xc0a8, 0xc0ae, 0x00ff, 0xc0a9, 0xc0ac, 0x002f, 0x0000, 0xffff];

export function mutateClientHello(ch: ClientHello, rng: Rng, ctx: MutationContext): ClientHello {
  const m: ClientHello = { ...ch };
  switch (rng.below(8)) {
    case 0:
      m.clientVersion = rng.pick([0xfefd, 0xfeff, 0xfefc, 0x0303, 0, 0xffff]);
      break;
    case 1:
      m.sessionId = rng.bytes(rng.pick([0, 1, 32, rng.below(33)]));
      break;
    case 2:
      m.cookie = rng.chance(0.5) ? new Uint8Array(0) : rng.bytes(rng.pick([1, 16, 32, 255]));
      break;
    case 3:
      m.cipherSuites = Array.from({ length: rng.range(1, 6) }, () => (rng.chance(0.8) ? rng.pick(SUITES) : rng.below(0x10000)));
      break;
    case 4:
      m.compressionMethods = rng.pick([new Uint8Array([0]), new Uint8Array([1]), new Uint8Array([1, 0]), rng.bytes(rng.range(1, 4))]);
      break;
    case 5:
      m.random = rng.bytes(32);
      break;
    default:
      m.extensions = mutateExtensions(ch.extensions, rng, ctx);
  }
  return m;
}

export function mutateServerHello(sh: ServerHello, rng: Rng, ctx: MutationContext): ServerHello {
  const m: ServerHello = { ...sh };
  switch (rng.below(6)) {
    case 0:
      m.serverVersion = rng.pick([0xfefd, 0xfeff, 0xfefc, 0x0303, 0]);
      break;
    case 1:
      m.cipherSuite = rng.chance(0.8) ? rng.pick(SUITES) : rng.below(0x10000);
      break;
    case 2:
      m.compressionMethod = rng.pick([0, 1, 255]);
      break;
    case 3:
      m.sessionId = rng.bytes(rng.pick([0, 32, rng.below(33)]));
      break;
    default:
      m.extensions = mutateExtensions(sh.extensions, rng, ctx);
  }
  return m;
}

/** A handshake message body mutated with its structure when it has one we decode, else as bytes. */
function mutateBody(msgType: number, body: Uint8Array, rng: Rng, ctx: MutationContext): Uint8Array {
  try {
    if (msgType === HandshakeType.client_hello && rng.chance(0.7)) return encodeClientHello(mutateClientHello(decodeClientHello(body), rng, ctx));
    if (msgType === HandshakeType.server_hello && rng.chance(0.7)) return encodeServerHello(mutateServerHello(decodeServerHello(body), rng, ctx));
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
  }
  return mutateBytes(body, rng, { ...ctx, maxLength: Math.max(ctx.maxLength - 25, 1) });
}

function frame(msgType: number, length: number, seq: number, offset: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(HANDSHAKE_HEADER_LENGTH + body.length);
  encodeHandshakeHeader(out, 0, msgType, length, seq, offset, body.length);
  out.set(body, HANDSHAKE_HEADER_LENGTH);
  return out;
}

/** Splits one whole message into fragments (random cut points, some overlapping), shuffled. */
function refragment(f: HandshakeFragment, rng: Rng): Uint8Array[] {
  const len = f.body.length;
  const cuts = new Set<number>([0, len]);
  const n = rng.range(1, 5);
  for (let i = 0; i < n; i++) cuts.add(rng.below(len + 1));
  const points = [...cuts].sort((a, b) => a - b);
  const frags: Uint8Array[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const s = Math.max(0, points[i]! - (rng.chance(0.2) ? rng.below(8) : 0));
    const e = points[i + 1]!;
    frags.push(frame(f.msgType, f.length, f.messageSeq, s, f.body.subarray(s, e)));
  }
  if (frags.length === 0) frags.push(frame(f.msgType, f.length, f.messageSeq, 0, f.body));
  for (let i = frags.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [frags[i], frags[j]] = [frags[j]!, frags[i]!];
  }
  if (rng.chance(0.2)) frags.push(rng.pick(frags));
  return frags;
}

function rebuild(records: ReadonlyArray<{ h: RawRecord; body: Uint8Array }>): Uint8Array {
  return concat(...records.map((r) => encodeRecord(r.h, r.body)));
}

/**
 * One structure-aware mutation of a datagram, or undefined when it holds no record (the
 * caller falls back to byte mutations).
 */
export function mutateDatagram(d: Uint8Array, rng: Rng, ctx: MutationContext): Uint8Array | undefined {
  let records: RawRecord[];
  try {
    records = splitRecords(d);
  } catch {
    return undefined;
  }
  if (records.length === 0) return undefined;
  const recs = records.map((r) => ({ h: { ...r } as RawRecord, body: r.fragment }));
  const i = rng.below(recs.length);
  const r = recs[i]!;
  switch (rng.below(10)) {
    case 0: {
      // a header field at an edge
      const f = rng.below(4);
      if (f === 0) r.h.type = rng.pick([20, 21, 22, 23, 24, 25, 0, 255]);
      else if (f === 1) r.h.version = rng.pick([0xfefd, 0xfeff, 0xfefc, 0x0303]);
      else if (f === 2) r.h.epoch = rng.pick([0, 1, 2, 0xffff, r.h.epoch + 1]);
      else r.h.sequence = rng.pick([0, 1, r.h.sequence + 1, r.h.sequence + 64, 2 ** 48 - 1, Math.max(0, r.h.sequence - 1)]);
      return rebuild(recs);
    }
    case 1: {
      // a record length that lies (bytes after it are then read as another record or dropped)
      const out = rebuild(recs);
      let at = 0;
      for (let k = 0; k < i; k++) at += 13 + recs[k]!.body.length;
      const v = rng.pick([0, 1, r.body.length + 1, r.body.length - 1, 0x4800, 0xffff]);
      if (at + 12 < out.length) {
        out[at + 11] = (v >> 8) & 0xff;
        out[at + 12] = v & 0xff;
      }
      return out;
    }
    case 2:
      recs.splice(rng.below(recs.length + 1), 0, { h: { ...r.h, sequence: r.h.sequence + 1 }, body: r.body });
      return rebuild(recs);
    case 3:
      if (recs.length > 1) recs.splice(i, 1);
      else return undefined;
      return rebuild(recs);
    case 4: {
      const other = ctx.other?.();
      if (!other) return undefined;
      try {
        const theirs = splitRecords(other);
        if (theirs.length === 0) return undefined;
        const t = rng.pick(theirs);
        recs.splice(rng.below(recs.length + 1), 0, { h: { ...t }, body: t.fragment });
      } catch {
        return undefined;
      }
      return rebuild(recs);
    }
    default:
      break;
  }
  // handshake-level mutations of an epoch-0 handshake record
  if (r.h.type !== ContentType.handshake || r.h.epoch !== 0) {
    r.body = mutateBytes(r.body, rng, { ...ctx, maxLength: Math.max(ctx.maxLength - 13, 1) });
    return rebuild(recs);
  }
  let frags: HandshakeFragment[];
  try {
    frags = decodeHandshakeFragments(r.body);
  } catch {
    r.body = mutateBytes(r.body, rng, { ...ctx, maxLength: Math.max(ctx.maxLength - 13, 1) });
    return rebuild(recs);
  }
  if (frags.length === 0) return undefined;
  const j = rng.below(frags.length);
  const f = frags[j]!;
  const parts = frags.map((x) => frame(x.msgType, x.length, x.messageSeq, x.fragmentOffset, x.body));
  switch (rng.below(5)) {
    case 0: {
      // a handshake header field at an edge (inconsistent on purpose)
      const body = f.body;
      const k = rng.below(4);
      parts[j] =
        k === 0
          ? frame(rng.pick([0, 1, 2, 3, 4, 11, 12, 13, 14, 15, 16, 20, 255]), f.length, f.messageSeq, f.fragmentOffset, body)
          : k === 1
            ? frame(f.msgType, rng.pick([0, body.length + 1, 0xffffff, 16384, 16385]), f.messageSeq, f.fragmentOffset, body)
            : k === 2
              ? frame(f.msgType, f.length, rng.pick([0, 1, 2, 3, 7, 8, 0xffff, f.messageSeq + 1]), f.fragmentOffset, body)
              : frame(f.msgType, f.length, f.messageSeq, rng.pick([0, 1, f.length, Math.max(0, f.length - body.length)]), body);
      r.body = concat(...parts);
      return rebuild(recs);
    }
    case 1:
      // re-fragment a whole message, in this record or one record per fragment
      if (f.fragmentOffset === 0 && f.body.length === f.length) {
        const pieces = refragment(f, rng);
        if (rng.chance(0.5)) {
          parts.splice(j, 1, ...pieces);
          r.body = concat(...parts);
        } else {
          parts.splice(j, 1);
          r.body = concat(...parts);
          recs.splice(i + 1, 0, ...pieces.map((p, k) => ({ h: { ...r.h, sequence: r.h.sequence + 1 + k }, body: p })));
        }
        return rebuild(recs);
      }
      return undefined;
    default: {
      // the body, by its structure when we know it; lengths follow
      const body = mutateBody(f.msgType, f.body, rng, ctx);
      const whole = f.fragmentOffset === 0 && f.body.length === f.length;
      parts[j] = frame(f.msgType, whole ? body.length : f.length, f.messageSeq, f.fragmentOffset, whole ? body : body.subarray(0, Math.max(0, f.length - f.fragmentOffset)));
      r.body = concat(...parts);
      return rebuild(recs);
    }
  }
}

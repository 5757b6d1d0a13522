import { addRange, covers } from './byte-ranges.js';
import { decodeClientHello, type ClientHello } from './wire/client-hello.js';
import { clientHelloParamsEnd, helloCookieAt } from './wire/client-hello-layout.js';
import { ContentType, DTLS_1_0, DTLS_1_2, HandshakeType } from './wire/constants.js';
import { encodeHandshake, HANDSHAKE_HEADER_LENGTH } from './wire/handshake.js';
import { encodeRecord, RECORD_HEADER_LENGTH } from './wire/record.js';

/** A whole ClientHello as the endpoint sees it before any state exists for its peer. */
export interface PeekedHello {
  /**
   * The ClientHello decoded, when it carries a cookie; undefined without one: such a hello only
   * gets a HelloVerifyRequest, made from `body` as it is (lib/dtls/cookie.ts).
   */
  ch: ClientHello | undefined;
  /** The ClientHello body (`ch` was decoded from it). */
  body: Uint8Array;
  /** Where its compression_methods end (clientHelloParamsEnd): the end of what the cookie covers. */
  paramsEnd: number;
  /** The record sequence number to mirror in a HelloVerifyRequest (RFC 6347 §4.2.1). */
  recordSeq: number;
  messageSeq: number;
  /** Bytes the client sent for it (all datagrams of a fragmented one): the HelloVerifyRequest's bound. */
  wireBytes: number;
  /**
   * The ClientHello as one unfragmented record, for the connection, when it arrived in
   * fragments; undefined when the datagram itself holds it whole.
   */
  whole: Uint8Array | undefined;
}

/** The largest ClientHello we reassemble (a hello with many extensions and a cookie fits easily). */
const MAX_HELLO = 4096;

interface Partial {
  key: string;
  length: number;
  body: Uint8Array;
  /** Sorted, disjoint [start, end) ranges received. */
  ranges: Array<[number, number]>;
  recordSeq: number;
  wireBytes: number;
}

/**
 * ClientHellos, whole or in fragments, before any per-peer state exists. RFC 6347 §4.2.1 has the
 * server answer a ClientHello statelessly; a ClientHello with many extensions may not fit a
 * small MTU (6LoWPAN) and come in fragments, which need a little state before the cookie can be
 * checked. That state lives here, in a small pool shared by every peer and bounded in entries
 * and bytes, the oldest partial hello evicted first, so spoofed fragments can only push each
 * other out. Both the first and the cookie-bearing ClientHello may be fragmented.
 */
export class ClientHelloPool {
  private readonly partials = new Map<string, Partial>();
  private bytes = 0;

  constructor(
    private readonly maxEntries = 64,
    private readonly maxBytes = 64 * 1024,
  ) {}

  /** Partial hellos held (for tests and stats). */
  get size(): number {
    return this.partials.size;
  }

  /**
   * If `datagram` starts with an epoch-0 handshake record carrying a ClientHello (or a fragment
   * that completes one from `peerKey`), returns it; undefined for anything else, for a fragment
   * that leaves its hello incomplete, and for a malformed hello.
   */
  take(peerKey: string, datagram: Uint8Array): PeekedHello | undefined {
    const d = datagram;
    if (d.length < RECORD_HEADER_LENGTH + HANDSHAKE_HEADER_LENGTH || d[0] !== ContentType.handshake || d[3] !== 0 || d[4] !== 0) return undefined;
    const version = (d[1]! << 8) | d[2]!;
    if (version !== DTLS_1_2 && version !== DTLS_1_0) return undefined;
    const recordSeq = u48(d, 5);
    const recLen = (d[11]! << 8) | d[12]!;
    if (RECORD_HEADER_LENGTH + recLen > d.length || recLen < HANDSHAKE_HEADER_LENGTH) return undefined;
    const h = RECORD_HEADER_LENGTH;
    if (d[h] !== HandshakeType.client_hello) return undefined;
    const length = u24(d, h + 1);
    const messageSeq = (d[h + 4]! << 8) | d[h + 5]!;
    const offset = u24(d, h + 6);
    const fragLen = u24(d, h + 9);
    if (HANDSHAKE_HEADER_LENGTH + fragLen > recLen || offset + fragLen > length) return undefined;
    const fragment = d.subarray(h + HANDSHAKE_HEADER_LENGTH, h + HANDSHAKE_HEADER_LENGTH + fragLen);
    if (offset === 0 && fragLen === length) {
      const paramsEnd = clientHelloParamsEnd(fragment);
      const ch = decode(fragment, paramsEnd);
      return ch !== null ? { ch, body: fragment, paramsEnd, recordSeq, messageSeq, wireBytes: d.length, whole: undefined } : undefined;
    }
    return this.addFragment(`${peerKey}|${messageSeq}`, length, offset, fragment, recordSeq, d.length, messageSeq);
  }

  private addFragment(key: string, length: number, offset: number, fragment: Uint8Array, recordSeq: number, wireBytes: number, messageSeq: number): PeekedHello | undefined {
    if (length > MAX_HELLO || fragment.length === 0) return undefined;
    let p = this.partials.get(key);
    if (p && p.length !== length) {
      this.drop(p);
      p = undefined;
    }
    if (!p) {
      while (this.partials.size >= this.maxEntries || (this.partials.size > 0 && this.bytes + length > this.maxBytes)) {
        this.drop(this.partials.values().next().value!);
      }
      p = { key, length, body: new Uint8Array(length), ranges: [], recordSeq, wireBytes: 0 };
      this.partials.set(key, p);
      this.bytes += length;
    }
    p.body.set(fragment, offset);
    addRange(p.ranges, offset, offset + fragment.length);
    p.recordSeq = recordSeq;
    p.wireBytes += wireBytes;
    if (!covers(p.ranges, length)) return undefined;
    this.drop(p);
    const paramsEnd = clientHelloParamsEnd(p.body);
    const ch = decode(p.body, paramsEnd);
    if (ch === null) return undefined;
    const whole = encodeRecord({ type: ContentType.handshake, version: DTLS_1_2, epoch: 0, sequence: recordSeq }, encodeHandshake(HandshakeType.client_hello, messageSeq, p.body));
    return { ch, body: p.body, paramsEnd, recordSeq, messageSeq, wireBytes: p.wireBytes, whole };
  }

  private drop(p: Partial): void {
    if (this.partials.get(p.key) !== p) return;
    this.partials.delete(p.key);
    this.bytes -= p.length;
  }
}

/**
 * The hello decoded when it has a cookie, undefined when it has none (it gets only a
 * HelloVerifyRequest, which needs nothing decoded); null when it is malformed.
 */
function decode(body: Uint8Array, paramsEnd: number): ClientHello | undefined | null {
  if (paramsEnd < 0) return null;
  if (body[helloCookieAt(body)] === 0) return undefined;
  try {
    return decodeClientHello(body);
  } catch {
    return null;
  }
}

function u24(d: Uint8Array, at: number): number {
  return (d[at]! << 16) | (d[at + 1]! << 8) | d[at + 2]!;
}

function u48(d: Uint8Array, at: number): number {
  return ((d[at]! << 8) | d[at + 1]!) * 0x1_0000_0000 + (((d[at + 2]! << 24) | (d[at + 3]! << 16) | (d[at + 4]! << 8) | d[at + 5]!) >>> 0);
}

/**
 * One client connection and a server endpoint joined directly, with no network in between:
 * the test moves each datagram itself (and may cut, copy or rewrite it) and moves the clock.
 * For the cases a simulated link cannot make: a record edited or dropped inside a datagram, a
 * datagram delivered twice at the same instant, a header field rewritten.
 */
import { resolveConfig, type ConnectionOptions } from '../../lib/dtls/config.js';
import { DtlsEndpoint } from '../../lib/dtls/endpoint.js';
import type { EndpointEvent } from '../../lib/dtls/endpoint-events.js';
import type { EndpointOptions } from '../../lib/dtls/endpoint-options.js';
import type { DtlsEvent } from '../../lib/dtls/events.js';
import { ClientConnection } from '../../lib/dtls/handshake/client.js';
import { pskMap, type KeyStore, type PeerAddress } from '../../lib/dtls/keystore.js';
import { verifyPeer } from '../../lib/dtls/trust.js';
import { decodeHandshakeFragments, encodeHandshakeHeader, HANDSHAKE_HEADER_LENGTH } from '../../lib/dtls/wire/handshake.js';
import { encodeRecord, splitRecords, type RawRecord } from '../../lib/dtls/wire/record.js';
import { nodeCrypto } from '../../lib/crypto/node.js';
import { IDENTITY, KEY, SERVER } from './harness.js';

export const CLIENT: PeerAddress = { address: '10.0.0.2', port: 40000 };

export class DirectLink {
  now = 0;
  readonly endpoint: DtlsEndpoint;
  readonly client: ClientConnection;
  readonly clientEvents: DtlsEvent[] = [];
  readonly serverEvents: EndpointEvent[] = [];

  constructor(
    o: { server?: Partial<EndpointOptions>; client?: ConnectionOptions; clientStore?: KeyStore } = {},
  ) {
    this.endpoint = new DtlsEndpoint({ psk: pskMap([[IDENTITY, KEY]]), ...o.server });
    this.client = new ClientConnection(resolveConfig({ psk: { identity: IDENTITY, key: KEY }, ...o.client }));
    this.clientStore = o.clientStore ?? {};
  }
  private readonly clientStore: KeyStore;

  /** What the client has to send now (its events collected, a peer check answered at once). */
  fromClient(): Uint8Array[] {
    this.events();
    const out: Uint8Array[] = [];
    for (let d = this.client.pollTransmit(); d; d = this.client.pollTransmit()) out.push(d);
    return out;
  }

  /** What the server has to send to the client now. */
  fromServer(): Uint8Array[] {
    this.events();
    const out: Uint8Array[] = [];
    for (let t = this.endpoint.pollTransmit(); t; t = this.endpoint.pollTransmit()) out.push(t.data);
    return out;
  }

  toServer(d: Uint8Array): void {
    this.endpoint.handleDatagram(this.now, CLIENT, d);
  }

  toClient(d: Uint8Array): void {
    this.client.handleDatagram(this.now, d);
  }

  /** Moves the clock to the next deadline of either side (none: nothing moves). */
  nextTimer(): boolean {
    const a = this.endpoint.pollTimeout(), b = this.client.pollTimeout();
    const t = a === undefined ? b : b === undefined ? a : Math.min(a, b);
    if (t === undefined) return false;
    this.now = Math.max(this.now, t);
    if (a !== undefined && a <= this.now) this.endpoint.handleTimeout(this.now);
    if (b !== undefined && b <= this.now) this.client.handleTimeout(this.now);
    return true;
  }

  /**
   * Moves every datagram both ways until nothing moves; throws after `maxRounds` rounds
   * (two peers answering each other without end). Returns the datagrams moved.
   */
  settle(maxRounds = 1000): number {
    let moved = 0;
    for (let round = 0; round < maxRounds; round++) {
      const c = this.fromClient(), s = this.fromServer();
      if (c.length + s.length === 0) return moved;
      moved += c.length + s.length;
      for (const d of c) this.toServer(d);
      for (const d of s) this.toClient(d);
    }
    throw new Error(`still exchanging datagrams after ${maxRounds} rounds`);
  }

  clientHas(type: DtlsEvent['type']): boolean {
    this.events();
    return this.clientEvents.some((e) => e.type === type);
  }

  serverHas(type: EndpointEvent['type']): boolean {
    this.events();
    return this.serverEvents.some((e) => e.type === type);
  }

  private events(): void {
    for (let e = this.client.pollEvent(); e; e = this.client.pollEvent()) {
      if (e.type === 'verify-peer') {
        const v = verifyPeer(this.clientStore, e.credential, SERVER, { crypto: nodeCrypto, purpose: 'serverAuth' });
        if (v instanceof Promise) throw new Error('the direct link answers peer checks synchronously only');
        this.client.resolvePeer(this.now, v);
      }
      this.clientEvents.push(e);
    }
    for (let e = this.endpoint.pollEvent(); e; e = this.endpoint.pollEvent()) this.serverEvents.push(e);
  }
}

/** The records of a datagram, rewritten by `f` (undefined: the record is left out), as a datagram. */
export function rewriteRecords(d: Uint8Array, f: (r: RawRecord) => RawRecord | undefined): Uint8Array {
  const parts = splitRecords(d).flatMap((r) => {
    const x = f(r);
    return x ? [encodeRecord(x, x.fragment)] : [];
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The handshake message types in a datagram's epoch-0 records, in order (message_seq with each). */
export function handshakeMessages(d: Uint8Array): Array<{ msgType: number; messageSeq: number }> {
  return splitRecords(d)
    .filter((r) => r.type === 22 && r.epoch === 0)
    .flatMap((r) => decodeHandshakeFragments(r.fragment).map((f) => ({ msgType: f.msgType, messageSeq: f.messageSeq })));
}

/** An epoch-0 handshake record whose one fragment claims a message one byte longer than it carries. */
export function claimOneMoreByte(r: RawRecord): RawRecord {
  const [f] = decodeHandshakeFragments(r.fragment);
  if (!f) return r;
  const fragment = new Uint8Array(HANDSHAKE_HEADER_LENGTH + f.body.length);
  encodeHandshakeHeader(fragment, 0, f.msgType, f.length + 1, f.messageSeq, f.fragmentOffset, f.body.length);
  fragment.set(f.body, HANDSHAKE_HEADER_LENGTH);
  return { ...r, fragment };
}

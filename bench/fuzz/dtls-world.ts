/**
 * A DTLS world on a virtual clock, in one process and without sockets: a DtlsEndpoint that
 * speaks PSK and ECDHE-ECDSA (raw public keys and, when the test PKI is there, X.509, client
 * authentication optional) and echoes what it receives (as the README's server does), and
 * sans-IO clients at fixed addresses. Every datagram goes through an optional tap (drop,
 * duplicate, mutate, reorder) and is logged. Deterministic from its seed (det-crypto.ts).
 */
import { fromHex } from '../../lib/bytes/util.js';
import type { CryptoProvider, P256PrivateKey, P256PublicKey } from '../../lib/crypto/provider.js';
import { resolveConfig, type ConnectionOptions } from '../../lib/dtls/config.js';
import { DtlsEndpoint } from '../../lib/dtls/endpoint.js';
import type { EndpointEvent } from '../../lib/dtls/endpoint-events.js';
import { DtlsError } from '../../lib/dtls/errors.js';
import type { DtlsEvent } from '../../lib/dtls/events.js';
import { ClientConnection } from '../../lib/dtls/handshake/client.js';
import { memoryKeyStore, peerKey, type KeyStore, type PeerAddress } from '../../lib/dtls/keystore.js';
import { verifyPeer } from '../../lib/dtls/trust.js';
import { CipherSuite } from '../../lib/dtls/wire/constants.js';
import { parseCertificates, type Certificate } from '../../lib/x509/certificate.js';
import { deterministicCrypto, signingKey } from './det-crypto.js';
import { pkiText } from './fixtures.js';
import { Violation } from './target.js';

export const SERVER: PeerAddress = { address: '10.0.0.1', port: 5684 };
export const IDENTITY = new TextEncoder().encode('Client_identity');
export const PSK = new TextEncoder().encode('secretPSK');
/** The tinydtls example key pairs (public test vectors). */
const SERVER_SCALAR = fromHex('d9e2707a72da6a0504995c86eddbe3efc7f1cd74838f7570c8072d0a76261bd4');
const CLIENT_SCALAR = fromHex('41c1cb6b51247a144321435b7a80e714896a33bbad7294ca401455a194a949fa');
/** A fixed validity clock inside the test PKI's period (2025..2045). */
const CLOCK = () => new Date(Date.UTC(2030, 0, 1));

export type ClientKind = 'psk' | 'psk-small' | 'rpk' | 'x509';
export const CLIENT_KINDS: readonly ClientKind[] = ['psk', 'psk-small', 'rpk', 'x509'];

export interface Wire {
  dir: 'c2s' | 's2c';
  peer: PeerAddress;
  data: Uint8Array;
}

/** What the tap does with one datagram in flight: the datagrams to deliver instead (none: dropped). */
export type Tap = (w: Wire, index: number) => Uint8Array[];

export class FuzzClient {
  connected = false;
  error: DtlsError | undefined;
  readonly received: Uint8Array[] = [];
  constructor(
    readonly kind: ClientKind,
    readonly peer: PeerAddress,
    readonly conn: ClientConnection,
    readonly store: KeyStore,
  ) {}
}

interface Pki {
  ca: Certificate[];
  serverKey: P256PrivateKey;
  serverChain: Uint8Array[];
  clientKey: P256PrivateKey;
  clientChain: Uint8Array[];
}

/** Parsed peer public keys, shared by every world (parsing a key costs more than a verify). */
const publicKeyCache = new Map<string, P256PublicKey>();

/** The keys and the PKI, parsed once per process (node:crypto key objects, shared by every world). */
let keys: { server: P256PrivateKey; client: P256PrivateKey; pki: Pki | undefined } | undefined;
function sharedKeys() {
  keys ??= { server: signingKey(SERVER_SCALAR), client: signingKey(CLIENT_SCALAR), pki: loadPki() };
  return keys;
}

function loadPki(): Pki | undefined {
  const ca = pkiText('ca.crt'), sk = pkiText('server.key'), sc = pkiText('server.crt'), ck = pkiText('client.key'), cc = pkiText('client.crt');
  if (!ca || !sk || !sc || !ck || !cc) return undefined;
  return {
    ca: parseCertificates(ca),
    serverKey: signingKey(sk),
    serverChain: parseCertificates(sc).map((c) => c.der),
    clientKey: signingKey(ck),
    clientChain: parseCertificates(cc).map((c) => c.der),
  };
}

export interface WorldOptions {
  /** Bound of the endpoint's handshakes and sessions (small, so that the limits are reached). */
  maxHandshakes?: number;
  maxSessions?: number;
}

export class DtlsWorld {
  readonly crypto: CryptoProvider;
  readonly endpoint: DtlsEndpoint;
  now = 0;
  readonly clients = new Map<string, FuzzClient>();
  /** Everything that crossed the wire (bounded to the first 64 datagrams: the handshakes). */
  readonly log: Wire[] = [];
  /** Datagrams the server sent to addresses without a client (bounded, newest last). */
  readonly unrouted: Wire[] = [];
  /** Failures that are not the peer's fault: an INTERNAL error (an exception caught inside the engine). */
  readonly internal: string[] = [];
  /** Bytes the server sent to each address (peerKey), cumulative. */
  readonly sentBytes = new Map<string, number>();
  /** Event features of the last pump (types, error codes). */
  readonly features = new Set<string>();
  private readonly pki: Pki | undefined;
  private readonly serverKey: P256PrivateKey;
  private readonly clientKey: P256PrivateKey;
  private wireIndex = 0;
  /** Debugging: sees every datagram before the tap (its index), and what the tap lets through (index -1). */
  trace: ((w: Wire, index: number) => void) | undefined;

  constructor(seed: number, o: WorldOptions = {}) {
    this.crypto = deterministicCrypto(seed);
    const k = sharedKeys();
    this.serverKey = k.server;
    this.clientKey = k.client;
    this.pki = k.pki;
    const keyStore = memoryKeyStore({
      psk: [[IDENTITY, PSK]],
      rawPublicKeys: [[this.clientKey.publicKey.spki, 'fuzz-client']],
      ...(this.pki ? { anchors: this.pki.ca, clock: CLOCK } : {}),
    });
    this.endpoint = new DtlsEndpoint({
      crypto: this.crypto,
      publicKeyCache,
      keyStore,
      // one key for both raw public keys and X.509 needs the PKI's server key; without it, RPK only
      ecdhe: this.pki ? { key: this.pki.serverKey, rawPublicKey: true, certificateChain: this.pki.serverChain } : { key: this.serverKey, rawPublicKey: true },
      clientAuth: 'optional',
      maxHandshakes: o.maxHandshakes ?? 8,
      maxSessions: o.maxSessions ?? 16,
      handshakeTimeoutMs: 30_000,
    });
  }

  get hasPki(): boolean {
    return this.pki !== undefined;
  }

  /** A client of `kind` at `peer` (replacing any client there); not started. */
  addClient(kind: ClientKind, peer: PeerAddress): FuzzClient {
    const o: ConnectionOptions = { crypto: this.crypto, publicKeyCache };
    let store: KeyStore = {};
    switch (kind) {
      case 'psk':
        Object.assign(o, { psk: { identity: IDENTITY, key: PSK }, suites: [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8] });
        break;
      case 'psk-small':
        // a small device: records of at most 256 bytes, small MTU (the server must size its sends)
        Object.assign(o, { psk: { identity: IDENTITY, key: PSK }, suites: [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8], recordSizeLimit: 256, maxFragmentLength: 512, mtu: 300 });
        break;
      case 'rpk': {
        const spki = this.pki ? this.pki.serverKey.publicKey.spki : this.serverKey.publicKey.spki;
        Object.assign(o, { ecdhe: { key: this.clientKey, rawPublicKey: true }, acceptPeerCertificateTypes: [2], suites: [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8] });
        store = memoryKeyStore({ rawPublicKeys: [[spki, 'fuzz-server']] });
        break;
      }
      case 'x509':
        if (!this.pki) return this.addClient('rpk', peer);
        Object.assign(o, {
          ecdhe: { key: this.pki.clientKey, rawPublicKey: false, certificateChain: this.pki.clientChain },
          acceptPeerCertificateTypes: [0],
          suites: [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8],
          serverName: 'localhost',
        });
        store = memoryKeyStore({ anchors: this.pki.ca, clock: CLOCK });
        break;
    }
    const c = new FuzzClient(kind, peer, new ClientConnection(resolveConfig(o)), store);
    this.clients.set(peerKey(peer), c);
    return c;
  }

  /** A datagram arrives at the server from `from` (through the tap when given), then everything settles. */
  toServer(from: PeerAddress, data: Uint8Array, tap?: Tap): void {
    this.deliver({ dir: 'c2s', peer: from, data }, tap);
    this.pump(tap);
  }

  /** Moves the clock by `ms`, fires what is due, settles. */
  advance(ms: number, tap?: Tap): void {
    this.now += ms;
    this.fireTimers();
    this.pump(tap);
  }

  /** Runs until `done` or `limitMs` of virtual time, jumping from deadline to deadline. */
  runUntil(done: () => boolean, limitMs: number, tap?: Tap): void {
    const end = this.now + limitMs;
    for (let steps = 0; steps < 1000; steps++) {
      this.pump(tap);
      if (done()) return;
      const next = this.nextDeadline();
      if (next === undefined || next > end) return;
      this.now = Math.max(this.now, next);
      this.fireTimers();
    }
    throw new Violation('no-progress', 'a thousand timer steps without the world settling');
  }

  /** Starts a client's handshake and runs it to its end (connected or failed) or the limit. */
  handshake(c: FuzzClient, tap?: Tap, limitMs = 70_000): void {
    c.conn.start(this.now);
    this.runUntil(() => c.connected || c.error !== undefined, limitMs, tap);
  }

  /** Whether the server holds an established session for this peer. */
  serverConnected(peer: PeerAddress): boolean {
    const k = peerKey(peer);
    for (const s of this.endpoint.sessions()) if (peerKey(s.peer) === k) return s.connection.state === 'connected';
    return false;
  }

  /** Whether the server holds any state for this peer. */
  serverKnows(peer: PeerAddress): boolean {
    const k = peerKey(peer);
    for (const s of this.endpoint.sessions()) if (peerKey(s.peer) === k) return true;
    return false;
  }

  /** The server's handshake state names (coverage). */
  serverStates(): string[] {
    const out: string[] = [];
    for (const s of this.endpoint.sessions()) out.push(s.connection.stateName);
    return out;
  }

  private nextDeadline(): number | undefined {
    let t = this.endpoint.pollTimeout();
    for (const c of this.clients.values()) {
      const ct = c.conn.pollTimeout();
      if (ct !== undefined && (t === undefined || ct < t)) t = ct;
    }
    return t;
  }

  private fireTimers(): void {
    const t = this.endpoint.pollTimeout();
    if (t !== undefined && t <= this.now) this.endpoint.handleTimeout(this.now);
    for (const c of this.clients.values()) {
      const ct = c.conn.pollTimeout();
      if (ct !== undefined && ct <= this.now) c.conn.handleTimeout(this.now);
    }
  }

  /** Moves datagrams and events until nothing moves. */
  pump(tap?: Tap): void {
    for (let round = 0; round < 10_000; round++) {
      let moved = false;
      for (let t = this.endpoint.pollTransmit(); t; t = this.endpoint.pollTransmit()) {
        moved = true;
        this.deliver({ dir: 's2c', peer: t.peer, data: t.data }, tap);
      }
      for (const c of this.clients.values()) {
        for (let d = c.conn.pollTransmit(); d; d = c.conn.pollTransmit()) {
          moved = true;
          this.deliver({ dir: 'c2s', peer: c.peer, data: d }, tap);
        }
        for (let e = c.conn.pollEvent(); e; e = c.conn.pollEvent()) {
          moved = true;
          this.clientEvent(c, e);
        }
      }
      for (let e = this.endpoint.pollEvent(); e; e = this.endpoint.pollEvent()) {
        moved = true;
        this.serverEvent(e);
      }
      if (!moved) return;
    }
    throw new Violation('ping-pong', 'ten thousand rounds of datagrams without the world going quiet');
  }

  private deliver(w: Wire, tap?: Tap): void {
    const index = this.wireIndex++;
    this.trace?.(w, index);
    if (w.dir === 's2c') {
      const k = peerKey(w.peer);
      this.sentBytes.set(k, (this.sentBytes.get(k) ?? 0) + w.data.length);
    }
    if (this.log.length < 64) this.log.push(w);
    const out = tap ? tap(w, index) : [w.data];
    for (const data of out) {
      if (this.trace && tap) this.trace({ ...w, data }, -1);
      if (w.dir === 'c2s') {
        this.endpoint.handleDatagram(this.now, w.peer, data);
        continue;
      }
      const c = this.clients.get(peerKey(w.peer));
      if (c) c.conn.handleDatagram(this.now, data);
      else {
        this.unrouted.push({ ...w, data });
        if (this.unrouted.length > 16) this.unrouted.shift();
      }
    }
  }

  private clientEvent(c: FuzzClient, e: DtlsEvent): void {
    switch (e.type) {
      case 'verify-peer': {
        const v = verifyPeer(c.store, e.credential, SERVER, { crypto: this.crypto, purpose: 'serverAuth', ...(c.kind === 'x509' ? { expectedName: 'localhost' } : {}) });
        if (v instanceof Promise) throw new Violation('async', 'a memory key store answered with a promise');
        c.conn.resolvePeer(this.now, v);
        break;
      }
      case 'connected':
        c.connected = true;
        this.features.add(`client:${c.kind}:connected`);
        break;
      case 'data':
        if (c.received.length < 16) c.received.push(e.data);
        break;
      case 'failed':
        c.error = e.error;
        this.features.add(`client:${c.kind}:failed:${e.error.code}`);
        if (e.error.code === 'INTERNAL') this.internal.push(`client ${c.kind}: ${e.error.message}`);
        break;
      case 'closed':
        c.error = new DtlsError('CLOSED', `closed by ${e.reason}`);
        break;
      default:
        this.features.add(`client:event:${e.type}`);
    }
  }

  private serverEvent(e: EndpointEvent): void {
    switch (e.type) {
      case 'data': {
        // the README's echo server: s.on('data', (d) => s.send(d)); a too-large record is that send's typed error
        try {
          this.endpoint.send(this.now, e.connection, e.data);
        } catch (err) {
          if (!(err instanceof DtlsError) || (err.code !== 'RECORD_TOO_LARGE' && err.code !== 'CLOSED')) throw err;
          this.features.add(`server:send:${err.code}`);
        }
        break;
      }
      case 'failed':
        this.features.add(`server:failed:${e.error.code}`);
        if (e.error.code === 'INTERNAL') this.internal.push(`server: ${e.error.message}`);
        break;
      case 'key-store-error':
        this.internal.push(`server key store: ${String(e.cause)}`);
        break;
      default:
        this.features.add(`server:${e.type}`);
    }
  }
}

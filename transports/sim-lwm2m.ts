import { coapUriAuthority } from '../lib/coap/uri.js';
import { resolveConfig, type ConnectionOptions } from '../lib/dtls/config.js';
import { DtlsEndpoint } from '../lib/dtls/endpoint.js';
import type { EndpointOptions } from '../lib/dtls/endpoint-options.js';
import type { DtlsEvent } from '../lib/dtls/events.js';
import { ClientConnection } from '../lib/dtls/handshake/client.js';
import type { ServerConnection } from '../lib/dtls/handshake/server.js';
import { peerKey, type KeyStore, type PeerAddress } from '../lib/dtls/keystore.js';
import { verifyPeer, type PeerVerdict } from '../lib/dtls/trust.js';
import { defaultCrypto } from '../lib/crypto/default.js';
import { BootstrapServerCore, type BootstrapServerCoreOptions, type BootstrapServerEvent } from '../lib/lwm2m/bootstrap-server-core.js';
import { Lwm2mClientCore, type Lwm2mClientCoreOptions, type Lwm2mClientEvent } from '../lib/lwm2m/client-core.js';
import { resumptionChanged } from '../lib/lwm2m/client-sessions.js';
import type { PeerInfo } from '../lib/lwm2m/coap-agent.js';
import { dtlsCredentials } from '../lib/lwm2m/security.js';
import { Lwm2mServerCore, type Lwm2mServerCoreOptions, type Lwm2mServerEvent } from '../lib/lwm2m/server-core.js';
import type { ClientState } from '../lib/lwm2m/storage.js';
import { seededRandom, type SimNode } from './sim.js';

/**
 * The LwM2M cores as nodes of the virtual-clock network (transports/sim.ts), over the sans-IO
 * DTLS engine: the client's channels are ClientConnections (coaps://) or bare datagrams
 * (coap://) to the address in the URI (an IP literal; there is no DNS here); the servers sit
 * on a DtlsEndpoint. Every event is kept with its virtual time for assertions. The driver
 * contract is the Node driver's: datagrams before events, so a 'close' follows the last
 * datagrams of its channel.
 */

/** Seeded random bytes (reproducible tokens and message IDs). */
export function seededBytes(seed: number): (n: number) => Uint8Array {
  const r = seededRandom(seed);
  return (n) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
    return b;
  };
}

/** The address of a coap:// or coaps:// URI with an IP literal host. */
export function uriAddress(uri: string): { address: PeerAddress; secure: boolean } {
  const a = coapUriAuthority(uri);
  if (!a) throw new TypeError(`not a CoAP URI: ${uri}`);
  return { address: { address: a.host, port: a.port }, secure: a.secure };
}

export type Timed<E> = E & { at: number };

/** A sans-IO engine's one timer. */
interface TimerOwner {
  pollTimeout(): number | undefined;
  handleTimeout(now: number): void;
}

/** Runs an engine's timer when it is due. */
function fireIfDue(e: TimerOwner | undefined, now: number): void {
  const t = e?.pollTimeout();
  if (e && t !== undefined && t <= now) e.handleTimeout(now);
}

/** The earliest of some deadlines (undefined: none). */
function earliest(...ts: Array<number | undefined>): number | undefined {
  let min: number | undefined;
  for (const t of ts) if (t !== undefined && (min === undefined || t < min)) min = t;
  return min;
}

export interface SimLwm2mClientOptions extends Omit<Lwm2mClientCoreOptions, 'wake' | 'persist'> {
  /** DTLS settings of every session (retransmission, MTU, crypto); the credentials come from the account. */
  dtls?: Omit<ConnectionOptions, 'psk' | 'ecdhe' | 'suites' | 'acceptPeerCertificateTypes' | 'resume'>;
  /** Keep the bootstrapped configuration in `saved` (persisted at once). */
  persist?: boolean;
  /**
   * The device's flash for the resumption blobs (lib/lwm2m/client-sessions.ts ResumptionStorage,
   * synchronous here): what survives a simulated reboot.
   */
  sessionResumption?: { load(serverUri: string): Uint8Array | undefined; save(serverUri: string, blob: Uint8Array | undefined): void };
}

interface Link {
  channel: number;
  uri: string;
  to: PeerAddress;
  /** The resumption blob loaded for this channel's server (compared with the new one once connected). */
  saved: Uint8Array | undefined;
  /** The DTLS connection (coaps://); absent for coap://. */
  conn: ClientConnection | undefined;
  trust: KeyStore;
  up: boolean;
  /** Closed by the core, or reported failed/lost. */
  closed: boolean;
}

/** An LwM2M client (Lwm2mClientCore) as a simulated network node. */
export class SimLwm2mClient implements SimNode {
  readonly core: Lwm2mClientCore;
  readonly events: Array<Timed<Lwm2mClientEvent>> = [];
  /** The last persisted state (with `persist`). */
  saved: ClientState | undefined;
  /** Every channel the core opened, in order, with when. */
  readonly opened: Array<{ channel: number; uri: string; at: number }> = [];
  private readonly links = new Map<number, Link>();
  private readonly out: Array<{ to: PeerAddress; data: Uint8Array }> = [];
  private readonly verdicts: Array<{ link: Link; verdict: PeerVerdict }> = [];
  private woken = false;

  constructor(
    readonly address: PeerAddress,
    private readonly opts: SimLwm2mClientOptions,
  ) {
    this.core = new Lwm2mClientCore({
      random: seededBytes(address.port),
      ...opts,
      persist: !!opts.persist,
      wake: () => (this.woken = true),
    });
  }

  get store() {
    return this.core.store;
  }

  /** Runs a command on the core at `now` (start, bootstrap, update, stop, ...), then moves its output. */
  act<T>(now: number, f: (core: Lwm2mClientCore) => T): T {
    const r = f(this.core);
    this.pump(now);
    return r;
  }

  /** Events of one type, in order. */
  eventsOf<K extends Lwm2mClientEvent['type']>(type: K): Array<Timed<Extract<Lwm2mClientEvent, { type: K }>>> {
    return this.events.filter((e) => e.type === type) as Array<Timed<Extract<Lwm2mClientEvent, { type: K }>>>;
  }

  handleDatagram(now: number, from: PeerAddress, data: Uint8Array): void {
    const key = peerKey(from);
    let link: Link | undefined;
    for (const l of this.links.values()) if (!l.closed && peerKey(l.to) === key) link = l;
    if (!link) return;
    if (link.conn) link.conn.handleDatagram(now, data);
    else this.core.handleDatagram(now, link.channel, data);
    this.pump(now);
  }

  handleTimeout(now: number): void {
    this.woken = false;
    for (const { link, verdict } of this.verdicts.splice(0)) link.conn?.resolvePeer(now, verdict);
    fireIfDue(this.core, now);
    for (const l of this.links.values()) fireIfDue(l.conn, now);
    this.pump(now);
  }

  pollTransmit(): { to: PeerAddress; data: Uint8Array } | undefined {
    return this.out.shift();
  }

  pollTimeout(): number | undefined {
    if (this.woken) return 0;
    let t = this.core.pollTimeout();
    for (const l of this.links.values()) t = earliest(t, l.conn?.pollTimeout());
    return t;
  }

  // ------------------------------------------------------------------------------------

  /**
   * Moves datagrams and events between the core and the links until nothing moves. The
   * core's datagrams always go out before its next event is acted on: a 'close' follows the
   * last datagrams of its channel.
   */
  private pump(now: number): void {
    for (;;) {
      this.sendCore(now);
      if (this.driveLinks(now)) continue;
      const e = this.core.pollEvent();
      if (!e) return;
      this.coreEvent(now, e);
    }
  }

  private sendCore(now: number): void {
    for (let t = this.core.pollTransmit(); t; t = this.core.pollTransmit()) {
      const l = this.links.get(t.channel);
      if (!l || l.closed || !l.up) continue;
      if (!l.conn) this.out.push({ to: l.to, data: t.data });
      else if (l.conn.state === 'connected') {
        try {
          l.conn.send(now, t.data);
        } catch {
          // too large for a record: CoAP gives up on it
        }
      }
    }
  }

  /** The links' datagrams to the wire, their events to the core; true if an event was handled. */
  private driveLinks(now: number): boolean {
    for (const l of this.links.values()) {
      if (!l.conn) continue;
      for (let d = l.conn.pollTransmit(); d; d = l.conn.pollTransmit()) this.out.push({ to: l.to, data: d });
      const e = l.conn.pollEvent();
      if (e) {
        this.linkEvent(now, l, e);
        return true;
      }
      if (l.closed && l.conn.ended()) this.links.delete(l.channel);
    }
    return false;
  }

  private linkEvent(now: number, l: Link, e: DtlsEvent): void {
    switch (e.type) {
      case 'connected': {
        l.up = true;
        const store = this.opts.sessionResumption;
        const blob = l.conn!.resumption;
        if (store && resumptionChanged(l.saved, blob)) store.save(l.uri, blob);
        if (!l.closed) this.core.channelUp(now, l.channel, { resumed: !!e.session.resumed, connectionId: e.session.connectionId !== undefined });
        break;
      }
      case 'data':
        if (!l.closed) this.core.handleDatagram(now, l.channel, e.data);
        break;
      case 'verify-peer': {
        const crypto = this.opts.dtls?.crypto ?? this.opts.crypto ?? defaultCrypto();
        const v = verifyPeer(l.trust, e.credential, l.to, { crypto, purpose: 'serverAuth' });
        if (v instanceof Promise) {
          void v.then((verdict) => {
            this.verdicts.push({ link: l, verdict });
            this.woken = true;
          });
        } else l.conn!.resolvePeer(now, v);
        break;
      }
      case 'closed':
      case 'failed': {
        if (l.closed) break;
        l.closed = true;
        const reason = e.type === 'failed' ? `the DTLS session failed: ${e.error.message}` : 'the DTLS session was closed';
        if (l.up) this.core.channelLost(now, l.channel, reason);
        else this.core.channelFailed(now, l.channel, reason);
        break;
      }
    }
  }

  private coreEvent(now: number, e: Lwm2mClientEvent): void {
    switch (e.type) {
      case 'open': {
        this.opened.push({ channel: e.channel, uri: e.uri, at: now });
        const { address, secure } = uriAddress(e.uri);
        // the credentials are fetched here, never carried by the event; a channel closed already has none
        const security = this.core.channelSecurity(e.channel);
        if (!security) break;
        const creds = secure ? dtlsCredentials(security, this.opts.dtls?.crypto ?? this.opts.crypto ?? defaultCrypto()) : undefined;
        const l: Link = { channel: e.channel, uri: e.uri, to: address, saved: undefined, conn: undefined, trust: creds?.trust ?? {}, up: !secure, closed: false };
        this.links.set(e.channel, l);
        if (creds) {
          const store = this.opts.sessionResumption;
          l.saved = store?.load(e.uri);
          const s = this.core.channelSession(e.channel, l.saved)!;
          if (s.forget) {
            store?.save(e.uri, undefined);
            l.saved = undefined;
          }
          const wallClock = this.opts.wallClock ? { wallClock: this.opts.wallClock } : {};
          l.conn = new ClientConnection(resolveConfig({ ...wallClock, ...this.opts.dtls, ...creds.connection, ...s.session }));
          l.conn.start(now);
        } else this.core.channelUp(now, e.channel);
        break;
      }
      case 'close': {
        const l = this.links.get(e.channel);
        if (!l) break;
        l.closed = true;
        if (l.conn) l.conn.close(now);
        else this.links.delete(e.channel);
        break;
      }
      case 'persist':
        this.saved = this.core.persistentState();
        this.core.persisted(now);
        break;
    }
    this.events.push({ ...e, at: now });
  }
}

/** What a server core offers its node. */
interface ServerCore<E> {
  handleDatagram(now: number, peer: SimPeer, data: Uint8Array): void;
  handleTimeout(now: number): void;
  pollTransmit(): { peer: SimPeer; data: Uint8Array } | undefined;
  pollTimeout(): number | undefined;
  pollEvent(): E | undefined;
  peerUp(peer: SimPeer, info: PeerInfo): void;
  peerDown(now: number, peer: SimPeer): void;
}

/** A server's peer in the simulation: the DTLS connection, or the address key (coap://). */
export type SimPeer = ServerConnection | string;

/**
 * A server core as a simulated network node: on a DtlsEndpoint (its sessions are the
 * peers) when `dtls` is given, else on bare datagrams (the addresses are).
 */
export class SimServerNode<C extends ServerCore<E>, E> implements SimNode {
  readonly events: Array<Timed<E>> = [];
  readonly endpoint: DtlsEndpoint | undefined;
  private readonly out: Array<{ to: PeerAddress; data: Uint8Array }> = [];
  private readonly addresses = new Map<string, PeerAddress>();
  private readonly sessions = new Map<ServerConnection, PeerAddress>();
  private woken = false;

  constructor(
    readonly address: PeerAddress,
    readonly core: C,
    dtls?: Omit<EndpointOptions, 'wake'>,
  ) {
    if (dtls) this.endpoint = new DtlsEndpoint({ ...dtls, wake: () => (this.woken = true) });
  }

  /** Runs an operation on the core at `now`, then moves its output. */
  act<T>(now: number, f: (core: C) => T): T {
    const r = f(this.core);
    this.pump(now);
    return r;
  }

  handleDatagram(now: number, from: PeerAddress, data: Uint8Array): void {
    if (this.endpoint) this.endpoint.handleDatagram(now, from, data);
    else {
      const key = peerKey(from);
      if (!this.addresses.has(key)) {
        this.addresses.set(key, from);
        this.core.peerUp(key, { address: from, identity: undefined });
      }
      this.core.handleDatagram(now, key, data);
    }
    this.pump(now);
  }

  handleTimeout(now: number): void {
    this.woken = false;
    fireIfDue(this.endpoint, now);
    fireIfDue(this.core, now);
    this.pump(now);
  }

  pollTransmit(): { to: PeerAddress; data: Uint8Array } | undefined {
    return this.out.shift();
  }

  pollTimeout(): number | undefined {
    if (this.woken) return 0;
    return earliest(this.core.pollTimeout(), this.endpoint?.pollTimeout());
  }

  private pump(now: number): void {
    const ep = this.endpoint;
    for (let moved = true; moved; ) {
      moved = false;
      for (let t = this.core.pollTransmit(); t; t = this.core.pollTransmit()) {
        if (typeof t.peer === 'string') {
          const a = this.addresses.get(t.peer);
          if (a) this.out.push({ to: a, data: t.data });
        } else if (ep && this.sessions.has(t.peer)) {
          try {
            ep.send(now, t.peer, t.data);
          } catch {
            // the session closed under us
          }
        }
      }
      if (ep) {
        for (let e = ep.pollEvent(); e; e = ep.pollEvent()) {
          moved = true;
          switch (e.type) {
            case 'connected':
              this.sessions.set(e.connection, e.peer);
              this.core.peerUp(e.connection, { address: e.peer, identity: e.session.identity });
              break;
            case 'data':
              this.core.handleDatagram(now, e.connection, e.data);
              break;
            case 'closed':
            case 'failed':
              if (this.sessions.delete(e.connection)) this.core.peerDown(now, e.connection);
              break;
          }
        }
        for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) this.out.push({ to: t.peer, data: t.data });
      }
      for (let e = this.core.pollEvent(); e; e = this.core.pollEvent()) {
        moved = true;
        this.events.push({ ...e, at: now } as Timed<E>);
      }
    }
  }

  /** Closes one client's DTLS session (close_notify), as a server restart or a policy would. */
  closeSession(now: number, peer: SimPeer): void {
    if (this.endpoint && typeof peer !== 'string') this.endpoint.closeSession(now, peer);
    this.pump(now);
  }
}

/** An LwM2M server (Lwm2mServerCore) as a simulated node. */
export class SimLwm2mServer extends SimServerNode<Lwm2mServerCore<SimPeer>, Lwm2mServerEvent<SimPeer>> {
  constructor(address: PeerAddress, opts: Lwm2mServerCoreOptions = {}, dtls?: Omit<EndpointOptions, 'wake'>) {
    super(address, new Lwm2mServerCore<SimPeer>({ random: seededBytes(address.port + 1), ...opts }), dtls);
  }

  /** Server events of one type, in order. */
  eventsOf<K extends Lwm2mServerEvent<SimPeer>['type']>(type: K): Array<Timed<Extract<Lwm2mServerEvent<SimPeer>, { type: K }>>> {
    return this.events.filter((e) => e.type === type) as Array<Timed<Extract<Lwm2mServerEvent<SimPeer>, { type: K }>>>;
  }
}

/** A bootstrap server (BootstrapServerCore) as a simulated node. */
export class SimBootstrapServer extends SimServerNode<BootstrapServerCore<SimPeer>, BootstrapServerEvent> {
  constructor(address: PeerAddress, opts: BootstrapServerCoreOptions, dtls?: Omit<EndpointOptions, 'wake'>) {
    super(address, new BootstrapServerCore<SimPeer>({ random: seededBytes(address.port + 2), ...opts }), dtls);
  }
}

import { resolveConfig, type ConnectionOptions } from '../../lib/dtls/config.js';
import { DtlsEndpoint } from '../../lib/dtls/endpoint.js';
import type { EndpointEvent } from '../../lib/dtls/endpoint-events.js';
import type { EndpointOptions } from '../../lib/dtls/endpoint-options.js';
import type { DtlsEvent } from '../../lib/dtls/events.js';
import { ClientConnection } from '../../lib/dtls/handshake/client.js';
import { pskMap, type KeyStore } from '../../lib/dtls/keystore.js';
import { verifyPeer } from '../../lib/dtls/trust.js';
import { nodeCrypto } from '../../lib/crypto/node.js';
import { SimNetwork, type LinkConditions, type SimDatagram } from '../../transports/sim.js';
import { SimClient, SimServer } from '../../transports/sim-nodes.js';

export const enc = (s: string) => new TextEncoder().encode(s);
export const dec = (b: Uint8Array) => new TextDecoder().decode(b);
export const IDENTITY = enc('Client_identity');
export const KEY = enc('secretPSK');
export const SERVER = { address: '10.0.0.1', port: 5684 };

export interface PairOptions {
  link?: LinkConditions;
  seed?: number;
  filter?: (d: SimDatagram) => boolean;
  client?: ConnectionOptions;
  server?: Partial<EndpointOptions>;
  /** How clients judge the server's raw public key or certificate. */
  clientStore?: KeyStore;
}

/** A client of a Pair: its simulated node, its connection and the events it emitted. */
export interface PairClient {
  node: SimClient;
  conn: ClientConnection;
  events: DtlsEvent[];
}

/** A client and a server endpoint on a simulated network, with their events collected. */
export class Pair {
  readonly net: SimNetwork;
  readonly endpoint: DtlsEndpoint;
  readonly server: SimServer;
  readonly clients: PairClient[] = [];
  readonly serverEvents: EndpointEvent[] = [];

  constructor(readonly opts: PairOptions = {}) {
    this.net = new SimNetwork(opts.link, opts.seed ?? 1, opts.filter);
    let node: SimServer | undefined;
    this.endpoint = new DtlsEndpoint({ psk: pskMap([[IDENTITY, KEY]]), wake: () => node?.wake(), ...opts.server });
    node = this.server = this.net.add(new SimServer(SERVER, this.endpoint));
  }

  addClient(port = 40000 + this.clients.length, options: ConnectionOptions = {}, address = '10.0.0.2'): PairClient {
    const conn = new ClientConnection(resolveConfig({ psk: { identity: IDENTITY, key: KEY }, ...this.opts.client, ...options }));
    const node = this.net.add(new SimClient({ address, port }, SERVER, conn));
    const c = { node, conn, events: [] as DtlsEvent[] };
    this.clients.push(c);
    return c;
  }

  /** Takes a client off the network and out of the event collection (it is done). */
  dropClient(c: { node: SimClient }): void {
    this.net.remove(c.node);
    const i = this.clients.findIndex((x) => x.node === c.node);
    if (i >= 0) this.clients.splice(i, 1);
  }

  /** Collects every pending event into the arrays. */
  drain(): void {
    for (const c of this.clients) {
      for (let e = c.conn.pollEvent(); e; e = c.conn.pollEvent()) {
        if (e.type === 'verify-peer') {
          const v = verifyPeer(this.opts.clientStore ?? {}, e.credential, SERVER, { crypto: nodeCrypto, purpose: 'serverAuth', ...(this.opts.client?.serverName ? { expectedName: this.opts.client.serverName } : {}) });
          if (v instanceof Promise) void v.then((verdict) => c.conn.resolvePeer(this.net.now, verdict));
          else c.conn.resolvePeer(this.net.now, v);
          this.net.flush();
        }
        c.events.push(e);
      }
    }
    for (let e = this.endpoint.pollEvent(); e; e = this.endpoint.pollEvent()) this.serverEvents.push(e);
  }

  /** Runs until `done` or `untilMs` of virtual time. */
  run(untilMs: number, done: () => boolean = () => false): number {
    return this.net.run(untilMs, () => {
      this.drain();
      return done();
    });
  }

  /** Like run(), but lets promises (asynchronous key lookups) settle between steps. */
  async runAsync(untilMs: number, done: () => boolean, sliceMs = 10): Promise<number> {
    while (this.net.now < untilMs) {
      this.run(Math.min(untilMs, this.net.now + sliceMs), done);
      if (done()) break;
      await new Promise((r) => setImmediate(r));
    }
    return this.net.now;
  }

  has(c: { events: DtlsEvent[] }, type: DtlsEvent['type']): boolean {
    return c.events.some((e) => e.type === type);
  }
  serverHas(type: DtlsEvent['type']): boolean {
    return this.serverEvents.some((e) => e.type === type);
  }
  /** Both sides connected (or one failed). */
  settled(c = this.clients[0]!): boolean {
    return (this.has(c, 'connected') && this.serverHas('connected')) || this.has(c, 'failed');
  }
}

/**
 * Starts a new client of `p` and runs until both sides are connected or either side failed, or
 * until `untilMs` of virtual time; when one side failed, up to 50 ms more let the other side's
 * failure (the alert in flight) land too. `p.net.now` is then the time it stopped.
 */
export function handshake(p: Pair, untilMs = 120_000): PairClient {
  const c = p.addClient();
  c.conn.start(p.net.now);
  p.run(untilMs, () => p.settled(c) || p.serverHas('failed'));
  const bothFailed = () => p.has(c, 'failed') && p.serverHas('failed');
  if (p.has(c, 'failed') || p.serverHas('failed')) p.run(p.net.now + 50, bothFailed);
  return c;
}

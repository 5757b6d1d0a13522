import type { IncomingRequest } from '../coap/api-types.js';
import type { TransmissionParameters } from '../coap/config.js';
import { CoapAgent, type CoapAnswer, type PeerInfo } from './coap-agent.js';
import { PeerTable } from './peers.js';

export interface ServerRoleOptions {
  transmission?: Partial<TransmissionParameters>;
  random?: (n: number) => Uint8Array;
  blockSize?: number;
}

/**
 * What the bootstrap server and the LwM2M server cores share: a CoapAgent over the driver's
 * peers (DTLS sessions, or addresses for coap://), and the driver interface of a server role.
 * Peers are reported with peerUp / peerDown; datagrams of unknown peers are ignored. After
 * every call the role acts on the agent's results (settle); its own timers, if any, come in
 * through expire / nextExpiry.
 */
export abstract class ServerRole<P, E> {
  protected readonly agent: CoapAgent<P>;
  protected readonly peers = new PeerTable<P>();
  protected readonly events: E[] = [];

  constructor(o: ServerRoleOptions) {
    this.agent = new CoapAgent<P>({
      ...(o.transmission ? { transmission: o.transmission } : {}),
      ...(o.random ? { random: o.random } : {}),
      ...(o.blockSize ? { blockSize: o.blockSize } : {}),
      peerId: (p) => this.peers.id(p),
      describe: (p) => this.peers.describe(p),
      handler: (now, p, req) => this.serve(now, p, req),
    });
  }

  /** Answers a request of a peer (synchronously). */
  protected abstract serve(now: number, peer: P, req: IncomingRequest): CoapAnswer;
  /** Acts on the agent's results, after every call. */
  protected abstract settle(now: number): void;
  /** The role's own timers at handleTimeout (none by default). */
  protected expire(_now: number): void {}
  /** The role's next own deadline (none by default). */
  protected nextExpiry(): number | undefined {
    return undefined;
  }
  /** A datagram came from a known peer (before it is handled). */
  protected heard(_now: number, _peer: P): void {}

  // === driver interface ==================================================================

  /** A peer (a DTLS session, an address) appeared: who it is. */
  peerUp(peer: P, info: PeerInfo): void {
    this.peers.up(peer, info);
  }

  /** A peer's transport closed: its exchanges fail, its observers and block-wise state are forgotten. */
  peerDown(now: number, peer: P): void {
    if (!this.peers.has(peer)) return;
    this.agent.dropPeer(now, peer);
    this.peers.down(peer);
    this.settle(now);
  }

  handleDatagram(now: number, peer: P, data: Uint8Array): void {
    if (!this.peers.has(peer)) return;
    this.heard(now, peer);
    this.agent.handleDatagram(now, peer, data);
    this.settle(now);
  }

  handleTimeout(now: number): void {
    this.agent.handleTimeout(now);
    this.expire(now);
    this.settle(now);
  }

  pollTransmit(): { peer: P; data: Uint8Array } | undefined {
    return this.agent.pollTransmit();
  }

  pollTimeout(): number | undefined {
    const a = this.agent.pollTimeout();
    const e = this.nextExpiry();
    return a === undefined ? e : e === undefined ? a : Math.min(a, e);
  }

  pollEvent(): E | undefined {
    return this.events.shift();
  }
}

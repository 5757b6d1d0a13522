import { CoapEndpoint } from '../lib/coap/endpoint.js';
import { peerKey, type PeerAddress } from '../lib/dtls/keystore.js';
import type { SimNode } from './sim.js';

/** A plain-UDP CoAP endpoint as a simulated network node; peers are address keys. */
export class SimCoapNode implements SimNode {
  private readonly addresses = new Map<string, PeerAddress>();
  constructor(
    readonly address: PeerAddress,
    readonly endpoint: CoapEndpoint<string>,
  ) {}
  /** The peer handle for an address (registers it for sending). */
  peer(a: PeerAddress): string {
    const k = peerKey(a);
    this.addresses.set(k, a);
    return k;
  }
  handleDatagram(now: number, from: PeerAddress, data: Uint8Array): void {
    this.endpoint.handleDatagram(now, this.peer(from), data);
  }
  handleTimeout(now: number): void {
    this.endpoint.handleTimeout(now);
  }
  pollTransmit() {
    const t = this.endpoint.pollTransmit();
    return t ? { to: this.addresses.get(t.peer)!, data: t.data } : undefined;
  }
  pollTimeout() {
    return this.endpoint.pollTimeout();
  }
}

import { ClientConnection } from '../lib/dtls/handshake/client.js';
import { DtlsEndpoint } from '../lib/dtls/endpoint.js';
import type { PeerAddress } from '../lib/dtls/keystore.js';
import type { SimNode } from './sim.js';

/**
 * A DTLS client connection as a simulated network node talking to one server (`server` may be
 * changed: the client's datagrams then go elsewhere, as a NAT or a load balancer may send them).
 */
export class SimClient implements SimNode {
  constructor(
    readonly address: PeerAddress,
    public server: PeerAddress,
    readonly connection: ClientConnection,
  ) {}
  handleDatagram(now: number, _from: PeerAddress, data: Uint8Array): void {
    this.connection.handleDatagram(now, data);
  }
  handleTimeout(now: number): void {
    this.connection.handleTimeout(now);
  }
  pollTransmit() {
    const data = this.connection.pollTransmit();
    return data ? { to: this.server, data } : undefined;
  }
  pollTimeout() {
    return this.connection.pollTimeout();
  }
}

/**
 * A DTLS server endpoint as a simulated network node. Pass `wake` to the endpoint's options
 * (`{ wake: () => node.wake() }`): an asynchronous key lookup that resolved makes the node
 * due at once.
 */
export class SimServer implements SimNode {
  private woken = false;
  constructor(
    readonly address: PeerAddress,
    readonly endpoint: DtlsEndpoint,
  ) {}
  wake(): void {
    this.woken = true;
  }
  handleDatagram(now: number, from: PeerAddress, data: Uint8Array): void {
    this.endpoint.handleDatagram(now, from, data);
  }
  handleTimeout(now: number): void {
    this.woken = false;
    this.endpoint.handleTimeout(now);
  }
  pollTransmit() {
    const t = this.endpoint.pollTransmit();
    return t ? { to: t.peer, data: t.data } : undefined;
  }
  pollTimeout() {
    return this.woken ? 0 : this.endpoint.pollTimeout();
  }
}

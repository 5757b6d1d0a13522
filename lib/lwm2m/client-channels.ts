import { coapUriAuthority } from '../coap/uri.js';
import type { PeerAddress } from '../dtls/keystore.js';
import type { Lwm2mClientEvent } from './client-driver.js';
import type { CoapAgent } from './coap-agent.js';
import type { SecurityConfig } from './security.js';

interface Channel {
  uri: string;
  /** Host and port of the URI (no name lookup), for the description of the server's requests. */
  address: PeerAddress;
  /** The account's credentials, for the driver to fetch; never in an event. */
  security: SecurityConfig;
  up: boolean;
}

const UNKNOWN: PeerAddress = { address: '?', port: 0 };

/**
 * The client's channels (a DTLS session or a UDP association each, opened by the driver): the
 * URI and credentials each was asked for with, and whether it is up. Opening and closing one
 * is an event for the driver; a channel that closes takes its CoAP exchanges with it.
 */
export class ClientChannels {
  private readonly byId = new Map<number, Channel>();
  private next = 1;

  constructor(
    private readonly agent: CoapAgent<number>,
    private readonly emit: (e: Lwm2mClientEvent) => void,
  ) {}

  /** A new channel: an 'open' event with the URI and the security mode, not the credentials. */
  open(uri: string, security: SecurityConfig): number {
    const id = this.next++;
    const a = coapUriAuthority(uri);
    this.byId.set(id, { uri, address: a ? { address: a.host, port: a.port } : UNKNOWN, security, up: false });
    this.emit({ type: 'open', channel: id, uri, mode: security.mode });
    return id;
  }

  /** Closes a channel of ours ('close'); nothing when it is gone already. */
  close(now: number, id: number): void {
    if (this.forget(now, id)) this.emit({ type: 'close', channel: id });
  }

  closeAll(now: number): void {
    for (const id of [...this.byId.keys()]) this.close(now, id);
  }

  /** The driver reports the channel gone: forgotten (its exchanges fail). False when it was not known. */
  forget(now: number, id: number): boolean {
    if (!this.byId.delete(id)) return false;
    this.agent.dropPeer(now, id);
    return true;
  }

  /** Marks a channel up; true when it just came up. */
  markUp(id: number): boolean {
    const c = this.byId.get(id);
    if (!c || c.up) return false;
    c.up = true;
    return true;
  }

  isUp(id: number): boolean {
    return this.byId.get(id)?.up ?? false;
  }

  security(id: number): SecurityConfig | undefined {
    return this.byId.get(id)?.security;
  }

  uri(id: number): string | undefined {
    return this.byId.get(id)?.uri;
  }

  address(id: number): PeerAddress {
    return this.byId.get(id)?.address ?? UNKNOWN;
  }
}

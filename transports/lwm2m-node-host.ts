import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Pump } from './pump.js';
import { Alarm, createServer as createDtlsServer, enlargeBuffers, literalLookup, type DtlsServer, type DtlsSession, type ServerOptions } from './node-dgram.js';
import type { PeerAddress } from '../lib/dtls/keystore.js';
import type { PeerInfo } from '../lib/lwm2m/coap-agent.js';

const now = () => performance.now();

/** A server's peer: the DTLS session (coaps://), or the UDP address key (coap://). */
export type Peer = DtlsSession | string;

/** What both server cores offer their driver. */
export interface ServerCore {
  handleDatagram(now: number, peer: Peer, data: Uint8Array): void;
  handleTimeout(now: number): void;
  pollTransmit(): { peer: Peer; data: Uint8Array } | undefined;
  pollTimeout(): number | undefined;
  peerUp(peer: Peer, info: PeerInfo): void;
  peerDown(now: number, peer: Peer): void;
}

/**
 * Runs a server core on Node: a DTLS server (node-dgram) whose sessions are the peers, or a
 * UDP socket whose addresses are. One timer; `events` drains the core's role events after
 * every step.
 */
export class ServerHost {
  private dtls: DtlsServer | undefined;
  private socket: Socket | undefined;
  private readonly addresses = new Map<string, PeerAddress>();
  private readonly alarm = new Alarm(() => this.pump(() => this.core.handleTimeout(now())));
  private readonly pumping = new Pump(() => this.drain());

  constructor(
    private readonly core: ServerCore,
    private readonly events: () => void,
    private readonly dtlsOptions: ServerOptions | undefined,
  ) {}

  listen(port: number, host: string, onError: (e: Error) => void): Promise<void> {
    return new Promise((resolve) => {
      if (this.dtlsOptions) {
        const d = createDtlsServer(this.dtlsOptions);
        this.dtls = d;
        d.on('session', (s: DtlsSession) => {
          this.core.peerUp(s, { address: s.peer, identity: s.info.identity });
          s.on('data', (data: Uint8Array) => this.pump(() => this.core.handleDatagram(now(), s, data)));
          s.on('close', () => this.pump(() => this.core.peerDown(now(), s)));
        });
        d.on('error', onError);
        d.listen(port, host, () => resolve());
        return;
      }
      const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', lookup: literalLookup });
      this.socket = socket;
      socket.on('message', (msg, rinfo) => {
        const key = `${rinfo.address}|${rinfo.port}`;
        if (!this.addresses.has(key)) {
          const address = { address: rinfo.address, port: rinfo.port };
          this.addresses.set(key, address);
          this.core.peerUp(key, { address, identity: undefined });
        }
        this.pump(() => this.core.handleDatagram(now(), key, new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength)));
      });
      socket.on('error', onError);
      socket.bind(port, host, () => {
        enlargeBuffers(socket);
        resolve();
      });
    });
  }

  address(): { address: string; port: number } {
    if (this.dtls) return this.dtls.address();
    const a = this.socket!.address();
    return { address: a.address, port: a.port };
  }

  /** Stops; `keepSessions` (coaps://): the DTLS sessions are not ended (see DtlsServer.close). */
  async close(o: { keepSessions?: boolean } = {}): Promise<void> {
    this.alarm.stop();
    if (this.dtls) await this.dtls.close(o);
    if (this.socket) await new Promise<void>((r) => this.socket!.close(() => r()));
    this.dtls = undefined;
    this.socket = undefined;
    this.alarm.stop();
  }

  /** Runs f on the core, then sends its datagrams and drains its events (re-entrant). */
  pump(f: () => void): void {
    this.pumping.run(f);
  }

  private drain(): void {
    for (let t = this.core.pollTransmit(); t; t = this.core.pollTransmit()) this.send(t.peer, t.data);
    this.events();
    for (let t = this.core.pollTransmit(); t; t = this.core.pollTransmit()) this.send(t.peer, t.data);
    if (this.dtls || this.socket) this.alarm.arm(this.core.pollTimeout());
  }

  private send(peer: Peer, data: Uint8Array): void {
    try {
      if (typeof peer === 'string') {
        const a = this.addresses.get(peer);
        if (a && this.socket) this.socket.send(data, a.port, a.address);
      } else if (!peer.closed) peer.send(data);
    } catch {
      // a session or socket closing under us: CoAP retransmits or gives up
    }
  }
}

/** The listening address, where CoapServer.address() gave it before (`server.coap.address()`). */
interface Listening {
  address(): { address: string; port: number };
}

/** What both Node servers offer around their host: listen, close, the address. */
export abstract class HostedServer extends EventEmitter {
  protected abstract readonly host: ServerHost;

  listen(port: number, host = '127.0.0.1'): Promise<void> {
    return this.host.listen(port, host, (e) => this.emit('error', e));
  }
  /** Stops; `keepSessions`: the DTLS sessions are not ended, a session store keeps them for the next process. */
  close(o: { keepSessions?: boolean } = {}): Promise<void> {
    return this.host.close(o);
  }
  address(): { address: string; port: number } {
    return this.host.address();
  }
  /** The listening address as `coap.address()` (the API before the sans-IO core). */
  get coap(): Listening {
    return { address: () => this.address() };
  }
}

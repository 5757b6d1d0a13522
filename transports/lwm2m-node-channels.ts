import type { Socket } from 'node:dgram';
import { connect as dtlsConnect, type ConnectOptions, type DtlsSession } from './node-dgram.js';
import { connectUdp, resolveHost } from './udp.js';
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { coapUriAuthority } from '../lib/coap/uri.js';
import { dtlsCredentials, type SecurityConfig } from '../lib/lwm2m/security.js';

interface Channel {
  closed: boolean;
  session?: DtlsSession;
  socket?: Socket;
}

/** What becomes of the channels: up, a datagram, gone (could not open, or lost after it was up). */
export interface ChannelSink {
  up(id: number): void;
  data(id: number, d: Uint8Array): void;
  gone(id: number, reason: string, wasUp: boolean): void;
}

/**
 * The LwM2M client's channels on Node (the 'open' and 'close' events of Lwm2mClientCore): a
 * DTLS session (node-dgram) for coaps://, a connected UDP socket for coap://, each from its
 * own local port.
 */
export class NodeClientChannels {
  private readonly channels = new Map<number, Channel>();
  private readonly closing = new Set<Promise<void>>();

  constructor(
    private readonly o: { dtls?: Partial<Omit<ConnectOptions, 'host' | 'port' | 'psk' | 'ecdhe' | 'trust'>>; crypto: CryptoProvider },
    private readonly sink: ChannelSink,
  ) {}

  /** Sends a datagram on channel `id`; dropped when it is gone or closing. */
  send(id: number, data: Uint8Array): void {
    const c = this.channels.get(id);
    if (!c || c.closed) return;
    try {
      if (c.session) {
        if (!c.session.closed) c.session.send(data);
      } else c.socket?.send(data);
    } catch {
      // a session closing under us: CoAP retransmits or the channel is reported lost
    }
  }

  /** Closes every channel; resolves when their sessions and sockets are closed. */
  async closeAll(): Promise<void> {
    for (const id of [...this.channels.keys()]) this.close(id);
    await Promise.all(this.closing);
  }

  /** Opens channel `id` to `uri` (a DTLS session for coaps://, a connected UDP socket for coap://). */
  open(id: number, uri: string, security: SecurityConfig): void {
    const c: Channel = { closed: false };
    this.channels.set(id, c);
    const lost = (reason: string, up: boolean) => {
      if (c.closed) return;
      c.closed = true;
      this.channels.delete(id);
      this.sink.gone(id, reason, up);
    };
    void (async () => {
      const target = coapUriAuthority(uri);
      if (!target) throw new Error(`${uri} is not a coap:// or coaps:// URI`);
      const { secure, host, port } = target;
      const address = await resolveHost(host);
      if (secure) {
        const creds = dtlsCredentials(security, this.o.crypto);
        if (!creds) throw new Error(`${uri} needs DTLS credentials`);
        const { acceptPeerCertificateTypes: _accept, ...connection } = creds.connection;
        const session = await dtlsConnect({ ...this.o.dtls, ...connection, trust: creds.trust, host: address, port, serverName: this.o.dtls?.serverName ?? host });
        if (c.closed) {
          this.closing.add(session.close());
          return;
        }
        c.session = session;
        session.on('data', (d: Uint8Array) => this.sink.data(id, d));
        session.on('close', (err?: Error) => lost(err ? `the DTLS session failed: ${err.message}` : 'the DTLS session was closed', true));
      } else {
        const udp = connectUdp(address, port, (d) => this.sink.data(id, d));
        c.socket = udp.socket;
        await udp.connected;
        if (c.closed) return;
      }
      this.sink.up(id);
    })().catch((err: Error) => lost(err.message, false));
  }

  /** Closes channel `id` (close_notify for a DTLS session); nothing when it is gone. */
  close(id: number): void {
    const c = this.channels.get(id);
    if (!c) return;
    c.closed = true;
    this.channels.delete(id);
    if (c.session) {
      const p = c.session.close().finally(() => this.closing.delete(p));
      this.closing.add(p);
    }
    if (c.socket) {
      const socket = c.socket;
      const p = new Promise<void>((r) => socket.close(() => r())).finally(() => this.closing.delete(p));
      this.closing.add(p);
    }
  }
}

import type { Socket } from 'node:dgram';
import { connect as dtlsConnect, type ConnectOptions, type DtlsSession } from './node-dgram.js';
import { connectUdp, resolveHost } from './udp.js';
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { coapUriAuthority } from '../lib/coap/uri.js';
import { resumptionChanged, type ChannelSession, type ResumptionStorage } from '../lib/lwm2m/client-sessions.js';
import { dtlsCredentials, type SecurityConfig } from '../lib/lwm2m/security.js';

interface Channel {
  closed: boolean;
  session?: DtlsSession;
  socket?: Socket;
}

/** What becomes of the channels: up, a datagram, gone (could not open, or lost after it was up). */
export interface ChannelSink {
  /** The DTLS options of channel `id` with the blob loaded for its server (Lwm2mClientCore.channelSession); undefined when it is gone. */
  session(id: number, saved: Uint8Array | undefined): { session: ChannelSession; forget: boolean } | undefined;
  up(id: number, session?: { resumed: boolean; connectionId: boolean }): void;
  /** A progress line (no secrets). */
  log(line: string): void;
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
    private readonly o: { dtls?: Partial<Omit<ConnectOptions, 'host' | 'port' | 'psk' | 'ecdhe' | 'trust' | 'resume'>>; crypto: CryptoProvider; resumption?: ResumptionStorage },
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
        const store = this.o.resumption;
        let saved = store ? await this.loadResumption(store, uri) : undefined;
        const options = c.closed ? undefined : this.sink.session(id, saved);
        if (!options) return;
        if (options.forget) {
          this.saveResumption(store!, uri, undefined);
          saved = undefined;
        }
        const session = await dtlsConnect({ ...this.o.dtls, ...connection, ...options.session, trust: creds.trust, host: address, port, serverName: this.o.dtls?.serverName ?? host });
        const blob = session.resumption;
        if (store && resumptionChanged(saved, blob)) this.saveResumption(store, uri, blob);
        if (c.closed) {
          this.closing.add(session.close());
          return;
        }
        c.session = session;
        session.on('data', (d: Uint8Array) => this.sink.data(id, d));
        session.on('close', (err?: Error) => lost(err ? `the DTLS session failed: ${err.message}` : 'the DTLS session was closed', true));
        this.sink.up(id, { resumed: !!session.info.resumed, connectionId: session.info.connectionId !== undefined });
        return;
      } else {
        const udp = connectUdp(address, port, (d) => this.sink.data(id, d));
        c.socket = udp.socket;
        await udp.connected;
        if (c.closed) return;
      }
      this.sink.up(id);
    })().catch((err: Error) => lost(err.message, false));
  }

  /** The blob kept for `uri`; a storage that fails gives none (a full handshake), and says why in the log. */
  private async loadResumption(store: ResumptionStorage, uri: string): Promise<Uint8Array | undefined> {
    try {
      return await store.load(uri);
    } catch (e) {
      this.sink.log(`could not load the saved DTLS session for ${uri}: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** Writes (or forgets) the blob of `uri` in the background; a failure is logged (the next boot does a full handshake). */
  private saveResumption(store: ResumptionStorage, uri: string, blob: Uint8Array | undefined): void {
    const p = (async () => store.save(uri, blob))()
      .catch((e: Error) => this.sink.log(`could not save the DTLS session for ${uri}: ${e.message}`))
      .finally(() => this.closing.delete(p));
    this.closing.add(p);
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

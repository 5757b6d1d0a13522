/**
 * The bare-metal driver: the same sans-IO engine on any JS runtime, through a shim the host
 * implements with four things. No Node API is used here or in the engine it drives.
 *
 *   send(bytes)        - transmit one UDP datagram to the server
 *   deliver            - the host calls `driver.receive(bytes)` for each datagram it receives
 *   now()              - a monotonic millisecond clock
 *   setTimer(ms, fn)   - one timer: (re)arm it to call fn after ms; arming again replaces it
 *
 * Porting: on lwIP's raw API, `send` is udp_sendto() into a pbuf, the udp_recv() callback
 * copies the pbuf into a Uint8Array and calls receive(), now() reads sys_now(), and setTimer
 * uses sys_timeout(). In an embedded JS runtime (QuickJS, Espruino, Moddable XS), bind these
 * to the runtime's socket and timer objects. See the README's porting guide.
 */
import type { DtlsConnection } from '../lib/dtls/connection.js';
import type { SessionInfo } from '../lib/dtls/events.js';
import type { DtlsError } from '../lib/dtls/errors.js';
import { CoapClientEndpoint, type OutgoingRequest } from '../lib/coap/client-endpoint.js';
import type { CoapMessage } from '../lib/coap/message.js';
import type { TransmissionParameters } from '../lib/coap/config.js';

export interface UdpShim {
  /** One datagram out: often a view into a shared buffer (send byteLength bytes from byteOffset). */
  send(datagram: Uint8Array): void;
  now(): number;
  setTimer(ms: number, fire: () => void): void;
}

export interface DtlsDriverEvents {
  connected?(info: SessionInfo): void;
  data?(data: Uint8Array): void;
  closed?(): void;
  failed?(error: DtlsError): void;
}

/** Drives one DTLS client connection over the shim. */
export class BaremetalDtlsClient {
  private armedAt: number | undefined;

  constructor(
    private readonly shim: UdpShim,
    readonly connection: DtlsConnection,
    private readonly on: DtlsDriverEvents = {},
  ) {}

  start(): void {
    this.pump(() => this.connection.start(this.shim.now()));
  }
  /** The host delivers a received datagram. */
  receive(datagram: Uint8Array): void {
    this.pump(() => this.connection.handleDatagram(this.shim.now(), datagram));
  }
  send(data: Uint8Array): void {
    this.pump(() => this.connection.send(this.shim.now(), data));
  }
  close(): void {
    this.pump(() => this.connection.close(this.shim.now()));
  }

  private pump(f: () => void): void {
    f();
    const c = this.connection;
    for (let d = c.pollTransmit(); d; d = c.pollTransmit()) this.shim.send(d);
    for (let e = c.pollEvent(); e; e = c.pollEvent()) {
      if (e.type === 'connected') this.on.connected?.(e.session);
      else if (e.type === 'data') this.on.data?.(e.data);
      else if (e.type === 'closed') this.on.closed?.();
      else if (e.type === 'failed') this.on.failed?.(e.error);
    }
    const t = c.pollTimeout();
    if (t !== undefined && t !== this.armedAt) {
      this.armedAt = t;
      this.shim.setTimer(Math.max(0, t - this.shim.now()), () => {
        this.armedAt = undefined;
        this.pump(() => c.handleTimeout(this.shim.now()));
      });
    }
  }
}

/**
 * CoAP over one DTLS session on the shim (a coaps:// client): one pump drives both engines,
 * the CoAP endpoint's datagrams travel as DTLS records, and the host's single timer is armed
 * at the earlier of the two engines' deadlines.
 */
export class BaremetalCoapsClient {
  readonly endpoint: CoapClientEndpoint<'server'>;
  private readonly waiting = new Map<number, { resolve: (m: CoapMessage) => void; reject: (e: Error) => void }>();
  private connected: { resolve: (i: SessionInfo) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private armedAt: number | undefined;

  constructor(
    private readonly shim: UdpShim,
    readonly connection: DtlsConnection,
    random: (n: number) => Uint8Array,
    params: Partial<TransmissionParameters> = {},
  ) {
    this.endpoint = new CoapClientEndpoint<'server'>(params, random);
  }

  /** Runs the DTLS handshake. */
  start(): Promise<SessionInfo> {
    return new Promise((resolve, reject) => {
      this.connected = { resolve, reject };
      this.pump(() => this.connection.start(this.shim.now()));
    });
  }

  /** The host delivers a received datagram. */
  receive(datagram: Uint8Array): void {
    this.pump(() => this.connection.handleDatagram(this.shim.now(), datagram));
  }

  request(r: OutgoingRequest): Promise<CoapMessage> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.pump(() => this.waiting.set(this.endpoint.request(this.shim.now(), 'server', r), { resolve, reject })));
  }

  close(): void {
    this.pump(() => this.connection.close(this.shim.now()));
  }

  private pump(f: () => void): void {
    f();
    const c = this.connection;
    const ep = this.endpoint;
    const now = this.shim.now();
    for (let busy = true; busy; ) {
      busy = false;
      for (let d = c.pollTransmit(); d; d = c.pollTransmit()) this.shim.send(d);
      for (let e = c.pollEvent(); e; e = c.pollEvent()) {
        busy = true;
        if (e.type === 'connected') this.connected?.resolve(e.session);
        else if (e.type === 'data') ep.handleDatagram(now, 'server', e.data);
        else if (e.type === 'failed' || e.type === 'closed') this.fail(e.type === 'failed' ? e.error : new Error('the DTLS session closed'));
      }
      for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) {
        busy = true;
        if (!c.ended()) c.send(now, t.data);
      }
      for (let e = ep.pollEvent(); e; e = ep.pollEvent()) {
        if (e.type !== 'response' && e.type !== 'error') continue;
        const w = this.waiting.get(e.requestId);
        this.waiting.delete(e.requestId);
        if (e.type === 'response') w?.resolve(e.response);
        else w?.reject(e.error);
      }
    }
    const a = c.pollTimeout();
    const b = ep.pollTimeout();
    const t = a === undefined ? b : b === undefined ? a : Math.min(a, b);
    if (t !== undefined && t !== this.armedAt) {
      this.armedAt = t;
      this.shim.setTimer(Math.max(0, t - this.shim.now()), () => {
        this.armedAt = undefined;
        this.pump(() => {
          const n = this.shim.now();
          c.handleTimeout(n);
          ep.handleTimeout(n);
        });
      });
    }
  }

  private fail(e: Error): void {
    this.failure = e;
    this.connected?.reject(e);
    this.connected = undefined;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }
}

import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { randomFillSync } from 'node:crypto';
import { Alarm, type ConnectOptions } from './node-dgram.js';
import { NodeClientChannels } from './lwm2m-node-channels.js';
import type { Storage } from './lwm2m-storage.js';
import { Pump } from './pump.js';
import { nodeCrypto } from '../lib/crypto/node.js';
import type { CryptoProvider } from '../lib/crypto/provider.js';
import type { TransmissionParameters } from '../lib/coap/config.js';
import type { Link } from '../lib/coap/link-format.js';
import { Lwm2mClientCore, type Lwm2mClientEvent } from '../lib/lwm2m/client-core.js';
import type { FactoryBootstrap } from '../lib/lwm2m/client-accounts.js';
import { deviceStore as deviceStoreWithClock } from '../lib/lwm2m/device.js';
import type { ObjectStore } from '../lib/lwm2m/object-store.js';
import type { FirmwareOptions } from '../lib/lwm2m/client-firmware.js';
import type { SendOptions } from '../lib/lwm2m/client-send.js';
import type { ConnectionIdOption, ResumptionStorage } from '../lib/lwm2m/client-sessions.js';
import { Lwm2mError } from '../lib/lwm2m/errors.js';
import type { Path } from '../lib/lwm2m/types.js';
import { Code, codeText } from '../lib/coap/message.js';

export { FileStorage, MemoryStorage, FileResumptionStorage, MemoryResumptionStorage, type Storage, type ClientState, type ResumptionStorage } from './lwm2m-storage.js';
export { BootstrapServer, Lwm2mServer, type BootstrapServerOptions, type Lwm2mServerOptions } from './lwm2m-node-servers.js';

const now = () => performance.now();
const randomBytes = (n: number) => randomFillSync(new Uint8Array(n));

/** A store with Security, Server and Device (its Current Time from Date.now()). */
export function deviceStore(o: { manufacturer?: string; model?: string; serial?: string } = {}): ObjectStore {
  return deviceStoreWithClock({ ...o, clock: () => Date.now() });
}

export interface Lwm2mClientOptions {
  /** The endpoint client name (ep=). */
  endpoint: string;
  store: ObjectStore;
  /** Factory bootstrap account, used when no bootstrapped configuration exists. */
  bootstrap?: FactoryBootstrap;
  /** Where the bootstrapped configuration is kept (restored by start()). */
  storage?: Storage;
  transmission?: Partial<TransmissionParameters>;
  /** Extra DTLS options for every session (retransmission timers, MTU, ...). */
  dtls?: Partial<Omit<ConnectOptions, 'host' | 'port' | 'psk' | 'ecdhe' | 'trust' | 'resume'>>;
  /**
   * RFC 9146 Connection ID with the coaps:// servers: `true` (or a CID length, or per server URI
   * a function) lets a session survive a NAT rebinding: the server follows the client's records
   * to its new address, and the registration and its observations go on. Default: not offered.
   */
  connectionId?: ConnectionIdOption;
  /** Ask the servers for RFC 5077 session tickets (default: resumption by session ID). */
  sessionTickets?: boolean;
  /**
   * Where the resumption blob of each server is kept across a restart (FileResumptionStorage, or
   * the device's own): loaded when a session to that server opens, saved when a handshake gave a
   * new one. After a reboot the first handshake is then an abbreviated one. The blobs hold
   * master secrets: keep them as the keys are kept.
   */
  sessionResumption?: ResumptionStorage;
  /** Preferred content format announced with pct= (default SenML CBOR, 112). */
  preferredContentFormat?: number;
  /** The bootstrap session fails after this long without a bootstrap command (default EXCHANGE_LIFETIME). */
  bootstrapInactivityMs?: number;
  /** First retry delay after a failed bootstrap or registration (doubles; 0: fail at once). */
  retryMs?: number;
  /** Send the Update this long before the lifetime ends (default: 10% of it, at least 2 s). */
  updateMarginMs?: (lifetimeMs: number) => number;
  /**
   * Queue mode (LwM2M 1.1 "Q"): after MAX_TRANSMIT_WAIT without an exchange the client stops
   * listening until its next Update or something to send ('sleeping' / 'awake' events).
   */
  queueMode?: boolean;
  /** The Firmware Update object (5): the install hook and the integrity check. */
  firmware?: FirmwareOptions;
  /** Crypto provider for raw public key credentials (default node:crypto). */
  crypto?: CryptoProvider;
  /** Human-readable progress lines (no secrets). */
  log?: (line: string) => void;
}

type Waiter = (e: Lwm2mClientEvent) => boolean;

/**
 * An LwM2M 1.1 client on Node: the sans-IO {@link Lwm2mClientCore} driven with
 * performance.now(), one timer, DTLS sessions (transports/node-dgram.ts) or UDP sockets for
 * its channels, and a Storage for the bootstrapped configuration. Events: 'bootstrapped',
 * 'registered' (location), 'updated' (location), 'deregistered' (location), 'error' (error;
 * retried while someone listens), 'sleeping' and 'awake' (queue mode), 'session' ({ uri, resumed,
 * connectionId }: a DTLS session came up, by an abbreviated handshake or not, with a CID or not).
 */
export class Lwm2mClient extends EventEmitter {
  readonly core: Lwm2mClientCore;
  private readonly channels: NodeClientChannels;
  private readonly alarm = new Alarm(() => this.pump(() => this.core.handleTimeout(now())));
  private readonly waiters = new Set<Waiter>();
  private saving: Promise<void> = Promise.resolve();
  private readonly pumping = new Pump(() => this.drain());

  constructor(readonly opts: Lwm2mClientOptions) {
    super();
    const crypto = opts.crypto ?? nodeCrypto;
    const log = opts.log ?? (() => undefined);
    this.channels = new NodeClientChannels({ ...(opts.dtls ? { dtls: opts.dtls } : {}), ...(opts.sessionResumption ? { resumption: opts.sessionResumption } : {}), crypto }, {
      session: (id, saved) => this.core.channelSession(id, saved),
      up: (id, session) => this.pump(() => this.core.channelUp(now(), id, session)),
      log,
      data: (id, d) => this.pump(() => this.core.handleDatagram(now(), id, d)),
      gone: (id, reason, wasUp) => this.pump(() => (wasUp ? this.core.channelLost(now(), id, reason) : this.core.channelFailed(now(), id, reason))),
    });
    this.core = new Lwm2mClientCore({
      endpoint: opts.endpoint,
      store: opts.store,
      ...(opts.bootstrap ? { bootstrap: opts.bootstrap } : {}),
      ...(opts.transmission ? { transmission: opts.transmission } : {}),
      ...(opts.preferredContentFormat !== undefined ? { preferredContentFormat: opts.preferredContentFormat } : {}),
      ...(opts.bootstrapInactivityMs !== undefined ? { bootstrapInactivityMs: opts.bootstrapInactivityMs } : {}),
      ...(opts.retryMs !== undefined ? { retryMs: opts.retryMs } : {}),
      ...(opts.updateMarginMs ? { updateMarginMs: opts.updateMarginMs } : {}),
      ...(opts.queueMode ? { queueMode: true } : {}),
      ...(opts.firmware ? { firmware: opts.firmware } : {}),
      ...(opts.connectionId !== undefined ? { connectionId: opts.connectionId } : {}),
      ...(opts.sessionTickets ? { sessionTickets: true } : {}),
      ...(opts.log ? { log: opts.log } : {}),
      persist: !!opts.storage,
      wallClock: () => Date.now(),
      crypto,
      random: randomBytes,
      wake: () => queueMicrotask(() => this.pump(() => this.core.handleTimeout(now()))),
    });
  }

  get store(): ObjectStore {
    return this.opts.store;
  }
  get registered(): boolean {
    return this.core.registered;
  }
  get location(): string | undefined {
    return this.core.location;
  }
  registrationLinks(): Link[] {
    return this.core.registrationLinks();
  }

  /**
   * Restores the persisted configuration, bootstraps if there is no usable account, registers.
   * Resolves once registered (or when stop() comes first). Failed attempts are retried with
   * a doubling delay while an 'error' listener is attached; without one, start() rejects.
   */
  async start(): Promise<void> {
    if (this.core.registered) return;
    const state = this.core.state === 'idle' ? await this.opts.storage?.load() : undefined;
    return new Promise<void>((resolve, reject) => {
      this.waiters.add((e) => {
        if (e.type === 'registered' || e.type === 'stopped') resolve();
        else if (e.type === 'error' && (e.retryInMs === undefined || this.listenerCount('error') === 0)) {
          if (e.retryInMs !== undefined) this.core.stop(now()); // nobody to tell about retries: give up
          reject(e.error);
        } else return false;
        return true;
      });
      try {
        this.pump(() => this.core.start(now(), state));
      } catch (e) {
        reject(e as Error);
      }
    });
  }

  /** One bootstrap now (no registration after it, no retry); resolves once persisted. On a stopped client only. */
  bootstrap(): Promise<void> {
    if (this.core.state !== 'idle') return Promise.reject(new Error(`bootstrap() needs a stopped client (it is in ${this.core.state})`));
    return this.until((e) => (e.type === 'bootstrapped' ? true : e.type === 'error' ? e.error : undefined), () => this.core.bootstrap(now()));
  }

  /** Sends an Update now; resolves when it (or the fresh Register it led to) succeeded. */
  update(): Promise<void> {
    if (!this.core.registered) return Promise.resolve();
    return this.until((e) => (e.type === 'updated' || e.type === 'registered' ? true : e.type === 'error' ? e.error : undefined), () => this.core.update(now()));
  }

  /**
   * Send (LwM2M 1.1): reports the values under `paths` to the server (POST /dp); resolves when
   * the server answered 2.04. Rejects with Lwm2mError 4.03 when Mute Send (/1/x/23) is on.
   */
  send(paths: ReadonlyArray<Path | string>, o: SendOptions = {}): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let id = -1;
      this.waiters.add((e) => {
        if (e.type === 'sent' && e.id === id) {
          if (e.code === Code.Changed) resolve();
          else reject(new Lwm2mError(e.code, `Send answered ${codeText(e.code)}`));
        } else if (e.type === 'send-failed' && e.id === id) reject(e.error);
        else return false;
        return true;
      });
      try {
        this.pump(() => (id = this.core.send(now(), paths, o)));
      } catch (e) {
        reject(e as Error);
      }
    });
  }

  /** The application's firmware install (FirmwareOptions.install answered undefined) ended. */
  firmwareInstalled(ok: boolean): void {
    this.pump(() => this.core.firmwareInstalled(now(), ok));
  }

  /** De-registers and closes every session. */
  async stop(): Promise<void> {
    await this.until((e) => (e.type === 'stopped' ? true : undefined), () => this.core.stop(now()));
    await this.channels.closeAll();
    await this.saving;
    this.alarm.stop();
  }

  // ------------------------------------------------------------------------------------

  /** Runs `act`, resolves when `settle` says true, rejects when it gives an error. */
  private until(settle: (e: Lwm2mClientEvent) => true | Error | undefined, act: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiters.add((e) => {
        const r = settle(e);
        if (r === undefined) return false;
        if (r === true) resolve();
        else reject(r);
        return true;
      });
      try {
        this.pump(act);
      } catch (e) {
        reject(e as Error);
      }
    });
  }

  /** Runs f on the core, then moves its output (re-entrant: a nested pump only runs f). */
  private pump(f: () => void): void {
    this.pumping.run(f);
  }

  /**
   * Sends the core's datagrams and acts on its events until both queues are empty (datagrams
   * first: a 'close' follows the last datagrams of its channel), and re-arms the timer.
   */
  private drain(): void {
    for (;;) {
      this.transmit();
      const e = this.core.pollEvent();
      if (!e) break;
      this.dispatch(e);
    }
    this.alarm.arm(this.core.pollTimeout());
  }

  private transmit(): void {
    for (let t = this.core.pollTransmit(); t; t = this.core.pollTransmit()) this.channels.send(t.channel, t.data);
  }

  private dispatch(e: Lwm2mClientEvent): void {
    for (const w of [...this.waiters]) if (w(e)) this.waiters.delete(w);
    switch (e.type) {
      case 'open': {
        // the credentials are fetched here, never carried by the event; a channel closed already has none
        const security = this.core.channelSecurity(e.channel);
        if (security) this.channels.open(e.channel, e.uri, security);
        break;
      }
      case 'close':
        this.channels.close(e.channel);
        break;
      case 'persist': {
        const storage = this.opts.storage!;
        const state = this.core.persistentState(); // secrets: to the storage only
        this.saving = this.saving
          .then(() => storage.save(state))
          .then(
            () => this.pump(() => this.core.persisted(now())),
            (err: Error) => this.pump(() => this.core.persisted(now(), err.message)),
          );
        break;
      }
      case 'bootstrapped':
        this.emit('bootstrapped');
        break;
      case 'registered':
      case 'updated':
      case 'deregistered':
        this.emit(e.type, e.location);
        break;
      case 'error':
        if (this.listenerCount('error') > 0) this.emit('error', e.error);
        break;
      case 'sleeping':
      case 'awake':
        this.emit(e.type);
        break;
      case 'session':
        this.emit('session', { uri: e.uri, resumed: e.resumed, connectionId: e.connectionId });
        break;
      case 'stopped':
        break;
    }
  }
}

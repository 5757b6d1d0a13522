import { utf8 } from '../bytes/util.js';
import type { IncomingRequest } from '../coap/api-types.js';
import type { TransmissionParameters } from '../coap/config.js';
import { ContentFormat } from '../coap/content-format.js';
import { CoapError } from '../coap/errors.js';
import { formatLinks, type Link } from '../coap/link-format.js';
import { Code, codeText, encodeUint, getOptions, OptionNumber, type CoapMessage, type CoapOption } from '../coap/message.js';
import type { CryptoProvider } from '../crypto/provider.js';
import type { PeerAddress } from '../dtls/keystore.js';
import { bootstrapAccount, installFactoryBootstrap, registrationLinks, serverAccount, validateConfiguration, type BootstrapAccount, type FactoryBootstrap, type ServerAccountInfo } from './client-accounts.js';
import { serveBootstrapRequest, serveServerRequest, type BootstrapSession } from './client-requests.js';
import { CoapAgent, pathOptions, type AgentEvent, type CoapAnswer } from './coap-agent.js';
import type { WallClock } from './device.js';
import { Lwm2mError } from './errors.js';
import type { ObjectStore, SnapshotObject } from './object-store.js';
import type { SecurityConfig } from './security.js';
import type { ClientState } from './storage.js';
import { pathToString, type Path } from './types.js';

export interface Lwm2mClientCoreOptions {
  /** The endpoint client name (ep=). */
  endpoint: string;
  store: ObjectStore;
  /** Factory bootstrap account, used when no bootstrapped configuration exists. */
  bootstrap?: FactoryBootstrap;
  transmission?: Partial<TransmissionParameters>;
  /** Preferred content format announced with pct= and in the Register links (default SenML CBOR, 112). */
  preferredContentFormat?: number;
  /** The bootstrap session fails after this long without a bootstrap command (default EXCHANGE_LIFETIME, 247 s). */
  bootstrapInactivityMs?: number;
  /** First retry delay after a failed bootstrap or registration (doubles, up to 64x; 0: give up at once). Default 30 s. */
  retryMs?: number;
  /** Send the Update this long before the lifetime ends (default: 10% of it, at least 2 s). */
  updateMarginMs?: (lifetimeMs: number) => number;
  /** Emit 'persist' with the bootstrapped configuration and wait for persisted() before using it. */
  persist?: boolean;
  /** Wall clock for the persisted state's savedAt. */
  wallClock?: WallClock;
  /** Parses raw public key credentials when checking accounts (default: the registered provider). */
  crypto?: CryptoProvider;
  /** Random bytes for CoAP tokens and message IDs. */
  random?: (n: number) => Uint8Array;
  /** Block size of our uploads and answers (16..1024, default 1024). */
  blockSize?: number;
  /** Bootstrap-Request, Register and Update fail after this long without an answer (default 120 s). */
  requestTimeoutMs?: number;
  /**
   * Called when the application changed the store and notifications are due: the driver
   * should call handleTimeout(now) soon (pollTimeout() says 0 meanwhile).
   */
  wake?: () => void;
  /** Human-readable progress lines (no secrets). */
  log?: (line: string) => void;
}

/** What the client asks its driver to do, and what it reports. */
export type Lwm2mClientEvent =
  /** Open a channel (a DTLS session for coaps://, a UDP association for coap://) to `uri`; report channelUp/channelFailed. */
  | { type: 'open'; channel: number; uri: string; security: SecurityConfig }
  /** Close a channel (close_notify). Send what pollTransmit() gave for it first. */
  | { type: 'close'; channel: number }
  /** Write this state (e.g. atomically to a file), then call persisted(). */
  | { type: 'persist'; state: ClientState }
  | { type: 'bootstrapped' }
  | { type: 'registered'; location: string }
  | { type: 'updated'; location: string }
  | { type: 'deregistered'; location: string }
  /** A bootstrap or registration attempt failed; retried after retryInMs, or given up when undefined. */
  | { type: 'error'; error: Error; retryInMs: number | undefined }
  /** stop() completed: every channel is closed. */
  | { type: 'stopped' };

type Phase = 'idle' | 'holdoff' | 'bootstrap' | 'register' | 'registered' | 'retry' | 'deregister';

interface Channel {
  id: number;
  uri: string;
  address: PeerAddress;
  up: boolean;
}

interface BootstrapAttempt {
  channel: number;
  account: BootstrapAccount;
  /** The configuration to return to if the attempt fails. */
  before: SnapshotObject[];
  started: number;
  request: number | undefined;
  /** Set by Bootstrap-Finish: accepted, or the reason it was refused (answered 4.06). */
  finish: 'ok' | Error | undefined;
  /** Waiting for persisted(). */
  saving: boolean;
}

interface RegisterAttempt {
  channel: number;
  account: ServerAccountInfo;
  started: number;
  request: number | undefined;
  sentAt: number;
}

interface Registration {
  channel: number;
  uri: string;
  location: string;
  /** Uri-Path of the location, for the Updates. */
  locationPath: CoapOption[];
  lifetimeS: number;
  shortServerId: number;
  update: number | undefined;
  updateSentAt: number;
}

const DEFAULT_INACTIVITY_MS = 247_000;
const DEFAULT_RETRY_MS = 30_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
const DEREGISTER_TIMEOUT_MS = 10_000;

/**
 * An LwM2M 1.1 client (OMA-TS-LightweightM2M-Core), sans-IO: client-initiated bootstrap
 * (hold-off, Bootstrap-Request with ep and pct, the bootstrap commands, Finish validated or
 * refused with 4.06 keeping the previous configuration, an inactivity timeout), then Register
 * with the bootstrapped account, Updates before the lifetime ends, a fresh Register after 4.04,
 * a failed Update or a lost channel, De-register on stop; failed attempts are retried with a
 * doubling backoff. It serves the server's Read, Write, Execute, Create, Delete, Discover and
 * Observe, and notifies observers when the store changes.
 *
 * Time is an input: every call takes `now` (ms, monotonic). The driver opens and closes
 * channels when asked ('open' / 'close' events) and reports them (channelUp, channelFailed,
 * channelLost); datagrams go through handleDatagram / pollTransmit, the one timer through
 * pollTimeout / handleTimeout.
 */
export class Lwm2mClientCore {
  private readonly agent: CoapAgent<number>;
  private readonly events: Lwm2mClientEvent[] = [];
  private readonly channels = new Map<number, Channel>();
  private nextChannel = 1;
  private phase: Phase = 'idle';
  /** 'once': a single bootstrap attempt (bootstrap()), no retry, no registration after it. */
  private mode: 'run' | 'once' = 'run';
  private attempt = 0;
  /** The phase's timer: hold-off, retry, bootstrap inactivity, or the next Update. */
  private deadline: number | undefined;
  private bs: BootstrapAttempt | undefined;
  private reg: RegisterAttempt | undefined;
  private registration: Registration | undefined;
  private deregister: { request: number; channel: number; location: string } | undefined;
  private stopping = false;
  /** Paths changed by the application, to notify at the next call. */
  private readonly changed = new Set<string>();
  private unsubscribe: (() => void) | undefined;
  private readonly log: (line: string) => void;
  private readonly pct: number;

  constructor(readonly opts: Lwm2mClientCoreOptions) {
    this.log = opts.log ?? (() => undefined);
    this.pct = opts.preferredContentFormat ?? ContentFormat.SenmlCbor;
    this.agent = new CoapAgent<number>({
      ...(opts.transmission ? { transmission: opts.transmission } : {}),
      ...(opts.random ? { random: opts.random } : {}),
      ...(opts.blockSize ? { blockSize: opts.blockSize } : {}),
      peerId: (c) => String(c),
      describe: (c) => ({ address: this.channels.get(c)?.address ?? { address: '?', port: 0 }, identity: undefined }),
      handler: (now, c, req) => this.serve(now, c, req),
    });
  }

  get store(): ObjectStore {
    return this.opts.store;
  }
  get registered(): boolean {
    return this.registration !== undefined;
  }
  get location(): string | undefined {
    return this.registration?.location;
  }
  /** Where the client is: idle, holdoff, bootstrap, register, registered, retry, deregister. */
  get state(): string {
    return this.phase;
  }

  /** The Register links: every object and instance but Security (0) and OSCORE (21). */
  registrationLinks(): Link[] {
    return registrationLinks(this.store, this.pct);
  }

  // === commands ==========================================================================

  /**
   * Restores a persisted configuration (when it is this endpoint's), else installs the
   * factory bootstrap account; then bootstraps if there is no usable server account, and
   * registers. Throws Lwm2mError 4.06 when the factory account is unusable.
   */
  start(now: number, restored?: ClientState): void {
    if (this.phase !== 'idle') return;
    this.stopping = false;
    this.mode = 'run';
    if (restored && restored.endpoint === this.opts.endpoint) {
      this.store.restore(restored.objects);
      this.log(`restored the bootstrapped configuration saved at ${restored.savedAt ?? 'an unknown time'}`);
    } else if (this.opts.bootstrap) {
      installFactoryBootstrap(this.store, this.opts.bootstrap, this.opts.crypto);
    }
    this.attempt = 0;
    this.proceed(now);
    this.settle(now);
  }

  /**
   * One bootstrap attempt now (installing the factory account if the store has no bootstrap
   * account), without registering afterwards or retrying: 'bootstrapped' or 'error'.
   */
  bootstrap(now: number): void {
    if (this.phase !== 'idle') return;
    this.stopping = false;
    this.mode = 'once';
    if (!bootstrapAccount(this.store) && this.opts.bootstrap) installFactoryBootstrap(this.store, this.opts.bootstrap, this.opts.crypto);
    this.beginBootstrap(now);
    this.settle(now);
  }

  /** Sends an Update now (a fresh Register follows 4.04, a failure or a lost channel). */
  update(now: number): void {
    if (this.phase === 'registered' && this.registration && this.registration.update === undefined) this.sendUpdate(now);
    this.settle(now);
  }

  /** De-registers (when registered) and closes every channel; 'stopped' follows. */
  stop(now: number): void {
    this.stopping = true;
    this.deadline = undefined;
    switch (this.phase) {
      case 'registered': {
        const r = this.registration!;
        this.endRegistration(now);
        this.agent.cancel(now, r.update ?? -1);
        const request = this.agent.request(now, r.channel, { code: Code.DELETE, options: pathOptions(r.location) }, { timeoutMs: DEREGISTER_TIMEOUT_MS });
        this.deregister = { request, channel: r.channel, location: r.location };
        this.phase = 'deregister';
        break;
      }
      case 'deregister':
        break;
      case 'bootstrap':
        this.abortBootstrap(now);
        this.finishStop(now);
        break;
      default:
        this.abortRegister(now);
        this.finishStop(now);
    }
    this.settle(now);
  }

  // === driver interface ==================================================================

  /** The channel asked for by an 'open' event is up (the DTLS handshake completed). */
  channelUp(now: number, channel: number): void {
    const c = this.channels.get(channel);
    if (c && !c.up) {
      c.up = true;
      if (this.bs?.channel === channel) this.sendBootstrapRequest(now);
      else if (this.reg?.channel === channel) this.sendRegister(now);
    }
    this.settle(now);
  }

  /** The channel could not be opened (handshake failure, DNS, ...). */
  channelFailed(now: number, channel: number, reason: string): void {
    this.channelGone(now, channel, new CoapError('CLOSED', reason));
    this.settle(now);
  }

  /** An open channel died (the peer closed the DTLS session, a fatal alert, ...). */
  channelLost(now: number, channel: number, reason: string): void {
    this.channelGone(now, channel, new CoapError('CLOSED', reason));
    this.settle(now);
  }

  /** The driver wrote the state of the last 'persist' event (or failed to: `error`). */
  persisted(now: number, error?: string): void {
    const bs = this.bs;
    if (bs?.saving) {
      bs.saving = false;
      if (error) this.failBootstrap(now, new Lwm2mError(Code.InternalServerError, `persisting the bootstrapped configuration failed: ${error}`));
      else this.bootstrapped(now);
    }
    this.settle(now);
  }

  handleDatagram(now: number, channel: number, data: Uint8Array): void {
    if (this.channels.get(channel)?.up) this.agent.handleDatagram(now, channel, data);
    this.settle(now);
  }

  handleTimeout(now: number): void {
    this.agent.handleTimeout(now);
    this.drainAgent(now);
    if (this.deadline !== undefined && this.deadline <= now) {
      this.deadline = undefined;
      this.timerFired(now);
    }
    this.settle(now);
  }

  /** A datagram for a channel (send it on that channel; drop it if the channel is gone). */
  pollTransmit(): { channel: number; data: Uint8Array } | undefined {
    const t = this.agent.pollTransmit();
    return t ? { channel: t.peer, data: t.data } : undefined;
  }

  pollTimeout(): number | undefined {
    if (this.changed.size > 0 && this.registration) return 0;
    const a = this.agent.pollTimeout();
    const d = this.deadline;
    return a === undefined ? d : d === undefined ? a : Math.min(a, d);
  }

  pollEvent(): Lwm2mClientEvent | undefined {
    return this.events.shift();
  }

  // === the life cycle ====================================================================

  /** Bootstraps when there is no usable server account, else registers. */
  private proceed(now: number): void {
    if (serverAccount(this.store)) {
      this.beginRegister(now);
      return;
    }
    const holdOff = this.store.get([0, bootstrapAccount(this.store)?.instanceId ?? 0, 11]);
    if (this.attempt === 0 && typeof holdOff === 'number' && holdOff > 0) {
      this.phase = 'holdoff';
      this.deadline = now + holdOff * 1000;
      return;
    }
    this.beginBootstrap(now);
  }

  private timerFired(now: number): void {
    switch (this.phase) {
      case 'holdoff':
        this.beginBootstrap(now);
        break;
      case 'retry':
        this.proceed(now);
        break;
      case 'bootstrap':
        if (this.bs && !this.bs.finish) this.failBootstrap(now, new Lwm2mError(Code.ServiceUnavailable, `no bootstrap command for ${this.opts.bootstrapInactivityMs ?? DEFAULT_INACTIVITY_MS} ms`));
        break;
      case 'registered':
        if (this.registration?.update === undefined) this.sendUpdate(now);
        break;
    }
  }

  /** A bootstrap or registration attempt failed: retry with a doubling delay, or give up. */
  private failAttempt(now: number, e: Error): void {
    const retryMs = this.opts.retryMs ?? DEFAULT_RETRY_MS;
    if (this.stopping) return;
    if (this.mode === 'once' || retryMs === 0) {
      this.log(e.message);
      this.phase = 'idle';
      this.events.push({ type: 'error', error: e, retryInMs: undefined });
      return;
    }
    const wait = retryMs * 2 ** Math.min(this.attempt, 6);
    this.attempt++;
    this.log(`${e.message}; retrying in ${Math.round(wait / 1000)} s`);
    this.phase = 'retry';
    this.deadline = now + wait;
    this.events.push({ type: 'error', error: e, retryInMs: wait });
  }

  private finishStop(now: number): void {
    this.phase = 'idle';
    this.deadline = undefined;
    for (const c of [...this.channels.keys()]) this.closeChannel(now, c);
    this.events.push({ type: 'stopped' });
  }

  // --- channels ---------------------------------------------------------------------------

  private openChannel(uri: string, security: SecurityConfig): number {
    const id = this.nextChannel++;
    this.channels.set(id, { id, uri, address: addressOf(uri), up: false });
    this.events.push({ type: 'open', channel: id, uri, security });
    return id;
  }

  private closeChannel(now: number, channel: number): void {
    if (!this.channels.delete(channel)) return;
    this.agent.dropPeer(now, channel);
    this.events.push({ type: 'close', channel });
  }

  private channelGone(now: number, channel: number, e: CoapError): void {
    if (!this.channels.has(channel)) return;
    this.channels.delete(channel);
    this.agent.dropPeer(now, channel);
    if (this.bs?.channel === channel) {
      if (this.bs.finish === 'ok') return; // finished: the bootstrap server may close as it likes
      this.failBootstrap(now, e);
    } else if (this.reg?.channel === channel) {
      this.reg = undefined;
      this.failAttempt(now, e);
    } else if (this.registration?.channel === channel) {
      // the registration lives in its DTLS session: a lost session means a fresh Register
      this.log(`the session to ${this.registration.uri} was lost (${e.message}): registering again`);
      this.endRegistration(now);
      this.beginRegister(now);
    } else if (this.deregister?.channel === channel) {
      this.log(`De-register failed: ${e.message}`);
      this.deregister = undefined;
      this.finishStop(now);
    }
  }

  // --- bootstrap (OMA-TS Core §5.2.7.2) ----------------------------------------------------

  private beginBootstrap(now: number): void {
    const account = bootstrapAccount(this.store);
    if (!account) {
      this.failAttempt(now, new Lwm2mError(Code.NotAcceptable, 'no bootstrap server account'));
      return;
    }
    this.phase = 'bootstrap';
    this.deadline = now + (this.opts.bootstrapInactivityMs ?? DEFAULT_INACTIVITY_MS);
    this.log(`Bootstrap-Request to ${account.uri} (ep=${this.opts.endpoint}, pct=${this.pct})`);
    const channel = this.openChannel(account.uri, account.security);
    this.bs = { channel, account, before: this.store.snapshot([0, 1]), started: now, request: undefined, finish: undefined, saving: false };
  }

  private sendBootstrapRequest(now: number): void {
    const bs = this.bs!;
    const options = [...pathOptions('/bs'), query(`ep=${this.opts.endpoint}`), query(`pct=${this.pct}`)];
    bs.request = this.agent.request(now, bs.channel, { code: Code.POST, options }, { timeoutMs: this.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS });
  }

  private bootstrapAnswered(now: number, e: AgentEvent): void {
    const bs = this.bs!;
    bs.request = undefined;
    if (e.type === 'error') {
      if (bs.finish !== 'ok') this.failBootstrap(now, e.error);
      return;
    }
    this.log(`Bootstrap-Request -> ${codeText(e.response.code)}`);
    if (e.response.code !== Code.Changed && bs.finish !== 'ok') this.failBootstrap(now, new Lwm2mError(e.response.code, `bootstrap server answered ${codeText(e.response.code)}`));
  }

  /** Bootstrap-Finish was answered: go on (persist, then register), or fail (4.06 was sent). */
  private afterFinish(now: number): void {
    const bs = this.bs!;
    if (bs.finish instanceof Error) {
      this.failBootstrap(now, bs.finish);
      return;
    }
    this.log(`Bootstrap-Finish accepted after ${Math.round(now - bs.started)} ms`);
    this.deadline = undefined;
    this.agent.cancel(now, bs.request ?? -1);
    this.closeChannel(now, bs.channel);
    if (this.opts.persist) {
      bs.saving = true;
      const state: ClientState = { version: 1, endpoint: this.opts.endpoint, objects: this.store.snapshot([0, 1]) };
      if (this.opts.wallClock) state.savedAt = new Date(this.opts.wallClock()).toISOString();
      this.events.push({ type: 'persist', state });
      return;
    }
    this.bootstrapped(now);
  }

  private bootstrapped(now: number): void {
    this.bs = undefined;
    this.events.push({ type: 'bootstrapped' });
    if (this.mode === 'once') {
      this.phase = 'idle';
      return;
    }
    this.beginRegister(now);
  }

  /** A failed bootstrap changes nothing (OMA-TS Core): the previous configuration returns. */
  private failBootstrap(now: number, e: Error): void {
    this.abortBootstrap(now);
    this.failAttempt(now, e);
  }

  private abortBootstrap(now: number): void {
    const bs = this.bs;
    if (!bs) return;
    this.bs = undefined;
    this.deadline = undefined;
    this.store.restore(bs.before);
    this.agent.cancel(now, bs.request ?? -1);
    this.closeChannel(now, bs.channel);
  }

  private bootstrapSession(now: number, bs: BootstrapAttempt): BootstrapSession {
    return {
      isBootstrapAccount: (o, i) => o === 0 && i === bs.account.instanceId,
      activity: () => {
        if (!bs.finish) this.deadline = now + (this.opts.bootstrapInactivityMs ?? DEFAULT_INACTIVITY_MS);
      },
      finish: () => {
        try {
          validateConfiguration(this.store, this.opts.crypto);
          bs.finish = 'ok';
        } catch (e) {
          bs.finish = e as Error; // answered 4.06; this attempt has failed (the previous configuration returns)
          throw e;
        }
      },
    };
  }

  // --- registration (OMA-TS Core §5.3) --------------------------------------------------------

  private beginRegister(now: number): void {
    const account = serverAccount(this.store);
    if (!account) {
      this.failAttempt(now, Lwm2mError.notAcceptable('no LwM2M server account to register with'));
      return;
    }
    this.phase = 'register';
    this.deadline = undefined;
    this.log(`Register to ${account.uri} (ep=${this.opts.endpoint}, lt=${account.lifetimeS}, b=${account.binding})`);
    const channel = this.openChannel(account.uri, account.security);
    this.reg = { channel, account, started: now, request: undefined, sentAt: now };
  }

  private sendRegister(now: number): void {
    const reg = this.reg!;
    const a = reg.account;
    const options = [
      ...pathOptions('/rd'),
      { number: OptionNumber.ContentFormat, value: encodeUint(ContentFormat.LinkFormat) },
      query(`ep=${this.opts.endpoint}`),
      query(`lt=${a.lifetimeS}`),
      query('lwm2m=1.1'),
      query(`b=${a.binding}`),
    ];
    reg.sentAt = now;
    reg.request = this.agent.request(now, reg.channel, { code: Code.POST, options, payload: utf8(formatLinks(this.registrationLinks())) }, { timeoutMs: this.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS });
  }

  private registerAnswered(now: number, e: AgentEvent): void {
    const reg = this.reg!;
    this.reg = undefined;
    if (e.type === 'error') {
      this.closeChannel(now, reg.channel);
      this.failAttempt(now, e.error);
      return;
    }
    const res = e.response;
    if (res.code !== Code.Created) {
      this.closeChannel(now, reg.channel);
      this.failAttempt(now, new Lwm2mError(res.code, `Register answered ${codeText(res.code)}`));
      return;
    }
    const location = locationOf(res);
    this.log(`Register -> ${codeText(res.code)} Location ${location} in ${Math.round(now - reg.started)} ms`);
    this.registration = { channel: reg.channel, uri: reg.account.uri, location, locationPath: pathOptions(location), lifetimeS: reg.account.lifetimeS, shortServerId: reg.account.shortServerId, update: undefined, updateSentAt: reg.sentAt };
    this.phase = 'registered';
    this.attempt = 0;
    this.changed.clear();
    this.unsubscribe?.();
    // observations: a changed value notifies its path and its parents
    this.unsubscribe = this.store.onChange((p) => this.storeChanged(p));
    this.scheduleUpdate();
    this.events.push({ type: 'registered', location });
  }

  /**
   * The next Update is due a margin before the lifetime ends, counted from when the last
   * Register or Update was sent (the server's lifetime starts later, when it receives it).
   */
  private scheduleUpdate(): void {
    const r = this.registration!;
    const lifetimeMs = r.lifetimeS * 1000;
    const margin = this.opts.updateMarginMs?.(lifetimeMs) ?? Math.max(2000, lifetimeMs * 0.1);
    this.deadline = r.updateSentAt + Math.max(500, lifetimeMs - margin);
  }

  private sendUpdate(now: number): void {
    const r = this.registration!;
    this.deadline = undefined;
    r.updateSentAt = now;
    r.update = this.agent.request(now, r.channel, { code: Code.POST, options: r.locationPath }, { timeoutMs: this.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS });
  }

  private updateAnswered(now: number, e: AgentEvent): void {
    const r = this.registration!;
    r.update = undefined;
    if (e.type !== 'error') {
      this.log(`Update -> ${codeText(e.response.code)}`);
      if (e.response.code === Code.Changed) {
        this.scheduleUpdate();
        this.events.push({ type: 'updated', location: r.location });
        return;
      }
      if (e.response.code !== Code.NotFound) this.log(`Update failed (Update answered ${codeText(e.response.code)}): registering again`);
    } else this.log(`Update failed (${e.error.message}): registering again`);
    // 4.04 or a failure: a fresh Register on a new channel (OMA-TS Core §5.3.2)
    this.endRegistration(now);
    this.closeChannel(now, r.channel);
    this.beginRegister(now);
  }

  private endRegistration(now: number): void {
    this.registration = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.changed.clear();
    this.deadline = undefined;
    void now;
  }

  private abortRegister(now: number): void {
    const reg = this.reg;
    if (!reg) return;
    this.reg = undefined;
    this.agent.cancel(now, reg.request ?? -1);
    this.closeChannel(now, reg.channel);
  }

  private deregistered(now: number, e: AgentEvent): void {
    const d = this.deregister!;
    this.deregister = undefined;
    if (e.type === 'error') this.log(`De-register failed: ${e.error.message}`);
    else {
      this.log(`De-register -> ${codeText(e.response.code)}`);
      this.events.push({ type: 'deregistered', location: d.location });
    }
    this.finishStop(now);
  }

  // --- observations ----------------------------------------------------------------------

  private storeChanged(p: Path): void {
    if (!this.registration) return;
    const first = this.changed.size === 0;
    for (let n = p.length; n >= 1; n--) this.changed.add(pathToString(p.slice(0, n)));
    if (first) this.opts.wake?.();
  }

  private flushNotifications(now: number): void {
    if (!this.registration || this.changed.size === 0) return;
    const paths = [...this.changed];
    this.changed.clear();
    for (const p of paths) this.agent.notify(now, p);
  }

  // --- serving ---------------------------------------------------------------------------

  private serve(now: number, channel: number, req: IncomingRequest): CoapAnswer {
    const bs = this.bs;
    let role: string;
    let a: CoapAnswer;
    if (bs && bs.channel === channel && !bs.finish) {
      role = 'bootstrap';
      a = serveBootstrapRequest(this.store, req, this.bootstrapSession(now, bs));
    } else if (this.registration?.channel === channel || this.reg?.channel === channel) {
      role = 'server';
      a = serveServerRequest(this.store, req);
    } else return { code: Code.Forbidden };
    this.log(`${role} ${req.method} ${req.path}${req.observe === 0 ? ' (observe)' : ''} -> ${codeText(a.code)}`);
    return a;
  }

  // --- plumbing --------------------------------------------------------------------------

  /** After every call: results of requests, a Finish just answered, notifications due. */
  private settle(now: number): void {
    this.drainAgent(now);
    if (this.bs && this.bs.finish !== undefined && this.channels.has(this.bs.channel) && !this.bs.saving) this.afterFinish(now);
    this.flushNotifications(now);
    this.drainAgent(now);
  }

  private drainAgent(now: number): void {
    for (let e = this.agent.pollEvent(); e; e = this.agent.pollEvent()) {
      if (e.type === 'notification') continue;
      if (this.bs && e.id === this.bs.request) this.bootstrapAnswered(now, e);
      else if (this.reg && e.id === this.reg.request) this.registerAnswered(now, e);
      else if (this.registration && e.id === this.registration.update) this.updateAnswered(now, e);
      else if (this.deregister && e.id === this.deregister.request) this.deregistered(now, e);
      if (this.bs && this.bs.finish !== undefined && this.channels.has(this.bs.channel) && !this.bs.saving) this.afterFinish(now);
    }
  }
}

const query = (s: string): CoapOption => ({ number: OptionNumber.UriQuery, value: utf8(s) });


function locationOf(res: CoapMessage): string {
  return '/' + getOptions(res, OptionNumber.LocationPath).map((b) => new TextDecoder().decode(b)).join('/');
}

/** host and port of a coap:// or coaps:// URI (for the requests' description; no name lookup). */
function addressOf(uri: string): PeerAddress {
  const m = /^(coaps?):\/\/(\[[^\]]*\]|[^:/?#]*)(?::(\d+))?/.exec(uri);
  if (!m) return { address: '?', port: 0 };
  return { address: m[2]!.replace(/^\[|\]$/g, ''), port: m[3] ? Number(m[3]) : m[1] === 'coaps' ? 5684 : 5683 };
}

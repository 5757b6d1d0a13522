import type { IncomingRequest } from '../coap/api-types.js';
import { ContentFormat } from '../coap/content-format.js';
import { CoapError } from '../coap/errors.js';
import type { Link } from '../coap/link-format.js';
import { Code } from '../coap/message.js';
import { AttributeStore } from './attributes.js';
import { bootstrapAccount, installFactoryBootstrap, registrationLinks, securityForUri } from './client-accounts.js';
import { Attempts } from './client-attempts.js';
import { afterFinish, beginBootstrap, bootstrapPersisted } from './client-bootstrap.js';
import { ClientChannels } from './client-channels.js';
import { channelSession, type ChannelSession } from './client-sessions.js';
import type { Lwm2mClientCoreOptions, Lwm2mClientEvent } from './client-driver.js';
import { createFirmware, type FirmwareUpdate } from './client-firmware.js';
import { deadlineOf, IDLE, type ClientContext, type ClientPhase } from './client-phases.js';
import { beginRegister, registeredDuties, sendUpdate } from './client-registration.js';
import { sendAnswered, startSend, type SendOptions } from './client-send.js';
import { serveClient } from './client-serve.js';
import { onAnswer, onChannelGone, onChannelUp, onStop, onTimer, proceed } from './client-transitions.js';
import { CoapAgent, type CoapAnswer } from './coap-agent.js';
import { Lwm2mError } from './errors.js';
import type { ObjectStore } from './object-store.js';
import type { SecurityConfig } from './security.js';
import type { ClientState } from './storage.js';
import type { Path } from './types.js';

export type { Lwm2mClientCoreOptions, Lwm2mClientEvent } from './client-driver.js';

/**
 * An LwM2M 1.1 client (OMA-TS-LightweightM2M-Core), sans-IO: client-initiated bootstrap
 * (client-bootstrap.ts), Register, Updates, a fresh Register after 4.04 or a lost channel,
 * De-register (client-registration.ts), retries with a doubling backoff; queue mode
 * (client-queue.ts) and the /1/x/8, /1/x/9 triggers. It serves the server's requests
 * (client-serve.ts: Read, Write, Execute, Create, Delete, Discover, Observe, Write-Attributes,
 * the composite operations, Firmware Update), notifies by the notification attributes
 * (client-observations.ts), and Sends (client-send.ts). Where it is is one {@link ClientPhase}.
 *
 * Time is an input: every call takes `now` (ms, monotonic). The driver opens and closes
 * channels when asked ('open' / 'close' events, client-driver.ts) and reports them (channelUp,
 * channelFailed, channelLost); datagrams go through handleDatagram / pollTransmit, the one
 * timer through pollTimeout / handleTimeout.
 */
export class Lwm2mClientCore {
  private readonly agent: CoapAgent<number>;
  private readonly events: Lwm2mClientEvent[] = [];
  private readonly channels: ClientChannels;
  private readonly attempts: Attempts;
  private phase: ClientPhase = IDLE;
  private readonly pct: number;
  private readonly log: (line: string) => void;
  private readonly cx: ClientContext;
  private readonly attributes = new AttributeStore();
  /** The Firmware Update object (with `opts.firmware`). */
  readonly firmware: FirmwareUpdate | undefined;
  /** Datagrams taken from the agent (to see a queue-mode client's exchanges as they go out). */
  private readonly outbox: Array<{ channel: number; data: Uint8Array }> = [];

  constructor(readonly opts: Lwm2mClientCoreOptions) {
    this.pct = opts.preferredContentFormat ?? ContentFormat.SenmlCbor;
    this.agent = new CoapAgent<number>({
      ...(opts.transmission ? { transmission: opts.transmission } : {}),
      ...(opts.random ? { random: opts.random } : {}),
      ...(opts.blockSize ? { blockSize: opts.blockSize } : {}),
      peerId: (c) => String(c),
      describe: (c) => ({ address: this.channels.address(c), identity: undefined }),
      handler: (now, c, req) => this.serve(now, c, req),
    });
    const log = (this.log = opts.log ?? (() => undefined));
    const emit = (e: Lwm2mClientEvent) => void this.events.push(e);
    const channels = (this.channels = new ClientChannels(this.agent, emit));
    const attempts = (this.attempts = new Attempts(opts, log, emit));
    this.cx = {
      opts,
      store: opts.store,
      attributes: this.attributes,
      agent: this.agent,
      pct: this.pct,
      log,
      emit,
      openChannel: (uri, security) => channels.open(uri, security),
      closeChannel: (now, channel) => channels.close(now, channel),
      failAttempt: (now, e) => attempts.fail(now, e),
      succeeded: () => attempts.reset(),
      bootstrapped: (now) => {
        emit({ type: 'bootstrapped' });
        return attempts.mode === 'once' ? IDLE : beginRegister(this.cx, now);
      },
      stopped: (now) => {
        channels.closeAll(now);
        emit({ type: 'stopped' });
        return IDLE;
      },
    };
    this.firmware = opts.firmware ? createFirmware({ store: opts.store, agent: this.agent, log, openChannel: (u, sec) => channels.open(u, sec), closeChannel: (t, c) => channels.close(t, c), securityFor: (u) => securityForUri(opts.store, u) }, opts.firmware) : undefined;
  }

  get store(): ObjectStore {
    return this.opts.store;
  }
  get registered(): boolean {
    return this.phase.kind === 'registered';
  }
  get location(): string | undefined {
    return this.phase.kind === 'registered' ? this.phase.registration.location : undefined;
  }
  /** Where the client is: idle, holdoff, bootstrap, register, registered, retry, deregister. */
  get state(): ClientPhase['kind'] {
    return this.phase.kind;
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
    if (this.phase.kind !== 'idle') return;
    this.attempts.stopping = false;
    this.attempts.mode = 'run';
    if (restored && restored.endpoint === this.opts.endpoint) {
      this.store.restore(restored.objects);
      this.log(`restored the bootstrapped configuration saved at ${restored.savedAt ?? 'an unknown time'}`);
    } else if (this.opts.bootstrap) {
      installFactoryBootstrap(this.store, this.opts.bootstrap, this.opts.crypto);
    }
    this.attempts.reset();
    this.phase = proceed(this.cx, now, true);
    this.settle(now);
  }

  /**
   * One bootstrap attempt now (installing the factory account if the store has no bootstrap
   * account), without registering afterwards or retrying: 'bootstrapped' or 'error'.
   */
  bootstrap(now: number): void {
    if (this.phase.kind !== 'idle') return;
    this.attempts.stopping = false;
    this.attempts.mode = 'once';
    if (!bootstrapAccount(this.store) && this.opts.bootstrap) installFactoryBootstrap(this.store, this.opts.bootstrap, this.opts.crypto);
    this.phase = beginBootstrap(this.cx, now);
    this.settle(now);
  }

  /** Sends an Update now (a fresh Register follows 4.04, a failure or a lost channel). */
  update(now: number): void {
    if (this.phase.kind === 'registered') this.phase = sendUpdate(this.cx, now, this.phase);
    this.settle(now);
  }

  /** De-registers (when registered) and closes every channel; 'stopped' follows. */
  stop(now: number): void {
    this.attempts.stopping = true;
    this.firmware?.stop(now);
    this.phase = onStop(this.cx, now, this.phase);
    this.settle(now);
  }

  /**
   * Send (LwM2M 1.1): reports the values under `paths` to the registered server (POST /dp);
   * 'sent' or 'send-failed' follows with the returned id. Throws Lwm2mError: 4.04 when not
   * registered, 4.03 when Mute Send (/1/x/23) is on, 4.01 for Security or OSCORE.
   */
  send(now: number, paths: ReadonlyArray<Path | string>, o: SendOptions = {}): number {
    const p = this.phase;
    if (p.kind !== 'registered') throw new Lwm2mError(Code.NotFound, 'Send needs a registration');
    const id = startSend(this.cx, now, p.registration, paths, o);
    this.settle(now);
    return id;
  }

  /** The application's firmware install (FirmwareOptions.install answered undefined) ended. */
  firmwareInstalled(now: number, ok: boolean): void {
    this.firmware?.installed(now, ok);
    this.settle(now);
  }

  // === driver interface ==================================================================

  /**
   * The credentials of an open channel (undefined when it is gone), for the driver to open it
   * with when it acts on the 'open' event. Returns secrets (a PSK, a private key): hand them to
   * the DTLS layer only, never to a log or an event.
   */
  channelSecurity(channel: number): SecurityConfig | undefined {
    return this.channels.security(channel);
  }

  /**
   * What to persist on a 'persist' event: the bootstrapped Security and Server objects as they
   * were when Bootstrap-Finish was accepted (at other times, the current ones). Returns
   * secrets (the PSKs and private keys of the accounts): store them where only the device can
   * read them, never in a log or an event.
   */
  persistentState(): ClientState {
    const p = this.phase;
    if (p.kind === 'bootstrap' && p.step.stage === 'saving') return p.step.state;
    return { version: 1, endpoint: this.opts.endpoint, objects: this.store.snapshot([0, 1]) };
  }

  /**
   * What to open a coaps:// channel's DTLS session with besides its credentials: the Connection
   * ID and ticket options, and `saved` (the blob the application kept for this server, see
   * ResumptionStorage) as `resume` when it belongs to the channel's account. `forget` is set
   * when the saved blob is unusable (the driver tells the storage to drop it). Returns a secret
   * (the blob): to the DTLS layer only. Undefined when the channel is gone.
   */
  channelSession(channel: number, saved?: Uint8Array): { session: ChannelSession; forget: boolean } | undefined {
    const security = this.channels.security(channel);
    const uri = this.channels.uri(channel);
    if (!security || uri === undefined) return undefined;
    const { session, refused } = channelSession(this.opts, uri, security, saved);
    if (refused) this.log(`the saved DTLS session for ${uri} is not offered: ${refused}`);
    else if (session.resume) this.log(`offering ${uri} to resume the saved DTLS session`);
    return { session, forget: refused !== undefined };
  }

  /**
   * The channel asked for by an 'open' event is up (the DTLS handshake completed; `session`
   * says how, for a coaps:// channel: a 'session' event tells the application).
   */
  channelUp(now: number, channel: number, session?: { resumed: boolean; connectionId: boolean }): void {
    const uri = this.channels.uri(channel);
    if (session && uri !== undefined && !this.channels.isUp(channel)) {
      this.log(`DTLS session with ${uri} ${session.resumed ? 'resumed (abbreviated handshake)' : 'established'}${session.connectionId ? ' with a Connection ID' : ''}`);
      this.events.push({ type: 'session', channel, uri, ...session });
    }
    if (this.channels.markUp(channel)) {
      if (this.firmware?.owns(channel)) this.firmware.channelUp(now, channel);
      else this.phase = onChannelUp(this.cx, now, this.phase, channel);
    }
    this.settle(now);
  }

  /** The channel could not be opened (handshake failure, DNS, ...). */
  channelFailed(now: number, channel: number, reason: string): void {
    this.channelGone(now, channel, reason);
  }

  /** An open channel died (the peer closed the DTLS session, a fatal alert, ...). */
  channelLost(now: number, channel: number, reason: string): void {
    this.channelGone(now, channel, reason);
  }

  /** The driver wrote persistentState() after the last 'persist' event (or failed to: `error`). */
  persisted(now: number, error?: string): void {
    if (this.phase.kind === 'bootstrap') this.phase = bootstrapPersisted(this.cx, now, this.phase, error);
    this.settle(now);
  }

  handleDatagram(now: number, channel: number, data: Uint8Array): void {
    const r = this.phase.kind === 'registered' ? this.phase.registration : undefined;
    // a queue-mode client that sleeps does not hear its server
    if (r?.queue?.asleep && r.channel === channel) return;
    if (r?.channel === channel) r.queue?.activity(now);
    if (this.channels.isUp(channel)) this.agent.handleDatagram(now, channel, data);
    this.settle(now);
  }

  handleTimeout(now: number): void {
    this.agent.handleTimeout(now);
    this.drainAgent(now);
    const deadline = deadlineOf(this.phase);
    if (deadline !== undefined && deadline <= now) this.phase = onTimer(this.cx, now, this.phase);
    this.firmware?.timer(now);
    this.settle(now);
  }

  /** A datagram for a channel (send it on that channel; drop it if the channel is gone). */
  pollTransmit(): { channel: number; data: Uint8Array } | undefined {
    return this.outbox.shift();
  }

  pollTimeout(): number | undefined {
    let t = this.agent.pollTimeout();
    const more = [deadlineOf(this.phase), this.phase.kind === 'registered' ? this.phase.registration.observations.nextDeadline() : undefined, this.firmware?.deadline()];
    for (const d of more) if (d !== undefined && (t === undefined || d < t)) t = d;
    return t;
  }

  pollEvent(): Lwm2mClientEvent | undefined {
    return this.events.shift();
  }

  // ------------------------------------------------------------------------------------

  private channelGone(now: number, channel: number, reason: string): void {
    if (this.channels.forget(now, channel)) {
      if (this.firmware?.owns(channel)) this.firmware.channelGone(now, channel, reason);
      else this.phase = onChannelGone(this.cx, now, this.phase, channel, new CoapError('CLOSED', reason));
    }
    this.settle(now);
  }

  private serve(now: number, channel: number, req: IncomingRequest): CoapAnswer {
    const { answer, next } = serveClient(this.cx, now, this.phase, channel, req, this.firmware);
    this.phase = next;
    return answer;
  }

  /** After every call: results of requests, a Finish or a trigger just answered, notifications due, datagrams out. */
  private settle(now: number): void {
    this.drainAgent(now);
    this.afterFinish(now);
    this.firmware?.afterAnswer(now);
    if (this.phase.kind === 'registered') this.phase = registeredDuties(this.cx, now, this.phase);
    this.drainAgent(now);
    this.moveOut(now);
  }

  /** The agent's results (responses, failures) to whoever asked: the download, a Send, the phase. */
  private drainAgent(now: number): void {
    for (let e = this.agent.pollEvent(); e; e = this.agent.pollEvent()) {
      if (e.type === 'notification') continue; // the client observes nothing
      if (this.firmware?.answered(now, e)) continue;
      if (this.phase.kind === 'registered' && sendAnswered(this.cx, this.phase.registration, e)) continue;
      this.phase = onAnswer(this.cx, now, this.phase, e);
      this.afterFinish(now);
    }
  }

  /** The agent's datagrams to the outbox; those to the registered server restart a queue-mode client's quiet period. */
  private moveOut(now: number): void {
    const r = this.phase.kind === 'registered' ? this.phase.registration : undefined;
    for (let t = this.agent.pollTransmit(); t; t = this.agent.pollTransmit()) {
      this.outbox.push({ channel: t.peer, data: t.data });
      if (r && t.peer === r.channel) r.queue?.activity(now);
    }
  }

  /** Bootstrap-Finish was answered and that answer is queued: act on it. */
  private afterFinish(now: number): void {
    if (this.phase.kind === 'bootstrap' && this.phase.step.stage === 'finished') this.phase = afterFinish(this.cx, now, this.phase);
  }
}

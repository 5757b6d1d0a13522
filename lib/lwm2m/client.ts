import { EventEmitter } from 'node:events';
import { CoapClient, type ServerResponse } from '../../transports/coap-node.js';
import type { IncomingRequest } from '../coap/api-types.js';
import { ContentFormat } from '../coap/content-format.js';
import { CoapError } from '../coap/errors.js';
import { formatLinks, type Link } from '../coap/link-format.js';
import { Code, codeText, getOptions, OptionNumber } from '../coap/message.js';
import type { TransmissionParameters } from '../coap/config.js';
import type { ConnectOptions } from '../../transports/node-dgram.js';
import { serveBootstrapRequest, serveServerRequest, type Lwm2mAnswer } from './client-requests.js';
import { Lwm2mError } from './errors.js';
import type { ObjectStore } from './object-store.js';
import { checkSecurity, dtlsOptions, securityOf, securityResources, type SecurityConfig } from './security.js';
import type { Storage } from './storage.js';
import { pathToString, type Path } from './types.js';

export interface Lwm2mClientOptions {
  /** The endpoint client name (ep=). */
  endpoint: string;
  store: ObjectStore;
  /** Factory bootstrap account, used when no bootstrapped configuration exists. */
  bootstrap?: { uri: string; security: SecurityConfig; holdOffS?: number };
  storage?: Storage;
  transmission?: Partial<TransmissionParameters>;
  /** Extra DTLS options for every session (retransmission timers, MTU, ...). */
  dtls?: Partial<Omit<ConnectOptions, 'host' | 'port' | 'psk' | 'ecdhe' | 'trust'>>;
  /** Preferred content format announced with pct= (default SenML CBOR, 112). */
  preferredContentFormat?: number;
  /** The bootstrap session fails after this long without a bootstrap command (default EXCHANGE_LIFETIME). */
  bootstrapInactivityMs?: number;
  /** First retry delay after a failed bootstrap or registration (doubles; 0: fail at once). */
  retryMs?: number;
  /** Send the Update this long before the lifetime ends (default: 10% of it, at least 2 s). */
  updateMarginMs?: (lifetimeMs: number) => number;
  /** Human-readable progress lines (no secrets). */
  log?: (line: string) => void;
}

interface Registration {
  uri: string;
  location: string;
  lifetimeS: number;
  shortServerId: number;
  client: CoapClient;
  timer?: NodeJS.Timeout;
}

/**
 * An LwM2M 1.1 client (OMA-TS-LightweightM2M-Core): client-initiated bootstrap over DTLS,
 * then Register / Update / De-register with the bootstrapped server account, serving Read,
 * Write, Execute, Create, Delete, Discover and Observe. Events: 'bootstrapped', 'registered',
 * 'updated', 'deregistered', 'error'.
 */
export class Lwm2mClient extends EventEmitter {
  private registration: Registration | undefined;
  private stopped = false;
  private readonly log: (line: string) => void;
  private unsubscribe: (() => void) | undefined;

  constructor(readonly opts: Lwm2mClientOptions) {
    super();
    this.log = opts.log ?? (() => undefined);
  }

  get store(): ObjectStore {
    return this.opts.store;
  }
  get registered(): boolean {
    return !!this.registration;
  }
  get location(): string | undefined {
    return this.registration?.location;
  }

  /** Restores the persisted configuration, bootstraps if there is no usable account, registers. */
  async start(): Promise<void> {
    this.stopped = false;
    const state = await this.opts.storage?.load();
    if (state && state.endpoint === this.opts.endpoint) {
      this.store.restore(state.objects);
      this.log(`restored the bootstrapped configuration saved at ${state.savedAt}`);
    } else if (this.opts.bootstrap) {
      this.installFactoryBootstrap();
    }
    // Bootstrap when there is no usable account; after a failure, wait and try again
    // (doubling from retryMs, capped at 64x) until stop().
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        if (!this.serverAccount()) {
          const holdOff = this.store.get([0, this.bootstrapAccount()?.instanceId ?? 0, 11]);
          if (attempt === 0 && typeof holdOff === 'number' && holdOff > 0) await this.sleep(holdOff * 1000);
          await this.bootstrap();
        }
        await this.register();
        return;
      } catch (e) {
        const wait = (this.opts.retryMs ?? 30_000) * 2 ** Math.min(attempt, 6);
        this.log(`${(e as Error).message}; retrying in ${Math.round(wait / 1000)} s`);
        this.emit('error', e);
        if (this.opts.retryMs === 0) throw e;
        await this.sleep(wait);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(r, ms);
      this.once('stopping', () => (clearTimeout(t), r()));
    });
  }

  /** De-registers and closes every session. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.emit('stopping');
    this.unsubscribe?.();
    const r = this.registration;
    this.registration = undefined;
    if (!r) return;
    clearTimeout(r.timer);
    try {
      const res = await r.client.request(new URL(r.location, r.uri), { method: 'DELETE', timeoutMs: 10_000 });
      this.log(`De-register -> ${res.codeText}`);
      this.emit('deregistered', r.location);
    } catch (e) {
      this.log(`De-register failed: ${(e as Error).message}`);
    }
    await r.client.close();
  }

  // ------------------------------------------------------------------ bootstrap ---

  private installFactoryBootstrap(): void {
    const b = this.opts.bootstrap!;
    checkSecurity(b.security, b.uri);
    const records = [[0, b.uri], [1, true], ...securityResources(b.security), [11, b.holdOffS ?? 0], [12, 0]] as Array<[number, never]>;
    this.store.write([0, 0], records.map(([r, v]) => ({ path: [0, 0, r], value: v })), 'replace', { ignoreAccess: true, create: true });
  }

  private bootstrapAccount(): { instanceId: number; uri: string; security: SecurityConfig } | undefined {
    for (const i of this.store.instanceIds(0)) {
      if (this.store.get([0, i, 1]) !== true) continue;
      const uri = this.store.get([0, i, 0]);
      if (typeof uri === 'string') return { instanceId: i, uri, security: securityOf(this.store, i) };
    }
    return undefined;
  }

  /** Client-initiated bootstrap (OMA-TS Core §5.2.7.2). */
  async bootstrap(): Promise<void> {
    const account = this.bootstrapAccount();
    if (!account) throw new Lwm2mError(Code.NotAcceptable, 'no bootstrap server account');
    const before = this.store.snapshot([0, 1]);
    const pct = this.opts.preferredContentFormat ?? ContentFormat.SenmlCbor;
    let resolveFinish!: () => void;
    let rejectFinish!: (e: Error) => void;
    const finished = new Promise<void>((res, rej) => ((resolveFinish = res), (rejectFinish = rej)));
    const inactivity = this.opts.bootstrapInactivityMs ?? 247_000;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => rejectFinish(new Lwm2mError(Code.ServiceUnavailable, `no bootstrap command for ${inactivity} ms`)), inactivity);
    };
    const session = {
      isBootstrapAccount: (o: number, i: number) => o === 0 && i === account.instanceId,
      activity: arm,
      finish: async () => {
        try {
          this.validateConfiguration();
        } catch (e) {
          // answered 4.06; this bootstrap attempt has failed (the previous configuration returns)
          setImmediate(() => rejectFinish(e as Error));
          throw e;
        }
        setImmediate(resolveFinish);
      },
    };
    const client = new CoapClient({
      ...this.dtls(account.security),
      transmission: this.opts.transmission ?? {},
      handler: (req, res) => this.answer(res, serveBootstrapRequest(this.store, req, session), req, 'bootstrap'),
    });
    const started = Date.now();
    try {
      this.log(`Bootstrap-Request to ${account.uri} (ep=${this.opts.endpoint}, pct=${pct})`);
      arm();
      const res = await client.request(new URL('/bs', account.uri), { method: 'POST', options: [{ number: OptionNumber.UriQuery, value: new TextEncoder().encode(`ep=${this.opts.endpoint}`) }, { number: OptionNumber.UriQuery, value: new TextEncoder().encode(`pct=${pct}`) }], timeoutMs: 120_000 });
      this.log(`Bootstrap-Request -> ${res.codeText}`);
      if (res.code !== Code.Changed) throw new Lwm2mError(res.code, `bootstrap server answered ${res.codeText}`);
      await finished;
      this.log(`Bootstrap-Finish accepted after ${Date.now() - started} ms`);
      await this.persist();
      this.emit('bootstrapped');
    } catch (e) {
      // keep the previous configuration (OMA-TS Core: a failed bootstrap changes nothing)
      this.store.restore(before);
      throw e;
    } finally {
      clearTimeout(timer);
      await client.close();
    }
  }

  /** Bootstrap-Finish consistency check (what Leshan's client checks): else 4.06. */
  private validateConfiguration(): void {
    const account = this.serverAccount();
    if (!account) throw Lwm2mError.notAcceptable('no usable LwM2M server account (Security + Server instance with the same Short Server ID)');
    checkSecurity(account.security, account.uri);
    if (this.store.instanceIds(0).filter((i) => this.store.get([0, i, 1]) === true).length > 1) throw Lwm2mError.notAcceptable('more than one bootstrap account');
  }

  /** The first complete server account: /0/x (not bootstrap, URI, ssid) + /1/y with that ssid. */
  private serverAccount(): { uri: string; security: SecurityConfig; shortServerId: number; lifetimeS: number; binding: string } | undefined {
    for (const i of this.store.instanceIds(0)) {
      if (this.store.get([0, i, 1]) === true) continue;
      const uri = this.store.get([0, i, 0]);
      const ssid = this.store.get([0, i, 10]);
      if (typeof uri !== 'string' || typeof ssid !== 'number') continue;
      for (const j of this.store.instanceIds(1)) {
        if (this.store.get([1, j, 0]) !== ssid) continue;
        const lifetime = this.store.get([1, j, 1]);
        const binding = this.store.get([1, j, 7]);
        try {
          return { uri, security: securityOf(this.store, i), shortServerId: ssid, lifetimeS: typeof lifetime === 'number' && lifetime > 0 ? lifetime : 86400, binding: typeof binding === 'string' ? binding : 'U' };
        } catch {
          return undefined;
        }
      }
    }
    return undefined;
  }

  private async persist(): Promise<void> {
    if (!this.opts.storage) return;
    await this.opts.storage.save({ version: 1, endpoint: this.opts.endpoint, savedAt: new Date().toISOString(), objects: this.store.snapshot([0, 1]) });
  }

  // --------------------------------------------------------------- registration ---

  /** The Register links: every object and instance but Security (0) and OSCORE (21). */
  registrationLinks(): Link[] {
    const links: Link[] = [{ target: '/', attributes: [['rt', 'oma.lwm2m'], ['ct', String(this.opts.preferredContentFormat ?? ContentFormat.SenmlCbor)]] }];
    for (const o of this.store.objectIds()) {
      if (o === 0 || o === 21) continue;
      const ids = this.store.instanceIds(o);
      if (ids.length === 0) links.push({ target: `/${o}`, attributes: [] });
      for (const i of ids) links.push({ target: `/${o}/${i}`, attributes: [] });
    }
    return links;
  }

  /** Register (OMA-TS Core §5.3.1) on a new session; schedules the Updates. */
  async register(): Promise<void> {
    const account = this.serverAccount();
    if (!account) throw Lwm2mError.notAcceptable('no LwM2M server account to register with');
    const client = new CoapClient({
      ...this.dtls(account.security),
      transmission: this.opts.transmission ?? {},
      handler: (req, res) => this.answer(res, serveServerRequest(this.store, req), req, 'server'),
    });
    const q = (s: string) => ({ number: OptionNumber.UriQuery, value: new TextEncoder().encode(s) });
    const started = Date.now();
    this.log(`Register to ${account.uri} (ep=${this.opts.endpoint}, lt=${account.lifetimeS}, b=${account.binding})`);
    let res;
    try {
      res = await client.request(new URL('/rd', account.uri), {
        method: 'POST',
        contentFormat: ContentFormat.LinkFormat,
        payload: formatLinks(this.registrationLinks()),
        options: [q(`ep=${this.opts.endpoint}`), q(`lt=${account.lifetimeS}`), q('lwm2m=1.1'), q(`b=${account.binding}`)],
        timeoutMs: 120_000,
      });
    } catch (e) {
      await client.close();
      throw e;
    }
    if (res.code !== Code.Created) {
      await client.close();
      throw new Lwm2mError(res.code, `Register answered ${res.codeText}`);
    }
    const location = '/' + getOptions(res.message, OptionNumber.LocationPath).map((b) => new TextDecoder().decode(b)).join('/');
    this.log(`Register -> ${res.codeText} Location ${location} in ${Date.now() - started} ms`);
    this.registration = { uri: account.uri, location, lifetimeS: account.lifetimeS, shortServerId: account.shortServerId, client };
    this.unsubscribe?.();
    // observations: a changed value notifies its path and its parents
    this.unsubscribe = this.store.onChange((p) => this.notifyChange(p));
    this.scheduleUpdate();
    this.emit('registered', location);
  }

  /** Sends an Update now (and re-registers after 4.04 or a failure). */
  async update(): Promise<void> {
    const r = this.registration;
    if (!r) return;
    clearTimeout(r.timer);
    try {
      // the registration lives in its DTLS session: a lost session means a fresh Register
      if (r.uri.startsWith('coaps:') && !r.client.session(r.uri)) throw new CoapError('CLOSED', 'the DTLS session to the server was lost');
      const res = await r.client.request(new URL(r.location, r.uri), { method: 'POST', timeoutMs: 120_000 });
      this.log(`Update -> ${res.codeText}`);
      if (res.code === Code.Changed) {
        this.emit('updated', r.location);
        this.scheduleUpdate();
        return;
      }
      if (res.code !== Code.NotFound) throw new Lwm2mError(res.code, `Update answered ${codeText(res.code)}`);
    } catch (e) {
      if (!(e instanceof Lwm2mError) && !(e instanceof CoapError)) throw e;
      this.log(`Update failed (${e.message}): registering again`);
    }
    // 4.04 or a lost session: a fresh Register (OMA-TS Core §5.3.2)
    this.registration = undefined;
    await r.client.close();
    if (!this.stopped) await this.register();
  }

  private scheduleUpdate(): void {
    const r = this.registration!;
    const lifetimeMs = r.lifetimeS * 1000;
    const margin = this.opts.updateMarginMs?.(lifetimeMs) ?? Math.max(2000, lifetimeMs * 0.1);
    r.timer = setTimeout(() => void this.update().catch((e) => this.emit('error', e)), Math.max(500, lifetimeMs - margin));
    r.timer.unref?.();
  }

  private notifyChange(p: Path): void {
    const r = this.registration;
    if (!r) return;
    for (let n = p.length; n >= 1; n--) r.client.notify(pathToString(p.slice(0, n)));
  }

  private dtls(s: SecurityConfig): { dtls?: Omit<ConnectOptions, 'host' | 'port'> } {
    const d = dtlsOptions(s);
    return d ? { dtls: { ...this.opts.dtls, ...d } } : {};
  }

  private answer(res: ServerResponse, work: Promise<Lwm2mAnswer>, req: IncomingRequest, role: string): void {
    void work.then((a) => {
      this.log(`${role} ${req.method} ${req.path}${req.observe === 0 ? ' (observe)' : ''} -> ${codeText(a.code)}`);
      if (a.contentFormat !== undefined) res.contentFormat(a.contentFormat);
      if (a.observe) res.observe(true);
      res.end(a.payload, a.code);
    });
  }
}

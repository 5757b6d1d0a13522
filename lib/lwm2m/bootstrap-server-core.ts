import { equal, toHex } from '../bytes/util.js';
import type { IncomingRequest } from '../coap/api-types.js';
import type { TransmissionParameters } from '../coap/config.js';
import { ContentFormat } from '../coap/content-format.js';
import type { OutgoingRequest } from '../coap/endpoint.js';
import { Code, codeText, encodeUint, OptionNumber } from '../coap/message.js';
import type { PeerIdentity } from '../dtls/keystore.js';
import { encodeContent } from './codec/index.js';
import { pathOptions, type AgentEvent, type CoapAnswer } from './coap-agent.js';
import { STANDARD_OBJECTS, resolverFor } from './objects.js';
import { ServerRole } from './server-role.js';
import { securityResources, type SecurityConfig } from './security.js';
import type { Lwm2mRecord, Value } from './types.js';

/** One LwM2M server account a bootstrap server provisions. */
export interface ServerAccount {
  shortServerId: number;
  uri: string;
  lifetimeS: number;
  binding?: string;
  /** The credentials the client will use with that server. */
  security: SecurityConfig;
  defaultMinPeriodS?: number;
}

/** Per endpoint: who may bootstrap as it (its bootstrap credentials), and what it gets. */
export interface BootstrapEndpointConfig {
  /** PSK identity expected on the bootstrap session, or the client's raw public key (SPKI). */
  pskIdentity?: Uint8Array;
  rawPublicKey?: Uint8Array;
  servers: ServerAccount[];
}

export interface BootstrapServerCoreOptions {
  endpoints: Record<string, BootstrapEndpointConfig>;
  /** Content format for Bootstrap-Write (default TLV, what every client accepts). */
  contentFormat?: number;
  transmission?: Partial<TransmissionParameters>;
  random?: (n: number) => Uint8Array;
  /** Each bootstrap command fails after this long without an answer (default 120 s). */
  requestTimeoutMs?: number;
  log?: (line: string) => void;
}

export type BootstrapServerEvent =
  | { type: 'bootstrapped'; endpoint: string }
  | { type: 'failed'; endpoint: string; reason: string };

const types = resolverFor(STANDARD_OBJECTS);
const query = (q: string[], name: string) => q.find((x) => x.startsWith(`${name}=`))?.slice(name.length + 1);

/** Security instance records for a server account (Leshan's defaults, OMA-TS Core Appendix E.1). */
export function securityRecords(instanceId: number, a: ServerAccount): Lwm2mRecord[] {
  const values: Array<[number, Value]> = [[0, a.uri], [1, false], ...securityResources(a.security), [10, a.shortServerId], [11, 1], [12, 0]];
  return values.sort((x, y) => x[0] - y[0]).map(([r, value]) => ({ path: [0, instanceId, r], value }));
}

/** Server instance records for a server account. */
export function serverRecords(instanceId: number, a: ServerAccount): Lwm2mRecord[] {
  const values: Array<[number, Value]> = [[0, a.shortServerId], [1, a.lifetimeS], [2, a.defaultMinPeriodS ?? 1], [6, true], [7, a.binding ?? 'U']];
  return values.map(([r, value]) => ({ path: [1, instanceId, r], value }));
}

interface Step {
  what: string;
  request: OutgoingRequest;
  ok: number[];
}

interface Session<P> {
  peer: P;
  endpoint: string;
  steps: Step[];
  next: number;
  /** The command in flight. */
  request: number | undefined;
}

/**
 * A bootstrap server (sans-IO; for tests and the demo): answers Bootstrap-Request, then drives
 * the client the way Leshan does: Delete /0, Delete /1, Write /0/x and /1/x per account,
 * Finish, one command at a time. Events: 'bootstrapped', 'failed'.
 */
export class BootstrapServerCore<P> extends ServerRole<P, BootstrapServerEvent> {
  private readonly sessions = new Map<number, Session<P>>();
  /** Sessions accepted while serving, started once the 2.04 is queued. */
  private starting: Array<Session<P>> = [];
  private readonly log: (line: string) => void;

  constructor(private readonly opts: BootstrapServerCoreOptions) {
    super({ ...(opts.transmission ? { transmission: opts.transmission } : {}), ...(opts.random ? { random: opts.random } : {}) });
    this.log = opts.log ?? (() => undefined);
  }

  // ------------------------------------------------------------------------------------

  protected serve(_now: number, peer: P, req: IncomingRequest): CoapAnswer {
    if (req.method !== 'POST' || req.path !== '/bs') return { code: Code.NotFound };
    const ep = query(req.query, 'ep');
    const cfg = ep ? this.opts.endpoints[ep] : undefined;
    if (!ep || !cfg || !authorized(cfg, req.identity)) {
      this.log(`Bootstrap-Request ep=${ep ?? '?'} refused`);
      return { code: Code.BadRequest };
    }
    this.log(`Bootstrap-Request ep=${ep} accepted`);
    this.starting.push({ peer, endpoint: ep, steps: this.steps(cfg), next: 0, request: undefined });
    return { code: Code.Changed };
  }

  private steps(cfg: BootstrapEndpointConfig): Step[] {
    const cf = this.opts.contentFormat ?? ContentFormat.Lwm2mTlv;
    const write = (path: string, payload: Uint8Array): OutgoingRequest => ({ code: Code.PUT, options: [...pathOptions(path), { number: OptionNumber.ContentFormat, value: encodeUint(cf) }], payload });
    const steps: Step[] = [
      { what: 'Bootstrap-Delete /0', request: { code: Code.DELETE, options: pathOptions('/0') }, ok: [Code.Deleted] },
      { what: 'Bootstrap-Delete /1', request: { code: Code.DELETE, options: pathOptions('/1') }, ok: [Code.Deleted] },
    ];
    let i = 1;
    for (const a of cfg.servers) {
      steps.push({ what: `Bootstrap-Write /0/${i} (server ${a.uri})`, request: write(`/0/${i}`, encodeContent(cf, securityRecords(i, a), [0, i], types)), ok: [Code.Changed] });
      steps.push({ what: `Bootstrap-Write /1/${i - 1} (ssid ${a.shortServerId}, lifetime ${a.lifetimeS} s)`, request: write(`/1/${i - 1}`, encodeContent(cf, serverRecords(i - 1, a), [1, i - 1], types)), ok: [Code.Changed] });
      i++;
    }
    steps.push({ what: 'Bootstrap-Finish', request: { code: Code.POST, options: pathOptions('/bs') }, ok: [Code.Changed] });
    return steps;
  }

  protected settle(now: number): void {
    for (;;) {
      const e = this.agent.pollEvent();
      if (e) {
        this.answered(now, e);
        continue;
      }
      if (this.starting.length === 0) return;
      const start = this.starting;
      this.starting = [];
      for (const s of start) this.sendStep(now, s);
    }
  }

  private sendStep(now: number, s: Session<P>): void {
    const step = s.steps[s.next]!;
    const id = this.agent.request(now, s.peer, step.request, { timeoutMs: this.opts.requestTimeoutMs ?? 120_000 });
    s.request = id;
    this.sessions.set(id, s);
  }

  private answered(now: number, e: AgentEvent): void {
    const s = this.sessions.get(e.id);
    if (!s || e.type === 'notification') return;
    this.sessions.delete(e.id);
    const step = s.steps[s.next]!;
    if (e.type === 'error') return this.fail(s, e.error.message);
    this.log(`  ${step.what} -> ${codeText(e.response.code)}`);
    if (!step.ok.includes(e.response.code)) return this.fail(s, `${step.what} answered ${codeText(e.response.code)}`);
    s.next++;
    if (s.next < s.steps.length) {
      this.sendStep(now, s);
      return;
    }
    this.events.push({ type: 'bootstrapped', endpoint: s.endpoint });
  }

  private fail(s: Session<P>, reason: string): void {
    this.log(`bootstrap of ${s.endpoint} failed: ${reason}`);
    this.events.push({ type: 'failed', endpoint: s.endpoint, reason });
  }
}

function authorized(cfg: BootstrapEndpointConfig, id: PeerIdentity | undefined): boolean {
  if (!id) return false;
  if (id.kind === 'psk') return !!cfg.pskIdentity && equal(id.identity, cfg.pskIdentity);
  if (id.kind === 'rpk') return !!cfg.rawPublicKey && toHex(id.spki) === toHex(cfg.rawPublicKey);
  return false;
}


import { utf8 } from '../bytes/util.js';
import type { IncomingRequest } from '../coap/api-types.js';
import type { TransmissionParameters } from '../coap/config.js';
import { ContentFormat } from '../coap/content-format.js';
import { CoapError } from '../coap/errors.js';
import { parseLinks, type Link } from '../coap/link-format.js';
import { Code, codeText, encodeUint, OptionNumber, type CoapMessage, type CoapOption } from '../coap/message.js';
import type { PeerIdentity } from '../dtls/keystore.js';
import { decodeContent, encodeContent } from './codec/index.js';
import { pathOptions, type AgentEvent, type CoapAnswer } from './coap-agent.js';
import type { WallClock } from './device.js';
import { Lwm2mError } from './errors.js';
import { STANDARD_OBJECTS, resolverFor } from './objects.js';
import { ServerRole } from './server-role.js';
import { parsePath, type Lwm2mRecord, type ObjectDefinition, type TypeResolver } from './types.js';

/** A registered client. */
export interface Registration<P = unknown> {
  endpoint: string;
  id: string;
  location: string;
  lifetimeS: number;
  binding: string;
  version: string;
  objects: Link[];
  identity: PeerIdentity | undefined;
  /** When it registered and last updated: the wall clock (ms since the epoch) if one was given, else the core's `now`. */
  registeredAt: number;
  updatedAt: number;
  /**
   * Where to send requests: the driver's handle (the DTLS session, or the address). Not
   * enumerable: a session holds its keys, and a registration serialised from an event (JSON,
   * a log line) must carry none.
   */
  channel: P;
}

export interface Lwm2mServerCoreOptions {
  /** Object definitions for decoding (default: Security, Server, Device). */
  objects?: readonly ObjectDefinition[];
  transmission?: Partial<TransmissionParameters>;
  random?: (n: number) => Uint8Array;
  blockSize?: number;
  /** Registration timestamps from this clock (ms since the epoch). */
  wallClock?: WallClock;
  /** A registration expires this long after its lifetime ran out without an Update (default 5 s). */
  expiryGraceMs?: number;
  log?: (line: string) => void;
}

/** Options of a device-management operation. */
export interface OperationOptions {
  /** Content-Format of a Write / Create payload, or the Accept of a Read / Observe (default SenML CBOR). */
  contentFormat?: number;
  /** Fail after this long without the answer (default 30 s). */
  timeoutMs?: number;
}

/** The outcome of an operation (Read and Observe: records; Discover: links; Create: the new instance's location). */
export interface OperationResult {
  code: number;
  records?: Lwm2mRecord[];
  links?: Link[];
  location?: string;
}

export type Lwm2mServerEvent<P> =
  | { type: 'registered'; registration: Registration<P> }
  | { type: 'updated'; registration: Registration<P> }
  /** De-registered by the client, or replaced by a new Register of the same endpoint. */
  | { type: 'deregistered'; registration: Registration<P> }
  /** The lifetime ran out without an Update (or forget()). */
  | { type: 'expired'; registration: Registration<P> }
  | { type: 'result'; id: number; result: OperationResult }
  | { type: 'failed'; id: number; error: Lwm2mError | CoapError | Error }
  /** A notification of observation `id` (decoded, in order). */
  | { type: 'notification'; id: number; records: Lwm2mRecord[] }
  /** Observation `id` ended (the client's error notification, a closed session, bad content). */
  | { type: 'observation-ended'; id: number; error: Error | undefined };

interface Operation {
  id: number;
  kind: 'read' | 'write' | 'execute' | 'discover' | 'observe' | 'create' | 'delete';
  endpoint: string;
  path: string;
  method: string;
  /** Logged as "METHOD path on ep -> code" (not for observe). */
  logged: boolean;
  /** Observe: the first value was delivered; later failures end the observation. */
  delivered: boolean;
}

const query = (q: string[], name: string) => q.find((x) => x.startsWith(`${name}=`))?.slice(name.length + 1);
const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * An LwM2M server (sans-IO; for tests and the demo): the registration interface (Register,
 * Update, De-register, lifetime expiry) and device management of registered clients (Read,
 * Write, Execute, Discover, Observe, Create, Delete). Operations return an id; their results
 * arrive as events. Peers P are the driver's handles (a DTLS session): it reports them with
 * peerUp / peerDown and exchanges their datagrams.
 */
export class Lwm2mServerCore<P> extends ServerRole<P, Lwm2mServerEvent<P>> {
  private readonly byId = new Map<string, Registration<P> & { expiresAt: number }>();
  private readonly operations = new Map<number, Operation>();
  private readonly types: TypeResolver;
  private nextId = 1;
  private readonly log: (line: string) => void;

  constructor(private readonly opts: Lwm2mServerCoreOptions = {}) {
    super(opts);
    this.log = opts.log ?? (() => undefined);
    this.types = resolverFor(opts.objects ?? STANDARD_OBJECTS);
  }

  registration(endpoint: string): Registration<P> | undefined {
    for (const r of this.byId.values()) if (r.endpoint === endpoint) return r;
    return undefined;
  }
  get registrations(): Array<Registration<P>> {
    return [...this.byId.values()];
  }

  /** Forgets a registration without telling the client (as a restarted server would): 'expired'. */
  forget(endpoint: string): void {
    const r = this.registration(endpoint);
    if (r) this.drop(r.id, 'expired');
  }

  // === device management (each returns an operation id; throws Lwm2mError 4.04 if not registered, CoapError CLOSED if its session is gone) ===

  /** Read: decoded records (Accept: SenML CBOR unless given). */
  read(now: number, endpoint: string, path: string, o: OperationOptions = {}): number {
    return this.operate(now, 'read', endpoint, path, Code.GET, [accept(o.contentFormat ?? ContentFormat.SenmlCbor)], undefined, o);
  }

  /** Write: replace (PUT, default) or partial update (POST). */
  write(now: number, endpoint: string, path: string, records: Lwm2mRecord[], o: OperationOptions & { replace?: boolean } = {}): number {
    const cf = o.contentFormat ?? ContentFormat.SenmlCbor;
    const payload = encodeContent(cf, records, parsePath(path), this.types);
    return this.operate(now, 'write', endpoint, path, o.replace === false ? Code.POST : Code.PUT, [contentFormat(cf)], payload, o);
  }

  execute(now: number, endpoint: string, path: string, args = '', o: OperationOptions = {}): number {
    return this.operate(now, 'execute', endpoint, path, Code.POST, [], args ? utf8(args) : undefined, o);
  }

  discover(now: number, endpoint: string, path: string, o: OperationOptions = {}): number {
    return this.operate(now, 'discover', endpoint, path, Code.GET, [accept(ContentFormat.LinkFormat)], undefined, o);
  }

  /** Create an object instance (POST /O). */
  create(now: number, endpoint: string, objectPath: string, records: Lwm2mRecord[], o: OperationOptions = {}): number {
    const cf = o.contentFormat ?? ContentFormat.SenmlCbor;
    const payload = encodeContent(cf, records, parsePath(objectPath), this.types);
    return this.operate(now, 'create', endpoint, objectPath, Code.POST, [contentFormat(cf)], payload, o);
  }

  /** Delete an object instance. */
  delete(now: number, endpoint: string, path: string, o: OperationOptions = {}): number {
    return this.operate(now, 'delete', endpoint, path, Code.DELETE, [], undefined, o);
  }

  /** Observe: a 'result' with the first value, then 'notification' events until cancelObservation(). */
  observe(now: number, endpoint: string, path: string, o: OperationOptions = {}): number {
    return this.operate(now, 'observe', endpoint, path, Code.GET, [accept(o.contentFormat ?? ContentFormat.SenmlCbor)], undefined, o, true);
  }

  /** Forgets an observation (the client's next notification gets RST). */
  cancelObservation(now: number, id: number): void {
    this.operations.delete(id);
    this.agent.cancel(now, id);
  }

  // === the role's own timers: registrations expire ========================================

  protected override expire(now: number): void {
    for (const r of [...this.byId.values()]) if (r.expiresAt <= now) this.drop(r.id, 'expired');
  }

  protected override nextExpiry(): number | undefined {
    let t: number | undefined;
    for (const r of this.byId.values()) if (t === undefined || r.expiresAt < t) t = r.expiresAt;
    return t;
  }

  // ------------------------------------------------------------------------------------

  private operate(now: number, kind: Operation['kind'], endpoint: string, path: string, code: number, extra: CoapOption[], payload: Uint8Array | undefined, o: OperationOptions, observe = false): number {
    const reg = this.registration(endpoint);
    if (!reg) throw new Lwm2mError(Code.NotFound, `${endpoint} is not registered`);
    if (!this.peers.has(reg.channel)) throw new CoapError('CLOSED', `the session of ${endpoint} is closed (it registers again, or its registration expires)`);
    parsePath(path);
    const options = [...pathOptions(path), ...extra];
    const id = this.agent.request(now, reg.channel, payload ? { code, options, payload } : { code, options }, { timeoutMs: o.timeoutMs ?? DEFAULT_TIMEOUT_MS, observe });
    const method = code === Code.GET ? 'GET' : code === Code.PUT ? 'PUT' : code === Code.POST ? 'POST' : 'DELETE';
    this.operations.set(id, { id, kind, endpoint, path, method, logged: !observe, delivered: false });
    return id;
  }

  protected settle(now: number): void {
    for (let e = this.agent.pollEvent(); e; e = this.agent.pollEvent()) this.outcome(now, e);
  }

  private outcome(now: number, e: AgentEvent): void {
    const op = this.operations.get(e.id);
    if (!op) return;
    if (e.type === 'error') {
      this.operations.delete(e.id);
      if (op.delivered) this.events.push({ type: 'observation-ended', id: e.id, error: e.error });
      else this.events.push({ type: 'failed', id: e.id, error: e.error });
      return;
    }
    const m = e.response;
    if (e.type === 'notification') {
      const ok = m.code >= 0x40 && m.code < 0x60;
      try {
        if (!ok) throw new Lwm2mError(m.code, `the notification of ${op.path} is ${codeText(m.code)}`);
        this.events.push({ type: 'notification', id: e.id, records: decodeContent(contentFormatOf(m), m.payload, parsePath(op.path), this.types) });
        if (this.agent.isOpen(e.id)) return;
        this.operations.delete(e.id);
        this.events.push({ type: 'observation-ended', id: e.id, error: undefined });
      } catch (err) {
        this.operations.delete(e.id);
        this.agent.cancel(now, e.id);
        this.events.push({ type: 'observation-ended', id: e.id, error: err as Error });
      }
      return;
    }
    if (op.logged) this.log(`${op.method} ${op.path} on ${op.endpoint} -> ${codeText(m.code)}`);
    const ok = m.code >= 0x40 && m.code < 0x60;
    if (!ok) {
      this.operations.delete(e.id);
      this.agent.cancel(now, e.id);
      const what = op.kind === 'observe' ? `Observe ${op.path}` : `${op.method} ${op.path}`;
      this.events.push({ type: 'failed', id: e.id, error: new Lwm2mError(m.code, `${what} answered ${codeText(m.code)}`) });
      return;
    }
    try {
      const result: OperationResult = { code: m.code };
      if (op.kind === 'read' || op.kind === 'observe') result.records = decodeContent(contentFormatOf(m), m.payload, parsePath(op.path), this.types);
      if (op.kind === 'discover') result.links = parseLinks(new TextDecoder().decode(m.payload));
      if (op.kind === 'create' && m.payload.length) result.location = new TextDecoder().decode(m.payload);
      if (op.kind === 'observe' && this.agent.isOpen(e.id)) op.delivered = true;
      else this.operations.delete(e.id);
      this.events.push({ type: 'result', id: e.id, result });
    } catch (err) {
      this.operations.delete(e.id);
      this.agent.cancel(now, e.id);
      this.events.push({ type: 'failed', id: e.id, error: err as Error });
    }
  }

  // --- the registration interface (OMA-TS Core §5.3) ------------------------------------------

  protected serve(now: number, peer: P, req: IncomingRequest): CoapAnswer {
    const segs = req.pathSegments;
    if (segs[0] !== 'rd') return { code: Code.NotFound };
    if (req.method === 'POST' && segs.length === 1) return this.register(now, peer, req);
    const reg = segs.length === 2 ? this.byId.get(segs[1]!) : undefined;
    if (!reg) return { code: Code.NotFound };
    if (req.method === 'POST') {
      const lt = query(req.query, 'lt');
      if (lt) reg.lifetimeS = Number(lt);
      const b = query(req.query, 'b');
      if (b) reg.binding = b;
      if (req.payload.length) reg.objects = parseLinks(req.text());
      reg.updatedAt = this.opts.wallClock?.() ?? now;
      reg.channel = peer; // the client may come back on a new DTLS session
      reg.identity = this.peers.get(peer)?.identity;
      reg.expiresAt = this.expiry(now, reg.lifetimeS);
      this.events.push({ type: 'updated', registration: reg });
      return { code: Code.Changed };
    }
    if (req.method === 'DELETE') {
      this.drop(reg.id, 'deregistered');
      this.log(`De-register ep=${reg.endpoint} -> 2.02`);
      return { code: Code.Deleted };
    }
    return { code: Code.MethodNotAllowed };
  }

  private register(now: number, peer: P, req: IncomingRequest): CoapAnswer {
    const ep = query(req.query, 'ep');
    if (!ep) return { code: Code.BadRequest };
    let objects: Link[];
    try {
      objects = req.payload.length ? parseLinks(req.text()) : [];
    } catch {
      return { code: Code.BadRequest };
    }
    // a new registration replaces an older one of the same endpoint
    for (const r of [...this.byId.values()]) if (r.endpoint === ep) this.drop(r.id, 'replaced');
    const id = String(this.nextId++);
    const at = this.opts.wallClock?.() ?? now;
    const lifetimeS = Number(query(req.query, 'lt') ?? 86400);
    const fields: Omit<Registration<P>, 'channel'> & { expiresAt: number } = {
      endpoint: ep,
      id,
      location: `/rd/${id}`,
      lifetimeS,
      binding: query(req.query, 'b') ?? 'U',
      version: query(req.query, 'lwm2m') ?? '1.0',
      objects,
      identity: this.peers.get(peer)?.identity,
      registeredAt: at,
      updatedAt: at,
      expiresAt: this.expiry(now, lifetimeS),
    };
    const reg = withChannel(fields, peer);
    this.byId.set(id, reg);
    this.log(`Register ep=${ep} lt=${reg.lifetimeS} b=${reg.binding} objects=${reg.objects.map((l) => l.target).join(',')} -> 2.01 ${reg.location}`);
    this.events.push({ type: 'registered', registration: reg });
    return { code: Code.Created, options: [{ number: OptionNumber.LocationPath, value: utf8('rd') }, { number: OptionNumber.LocationPath, value: utf8(id) }] };
  }

  private expiry(now: number, lifetimeS: number): number {
    const lt = Number.isFinite(lifetimeS) && lifetimeS > 0 ? lifetimeS : 86400;
    return now + lt * 1000 + (this.opts.expiryGraceMs ?? 5000);
  }

  private drop(id: string, why: 'deregistered' | 'expired' | 'replaced'): void {
    const r = this.byId.get(id);
    if (!r) return;
    this.byId.delete(id);
    this.events.push({ type: why === 'expired' ? 'expired' : 'deregistered', registration: r });
  }
}

/** Adds the channel as a writable, non-enumerable property (see Registration.channel). */
function withChannel<R extends object, P>(r: R, channel: P): R & { channel: P } {
  return Object.defineProperty(r, 'channel', { value: channel, writable: true, enumerable: false, configurable: true }) as R & { channel: P };
}

const accept = (cf: number): CoapOption => ({ number: OptionNumber.Accept, value: encodeUint(cf) });
const contentFormat = (cf: number): CoapOption => ({ number: OptionNumber.ContentFormat, value: encodeUint(cf) });

function contentFormatOf(m: CoapMessage): number | undefined {
  const o = m.options.find((x) => x.number === OptionNumber.ContentFormat);
  return o ? o.value.reduce((a, b) => a * 256 + b, 0) : undefined;
}


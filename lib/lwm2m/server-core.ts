import { utf8 } from '../bytes/util.js';
import type { IncomingRequest } from '../coap/api-types.js';
import { DEFAULT_TRANSMISSION, type TransmissionParameters } from '../coap/config.js';
import { ContentFormat } from '../coap/content-format.js';
import type { OutgoingRequest } from '../coap/endpoint.js';
import { CoapError } from '../coap/errors.js';
import { Code, encodeUint, OptionNumber, type CoapOption } from '../coap/message.js';
import { sha256 } from '../crypto/sha256.js';
import type { AttributeName } from './attributes.js';
import { decodeComposite, encodeComposite, encodeContent, encodePathList } from './codec/index.js';
import type { TimedRecord } from './codec/senml.js';
import { pathOptions, queryOption, type AgentEvent, type AgentRequestOptions, type CoapAnswer } from './coap-agent.js';
import type { WallClock } from './device.js';
import { Lwm2mError } from './errors.js';
import { STANDARD_OBJECTS, resolverFor } from './objects.js';
import { Operations, type Operation, type OperationEvent, type OperationKind } from './server-operations.js';
import { Registry, type Registration } from './server-registry.js';
import { ServerRole } from './server-role.js';
import { parsePath, type Lwm2mRecord, type ObjectDefinition, type TypeResolver } from './types.js';

export type { Registration } from './server-registry.js';
export type { OperationResult } from './server-operations.js';

export interface Lwm2mServerCoreOptions {
  /** Object definitions for decoding (default: Security, Server, Device, Firmware Update). */
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
  /** Content-Format of a Write / Create payload, or the Accept of a Read / Observe (default SenML CBOR); of the path list and the answer of a composite operation. */
  contentFormat?: number;
  /** Fail after this long without the answer, counted from when the request goes out (default 30 s). */
  timeoutMs?: number;
}

export type Lwm2mServerEvent<P> =
  | { type: 'registered'; registration: Registration<P> }
  | { type: 'updated'; registration: Registration<P> }
  /** De-registered by the client, or replaced by a new Register of the same endpoint. */
  | { type: 'deregistered'; registration: Registration<P> }
  /** The lifetime ran out without an Update (or forget()). */
  | { type: 'expired'; registration: Registration<P> }
  /** Operation `id` waits for a queue-mode client that does not listen now; it goes out when the client is heard. */
  | { type: 'queued'; id: number; endpoint: string }
  /** The client reported values with Send (POST /dp). */
  | { type: 'send'; registration: Registration<P>; records: TimedRecord[] }
  | OperationEvent;

const DEFAULT_TIMEOUT_MS = 30_000;
const accept = (cf: number): CoapOption => ({ number: OptionNumber.Accept, value: encodeUint(cf) });
const contentFormat = (cf: number): CoapOption => ({ number: OptionNumber.ContentFormat, value: encodeUint(cf) });
const METHOD: Record<number, string> = { [Code.GET]: 'GET', [Code.PUT]: 'PUT', [Code.POST]: 'POST', [Code.DELETE]: 'DELETE', [Code.FETCH]: 'FETCH', [Code.IPATCH]: 'iPATCH' };

/**
 * An LwM2M server (sans-IO; for tests and the demo): the registration interface
 * (server-registry.ts), device management of registered clients (Read, Write, Execute,
 * Discover, Observe, Create, Delete, Write-Attributes, Read-/Write-/Observe-Composite), Send
 * (POST /dp) from its clients, and packages it publishes for firmware downloads (GET, block-wise,
 * with an ETag). Operations on a queue-mode client that does not listen wait until it is heard
 * (its next Update, or any datagram). Operations return an id; their results arrive as events.
 * Peers P are the driver's handles (a DTLS session): it reports them with peerUp / peerDown and
 * exchanges their datagrams.
 */
export class Lwm2mServerCore<P> extends ServerRole<P, Lwm2mServerEvent<P>> {
  private readonly registry: Registry<P>;
  private readonly operations: Operations;
  private readonly types: TypeResolver;
  private readonly published = new Map<string, { payload: Uint8Array; etag: Uint8Array }>();
  private nextId = 1;
  private readonly log: (line: string) => void;

  constructor(opts: Lwm2mServerCoreOptions = {}) {
    super(opts);
    this.log = opts.log ?? (() => undefined);
    this.types = resolverFor(opts.objects ?? STANDARD_OBJECTS);
    this.operations = new Operations(this.types, this.log);
    const listenMs = opts.transmission?.maxTransmitWaitMs ?? DEFAULT_TRANSMISSION.maxTransmitWaitMs;
    this.registry = new Registry<P>({ ...(opts.wallClock ? { wallClock: opts.wallClock } : {}), expiryGraceMs: opts.expiryGraceMs ?? 5000, listenMs, log: this.log }, (e) => {
      this.events.push(e);
      if (e.type === 'deregistered' || e.type === 'expired') this.dropQueued(e.registration.endpoint);
    });
  }

  registration(endpoint: string): Registration<P> | undefined {
    return this.registry.byEndpoint(endpoint);
  }
  get registrations(): Array<Registration<P>> {
    return this.registry.all;
  }

  /** Forgets a registration without telling the client (as a restarted server would): 'expired'. */
  forget(endpoint: string): void {
    const r = this.registry.byEndpoint(endpoint);
    if (r) this.registry.drop(r.id, 'expired');
  }

  /** Serves `payload` at `path` ("/fw/image.bin") to any peer, block-wise, for Package URI downloads. */
  publish(path: string, payload: Uint8Array): void {
    this.published.set(path, { payload, etag: sha256(payload).subarray(0, 8) });
  }

  unpublish(path: string): void {
    this.published.delete(path);
  }

  // === device management (each returns an operation id; throws Lwm2mError 4.04 if not registered, CoapError CLOSED if its session is gone) ===

  /** Read: decoded records (Accept: SenML CBOR unless given). */
  read(now: number, endpoint: string, path: string, o: OperationOptions = {}): number {
    return this.operate(now, 'read', endpoint, path, { code: Code.GET, options: [accept(o.contentFormat ?? ContentFormat.SenmlCbor)] }, o);
  }

  /** Write: replace (PUT, default) or partial update (POST). */
  write(now: number, endpoint: string, path: string, records: Lwm2mRecord[], o: OperationOptions & { replace?: boolean } = {}): number {
    const cf = o.contentFormat ?? ContentFormat.SenmlCbor;
    const payload = encodeContent(cf, records, parsePath(path), this.types);
    return this.operate(now, 'write', endpoint, path, { code: o.replace === false ? Code.POST : Code.PUT, options: [contentFormat(cf)], payload }, o);
  }

  execute(now: number, endpoint: string, path: string, args = '', o: OperationOptions = {}): number {
    return this.operate(now, 'execute', endpoint, path, args ? { code: Code.POST, options: [], payload: utf8(args) } : { code: Code.POST, options: [] }, o);
  }

  discover(now: number, endpoint: string, path: string, o: OperationOptions = {}): number {
    return this.operate(now, 'discover', endpoint, path, { code: Code.GET, options: [accept(ContentFormat.LinkFormat)] }, o);
  }

  /** Create an object instance (POST /O). */
  create(now: number, endpoint: string, objectPath: string, records: Lwm2mRecord[], o: OperationOptions = {}): number {
    const cf = o.contentFormat ?? ContentFormat.SenmlCbor;
    const payload = encodeContent(cf, records, parsePath(objectPath), this.types);
    return this.operate(now, 'create', endpoint, objectPath, { code: Code.POST, options: [contentFormat(cf)], payload }, o);
  }

  /** Delete an object instance. */
  delete(now: number, endpoint: string, path: string, o: OperationOptions = {}): number {
    return this.operate(now, 'delete', endpoint, path, { code: Code.DELETE, options: [] }, o);
  }

  /** Observe: a 'result' with the first value, then 'notification' events until cancelObservation(). */
  observe(now: number, endpoint: string, path: string, o: OperationOptions = {}): number {
    return this.operate(now, 'observe', endpoint, path, { code: Code.GET, options: [accept(o.contentFormat ?? ContentFormat.SenmlCbor)] }, o, true);
  }

  /**
   * Write-Attributes (PUT with a query, no payload): a number sets an attribute, null removes
   * it (`?pmin`), e.g. { pmin: 10, pmax: 60, gt: null }.
   */
  writeAttributes(now: number, endpoint: string, path: string, attributes: Partial<Record<AttributeName, number | null>>, o: OperationOptions = {}): number {
    const query = Object.entries(attributes).map(([name, v]) => {
      if (v !== null && (typeof v !== 'number' || !Number.isFinite(v))) throw new TypeError(`attribute ${name}: a finite number or null`);
      return queryOption(v === null ? name : `${name}=${v}`);
    });
    if (query.length === 0) throw new TypeError('writeAttributes: no attribute');
    return this.operate(now, 'write-attributes', endpoint, path, { code: Code.PUT, options: query }, o);
  }

  /** Read-Composite (FETCH /): the values under several paths. */
  readComposite(now: number, endpoint: string, paths: string[], o: OperationOptions = {}): number {
    return this.operate(now, 'read-composite', endpoint, '/', this.fetch(paths, o), o);
  }

  /** Observe-Composite: a 'result' with the values, then a 'notification' when any of them changes. */
  observeComposite(now: number, endpoint: string, paths: string[], o: OperationOptions = {}): number {
    return this.operate(now, 'observe-composite', endpoint, '/', this.fetch(paths, o), o, true);
  }

  /** Write-Composite (iPATCH /): values under several paths, written all or none. */
  writeComposite(now: number, endpoint: string, records: Lwm2mRecord[], o: OperationOptions = {}): number {
    const cf = o.contentFormat ?? ContentFormat.SenmlCbor;
    return this.operate(now, 'write-composite', endpoint, '/', { code: Code.IPATCH, options: [contentFormat(cf)], payload: encodeComposite(cf, records, this.types) }, o);
  }

  /** Forgets an observation (the client's next notification gets RST). */
  cancelObservation(now: number, id: number): void {
    const op = this.operations.remove(id);
    if (op?.agentId !== undefined) this.agent.cancel(now, op.agentId);
  }

  // === the role's own timers: registrations expire ========================================

  protected override expire(now: number): void {
    this.registry.expire(now);
  }

  protected override nextExpiry(): number | undefined {
    return this.registry.nextExpiry();
  }

  protected override heard(now: number, peer: P): void {
    this.registry.heard(now, peer);
  }

  // ------------------------------------------------------------------------------------

  private fetch(paths: string[], o: OperationOptions): OutgoingRequest {
    const cf = o.contentFormat ?? ContentFormat.SenmlCbor;
    return { code: Code.FETCH, options: [contentFormat(cf), accept(cf)], payload: encodePathList(cf, paths.map(parsePath)) };
  }

  private operate(now: number, kind: OperationKind, endpoint: string, path: string, r: OutgoingRequest, o: OperationOptions, observe = false): number {
    const reg = this.registry.byEndpoint(endpoint);
    if (!reg) throw new Lwm2mError(Code.NotFound, `${endpoint} is not registered`);
    if (!this.peers.has(reg.channel)) throw new CoapError('CLOSED', `the session of ${endpoint} is closed (it registers again, or its registration expires)`);
    parsePath(path);
    const request: OutgoingRequest = { ...r, options: [...pathOptions(path), ...r.options] };
    const options: AgentRequestOptions = { timeoutMs: o.timeoutMs ?? DEFAULT_TIMEOUT_MS, observe };
    const op: Operation = { id: this.nextId++, kind, endpoint, path, method: METHOD[r.code] ?? String(r.code), request, options, agentId: undefined, delivered: false };
    this.operations.add(op);
    if (this.registry.listening(reg, now)) this.operations.sent(op, this.agent.request(now, reg.channel, request, options));
    else {
      this.log(`${op.method} ${path} on ${endpoint} queued: the client sleeps (queue mode)`);
      this.events.push({ type: 'queued', id: op.id, endpoint });
    }
    return op.id;
  }

  protected settle(now: number): void {
    for (let e = this.agent.pollEvent(); e; e = this.agent.pollEvent()) this.outcome(now, e);
    // a queue-mode client that was heard gets what waited for it
    for (const reg of this.registry.all) {
      if (!this.registry.listening(reg, now) || !this.peers.has(reg.channel)) continue;
      for (const op of this.operations.queued(reg.endpoint)) {
        this.log(`${op.method} ${op.path} to ${reg.endpoint}: delivered now that it listens`);
        this.operations.sent(op, this.agent.request(now, reg.channel, op.request, op.options));
      }
    }
    for (let e = this.agent.pollEvent(); e; e = this.agent.pollEvent()) this.outcome(now, e);
  }

  private outcome(now: number, e: AgentEvent): void {
    this.events.push(...this.operations.outcome(e, { cancel: (x) => this.agent.cancel(now, x), isOpen: (x) => this.agent.isOpen(x) }));
  }

  /** Operations waiting for a client whose registration ended fail. */
  private dropQueued(endpoint: string): void {
    for (const op of this.operations.queued(endpoint)) {
      this.operations.remove(op.id);
      this.events.push({ type: 'failed', id: op.id, error: new Lwm2mError(Code.NotFound, `${endpoint} is not registered any more`) });
    }
  }

  // --- requests from the clients ---------------------------------------------------------

  protected serve(now: number, peer: P, req: IncomingRequest): CoapAnswer {
    const segs = req.pathSegments;
    if (segs[0] === 'rd') return this.registry.serve(now, peer, this.peers.get(peer)?.identity, req);
    if (req.method === 'POST' && req.path === '/dp') return this.send(peer, req);
    const file = this.published.get(req.path);
    if (file && req.method === 'GET') return { code: Code.Content, contentFormat: ContentFormat.OctetStream, options: [{ number: OptionNumber.ETag, value: file.etag }], payload: file.payload };
    return { code: Code.NotFound };
  }

  /** Send (POST /dp) from a registered client: its values as a 'send' event. */
  private send(peer: P, req: IncomingRequest): CoapAnswer {
    const reg = this.registry.byChannel(peer);
    if (!reg) return { code: Code.NotFound, payload: utf8('Send from a client that is not registered') };
    try {
      const records = decodeComposite(req.contentFormat, req.payload, this.types);
      this.log(`Send from ${reg.endpoint}: ${records.length} value(s)`);
      this.events.push({ type: 'send', registration: reg, records });
      return { code: Code.Changed };
    } catch (e) {
      const code = e instanceof Lwm2mError ? e.code : Code.BadRequest;
      this.log(`Send from ${reg.endpoint} refused: ${(e as Error).message}`);
      return { code, payload: utf8((e as Error).message) };
    }
  }
}

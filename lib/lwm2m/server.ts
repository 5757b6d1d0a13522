import { EventEmitter } from 'node:events';
import { createServer, type CoapServer, type Observation, type RequestOptions } from '../../transports/coap-node.js';
import type { ServerOptions } from '../../transports/node-dgram.js';
import { ContentFormat } from '../coap/content-format.js';
import type { TransmissionParameters } from '../coap/config.js';
import { parseLinks, type Link } from '../coap/link-format.js';
import { Code, codeText, OptionNumber } from '../coap/message.js';
import type { PeerIdentity } from '../dtls/keystore.js';
import { decodeContent, encodeContent } from './codec/index.js';
import { Lwm2mError } from './errors.js';
import { STANDARD_OBJECTS, resolverFor } from './objects.js';
import { parsePath, type Lwm2mRecord, type ObjectDefinition, type TypeResolver } from './types.js';

/** A registered client. */
export interface Registration {
  endpoint: string;
  id: string;
  location: string;
  lifetimeS: number;
  binding: string;
  version: string;
  objects: Link[];
  identity: PeerIdentity | undefined;
  registeredAt: number;
  updatedAt: number;
  /** Where to send requests (the DTLS session). */
  channel: unknown;
}

export interface Lwm2mServerOptions {
  dtls?: ServerOptions;
  /** Object definitions for decoding (default: Security, Server, Device). */
  objects?: ObjectDefinition[];
  transmission?: Partial<TransmissionParameters>;
  log?: (line: string) => void;
}

const query = (q: string[], name: string) => q.find((x) => x.startsWith(`${name}=`))?.slice(name.length + 1);

/**
 * An LwM2M server (for tests and the demo): the registration interface (Register, Update,
 * De-register, lifetime expiry) and device management of registered clients (Read, Write,
 * Execute, Discover, Observe). Events: 'registered', 'updated', 'deregistered', 'expired'.
 */
export class Lwm2mServer extends EventEmitter {
  readonly coap: CoapServer;
  private readonly byId = new Map<string, Registration & { expiry?: NodeJS.Timeout }>();
  private readonly types: TypeResolver;
  private nextId = 1;
  private readonly log: (line: string) => void;

  constructor(opts: Lwm2mServerOptions = {}) {
    super();
    this.log = opts.log ?? (() => undefined);
    this.types = resolverFor(opts.objects ?? STANDARD_OBJECTS);
    this.coap = createServer({ ...(opts.dtls ? { dtls: opts.dtls } : {}), ...(opts.transmission ? { transmission: opts.transmission } : {}) }, (req, res) => {
      const segs = req.pathSegments;
      if (segs[0] !== 'rd') return res.end(undefined, Code.NotFound);
      if (req.method === 'POST' && segs.length === 1) {
        const ep = query(req.query, 'ep');
        if (!ep) return res.end(undefined, Code.BadRequest);
        // a new registration replaces an older one of the same endpoint
        for (const r of this.byId.values()) if (r.endpoint === ep) this.drop(r.id, 'replaced');
        const id = String(this.nextId++);
        const now = Date.now();
        const reg: Registration = {
          endpoint: ep,
          id,
          location: `/rd/${id}`,
          lifetimeS: Number(query(req.query, 'lt') ?? 86400),
          binding: query(req.query, 'b') ?? 'U',
          version: query(req.query, 'lwm2m') ?? '1.0',
          objects: req.payload.length ? parseLinks(req.text()) : [],
          identity: req.identity,
          registeredAt: now,
          updatedAt: now,
          channel: req.channel,
        };
        this.byId.set(id, reg);
        this.arm(id);
        res.setOption(OptionNumber.LocationPath, 'rd').setOption(OptionNumber.LocationPath, id).end(undefined, Code.Created);
        this.log(`Register ep=${ep} lt=${reg.lifetimeS} b=${reg.binding} objects=${reg.objects.map((l) => l.target).join(',')} -> 2.01 ${reg.location}`);
        this.emit('registered', reg);
        return;
      }
      const reg = segs.length === 2 ? this.byId.get(segs[1]!) : undefined;
      if (!reg) return res.end(undefined, Code.NotFound);
      if (req.method === 'POST') {
        const lt = query(req.query, 'lt');
        if (lt) reg.lifetimeS = Number(lt);
        const b = query(req.query, 'b');
        if (b) reg.binding = b;
        if (req.payload.length) reg.objects = parseLinks(req.text());
        reg.updatedAt = Date.now();
        reg.channel = req.channel; // the client may come back on a new DTLS session
        this.arm(reg.id);
        res.end(undefined, Code.Changed);
        this.emit('updated', reg);
        return;
      }
      if (req.method === 'DELETE') {
        this.drop(reg.id, 'deregistered');
        res.end(undefined, Code.Deleted);
        this.log(`De-register ep=${reg.endpoint} -> 2.02`);
        return;
      }
      res.end(undefined, Code.MethodNotAllowed);
    });
  }

  listen(port: number, host = '127.0.0.1'): Promise<void> {
    return new Promise((r) => this.coap.listen(port, host, () => r()));
  }
  close(): Promise<void> {
    for (const r of this.byId.values()) clearTimeout((r as { expiry?: NodeJS.Timeout }).expiry);
    return this.coap.close();
  }

  /** Forgets a registration without telling the client (as a restarted server would). */
  forget(endpoint: string): void {
    const r = this.registration(endpoint);
    if (r) this.drop(r.id, 'expired');
  }

  registration(endpoint: string): Registration | undefined {
    for (const r of this.byId.values()) if (r.endpoint === endpoint) return r;
    return undefined;
  }
  get registrations(): Registration[] {
    return [...this.byId.values()];
  }

  /** Read: decoded records (Accept: SenML CBOR unless given). */
  async read(endpoint: string, path: string, o: { contentFormat?: number; timeoutMs?: number } = {}): Promise<Lwm2mRecord[]> {
    const r = await this.send(endpoint, { method: 'GET', path, accept: o.contentFormat ?? ContentFormat.SenmlCbor, timeoutMs: o.timeoutMs ?? 30_000 });
    return decodeContent(r.contentFormat, r.payload, parsePath(path), this.types);
  }

  async write(endpoint: string, path: string, records: Lwm2mRecord[], o: { contentFormat?: number; replace?: boolean } = {}): Promise<void> {
    const cf = o.contentFormat ?? ContentFormat.SenmlCbor;
    await this.send(endpoint, { method: o.replace === false ? 'POST' : 'PUT', path, contentFormat: cf, payload: encodeContent(cf, records, parsePath(path), this.types) });
  }

  async execute(endpoint: string, path: string, args = ''): Promise<void> {
    await this.send(endpoint, { method: 'POST', path, ...(args ? { payload: args } : {}) });
  }

  async discover(endpoint: string, path: string): Promise<Link[]> {
    const r = await this.send(endpoint, { method: 'GET', path, accept: ContentFormat.LinkFormat });
    return parseLinks(r.text());
  }

  /** Observe: the first value, then an async stream of decoded notifications. */
  async observe(endpoint: string, path: string, o: { contentFormat?: number } = {}): Promise<{ first: Lwm2mRecord[]; notifications: AsyncIterable<Lwm2mRecord[]>; cancel: () => void }> {
    const reg = this.mustFind(endpoint);
    const { first, observation } = await this.coap.observe(reg.channel, { path, accept: o.contentFormat ?? ContentFormat.SenmlCbor, timeoutMs: 30_000 });
    if (!first.ok) throw new Lwm2mError(first.code, `Observe ${path} answered ${first.codeText}`);
    const types = this.types;
    const p = parsePath(path);
    const obs: Observation = observation;
    return {
      first: decodeContent(first.contentFormat, first.payload, p, types),
      notifications: (async function* () {
        for await (const n of obs) yield decodeContent(n.contentFormat, n.payload, p, types);
      })(),
      cancel: () => obs.cancel(),
    };
  }

  private async send(endpoint: string, o: RequestOptions & { path: string }) {
    const reg = this.mustFind(endpoint);
    const r = await this.coap.request(reg.channel, { timeoutMs: 30_000, ...o });
    this.log(`${o.method ?? 'GET'} ${o.path} on ${endpoint} -> ${r.codeText}`);
    if (!r.ok) throw new Lwm2mError(r.code, `${o.method ?? 'GET'} ${o.path} answered ${codeText(r.code)}`);
    return r;
  }

  private mustFind(endpoint: string): Registration {
    const r = this.registration(endpoint);
    if (!r) throw new Lwm2mError(Code.NotFound, `${endpoint} is not registered`);
    return r;
  }

  private arm(id: string): void {
    const r = this.byId.get(id) as (Registration & { expiry?: NodeJS.Timeout }) | undefined;
    if (!r) return;
    clearTimeout(r.expiry);
    r.expiry = setTimeout(() => this.drop(id, 'expired'), r.lifetimeS * 1000 + 5000);
    r.expiry.unref?.();
  }

  private drop(id: string, why: 'deregistered' | 'expired' | 'replaced'): void {
    const r = this.byId.get(id) as (Registration & { expiry?: NodeJS.Timeout }) | undefined;
    if (!r) return;
    clearTimeout(r.expiry);
    this.byId.delete(id);
    this.emit(why === 'replaced' ? 'deregistered' : why, r);
  }
}

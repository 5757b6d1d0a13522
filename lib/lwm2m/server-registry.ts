import { utf8 } from '../bytes/util.js';
import type { IncomingRequest } from '../coap/api-types.js';
import type { Link } from '../coap/link-format.js';
import { Code, OptionNumber } from '../coap/message.js';
import type { PeerIdentity } from '../dtls/keystore.js';
import type { CoapAnswer } from './coap-agent.js';
import type { WallClock } from './device.js';
import { checkRegistrationLinks, Lwm2mLinkError } from './link-check.js';

/** A registered client. */
export interface Registration<P = unknown> {
  endpoint: string;
  id: string;
  location: string;
  lifetimeS: number;
  binding: string;
  version: string;
  /** Queue mode: "Q" in the Register (1.1), or a "UQ" binding (1.0). */
  queueMode: boolean;
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

/** A registration as the registry keeps it. */
export type Entry<P> = Registration<P> & {
  expiresAt: number;
  /** Queue mode: the client listens until then (MAX_TRANSMIT_WAIT after it was last heard). */
  awakeUntil: number;
};

export type RegistryEvent<P> = { type: 'registered' | 'updated' | 'deregistered' | 'expired'; registration: Registration<P> };

export interface RegistryOptions {
  wallClock?: WallClock;
  /** A registration expires this long after its lifetime ran out without an Update (default 5 s). */
  expiryGraceMs: number;
  /** How long a queue-mode client listens after it was heard (MAX_TRANSMIT_WAIT). */
  listenMs: number;
  log: (line: string) => void;
}

const query = (q: string[], name: string) => q.find((x) => x === name || x.startsWith(`${name}=`))?.slice(name.length + 1);
const has = (q: string[], name: string) => q.some((x) => x === name || x.startsWith(`${name}=`));

/**
 * The registration interface of an LwM2M server (OMA-TS-LightweightM2M-Core §5.3): Register
 * (POST /rd?ep=&lt=&lwm2m=&b=[&Q], its object links checked strictly, 4.00 with the reason
 * otherwise), Update (POST /rd/{id}), De-register (DELETE /rd/{id}), lifetime expiry. A new
 * Register of an endpoint replaces its registration. For queue-mode clients it tracks until
 * when the client listens.
 */
export class Registry<P> {
  private readonly byId = new Map<string, Entry<P>>();
  private nextId = 1;

  constructor(
    private readonly opts: RegistryOptions,
    private readonly emit: (e: RegistryEvent<P>) => void,
  ) {}

  get all(): Array<Entry<P>> {
    return [...this.byId.values()];
  }

  byEndpoint(endpoint: string): Entry<P> | undefined {
    for (const r of this.byId.values()) if (r.endpoint === endpoint) return r;
    return undefined;
  }

  byChannel(channel: P): Entry<P> | undefined {
    for (const r of this.byId.values()) if (r.channel === channel) return r;
    return undefined;
  }

  /** The client was heard on `channel`: a queue-mode client listens for MAX_TRANSMIT_WAIT. */
  heard(now: number, channel: P): Entry<P> | undefined {
    const r = this.byChannel(channel);
    if (r) r.awakeUntil = now + this.opts.listenMs;
    return r;
  }

  /** Whether requests reach the client now (always, unless it is a queue-mode client that sleeps). */
  listening(r: Entry<P>, now: number): boolean {
    return !r.queueMode || r.awakeUntil > now;
  }

  /** POST /rd, POST /rd/{id}, DELETE /rd/{id}. */
  serve(now: number, peer: P, identity: PeerIdentity | undefined, req: IncomingRequest): CoapAnswer {
    const segs = req.pathSegments;
    if (req.method === 'POST' && segs.length === 1) return this.register(now, peer, identity, req);
    const reg = segs.length === 2 ? this.byId.get(segs[1]!) : undefined;
    if (!reg) return { code: Code.NotFound };
    if (req.method === 'POST') {
      let objects: Link[] | undefined;
      if (req.payload.length) {
        try {
          objects = checkRegistrationLinks(req.payload);
        } catch (e) {
          return this.refuse(`Update of ${reg.endpoint}`, e);
        }
      }
      const lt = query(req.query, 'lt');
      if (lt) reg.lifetimeS = Number(lt);
      const b = query(req.query, 'b');
      if (b) reg.binding = b;
      if (objects) reg.objects = objects;
      reg.updatedAt = this.opts.wallClock?.() ?? now;
      reg.channel = peer; // the client may come back on a new DTLS session
      reg.identity = identity;
      reg.expiresAt = this.expiry(now, reg.lifetimeS);
      reg.awakeUntil = now + this.opts.listenMs;
      this.emit({ type: 'updated', registration: reg });
      return { code: Code.Changed };
    }
    if (req.method === 'DELETE') {
      this.drop(reg.id, 'deregistered');
      this.opts.log(`De-register ep=${reg.endpoint} -> 2.02`);
      return { code: Code.Deleted };
    }
    return { code: Code.MethodNotAllowed };
  }

  /** Forgets a registration: 'deregistered' (also when replaced) or 'expired'. */
  drop(id: string, why: 'deregistered' | 'expired' | 'replaced'): void {
    const r = this.byId.get(id);
    if (!r) return;
    this.byId.delete(id);
    this.emit({ type: why === 'expired' ? 'expired' : 'deregistered', registration: r });
  }

  expire(now: number): void {
    for (const r of [...this.byId.values()]) if (r.expiresAt <= now) this.drop(r.id, 'expired');
  }

  nextExpiry(): number | undefined {
    let t: number | undefined;
    for (const r of this.byId.values()) if (t === undefined || r.expiresAt < t) t = r.expiresAt;
    return t;
  }

  // ------------------------------------------------------------------------------------

  private register(now: number, peer: P, identity: PeerIdentity | undefined, req: IncomingRequest): CoapAnswer {
    const ep = query(req.query, 'ep');
    if (!ep) return this.refuse('Register', new Lwm2mLinkError('no endpoint name (ep=)'));
    let objects: Link[];
    try {
      objects = req.payload.length ? checkRegistrationLinks(req.payload) : [];
    } catch (e) {
      return this.refuse(`Register ep=${ep}`, e);
    }
    // a new registration replaces an older one of the same endpoint
    for (const r of [...this.byId.values()]) if (r.endpoint === ep) this.drop(r.id, 'replaced');
    const id = String(this.nextId++);
    const at = this.opts.wallClock?.() ?? now;
    const lifetimeS = Number(query(req.query, 'lt') ?? 86400);
    const binding = query(req.query, 'b') ?? 'U';
    const fields: Omit<Entry<P>, 'channel'> = {
      endpoint: ep,
      id,
      location: `/rd/${id}`,
      lifetimeS,
      binding,
      version: query(req.query, 'lwm2m') ?? '1.0',
      queueMode: has(req.query, 'Q') || binding.includes('Q'),
      objects,
      identity,
      registeredAt: at,
      updatedAt: at,
      expiresAt: this.expiry(now, lifetimeS),
      awakeUntil: now + this.opts.listenMs,
    };
    const reg = withChannel(fields, peer);
    this.byId.set(id, reg);
    this.opts.log(`Register ep=${ep} lt=${reg.lifetimeS} b=${reg.binding}${reg.queueMode ? ' Q' : ''} objects=${reg.objects.map((l) => l.target).join(',')} -> 2.01 ${reg.location}`);
    this.emit({ type: 'registered', registration: reg });
    return { code: Code.Created, options: [{ number: OptionNumber.LocationPath, value: utf8('rd') }, { number: OptionNumber.LocationPath, value: utf8(id) }] };
  }

  /** 4.00 with the reason as the diagnostic payload (RFC 7252 §5.5.2). */
  private refuse(what: string, e: unknown): CoapAnswer {
    if (!(e instanceof Lwm2mLinkError)) throw e;
    this.opts.log(`${what} refused: ${e.message}`);
    return { code: Code.BadRequest, payload: utf8(e.message) };
  }

  private expiry(now: number, lifetimeS: number): number {
    const lt = Number.isFinite(lifetimeS) && lifetimeS > 0 ? lifetimeS : 86400;
    return now + lt * 1000 + this.opts.expiryGraceMs;
  }
}

/** Adds the channel as a writable, non-enumerable property (see Registration.channel). */
function withChannel<R extends object, P>(r: R, channel: P): R & { channel: P } {
  return Object.defineProperty(r, 'channel', { value: channel, writable: true, enumerable: false, configurable: true }) as R & { channel: P };
}

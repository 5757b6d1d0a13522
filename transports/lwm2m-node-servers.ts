import { performance } from 'node:perf_hooks';
import { randomFillSync } from 'node:crypto';
import { AsyncQueue } from './async-queue.js';
import { HostedServer, ServerHost, type Peer } from './lwm2m-node-host.js';
import type { ServerOptions } from './node-dgram.js';
import type { TransmissionParameters } from '../lib/coap/config.js';
import type { Link } from '../lib/coap/link-format.js';
import { BootstrapServerCore, type BootstrapEndpointConfig } from '../lib/lwm2m/bootstrap-server-core.js';
import { Lwm2mServerCore, type OperationOptions, type OperationResult, type Registration } from '../lib/lwm2m/server-core.js';
import type { Lwm2mRecord, ObjectDefinition } from '../lib/lwm2m/types.js';
import type { AttributeName } from '../lib/lwm2m/attributes.js';

const now = () => performance.now();
const randomBytes = (n: number) => randomFillSync(new Uint8Array(n));

// ============================================================================ server ===

export interface Lwm2mServerOptions {
  dtls?: ServerOptions;
  /** Object definitions for decoding (default: Security, Server, Device, Firmware Update). */
  objects?: ObjectDefinition[];
  transmission?: Partial<TransmissionParameters>;
  log?: (line: string) => void;
}

type Pending = { resolve: (r: OperationResult) => void; reject: (e: Error) => void };

/** An observation: its first value, its notifications, and how to end it. */
export interface Observation {
  first: Lwm2mRecord[];
  notifications: AsyncIterable<Lwm2mRecord[]>;
  cancel: () => void;
}

/** Notifications of one observation, as an async iterable. */
type NotificationQueue = AsyncQueue<Lwm2mRecord[]>;

/**
 * An LwM2M server on Node (for tests and the demo): the sans-IO {@link Lwm2mServerCore} on
 * a DTLS server (or UDP for coap://). Events: 'registered', 'updated', 'deregistered',
 * 'expired' (Registration), 'send' (Registration, records), 'queued' (endpoint, id: an operation
 * waits for a sleeping queue-mode client). Device management returns promises.
 */
export class Lwm2mServer extends HostedServer {
  readonly core: Lwm2mServerCore<Peer>;
  protected readonly host: ServerHost;
  private readonly pending = new Map<number, Pending>();
  private readonly observations = new Map<number, NotificationQueue>();

  constructor(opts: Lwm2mServerOptions = {}) {
    super();
    this.core = new Lwm2mServerCore<Peer>({
      ...(opts.objects ? { objects: opts.objects } : {}),
      ...(opts.transmission ? { transmission: opts.transmission } : {}),
      ...(opts.log ? { log: opts.log } : {}),
      wallClock: () => Date.now(),
      random: randomBytes,
    });
    this.host = new ServerHost(this.core, () => this.drain(), opts.dtls);
  }

  /** Forgets a registration without telling the client (as a restarted server would). */
  forget(endpoint: string): void {
    this.host.pump(() => this.core.forget(endpoint));
  }

  registration(endpoint: string): Registration<Peer> | undefined {
    return this.core.registration(endpoint);
  }
  get registrations(): Array<Registration<Peer>> {
    return this.core.registrations;
  }

  /** Read: decoded records (Accept: SenML CBOR unless given). */
  async read(endpoint: string, path: string, o: OperationOptions = {}): Promise<Lwm2mRecord[]> {
    return (await this.operate((t) => this.core.read(t, endpoint, path, o))).records ?? [];
  }

  async write(endpoint: string, path: string, records: Lwm2mRecord[], o: OperationOptions & { replace?: boolean } = {}): Promise<void> {
    await this.operate((t) => this.core.write(t, endpoint, path, records, o));
  }

  async execute(endpoint: string, path: string, args = ''): Promise<void> {
    await this.operate((t) => this.core.execute(t, endpoint, path, args));
  }

  async discover(endpoint: string, path: string): Promise<Link[]> {
    return (await this.operate((t) => this.core.discover(t, endpoint, path))).links ?? [];
  }

  /** Create an object instance; resolves with its location when the client gives one. */
  async create(endpoint: string, objectPath: string, records: Lwm2mRecord[], o: OperationOptions = {}): Promise<string | undefined> {
    return (await this.operate((t) => this.core.create(t, endpoint, objectPath, records, o))).location;
  }

  async delete(endpoint: string, path: string): Promise<void> {
    await this.operate((t) => this.core.delete(t, endpoint, path));
  }

  /** Write-Attributes: a number sets an attribute, null removes it (e.g. { pmin: 10, gt: null }). */
  async writeAttributes(endpoint: string, path: string, attributes: Partial<Record<AttributeName, number | null>>): Promise<void> {
    await this.operate((t) => this.core.writeAttributes(t, endpoint, path, attributes));
  }

  /** Read-Composite: the values under several paths. */
  async readComposite(endpoint: string, paths: string[], o: OperationOptions = {}): Promise<Lwm2mRecord[]> {
    return (await this.operate((t) => this.core.readComposite(t, endpoint, paths, o))).records ?? [];
  }

  /** Write-Composite: values under several paths, all or none. */
  async writeComposite(endpoint: string, records: Lwm2mRecord[], o: OperationOptions = {}): Promise<void> {
    await this.operate((t) => this.core.writeComposite(t, endpoint, records, o));
  }

  /** Serves `payload` at `path` for Package URI downloads (coaps://this-server/path). */
  publish(path: string, payload: Uint8Array): void {
    this.core.publish(path, payload);
  }

  /** Observe: the first value, then an async stream of decoded notifications. */
  observe(endpoint: string, path: string, o: OperationOptions = {}): Promise<Observation> {
    return this.observing((t) => this.core.observe(t, endpoint, path, o));
  }

  /** Observe-Composite: the values, then an async stream of notifications with all of them. */
  observeComposite(endpoint: string, paths: string[], o: OperationOptions = {}): Promise<Observation> {
    return this.observing((t) => this.core.observeComposite(t, endpoint, paths, o));
  }

  private async observing(start: (now: number) => number): Promise<Observation> {
    const queue: NotificationQueue = new AsyncQueue();
    let id = 0;
    const result = await this.operate((t) => {
      id = start(t);
      this.observations.set(id, queue);
      return id;
    });
    return {
      first: result.records ?? [],
      notifications: queue,
      cancel: () => {
        this.observations.delete(id);
        queue.end(null);
        this.host.pump(() => this.core.cancelObservation(now(), id));
      },
    };
  }

  private operate(start: (now: number) => number): Promise<OperationResult> {
    return new Promise((resolve, reject) => {
      this.host.pump(() => {
        try {
          this.pending.set(start(now()), { resolve, reject });
        } catch (e) {
          reject(e as Error);
        }
      });
    });
  }

  private drain(): void {
    for (let e = this.core.pollEvent(); e; e = this.core.pollEvent()) {
      switch (e.type) {
        case 'registered':
        case 'updated':
        case 'deregistered':
        case 'expired':
          this.emit(e.type, e.registration);
          break;
        case 'result': {
          const p = this.pending.get(e.id);
          this.pending.delete(e.id);
          p?.resolve(e.result);
          break;
        }
        case 'failed': {
          const p = this.pending.get(e.id);
          this.pending.delete(e.id);
          this.observations.delete(e.id);
          p?.reject(e.error);
          break;
        }
        case 'notification':
          this.observations.get(e.id)?.push(e.records);
          break;
        case 'send':
          this.emit('send', e.registration, e.records);
          break;
        case 'queued':
          this.emit('queued', e.endpoint, e.id);
          break;
        case 'observation-ended':
          this.observations.get(e.id)?.end(e.error ?? null);
          this.observations.delete(e.id);
          break;
      }
    }
  }
}

// ================================================================== bootstrap server ===

export interface BootstrapServerOptions {
  /** DTLS server options: the key store must know every endpoint's bootstrap credentials. */
  dtls: ServerOptions;
  endpoints: Record<string, BootstrapEndpointConfig>;
  /** Content format for Bootstrap-Write (default TLV, what every client accepts). */
  contentFormat?: number;
  transmission?: Partial<TransmissionParameters>;
  log?: (line: string) => void;
}

/**
 * A bootstrap server on Node (for tests and the demo): the sans-IO {@link BootstrapServerCore}
 * on a DTLS server. Events: 'bootstrapped' (endpoint), 'failed' (endpoint, reason).
 */
export class BootstrapServer extends HostedServer {
  readonly core: BootstrapServerCore<Peer>;
  protected readonly host: ServerHost;

  constructor(opts: BootstrapServerOptions) {
    super();
    this.core = new BootstrapServerCore<Peer>({
      endpoints: opts.endpoints,
      ...(opts.contentFormat !== undefined ? { contentFormat: opts.contentFormat } : {}),
      ...(opts.transmission ? { transmission: opts.transmission } : {}),
      ...(opts.log ? { log: opts.log } : {}),
      random: randomBytes,
    });
    this.host = new ServerHost(
      this.core,
      () => {
        for (let e = this.core.pollEvent(); e; e = this.core.pollEvent()) {
          if (e.type === 'bootstrapped') this.emit('bootstrapped', e.endpoint);
          else this.emit('failed', e.endpoint, e.reason);
        }
      },
      opts.dtls,
    );
  }
}

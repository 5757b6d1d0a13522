import { EventEmitter } from 'node:events';
import { createServer, type CoapServer } from '../../transports/coap-node.js';
import type { ServerOptions } from '../../transports/node-dgram.js';
import { ContentFormat } from '../coap/content-format.js';
import type { TransmissionParameters } from '../coap/config.js';
import { Code } from '../coap/message.js';
import { equal, toHex } from '../bytes/util.js';
import type { PeerIdentity } from '../dtls/keystore.js';
import { encodeContent } from './codec/index.js';
import { STANDARD_OBJECTS, resolverFor } from './objects.js';
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

export interface BootstrapServerOptions {
  /** DTLS server options: the key store must know every endpoint's bootstrap credentials. */
  dtls: ServerOptions;
  endpoints: Record<string, BootstrapEndpointConfig>;
  /** Content format for Bootstrap-Write (default TLV, what every client accepts). */
  contentFormat?: number;
  transmission?: Partial<TransmissionParameters>;
  log?: (line: string) => void;
}

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

/**
 * A bootstrap server (for tests and the demo): answers Bootstrap-Request, then drives the
 * client the way Leshan does: Delete /0, Delete /1, Write /0/x and /1/x per account, Finish.
 * Events: 'bootstrapped' (endpoint), 'failed' (endpoint, reason).
 */
export class BootstrapServer extends EventEmitter {
  readonly coap: CoapServer;
  private readonly log: (line: string) => void;

  constructor(private readonly opts: BootstrapServerOptions) {
    super();
    this.log = opts.log ?? (() => undefined);
    this.coap = createServer({ dtls: opts.dtls, ...(opts.transmission ? { transmission: opts.transmission } : {}) }, (req, res) => {
      if (req.method !== 'POST' || req.path !== '/bs') return res.end(undefined, Code.NotFound);
      const ep = query(req.query, 'ep');
      const cfg = ep ? opts.endpoints[ep] : undefined;
      if (!ep || !cfg || !this.authorized(cfg, req.identity)) {
        this.log(`Bootstrap-Request ep=${ep ?? '?'} refused`);
        return res.end(undefined, Code.BadRequest);
      }
      this.log(`Bootstrap-Request ep=${ep} accepted`);
      res.end(undefined, Code.Changed);
      void this.provision(cfg, req.channel).then(
        () => this.emit('bootstrapped', ep),
        (e: Error) => {
          this.log(`bootstrap of ${ep} failed: ${e.message}`);
          this.emit('failed', ep, e.message);
        },
      );
    });
  }

  listen(port: number, host = '127.0.0.1'): Promise<void> {
    return new Promise((r) => this.coap.listen(port, host, () => r()));
  }
  close(): Promise<void> {
    return this.coap.close();
  }

  private authorized(cfg: BootstrapEndpointConfig, id: PeerIdentity | undefined): boolean {
    if (!id) return false;
    if (id.kind === 'psk') return !!cfg.pskIdentity && equal(id.identity, cfg.pskIdentity);
    if (id.kind === 'rpk') return !!cfg.rawPublicKey && toHex(id.spki) === toHex(cfg.rawPublicKey);
    return false;
  }

  private async provision(cfg: BootstrapEndpointConfig, channel: unknown): Promise<void> {
    const cf = this.opts.contentFormat ?? ContentFormat.Lwm2mTlv;
    const step = async (what: string, o: Parameters<CoapServer['request']>[1], ok: number[]) => {
      const r = await this.coap.request(channel, { timeoutMs: 120_000, ...o });
      this.log(`  ${what} -> ${r.codeText}`);
      if (!ok.includes(r.code)) throw new Error(`${what} answered ${r.codeText}`);
    };
    await step('Bootstrap-Delete /0', { method: 'DELETE', path: '/0' }, [Code.Deleted]);
    await step('Bootstrap-Delete /1', { method: 'DELETE', path: '/1' }, [Code.Deleted]);
    let i = 1;
    for (const a of cfg.servers) {
      const sec = securityRecords(i, a);
      await step(`Bootstrap-Write /0/${i} (server ${a.uri})`, { method: 'PUT', path: `/0/${i}`, contentFormat: cf, payload: encodeContent(cf, sec, [0, i], types) }, [Code.Changed]);
      const srv = serverRecords(i - 1, a);
      await step(`Bootstrap-Write /1/${i - 1} (ssid ${a.shortServerId}, lifetime ${a.lifetimeS} s)`, { method: 'PUT', path: `/1/${i - 1}`, contentFormat: cf, payload: encodeContent(cf, srv, [1, i - 1], types) }, [Code.Changed]);
      i++;
    }
    await step('Bootstrap-Finish', { method: 'POST', path: '/bs' }, [Code.Changed]);
  }
}

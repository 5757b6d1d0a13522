import { readFileSync } from 'node:fs';
import { fromHex } from '../bytes/util.js';
import { pskMap } from '../dtls/keystore.js';
import type { ServerAccount } from '../lwm2m/bootstrap-server-core.js';
import { BootstrapServer, deviceStore, FileResumptionStorage, FileStorage, Lwm2mClient, Lwm2mServer, MemoryStorage } from '../entry/lwm2m.js';
import { parseHostPort, parseIntArg, parsePskArg, untilSignal, UsageError } from './args.js';
import { parseFlags } from './flags.js';
import { openSessionStore, parseSessionStoreArg, stopServer } from './session-store.js';
import { LWM2M_BOOTSTRAP_SERVER, LWM2M_CLIENT, LWM2M_SERVER } from './specs/lwm2m.js';

const enc = (s: string) => new TextEncoder().encode(s);
const log = (who: string) => (l: string) => process.stderr.write(`${new Date().toISOString()} ${who}: ${l}\n`);

interface PskJson {
  identity: string;
  key: string;
}
interface BootstrapConfig {
  listen: string;
  endpoints: Record<string, { psk: PskJson; servers: Array<{ shortServerId: number; uri: string; lifetime?: number; binding?: string; psk: PskJson }> }>;
}
interface ServerConfig {
  listen: string;
  psk: PskJson[];
}

function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw new UsageError(`--config ${path}: ${(e as Error).message}`);
  }
}
const psk = (p: PskJson) => ({ identity: enc(p.identity), key: fromHex(p.key) });


export async function lwm2mCommand(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === 'client') {
    const { values } = parseFlags(LWM2M_CLIENT, rest);
    if (!/^coaps:\/\//.test(values.bootstrap)) throw new UsageError('--bootstrap must be a coaps:// URI');
    const p = parsePskArg(values.psk);
    const cidLength = values.cid === undefined ? undefined : parseIntArg(values.cid, '--cid', 0, 255);
    const client = new Lwm2mClient({
      endpoint: values.endpoint,
      store: deviceStore(),
      bootstrap: { uri: values.bootstrap, security: { mode: 'psk', identity: p.identity, key: p.key } },
      storage: values.state ? new FileStorage(values.state) : new MemoryStorage(),
      queueMode: values.queue,
      // 0: a zero-length CID of ours (true), the server's CID on what we send
      ...(cidLength !== undefined ? { connectionId: cidLength === 0 ? true : cidLength } : {}),
      ...(values.tickets ? { sessionTickets: true } : {}),
      ...(values.sessions !== undefined ? { sessionResumption: new FileResumptionStorage(values.sessions) } : {}),
      log: log('client'),
    });
    client.on('error', (e: Error) => log('client')(`error: ${e.message}`));
    client.on('session', (s: { uri: string; resumed: boolean; connectionId: boolean }) =>
      log('client')(`session ${s.uri}: resumed ${s.resumed ? 'yes' : 'no'}, cid ${s.connectionId ? 'yes' : 'no'}`),
    );
    // the handlers go in first: a SIGINT while bootstrapping or registering stops the client
    // (it is retrying) instead of killing the process
    const signalled = untilSignal();
    await Promise.race([client.start(), signalled]);
    await signalled;
    await client.stop();
    return 0;
  }
  if (cmd === 'bootstrap-server' || cmd === 'server') {
    const { values } = cmd === 'server' ? parseFlags(LWM2M_SERVER, rest) : parseFlags(LWM2M_BOOTSTRAP_SERVER, rest);
    if (cmd === 'bootstrap-server') {
      const c = readJson<BootstrapConfig>(values.config);
      const { host, port } = parseHostPort(c.listen, 'listen');
      const endpoints = Object.fromEntries(
        Object.entries(c.endpoints).map(([ep, e]) => [
          ep,
          {
            pskIdentity: enc(e.psk.identity),
            servers: e.servers.map((s): ServerAccount => ({ shortServerId: s.shortServerId, uri: s.uri, lifetimeS: s.lifetime ?? 300, binding: s.binding ?? 'U', security: { mode: 'psk', ...psk(s.psk) } })),
          },
        ]),
      );
      const keys = Object.values(c.endpoints).map((e) => [enc(e.psk.identity), fromHex(e.psk.key)] as [Uint8Array, Uint8Array]);
      const bs = new BootstrapServer({ dtls: { psk: pskMap(keys) }, endpoints, log: log('bootstrap') });
      await bs.listen(port, host);
      log('bootstrap')(`listening on coaps://${host}:${port} for ${Object.keys(endpoints).length} endpoint(s)`);
      await untilSignal();
      await bs.close();
      return 0;
    }
    const sv = parseFlags(LWM2M_SERVER, rest).values;
    const c = readJson<ServerConfig>(sv.config);
    const { host, port } = parseHostPort(c.listen, 'listen');
    const cid = sv.cid !== undefined ? { connectionId: parseIntArg(sv.cid, '--cid', 1, 255) } : {};
    const storeArg = parseSessionStoreArg(sv['session-store']);
    const keys = pskMap(c.psk.map((p) => { const k = psk(p); return [k.identity, k.key] as [Uint8Array, Uint8Array]; }));
    // after every argument is checked: a Redis that cannot be reached fails the start (exit 1)
    const store = storeArg && (await openSessionStore(storeArg, log('server')));
    const server = new Lwm2mServer({ dtls: { psk: keys, ...cid, ...(store ? { sessionStore: store.store } : {}) }, log: log('server') });
    server.on('registered', (r) => void server.read(r.endpoint, '/3/0').then((recs) => log('server')(`${r.endpoint} /3/0: ${recs.length} value(s)`), (e: Error) => log('server')(`read failed: ${e.message}`)));
    try {
      await server.listen(port, host);
      log('server')(`listening on coaps://${host}:${port}${store ? ` (sessions kept in ${store.name})` : ''}`);
      await untilSignal();
    } finally {
      await stopServer(server, store, log('server'));
    }
    return 0;
  }
  throw new UsageError(`unknown command 'lwm2m ${cmd ?? ''}'`);
}

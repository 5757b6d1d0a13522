import { createServer, type ServerResponse } from '../entry/coap.js';
import { Router } from '../coap/router.js';
import { ContentFormat } from '../coap/content-format.js';
import { Code } from '../coap/message.js';
import { pskMap } from '../dtls/keystore.js';
import { parseHostPort, parseIntArg, parsePskArg, untilSignal, UsageError } from './args.js';
import { resolveCredentialFlags } from './credentials.js';
import { parseFlags } from './flags.js';
import { coapServerLimits } from './coap-limits.js';
import { logServerLimits, SERVER_LIMIT_FLAGS, serverLimits } from './server-limits.js';
import { openSessionStore, parseSessionStoreArg, stopServer } from './session-store.js';
import { SERVE } from './specs/serve.js';
import type { ServerOptions } from '../entry/dtls.js';

/** The demo resources of `coaps serve`. */
export function demoRouter(): Router<ServerResponse> {
  const large = new Uint8Array(4096);
  for (let i = 0; i < large.length; i++) large[i] = 0x41 + (i % 26);
  return new Router<ServerResponse>()
    .get('/hello', (_req, res) => res.contentFormat(ContentFormat.TextPlain).end('Hello, coaps!'), { attributes: [['rt', 'demo.hello'], ['ct', '0']] })
    .get('/time', (_req, res) => res.contentFormat(ContentFormat.TextPlain).end(new Date().toISOString()), { attributes: [['rt', 'demo.time'], ['ct', '0']], observable: true })
    .get('/large', (_req, res) => res.contentFormat(ContentFormat.TextPlain).end(large), { attributes: [['rt', 'demo.large'], ['sz', '4096']] })
    .resource(
      '/echo',
      {
        PUT: (req, res) => res.status(Code.Changed).end(req.payload),
        POST: (req, res) => res.status(Code.Changed).end(req.payload),
      },
      { attributes: [['rt', 'demo.echo']] },
    );
}

export async function serve(argv: string[]): Promise<number> {
  const { values } = parseFlags(SERVE, argv);
  const { host, port } = parseHostPort(values.listen, '--listen');
  const every = parseIntArg(values['notify-ms'], '--notify-ms', 1, 3_600_000);
  const psks = (values.psk ?? []).map(parsePskArg);
  const secure = psks.length > 0 || !!values.key;
  let dtls: ServerOptions | undefined;
  if (!secure) {
    const dtlsOnly = ['cid', 'session-store', ...SERVER_LIMIT_FLAGS.map((f) => f.name)].filter((f) => argv.some((a) => a === `--${f}` || a.startsWith(`--${f}=`)));
    if (dtlsOnly.length) throw new UsageError(`--${dtlsOnly[0]} is for coaps:// (DTLS): give --psk or --key too`);
  }
  const storeArg = parseSessionStoreArg(values['session-store']);
  if (secure) {
    const cred = resolveCredentialFlags(values, psks.length > 0);
    dtls = {
      ...(psks.length ? { psk: pskMap(psks.map((p) => [p.identity, p.key] as [Uint8Array, Uint8Array])) } : {}),
      ...(cred.ecdhe ? { ecdhe: cred.ecdhe } : {}),
      ...(cred.suites ? { suites: cred.suites } : {}),
      ...(cred.hasTrust ? { keyStore: cred.trust } : {}),
      clientAuth: cred.clientAuth,
      ...(values.cid !== undefined ? { connectionId: parseIntArg(values.cid, '--cid', 1, 255) } : {}),
      ...serverLimits(values),
    };
  }
  const caps = coapServerLimits(values);
  const log = (line: string) => process.stderr.write(line + '\n');
  // after every argument is checked: a Redis that cannot be reached fails the start (exit 1)
  const store = storeArg && (await openSessionStore(storeArg, log));
  if (dtls && store) dtls.sessionStore = store.store;
  const router = demoRouter();
  const route = router.handler();
  const server = createServer({ ...(dtls ? { dtls } : {}), ...caps }, (req, res) => {
    if (values.verbose) process.stderr.write(`${req.method ?? req.code} ${req.path}${req.query.length ? '?' + req.query.join('&') : ''} from ${req.peer.address}:${req.peer.port}${req.identity ? ` (${req.identity.kind})` : ''}\n`);
    return route(req, res);
  });
  server.on('error', (e: Error) => process.stderr.write(`coaps: ${e.message}\n`));
  if (secure) logServerLimits(server, log, { handshakeErrors: values.verbose });
  let tick: ReturnType<typeof setInterval> | undefined;
  try {
    await new Promise<void>((r) => server.listen(port, host, () => r()));
    log(`serving ${secure ? 'coaps' : 'coap'}://${host}:${port} (/hello, /time, /large, /echo, /.well-known/core)${store ? ` (sessions kept in ${store.name})` : ''}`);
    tick = setInterval(() => server.notify('/time'), every);
    await untilSignal();
  } finally {
    clearInterval(tick);
    await stopServer(server, store, log);
  }
  return 0;
}

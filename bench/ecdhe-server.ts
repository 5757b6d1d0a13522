/**
 * Benchmark server (not a test): our DTLS server with TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 and
 * RFC 7250 raw public keys (tinydtls test keys, bench/lib/ecdhe-keys.ts), through the public
 * Node driver. Run as a separate process by bench/dtls-ecdhe.ts, pinned to one core:
 *   node dist/bench/ecdhe-server.js <port> <host> <none|optional|required>
 * With client authentication the one trusted client key is the tinydtls client key.
 * Prints `LISTENING <port>` on stdout once bound; exits on SIGTERM/SIGINT or when stdin closes,
 * printing its counters on stderr (sessions by peer identity kind, handshake errors, endpoint stats).
 */
import { nodeCrypto } from '../lib/crypto/node.js';
import type { ClientAuth } from '../lib/dtls/config.js';
import { createServer } from '../transports/node-dgram.js';
import { clientKey, serverKey } from './lib/ecdhe-keys.js';

const port = Number(process.argv[2] ?? 0);
const host = process.argv[3] ?? '127.0.0.1';
const clientAuth = (process.argv[4] ?? 'none') as ClientAuth;
if (!['none', 'optional', 'required'].includes(clientAuth)) {
  console.error(`ecdhe-server: clientAuth must be none|optional|required, not ${clientAuth}`);
  process.exit(2);
}

const server = createServer({
  ecdhe: { key: serverKey(nodeCrypto), rawPublicKey: true },
  keyStore: { rawPublicKeys: [[clientKey(nodeCrypto).publicKey.spki, 'bench-client']] },
  clientAuth,
});
let sessions = 0;
let handshakeErrors = 0;
const identities: Record<string, number> = {};
const errorCodes: Record<string, number> = {};
server.on('session', (s) => {
  sessions++;
  const id = s.info.identity;
  const k = id.kind === 'rpk' ? `rpk:${id.name ?? '?'}` : id.kind;
  identities[k] = (identities[k] ?? 0) + 1;
  s.on('error', (e: { code?: string }) => {
    const k = `session:${e.code ?? 'unknown'}`;
    errorCodes[k] = (errorCodes[k] ?? 0) + 1;
  });
});
server.on('handshakeError', (e: { code?: string }) => {
  handshakeErrors++;
  const k = e.code ?? 'unknown';
  errorCodes[k] = (errorCodes[k] ?? 0) + 1;
});
server.on('error', (e) => {
  console.error('server error:', e);
});
server.listen(port, host, () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});

function stats(): string {
  const st = server.endpoint.stats;
  const mem = process.memoryUsage();
  return (
    `ecdhe-server: clientAuth=${clientAuth} sessions=${sessions} identities=${JSON.stringify(identities)} handshakeErrors=${handshakeErrors} open=${server.endpoint.sessionCount} ` +
    `hvr=${st.helloVerifyRequests} started=${st.handshakesStarted} refused=${st.handshakesRefused} dropped=${st.datagramsDropped} errors=${JSON.stringify(errorCodes)} ` +
    `heapUsedMB=${(mem.heapUsed / 1e6).toFixed(1)} rssMB=${(mem.rss / 1e6).toFixed(1)}`
  );
}
// SIGUSR2: print the counters now; the bench reads them between runs
process.on('SIGUSR2', () => process.stderr.write(`${stats()}\n`));

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`${stats()}\n`);
  // process.exit() lets --cpu-prof write its profile
  setTimeout(() => process.exit(0), 10).unref();
  void server.close().finally(() => process.exit(0));
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent holds our stdin open: if it dies, we follow.
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();

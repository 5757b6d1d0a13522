/**
 * Benchmark server (not a test): our DTLS server with TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 and
 * RFC 7250 raw public keys (tinydtls test keys, bench/lib/ecdhe-keys.ts), through the public
 * Node driver. Run as a separate process by bench/dtls-ecdhe.ts, pinned to one core:
 *   node dist/bench/ecdhe-server.js <port> <host> <none|optional|required> [psk-echo]
 * With client authentication the one trusted client key is the tinydtls client key.
 * Prints `LISTENING <port>` on stdout once bound; exits on SIGTERM/SIGINT or when stdin closes
 * (bench/lib/server-process.ts), printing its counters on stderr (sessions by peer identity
 * kind, handshake errors, endpoint stats).
 */
import { nodeCrypto } from '../lib/crypto/node.js';
import type { ClientAuth } from '../lib/dtls/config.js';
import { createServer } from '../transports/node-dgram.js';
import { clientKey, serverKey } from './lib/ecdhe-keys.js';
import { pskMap } from '../lib/dtls/keystore.js';
import { announceListening, BENCH_PSK_IDENTITY, BENCH_PSK_KEY, countDtlsServerEvents, listenArgs, memoryText, stopOnSignals, tally } from './lib/server-process.js';

const { port, host } = listenArgs();
const clientAuth = (process.argv[4] ?? 'none') as ClientAuth;
if (!['none', 'optional', 'required'].includes(clientAuth)) {
  console.error(`ecdhe-server: clientAuth must be none|optional|required, not ${clientAuth}`);
  process.exit(2);
}

/** `psk-echo` (5th argument): PSK too, and every session echoes what it receives (bench/ecdhe-flood.ts). */
const pskEcho = process.argv[5] === 'psk-echo';
const server = createServer({
  ecdhe: { key: serverKey(nodeCrypto), rawPublicKey: true },
  keyStore: { rawPublicKeys: [[clientKey(nodeCrypto).publicKey.spki, 'bench-client']] },
  clientAuth,
  ...(pskEcho ? { psk: pskMap([[BENCH_PSK_IDENTITY, BENCH_PSK_KEY]]) } : {}),
});
const identities: Record<string, number> = {};
const errorCodes: Record<string, number> = {};
const { sessions, handshakeErrors } = countDtlsServerEvents(server, errorCodes);
server.on('session', (s) => {
  const id = s.info.identity;
  tally(identities, id.kind === 'rpk' ? `rpk:${id.name ?? '?'}` : id.kind);
  if (pskEcho) {
    s.on('data', (d: Uint8Array) => {
      if (!s.closed) s.send(d);
    });
  }
});
server.listen(port, host, () => announceListening(server.address().port));

function stats(): string {
  const st = server.endpoint.stats;
  return (
    `ecdhe-server: clientAuth=${clientAuth} sessions=${sessions()} identities=${JSON.stringify(identities)} handshakeErrors=${handshakeErrors()} open=${server.endpoint.sessionCount} ` +
    `hvr=${st.helloVerifyRequests} started=${st.handshakesStarted} refused=${st.handshakesRefused} dropped=${st.datagramsDropped} errors=${JSON.stringify(errorCodes)} ` +
    memoryText()
  );
}
stopOnSignals(stats, () => server.close());

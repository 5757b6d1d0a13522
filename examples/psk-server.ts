/**
 * A PSK DTLS echo server. Run: `node dist/examples/psk-server.js [port]`.
 * In your project import from 'coaps/dtls' instead of the relative path.
 */
import { createServer, type PeerAddress } from '../lib/entry/dtls.js';

// The key lookup may be asynchronous (a database, a bootstrap store). It runs only after
// the client proved its address with the cookie exchange. Unknown identity -> undefined.
const keys = new Map([['Client_identity', new TextEncoder().encode('secretPSK')]]);
async function lookup(identity: Uint8Array, peer: PeerAddress): Promise<Uint8Array | undefined> {
  const name = new TextDecoder().decode(identity);
  console.log(`key lookup for "${name}" from ${peer.address}:${peer.port}`);
  return keys.get(name);
}

const port = Number(process.argv[2] ?? 5684);
const server = createServer({ psk: lookup });
server.on('session', (session) => {
  console.log(`session from ${session.peer.address}:${session.peer.port} as "${new TextDecoder().decode(session.peerIdentity)}"`);
  session.on('data', (data: Uint8Array) => session.send(data));
  session.on('close', (err?: Error) => console.log(`session closed${err ? ': ' + err.message : ''}`));
});
server.on('handshakeError', (err: Error, peer: PeerAddress) => console.log(`handshake from ${peer.address}:${peer.port} failed: ${err.message}`));
server.listen(port, '127.0.0.1', () => console.log(`DTLS PSK echo server on 127.0.0.1:${port}`));
process.on('SIGINT', () => void server.close().then(() => process.exit(0)));

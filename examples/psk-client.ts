/**
 * A PSK DTLS client: sends one message, prints the answer, closes.
 * Run: `node dist/examples/psk-client.js [port] [message]` against psk-server.js.
 * In your project import from 'coaps/dtls' instead of the relative path.
 */
import { connect, DtlsError } from '../lib/entry/dtls.js';

const port = Number(process.argv[2] ?? 5684);
const message = process.argv[3] ?? 'hello';
try {
  const session = await connect({
    host: '127.0.0.1',
    port,
    psk: { identity: new TextEncoder().encode('Client_identity'), key: new TextEncoder().encode('secretPSK') },
    retransmission: 'rfc6347', // or 'rfc7925' for constrained networks, or { initialMs, maxMs, maxRetransmits }
  });
  session.send(message);
  for await (const data of session) {
    console.log(`received: ${new TextDecoder().decode(data)}`);
    break;
  }
  await session.close();
} catch (e) {
  if (e instanceof DtlsError) console.error(`DTLS failed: ${e.code}: ${e.message}`);
  else throw e;
  process.exitCode = 1;
}

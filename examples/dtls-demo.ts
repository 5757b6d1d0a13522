/**
 * `node dist/examples/dtls-demo.js`: a loopback DTLS PSK demo. A coaps DTLS server and client on 127.0.0.1 complete a
 * TLS_PSK_WITH_AES_128_CCM_8 handshake (cookie exchange, extended master secret), exchange a
 * message each way and close with close_notify, printing every datagram as it goes.
 */
import { performance } from 'node:perf_hooks';
import { connect, createServer, describeDatagram, pskMap, type PeerAddress } from '../lib/entry/dtls.js';

const t0 = performance.now();
const ms = () => (performance.now() - t0).toFixed(1).padStart(7) + ' ms';
const say = (s: string) => console.log(`${ms()}  ${s}`);

const identity = new TextEncoder().encode('Client_identity');
const key = new TextEncoder().encode('secretPSK');

const server = createServer({
  psk: pskMap([[identity, key]]),
  trace: (dir, peer: PeerAddress, d) => say(`server ${dir === 'in' ? '<-' : '->'} ${peer.port}  ${String(d.length).padStart(4)} B  ${describeDatagram(d)}`),
});
server.on('session', (s) => {
  say(`server: session established with ${s.peer.address}:${s.peer.port}, identity "${new TextDecoder().decode(s.peerIdentity)}"`);
  s.on('data', (d: Uint8Array) => {
    say(`server: received "${new TextDecoder().decode(d)}", echoing it`);
    s.send(d);
  });
  s.on('close', () => say('server: session closed'));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const { port } = server.address();
say(`server: listening on 127.0.0.1:${port} (TLS_PSK_WITH_AES_128_CCM_8)`);

const hs = performance.now();
const session = await connect({
  host: '127.0.0.1',
  port,
  psk: { identity, key },
  trace: (dir, _peer, d) => say(`client ${dir === 'in' ? '<-' : '->'}       ${String(d.length).padStart(4)} B  ${describeDatagram(d)}`),
});
const info = session.info;
say(
  `client: connected in ${(performance.now() - hs).toFixed(1)} ms, suite 0x${info.cipherSuite.toString(16)}, ` +
    `extended master secret ${info.extendedMasterSecret ? 'yes' : 'no'}`,
);

const echoed = new Promise<string>((r) => session.once('data', (d: Uint8Array) => r(new TextDecoder().decode(d))));
session.send('hello over DTLS 1.2');
say(`client: echo came back: "${await echoed}"`);

await session.close();
say('client: sent close_notify');
await new Promise((r) => setTimeout(r, 50));
await server.close();
say('done');

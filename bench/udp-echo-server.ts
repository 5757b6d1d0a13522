/**
 * Benchmark reference server (not a test): plain UDP echo through node:dgram with the send path
 * of transports/node-dgram.ts (its synchronous literal-address lookup and its Outbox, which
 * sends once per turn of the event loop under load, at once otherwise), without DTLS. Its rate is the ceiling of our Node
 * dgram driver on this machine, and its CPU per round trip the datagram floor every DTLS record
 * exchange pays (measured with `dtls-load echo`; bench/report/suite-floors.ts, bench/dtls-psk.ts).
 *   node dist/bench/udp-echo-server.js [port] [host] [--plain]   -> prints `LISTENING <port>`
 * --plain: dgram's defaults instead (dns.lookup per send, deferred to the next tick; no batch),
 * what a Node program gets without those two measures.
 */
import { createSocket } from 'node:dgram';
import { literalLookup, Outbox } from '../transports/node-dgram.js';
import { announceListening, listenArgs, stopOnSignals } from './lib/server-process.js';

const { port, host } = listenArgs();
const plain = process.argv.includes('--plain');
const socket = plain ? createSocket('udp4') : createSocket({ type: 'udp4', lookup: literalLookup });
const outbox = new Outbox(() => socket);
socket.on(
  'message',
  plain
    ? (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address)
    : (msg, rinfo) => outbox.add({ address: rinfo.address, port: rinfo.port }, msg),
);
socket.bind(port, host, () => {
  try {
    socket.setRecvBufferSize(4 * 1024 * 1024);
    socket.setSendBufferSize(1024 * 1024);
  } catch {
    /* capped by the kernel */
  }
  announceListening(socket.address().port);
});
stopOnSignals(undefined, () => new Promise<void>((r) => socket.close(() => r())));

/**
 * Benchmark reference server (not a test): plain UDP echo through node:dgram, the same way
 * transports/node-dgram.ts receives and sends, without DTLS. Its rate is the ceiling of any
 * Node dgram driver on this machine (measured with `dtls-load echo`).
 *   node dist/bench/udp-echo-server.js [port] [host]   -> prints `LISTENING <port>`
 */
import { createSocket } from 'node:dgram';
import { announceListening, listenArgs, stopOnSignals } from './lib/server-process.js';

const { port, host } = listenArgs();
const socket = createSocket('udp4');
socket.on('message', (msg, rinfo) => {
  socket.send(msg, rinfo.port, rinfo.address);
});
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

/**
 * Benchmark reference server (not a test): plain UDP echo through node:dgram, the same way
 * transports/node-dgram.ts receives and sends, without DTLS. Its rate is the ceiling of any
 * Node dgram driver on this machine (measured with `dtls-load echo`).
 *   node dist/bench/udp-echo-server.js [port] [host]   -> prints `LISTENING <port>`
 */
import { createSocket } from 'node:dgram';

const port = Number(process.argv[2] ?? 0);
const host = process.argv[3] ?? '127.0.0.1';
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
  process.stdout.write(`LISTENING ${socket.address().port}\n`);
});
const stop = () => {
  socket.close();
  setTimeout(() => process.exit(0), 10).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();

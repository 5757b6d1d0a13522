import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIPv6 } from 'node:net';

/** The IP address to send to: an IP literal as it is, else the first address DNS gives. */
export async function resolveHost(host: string): Promise<string> {
  return isIPv6(host) || /^\d+\.\d+\.\d+\.\d+$/.test(host) ? host : (await lookup(host)).address;
}

/**
 * A UDP socket connected to one peer (a coap:// association): each datagram goes to
 * `onDatagram` as a view of Node's buffer; ICMP errors are ignored (retransmission decides).
 * The socket is returned at once, so that it can be closed while `connected` is pending.
 */
export function connectUdp(address: string, port: number, onDatagram: (data: Uint8Array) => void): { socket: Socket; connected: Promise<void> } {
  const socket = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4' });
  socket.on('message', (msg) => onDatagram(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength)));
  socket.on('error', () => undefined); // ICMP unreachable: retransmission decides
  const connected = new Promise<void>((r) => socket.connect(port, address, () => r()));
  return { socket, connected };
}

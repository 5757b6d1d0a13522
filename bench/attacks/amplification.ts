/**
 * Issue 10 finding 4: what `coaps serve` on coap:// sends back for each unauthenticated input
 * from a (forgeable) address that never answers: bytes out / bytes in. The observation is
 * measured over `observeSeconds` with --notify-ms 1000.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeBlock } from '../../lib/coap/block.js';
import { OptionNumber } from '../../lib/coap/message.js';
import { fmt, request, startServe, udpSocket, uri, type Target } from './common.js';

export async function amplification(target: Target, observeSeconds: number): Promise<string[]> {
  const token = Uint8Array.of(0x7a, 0x7a);
  const inputs: Array<[string, Uint8Array, number]> = [
    ['GET /large', request({ token, options: uri('/large') }), 2],
    ['GET /.well-known/core', request({ token, options: uri('/.well-known/core') }), 2],
    [`Observe /time (${observeSeconds} s)`, request({ token, options: [{ number: OptionNumber.Observe, value: new Uint8Array(0) }, ...uri('/time')] }), observeSeconds],
    ['GET /large Block2 NUM 1 (follow-up)', request({ token, options: [...uri('/large'), { number: OptionNumber.Block2, value: encodeBlock({ num: 1, more: false, szx: 6 }) }] }), 2],
    ['GET /hello', request({ token, options: uri('/hello') }), 2],
    ['garbage datagram (32 B)', Uint8Array.from({ length: 32 }, (_, i) => (i * 97 + 13) & 0xff), 2],
    ['malformed CON (TKL 9)', Uint8Array.of(0x49, 0x01, 0x12, 0x34, ...new Uint8Array(9)), 2],
  ];
  const s = await startServe(target, false, ['--notify-ms', '1000']);
  const out: string[] = [];
  try {
    for (const [name, data, secs] of inputs) {
      const u = await udpSocket();
      u.sock.send(data, s.port, '127.0.0.1');
      await sleep(secs * 1000);
      const bytes = u.got.reduce((n, d) => n + d.length, 0);
      await u.close();
      out.push(`${name.padEnd(36)} in ${String(data.length).padStart(3)} B, out ${String(bytes).padStart(6)} B in ${u.got.length} datagrams: x${fmt(bytes / data.length, 2)}`);
    }
  } finally {
    await s.stop();
  }
  return out;
}

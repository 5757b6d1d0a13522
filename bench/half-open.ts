/**
 * Half-open handshake flood against `coaps dtls server` on 127.0.0.1 (issue 10, finding 5):
 * attackers complete the cookie exchange from many loopback addresses and ports, then go silent
 * (no spoofing needed); meanwhile a real client connects every 100 ms. Prints, per attack rate,
 * the real clients' success rate and handshake latency, and what the server logged.
 *
 *   npm run bench -- half-open [--rates 50,200,1000] [--seconds 35] [--cli dist/lib/cli/main.js]
 *
 * `--cli` may name another build of the command (e.g. an older checkout's) to compare.
 */
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../lib/dtls/config.js';
import { ClientConnection } from '../lib/dtls/handshake/client.js';
import { connect } from '../lib/entry/dtls.js';
import { REPO_ROOT } from './lib/paths.js';
import { spawnTracked, stop } from './lib/procs.js';
import { fmt2, log } from './lib/report.js';
import { freePorts } from './lib/sys.js';

const IDENTITY = 'Client_identity';
const KEY_HEX = '73656372657450534b';
const key = Buffer.from(KEY_HEX, 'hex');

/** One half-open handshake: ClientHello, the cookie-bearing one after the HelloVerifyRequest, then silence. */
function halfOpen(port: number, n: number): void {
  const conn = new ClientConnection(resolveConfig({ psk: { identity: IDENTITY, key }, retransmission: { initialMs: 5000, maxMs: 5000, maxRetransmits: 0 } }));
  const sock = createSocket('udp4');
  const address = `127.0.${1 + ((n >> 8) % 250)}.${1 + (n % 250)}`;
  let sent = 0;
  const flush = () => {
    for (let d = conn.pollTransmit(); d; d = conn.pollTransmit()) {
      sock.send(d, port, '127.0.0.1');
      if (++sent === 2) setTimeout(() => sock.close(), 1000); // the cookie ClientHello is out: go silent
    }
  };
  sock.on('message', (m) => {
    if (sent >= 2) return; // silent from now on
    conn.handleDatagram(performance.now(), new Uint8Array(m));
    flush();
  });
  sock.on('error', () => undefined);
  sock.bind(0, address, () => {
    conn.start(performance.now());
    flush();
  });
}

async function run(cli: string, rate: number, seconds: number): Promise<{ rate: number; tried: number; ok: number; p50: number; p99: number; logLines: number; refusals: string }> {
  const port = await freePorts(1);
  const server = spawnTracked('node', [cli, 'dtls', 'server', '--listen', `127.0.0.1:${port}`, '--psk', `${IDENTITY}:${KEY_HEX}`]);
  try {
    const deadline = performance.now() + 5000;
    while (!/listening on/.test(server.err())) {
      if (performance.now() > deadline) throw new Error(`coaps dtls server did not start: ${server.err().slice(-300)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    let n = 0;
    const attack = setInterval(() => {
      for (let i = 0; i < Math.max(1, Math.round(rate / 100)); i++) halfOpen(port, n++);
    }, Math.max(10, 1000 / rate));
    const latencies: number[] = [];
    let tried = 0;
    const real: Array<Promise<void>> = [];
    const started = performance.now();
    while (performance.now() - started < seconds * 1000) {
      tried++;
      const t0 = performance.now();
      real.push(
        connect({ host: '127.0.0.1', port, psk: { identity: IDENTITY, key }, timeoutMs: 5000 }).then(
          (s) => {
            latencies.push(performance.now() - t0);
            void s.close();
          },
          () => undefined,
        ),
      );
      await new Promise((r) => setTimeout(r, 100));
    }
    clearInterval(attack);
    await Promise.all(real);
    latencies.sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
    const err = server.err();
    const refusals = (err.match(/refused .*$/gm) ?? []).slice(-1)[0] ?? 'none logged';
    if (process.env['HALF_OPEN_LOG']) log(err.split('\n').slice(0, 20).join('\n'));
    return { rate, tried, ok: latencies.length, p50: q(0.5), p99: q(0.99), logLines: err.split('\n').length, refusals };
  } finally {
    await stop(server);
  }
}

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { rates: { type: 'string', default: '50,200,1000' }, seconds: { type: 'string', default: '35' }, cli: { type: 'string' } } });
  const cli = values.cli ?? join(REPO_ROOT, 'dist/lib/cli/main.js');
  const seconds = Number(values.seconds);
  const rows: string[][] = [];
  for (const rate of values.rates.split(',').map(Number)) {
    log(`half-open flood at ${rate}/s for ${seconds} s against ${cli} ...`);
    const r = await run(cli, rate, seconds);
    log(`  ${r.ok}/${r.tried} real clients connected; last summary: ${r.refusals}`);
    rows.push([String(rate), `${r.ok}/${r.tried} (${fmt2((100 * r.ok) / r.tried)}%)`, `${fmt2(r.p50)} / ${fmt2(r.p99)}`, String(r.logLines)]);
  }
  log('\nhalf-open handshake flood (cookie exchange completed, then silence), a real client every 100 ms');
  log('| stalled handshakes/s | real clients connected | p50 / p99 handshake ms | server log lines |');
  log('|---:|---:|---:|---:|');
  for (const r of rows) log(`| ${r.join(' | ')} |`);
  return 0;
}

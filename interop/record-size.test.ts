/**
 * Small records with real peers: record_size_limit (RFC 8449) with GnuTLS, max_fragment_length
 * (RFC 6066) with OpenSSL, both directions where the peer supports it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, createServer, pskMap } from '../lib/entry/dtls.js';
import { GNUTLS_PSK_PRIORITY, LOOPBACK, PSK_HEX, PSK_IDENTITY, UdpTap, killAllPeers, portAllocator, runCleanups, runPeer, tempDir, waitFor, onCleanup } from './helpers.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const nextPort = portAllocator('record-size');
const identity = new TextEncoder().encode(PSK_IDENTITY);
const key = Buffer.from(PSK_HEX, 'hex');
const FAST = { retransmission: { initialMs: 200, maxMs: 1600, maxRetransmits: 8 } } as const;

afterEach(async () => {
  await runCleanups();
  await killAllPeers();
});

/** The extension types the ServerHello carried (epoch-0 handshake records from the server). */
function serverHelloExtensions(tap: UdpTap): number[] {
  for (const d of tap.datagrams) {
    if (d.dir !== 's2c') continue;
    const b = d.data;
    for (let o = 0; o + 13 <= b.length; ) {
      const len = (b[o + 11]! << 8) | b[o + 12]!;
      if (b[o] === 22 && b[o + 3] === 0 && b[o + 4] === 0 && b[o + 13] === 2) {
        const body = b.subarray(o + 25, o + 13 + len);
        let p = 2 + 32;
        p += 1 + body[p]!; // session id
        p += 3; // suite + compression
        const end = p + 2 + ((body[p]! << 8) | body[p + 1]!);
        const types: number[] = [];
        for (p += 2; p + 4 <= end; ) {
          types.push((body[p]! << 8) | body[p + 1]!);
          p += 4 + ((body[p + 2]! << 8) | body[p + 3]!);
        }
        return types;
      }
      o += 13 + len;
    }
  }
  return [];
}

describe('record size negotiation with real peers', () => {
  // GnuTLS 3.7 does not answer record_size_limit over DTLS: the limit is then not in effect
  // (RFC 8449 §4), and a full-size record from it must still be accepted.
  it('our client announcing record_size_limit 256 to gnutls-serv, which ignores it: larger echoes still arrive', async () => {
    const port = await nextPort();
    const dir = tempDir();
    writeFileSync(join(dir, 'keys.psk'), `${PSK_IDENTITY}:${PSK_HEX}\n`);
    const gs = runPeer('gnutls-serv', ['--udp', '--echo', '-p', String(port), '--pskpasswd', join(dir, 'keys.psk'), '--priority', GNUTLS_PSK_PRIORITY], { timeoutMs: 15_000 });
    await waitFor(() => /listening/i.test(gs.stdout + gs.stderr), 5000, 'gnutls-serv');
    const tap = await UdpTap.start(await nextPort(), port);
    onCleanup(() => tap.close());
    const s = await connect({ host: LOOPBACK, port: tap.port, psk: { identity, key }, recordSizeLimit: 256, ...FAST, timeoutMs: 8000 });
    onCleanup(() => s.close());
    const line = 'x'.repeat(299) + '\n';
    s.send(line);
    let text = '';
    s.on('data', (d: Uint8Array) => (text += new TextDecoder().decode(d)));
    await waitFor(() => text.length >= line.length, 3000, 'the whole echo');
    expect(text).toBe(line);
    expect(serverHelloExtensions(tap)).not.toContain(28);
    await s.close();
  });

  it('our client with max_fragment_length 512 to openssl s_server: echoed in the ServerHello, data flows', async () => {
    const port = await nextPort();
    const ss = runPeer('openssl', ['s_server', '-dtls1_2', '-accept', `${LOOPBACK}:${port}`, '-nocert', '-psk', PSK_HEX, '-cipher', 'PSK-AES128-CCM8', '-naccept', '1'], { timeoutMs: 15_000 });
    await waitFor(() => /ACCEPT/.test(ss.stdout), 5000, 's_server');
    const tap = await UdpTap.start(await nextPort(), port);
    onCleanup(() => tap.close());
    const s = await connect({ host: LOOPBACK, port: tap.port, psk: { identity, key }, maxFragmentLength: 512, ...FAST, timeoutMs: 8000 });
    onCleanup(() => s.close());
    s.send('mfl-512\n');
    await waitFor(() => ss.stdout.includes('mfl-512'), 3000, 's_server got the line');
    expect(serverHelloExtensions(tap)).toContain(1);
    // a record over the peer's limit fails only that send, typed, and the session goes on
    expect(s.maxRecordPayload).toBe(512);
    const failed = await new Promise<unknown>((resolve) => expect(s.send(new Uint8Array(513), resolve)).toBe(false));
    expect(failed).toMatchObject({ code: 'RECORD_TOO_LARGE' });
    s.send('still-here\n');
    await waitFor(() => ss.stdout.includes('still-here'), 3000, 's_server got the next line');
    await s.close();
  });

  it('openssl s_client -maxfraglen 512 against our server: echoed, data both ways', async () => {
    const server = createServer({ psk: pskMap([[identity, key]]), ...FAST });
    server.on('session', (sess) => sess.on('data', (d: Uint8Array) => sess.send(d)));
    const port = await nextPort();
    await new Promise<void>((r) => server.listen(port, LOOPBACK, r));
    onCleanup(() => server.close());
    const tap = await UdpTap.start(await nextPort(), port);
    onCleanup(() => tap.close());
    const sc = runPeer('openssl', ['s_client', '-dtls1_2', '-connect', `${LOOPBACK}:${tap.port}`, '-psk', PSK_HEX, '-psk_identity', PSK_IDENTITY, '-cipher', 'PSK-AES128-CCM8', '-maxfraglen', '512', '-quiet', '-no_ign_eof'], { stdin: 'mfl-from-openssl\n', timeoutMs: 10_000 });
    await waitFor(() => sc.stdout.includes('mfl-from-openssl'), 5000, 'the echo');
    expect(serverHelloExtensions(tap)).toContain(1);
  });
});

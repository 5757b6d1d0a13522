/** The DTLS server limits on the command line (lib/cli/server-limits.ts): flags to options, and a log that a flood cannot flood. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../lib/cli/args.js';
import { refusalLogger, serverLimits } from '../lib/cli/server-limits.js';

describe('server limit flags', () => {
  it('become endpoint options, checked', () => {
    expect(serverLimits({ 'max-sessions': '100000', 'max-handshakes': '5000', 'max-handshakes-per-address': '8', 'handshake-timeout': '10000' })).toEqual({
      maxSessions: 100_000,
      maxHandshakes: 5000,
      maxHandshakesPerAddress: 8,
      handshakeTimeoutMs: 10_000,
    });
    expect(serverLimits({})).toEqual({});
    expect(() => serverLimits({ 'max-sessions': '0' })).toThrow(UsageError);
    expect(() => serverLimits({ 'max-handshakes': 'many' })).toThrow(/--max-handshakes/);
  });
});

describe('refusalLogger', () => {
  it('logs the first refusal of each reason, then one summary line per interval', () => {
    const lines: string[] = [];
    let t = 0;
    const refused = refusalLogger((l) => lines.push(l), 10_000, () => t);
    for (let i = 0; i < 5000; i++) {
      t = i * 4; // 250 a second for 20 s
      refused({ address: `10.0.${i % 50}.1`, port: 1000 + i }, 'max-handshakes');
    }
    refused({ address: '10.1.0.1', port: 1 }, 'max-sessions');
    expect(lines.length).toBe(3); // the first, one summary (the second interval is not over), the other reason
    expect(lines[0]).toMatch(/^refused a handshake from 10\.0\.0\.1:1000: max-handshakes/);
    expect(lines[1]).toMatch(/^refused 2500 more handshake\(s\) from 50 address\(es\) in 10 s: max-handshakes$/);
    expect(lines[2]).toMatch(/max-sessions/);
  });
});

/**
 * `coaps serve` exposes the server's caps as flags of its flag table (issue 10, finding 2):
 * they show in --help with their defaults, parse into the server options, and bad values are
 * usage errors.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../lib/cli/args.js';
import { parseFlags } from '../lib/cli/flags.js';
import { commandHelp } from '../lib/cli/help.js';
import { SERVE } from '../lib/cli/specs/serve.js';
import { coapServerLimits } from '../lib/cli/coap-limits.js';
import { DEFAULT_SERVER_LIMITS } from '../lib/coap/limits.js';

const FLAGS = ['max-observers', 'max-observers-per-peer', 'max-pending', 'max-pending-per-peer', 'max-uploads', 'max-uploads-per-peer', 'max-upload-bytes', 'max-body-size', 'max-message-size', 'amplification-factor'];

describe('coaps serve: caps as flags', () => {
  it('--help lists every cap with its default', () => {
    const help = commandHelp(SERVE);
    for (const f of FLAGS) expect(help, f).toContain(`--${f}`);
    expect(help).toContain(String(DEFAULT_SERVER_LIMITS.maxObserversPerPeer));
  });

  it('the flags become the server options', () => {
    const { values } = parseFlags(SERVE, ['--listen', '127.0.0.1:5683', '--max-observers-per-peer', '2', '--max-uploads', '7', '--max-body-size', '4096', '--max-message-size', '512', '--max-pending-per-peer', '3', '--amplification-factor', '2']);
    const o = coapServerLimits(values);
    expect(o.limits).toMatchObject({ maxObserversPerPeer: 2, maxUploads: 7, maxPendingRequestsPerPeer: 3, maxObservers: DEFAULT_SERVER_LIMITS.maxObservers });
    expect(o.maxBodySize).toBe(4096);
    expect(o.maxMessageSize).toBe(512);
    expect(o.amplificationFactor).toBe(2);
  });

  it('zero, negative or non-numeric caps are usage errors naming the flag', () => {
    for (const bad of ['0', '-1', 'many', '1.5']) {
      const { values } = parseFlags(SERVE, ['--listen', '127.0.0.1:5683', `--max-observers=${bad}`]);
      expect(() => coapServerLimits(values)).toThrow(UsageError);
      expect(() => coapServerLimits(values)).toThrow(/--max-observers/);
    }
    const { values } = parseFlags(SERVE, ['--listen', '127.0.0.1:5683', '--max-message-size', '40']);
    expect(() => coapServerLimits(values)).toThrow(/--max-message-size/);
  });
});

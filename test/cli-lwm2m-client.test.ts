/**
 * `coaps lwm2m client` with RFC 9146 Connection ID and session resumption (lib/cli/specs/lwm2m.ts,
 * lib/cli/lwm2m.ts): `--cid [LEN]` (0..255, 0 without LEN), `--tickets`, `--sessions FILE`, in
 * the help and parsed from the flag table; a LEN out of range is a usage error (exit 2) before
 * anything opens. The live restart (a second process resumes from the FILE) is
 * interop/cli-lwm2m-sessions.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../lib/cli/commands.js';
import { dispatch } from '../lib/cli/dispatch.js';
import { parseFlags } from '../lib/cli/flags.js';
import { commandHelp } from '../lib/cli/help.js';
import { LWM2M_CLIENT } from '../lib/cli/specs/lwm2m.js';

const BASE = ['--endpoint', 'ep1', '--bootstrap', 'coaps://127.0.0.1:5784', '--psk', 'ep1-bs:73656372657450534b'];

async function run(argv: string[]) {
  let out = '';
  let err = '';
  const code = await dispatch(argv, { out: (s) => (out += s), err: (s) => (err += s) }, COMMANDS);
  return { code, out, err };
}

describe('coaps lwm2m client: --cid, --tickets, --sessions', () => {
  it('are in --help, with an example', () => {
    const help = commandHelp(LWM2M_CLIENT);
    expect(help).toContain('--cid [LEN]');
    expect(help).toContain('--tickets');
    expect(help).toContain('--sessions FILE');
    expect(help).toMatch(/^ {2}coaps lwm2m client .* --cid --sessions \S+$/m);
  });

  it('are off without the flags', () => {
    expect(parseFlags(LWM2M_CLIENT, BASE).values).toMatchObject({ cid: undefined, tickets: false, sessions: undefined });
  });

  it('--cid takes an optional LEN (0 without it), --sessions a FILE', () => {
    expect(parseFlags(LWM2M_CLIENT, [...BASE, '--cid']).values.cid).toBe('0');
    expect(parseFlags(LWM2M_CLIENT, [...BASE, '--cid', '8']).values.cid).toBe('8');
    expect(parseFlags(LWM2M_CLIENT, [...BASE, '--cid=2']).values.cid).toBe('2');
    expect(parseFlags(LWM2M_CLIENT, [...BASE, '--cid', '--sessions', 's.json', '--tickets']).values).toMatchObject({ cid: '0', sessions: 's.json', tickets: true });
    expect(parseFlags(LWM2M_CLIENT, [...BASE, '--sessions', 's.json', '--cid', '--queue']).values).toMatchObject({ cid: '0', sessions: 's.json', queue: true });
  });

  it('--sessions without FILE, or --tickets with a value, is a usage error', async () => {
    expect((await run(['lwm2m', 'client', ...BASE, '--sessions'])).code).toBe(2);
    expect((await run(['lwm2m', 'client', ...BASE, '--tickets=yes'])).code).toBe(2);
  });

  it('a LEN outside 0..255 is a usage error before anything opens', async () => {
    // would bind a socket and wait for a signal if it got past its arguments
    for (const len of ['256', '1000']) {
      expect(await run(['lwm2m', 'client', ...BASE, '--cid', len])).toEqual({
        code: 2,
        out: '',
        err: "coaps lwm2m client: --cid must be an integer in 0..255\nrun 'coaps lwm2m client --help' for usage\n",
      });
    }
  });
});

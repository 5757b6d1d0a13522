/**
 * The `coaps` command line: every command's flag table drives both its parser and its help, so
 * the help lists every flag the parser accepts (and the parser rejects every other), `--help`
 * answers without running the command, usage errors name the culprit and end with the
 * `--help` hint (exit 2), and every example in the help parses. Then the built CLI
 * (dist/lib/cli/main.js, from `npm run build`) answers `--help` on every command.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../lib/cli/args.js';
import { COMMANDS, type Command } from '../lib/cli/commands.js';
import { dispatch } from '../lib/cli/dispatch.js';
import { commandName, commandSpec, flagSynopsis, parseFlags, type CommandSpec } from '../lib/cli/flags.js';
import { commandHelp, usageLine } from '../lib/cli/help.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist/lib/cli/main.js');

/** Runs `coaps ARGV` with commands that only record that they ran. */
async function run(argv: string[], commands: readonly Command[] = fakes().commands) {
  let out = '';
  let err = '';
  const code = await dispatch(argv, { out: (s) => (out += s), err: (s) => (err += s) }, commands);
  return { code, out, err };
}

function fakes() {
  const ran: string[][] = [];
  const commands = COMMANDS.map((c) => ({ spec: c.spec, run: async (argv: string[]) => (ran.push([...c.spec.path, ...argv]), 0) }));
  return { ran, commands };
}

/** The words of an example after `coaps` and the command's path (the examples have no quoting). */
function exampleArgs(spec: CommandSpec, example: string): string[] {
  const words = example.split(/\s+/);
  expect(words.slice(0, 1 + spec.path.length), example).toEqual(['coaps', ...spec.path]);
  return words.slice(1 + spec.path.length);
}

const usageErrorOf = (f: () => unknown): UsageError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error('no UsageError');
};

const names = COMMANDS.map((c) => c.spec.path.join(' '));

describe('the command table', () => {
  it('has every command of the brief', () => {
    expect(names).toEqual(['dtls server', 'dtls client', 'get', 'put', 'post', 'delete', 'serve', 'lwm2m client', 'lwm2m bootstrap-server', 'lwm2m server']);
  });

  it.each(names)('%s: flag names and letters are unique, none is help or h, each has an argument placeholder when it takes one', (name) => {
    const { flags } = COMMANDS.find((c) => c.spec.path.join(' ') === name)!.spec;
    expect(new Set(flags.map((f) => f.name)).size).toBe(flags.length);
    const shorts = flags.flatMap((f) => (f.short ? [f.short] : []));
    expect(new Set(shorts).size).toBe(shorts.length);
    expect(flags.map((f) => f.name)).not.toContain('help');
    expect(shorts).not.toContain('h');
    for (const f of flags) {
      expect(f.description, f.name).toMatch(/\S/);
      expect(f.description, f.name).not.toContain('\n');
      expect(f.arg !== undefined, f.name).toBe(f.kind !== 'boolean');
    }
  });
});

describe.each(COMMANDS.map((c) => [c.spec.path.join(' '), c.spec] as const))('coaps %s', (_name, spec) => {
  const help = commandHelp(spec);

  it('help: the usage line, every flag with its argument, description and default, examples', () => {
    expect(help.startsWith(`usage: ${usageLine(spec)}\n`)).toBe(true);
    expect(usageLine(spec).startsWith(commandName(spec))).toBe(true);
    for (const f of spec.flags) {
      const line = help.split('\n').find((l) => l.includes(`${flagSynopsis(f)} `) && l.includes(f.description));
      expect(line, `--${f.name} in\n${help}`).toBeDefined();
      if (f.short) expect(line).toContain(`-${f.short}, --${f.name}`);
      if (f.default !== undefined) expect(line).toContain(`[default: ${f.default}]`);
      if (f.required) expect(usageLine(spec)).toContain(flagSynopsis(f));
    }
    for (const p of spec.positionals ?? []) expect(usageLine(spec)).toContain(p.name);
    expect(help).toContain('-h, --help');
    expect(spec.examples.length).toBeGreaterThan(0);
    for (const e of spec.examples) expect(help).toContain(`\n  ${e}\n`);
  });

  it('every example parses through the same parser', () => {
    for (const e of spec.examples) {
      const p = parseFlags(spec, exampleArgs(spec, e));
      expect(p.help, e).toBe(false);
    }
  });

  it('the parser accepts exactly the flags of the table (every one is in the help)', () => {
    const known = new Set(spec.flags.flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])]));
    const base = exampleArgs(spec, spec.examples[0]!);
    for (const f of spec.flags) {
      const arg = f.kind === 'boolean' ? [] : [f.kind === 'optional' ? '3' : 'x'];
      expect(() => parseFlags(spec, [...base, `--${f.name}`, ...arg]), f.name).not.toThrow();
      if (f.short) expect(() => parseFlags(spec, [...base, `-${f.short}`, ...arg]), f.short).not.toThrow();
      expect(help).toContain(`--${f.name}`);
    }
    fc.assert(
      fc.property(fc.oneof(fc.stringMatching(/^--[a-z][a-z-]{0,12}$/), fc.stringMatching(/^-[a-z]$/)), (flag) => {
        fc.pre(!known.has(flag) && flag !== '-h' && flag !== '--help');
        const e = usageErrorOf(() => parseFlags(spec, [...base, flag]));
        expect(e.message).toBe(`unknown option '${flag}'`);
        expect(e.hint).toBe(`run '${commandName(spec)} --help' for usage`);
      }),
    );
  });

  it('--help, -h and `coaps help ...` print the help on stdout, exit 0, and do not run the command', async () => {
    const base = exampleArgs(spec, spec.examples[0]!);
    for (const argv of [
      [...spec.path, '--help'],
      [...spec.path, '-h'],
      [...spec.path, ...base, '--help'],
      [...spec.path, '--bogus', '-h'],
      ['help', ...spec.path],
    ]) {
      const { ran, commands } = fakes();
      const r = await run(argv, commands);
      expect(r, argv.join(' ')).toEqual({ code: 0, out: help, err: '' });
      expect(ran).toEqual([]);
    }
  });

  it('an unknown flag: exit 2, stderr names it and ends with the --help hint; nothing runs', async () => {
    const { ran, commands } = fakes();
    const r = await run([...spec.path, ...exampleArgs(spec, spec.examples[0]!), '--no-such-flag'], commands);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe(`${commandName(spec)}: unknown option '--no-such-flag'\nrun '${commandName(spec)} --help' for usage\n`);
    expect(ran).toEqual([]);
  });

  it('a valid command line runs the command with the words after its path', async () => {
    const { ran, commands } = fakes();
    const args = exampleArgs(spec, spec.examples[0]!);
    expect(await run([...spec.path, ...args], commands)).toEqual({ code: 0, out: '', err: '' });
    expect(ran).toEqual([[...spec.path, ...args]]);
  });
});

describe('the parser', () => {
  const spec = commandSpec({
    path: ['t'],
    summary: 'test',
    positionals: [{ name: 'URL', description: 'u' }],
    flags: [
      { name: 'name', short: 'n', kind: 'string', arg: 'X', description: 'd' },
      { name: 'many', kind: 'list', arg: 'X', description: 'd' },
      { name: 'wait', kind: 'string', arg: 'MS', default: '500', description: 'd' },
      { name: 'count', kind: 'optional', arg: 'N', accepts: /^\d+$/, implicit: '0', description: 'd' },
      { name: 'verbose', short: 'v', kind: 'boolean', description: 'd' },
      { name: 'quiet', short: 'q', kind: 'boolean', description: 'd' },
    ],
    examples: ['coaps t u'],
  });

  it('reads every form: --x v, --x=v, -x v, -xv, grouped letters, repeats, defaults, --', () => {
    const p = parseFlags(spec, ['--name', 'a', '--many=1', '--many', '2', 'u', '-qv', '--name=-b']);
    expect(p).toEqual({ help: false, positionals: ['u'], values: { name: '-b', many: ['1', '2'], wait: '500', count: undefined, verbose: true, quiet: true } });
    expect(parseFlags(spec, ['-nfoo', '-q', '--', '--not-a-flag']).values.name).toBe('foo');
    expect(parseFlags(spec, ['-n', 'foo', '--', '--not-a-flag']).positionals).toEqual(['--not-a-flag']);
    expect(parseFlags(spec, ['-vnbar', 'u']).values).toMatchObject({ verbose: true, name: 'bar' });
  });

  it('an optional argument is taken only when it looks like one', () => {
    expect(parseFlags(spec, ['--count', '5', 'u']).values.count).toBe('5');
    expect(parseFlags(spec, ['--count', 'u']).values.count).toBe('0');
    expect(parseFlags(spec, ['u', '--count']).values.count).toBe('0');
    expect(parseFlags(spec, ['--count=7', 'u']).values.count).toBe('7');
  });

  it('usage errors say what is wrong', () => {
    const msg = (argv: string[]) => usageErrorOf(() => parseFlags(spec, argv)).message;
    expect(msg(['u', '--name'])).toBe('--name needs an argument: --name X');
    expect(msg(['u', '--name', '--verbose'])).toMatch(/^--name needs an argument: --name X \(to give one that starts with '-', write --name=--verbose\)$/);
    expect(msg(['u', '--verbose=yes'])).toBe('--verbose takes no argument');
    expect(msg(['u', '-x'])).toBe("unknown option '-x'");
    expect(msg([])).toBe('missing URL');
    expect(msg(['u', 'w'])).toBe("unexpected argument 'w'");
    const required = commandSpec({ ...spec, positionals: [], flags: [{ name: 'listen', kind: 'string', arg: 'HOST:PORT', required: true, description: 'd' }, ...spec.flags], anyOf: [['name', 'many']] });
    expect(usageErrorOf(() => parseFlags(required, ['--name', 'a'])).message).toBe('missing --listen HOST:PORT');
    expect(usageErrorOf(() => parseFlags(required, ['--listen', 'h:1'])).message).toBe('needs --name or --many');
    expect(parseFlags(required, ['--listen', 'h:1', '--many', 'm']).values.listen).toBe('h:1');
    expect(usageLine(required)).toBe('coaps t --listen HOST:PORT (--name X | --many X) [options]');
  });

  it('never throws anything but UsageError', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom('--name', '--many', '--count', '-v', '-qn', '--', '-', '--wait=', '5', 'u'), fc.string())), (argv) => {
        try {
          parseFlags(spec, argv);
        } catch (e) {
          expect(e).toBeInstanceOf(UsageError);
        }
      }),
    );
  });
});

describe('coaps, coaps help, groups', () => {
  it('coaps --help, -h and help list every command and exit 0', async () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      expect(r.err).toBe('');
      expect(r.out.startsWith('usage: coaps <command> [options]\n')).toBe(true);
      for (const c of COMMANDS) expect(r.out).toContain(`  ${usageLine(c.spec)}\n      ${c.spec.summary}\n`);
    }
  });

  it('coaps help dtls, coaps lwm2m --help: the group', async () => {
    const dtls = await run(['help', 'dtls']);
    expect(dtls.code).toBe(0);
    expect(dtls.out.startsWith('usage: coaps dtls <command> [options]\n')).toBe(true);
    expect(dtls.out).toContain('coaps dtls server --listen');
    expect(dtls.out).not.toContain('coaps lwm2m');
    const lwm2m = await run(['lwm2m', '--help']);
    expect(lwm2m.code).toBe(0);
    expect(lwm2m.out).toContain('coaps lwm2m bootstrap-server --config FILE');
  });

  it('usage errors: exit 2 on stderr with the hint of the closest help', async () => {
    expect(await run([])).toEqual({ code: 2, out: '', err: "coaps: no command given\nrun 'coaps --help' for usage\n" });
    expect(await run(['frobnicate'])).toEqual({ code: 2, out: '', err: "coaps: unknown command 'frobnicate'\nrun 'coaps --help' for usage\n" });
    expect(await run(['help', 'dtls', 'nope'])).toEqual({ code: 2, out: '', err: "coaps: no command 'dtls nope'\nrun 'coaps --help' for usage\n" });
    expect(await run(['dtls'])).toEqual({ code: 2, out: '', err: "coaps dtls: missing command (server, client)\nrun 'coaps dtls --help' for usage\n" });
    expect(await run(['lwm2m', 'nope'])).toEqual({ code: 2, out: '', err: "coaps lwm2m: unknown command 'nope' (client, bootstrap-server, server)\nrun 'coaps lwm2m --help' for usage\n" });
  });

  it("a UsageError the command throws while running gets the command's hint", async () => {
    const commands = COMMANDS.map((c) => ({
      spec: c.spec,
      run: async () => {
        throw new UsageError('--psk key must be hex');
      },
    }));
    const r = await run(['serve', '--listen', '127.0.0.1:5683'], commands);
    expect(r).toEqual({ code: 2, out: '', err: "coaps serve: --psk key must be hex\nrun 'coaps serve --help' for usage\n" });
  });

  it('the real commands check their arguments before doing anything', async () => {
    // would bind a socket and wait for a signal if it got past its arguments
    expect((await run(['dtls', 'server', '--listen', '127.0.0.1:5684', '--psk', 'id:zz'], COMMANDS)).err).toBe(
      "coaps dtls server: --psk key must be hex (e.g. 73656372657450534b)\nrun 'coaps dtls server --help' for usage\n",
    );
    expect((await run(['get', 'http://x/'], COMMANDS)).err).toBe("coaps get: URL must start with coap:// or coaps://\nrun 'coaps get --help' for usage\n");
    expect((await run(['lwm2m', 'client', '--endpoint', 'e', '--bootstrap', 'coap://h:1', '--psk', 'a:00'], COMMANDS)).code).toBe(2);
  });
});

describe('README.md, Command line', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Command line\n'), readme.indexOf('\n## ', readme.indexOf('\n## Command line\n') + 1));
  const lines = section.split('\n').filter((l) => l.startsWith('npx coaps '));

  it('every `npx coaps` line names a command and parses through its parser', () => {
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) {
      const words = line.replace(/\s+#.*$/, '').split(/\s+/).slice(2);
      const cmd = COMMANDS.find((c) => c.spec.path.every((w, i) => words[i] === w));
      expect(cmd, line).toBeDefined();
      expect(parseFlags(cmd!.spec, words.slice(cmd!.spec.path.length)).help, line).toBe(false);
    }
  });
});

// `npm install` builds dist/ (prepare); locally, `npm run build` first.
describe.skipIf(!existsSync(CLI) && !process.env.CI)('the built CLI (dist/lib/cli/main.js)', () => {
  const cli = (...argv: string[]) => spawnSync(process.execPath, [CLI, ...argv], { encoding: 'utf8', timeout: 20_000 });
  const stale = '(is dist/ built from this tree? npm run build)';

  it.each([...names, ''])("coaps '%s' --help: exit 0, the usage line on stdout", (name) => {
    const spec = COMMANDS.find((c) => c.spec.path.join(' ') === name)?.spec;
    const r = cli(...(name ? name.split(' ') : []), '--help');
    expect(r.status, `${r.stderr} ${stale}`).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')[0]).toBe(spec ? `usage: ${usageLine(spec)}` : 'usage: coaps <command> [options]');
  });

  it('coaps help dtls client; a usage error exits 2 with the hint on stderr', () => {
    const help = cli('help', 'dtls', 'client');
    expect(help.status, stale).toBe(0);
    expect(help.stdout).toBe(commandHelp(COMMANDS[1]!.spec));
    const bad = cli('dtls', 'server', '--help-me');
    expect(bad.status, stale).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe("coaps dtls server: unknown option '--help-me'\nrun 'coaps dtls server --help' for usage\n");
  });
});

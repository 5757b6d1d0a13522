import { UsageError } from './args.js';

/**
 * How a flag takes its argument: `boolean` takes none; `string` takes one (the last one given
 * wins); `list` takes one and may be repeated; `optional` takes one only when the next word
 * matches `accepts`, else it is `implicit`.
 */
export type FlagKind = 'boolean' | 'string' | 'list' | 'optional';

/** One row of a command's flag table: the parser and the help text both read it. */
export interface Flag {
  /** Long name, without the dashes. */
  readonly name: string;
  /** One letter, without the dash. */
  readonly short?: string;
  readonly kind: FlagKind;
  /** The argument's placeholder in help and errors (every kind but `boolean`). */
  readonly arg?: string;
  /** One line. */
  readonly description: string;
  /** The value when the flag is absent; shown in the help. */
  readonly default?: string;
  /** `optional` only: the value when the flag comes without an argument. */
  readonly implicit?: string;
  /** `optional` only: what the next word must look like to be taken as the argument. */
  readonly accepts?: RegExp;
  readonly required?: boolean;
}

export interface Positional {
  readonly name: string;
  readonly description: string;
}

/** A command: its flags, its positionals (all required), and what its help says. */
export interface CommandSpec<Fs extends readonly Flag[] = readonly Flag[]> {
  /** The words after `coaps`, e.g. ['dtls', 'server']. */
  readonly path: readonly string[];
  readonly summary: string;
  readonly positionals?: readonly Positional[];
  readonly flags: Fs;
  /** Each entry: at least one of these flags must be given. */
  readonly anyOf?: readonly (readonly Fs[number]['name'][])[];
  /** Complete command lines, each starting with `coaps`; the tests parse them. */
  readonly examples: readonly string[];
  readonly notes?: readonly string[];
}

type ValueOf<F extends Flag> = F extends { kind: 'boolean' }
  ? boolean
  : F extends { kind: 'list' }
    ? string[]
    : F extends { default: string } | { required: true }
      ? string
      : string | undefined;

export type FlagValues<Fs extends readonly Flag[]> = { -readonly [F in Fs[number] as F['name']]: ValueOf<F> };

export interface Parsed<Fs extends readonly Flag[]> {
  /** `--help` or `-h` was given: nothing else was checked. */
  help: boolean;
  values: FlagValues<Fs>;
  positionals: string[];
}

/** Declares a command with its flag names kept as literal types (so `values.listen` type-checks). */
export function commandSpec<const Fs extends readonly Flag[]>(spec: CommandSpec<Fs>): CommandSpec<Fs> {
  return spec;
}

export const HELP_FLAGS = ['--help', '-h'];

/** `coaps dtls server` */
export const commandName = (spec: Pick<CommandSpec, 'path'>) => ['coaps', ...spec.path].join(' ');

/** How a flag is written in usage lines and errors: `--psk IDENTITY:HEXKEY`, `--observe [COUNT]`. */
export function flagSynopsis(f: Flag): string {
  if (f.kind === 'boolean') return `--${f.name}`;
  return f.kind === 'optional' ? `--${f.name} [${f.arg}]` : `--${f.name} ${f.arg}`;
}

/**
 * Parses `argv` (the words after the command's path) against the command's flag table.
 * Accepts `--name value`, `--name=value`, `-x value`, `-xvalue`, grouped short booleans and
 * `--` before positionals. Throws UsageError (naming the command, for the `--help` hint).
 */
export function parseFlags<Fs extends readonly Flag[]>(spec: CommandSpec<Fs>, argv: readonly string[]): Parsed<Fs> {
  const end = argv.indexOf('--');
  const help = (end < 0 ? argv : argv.slice(0, end)).some((a) => HELP_FLAGS.includes(a));
  const values: Record<string, string | string[] | boolean | undefined> = {};
  for (const f of spec.flags) values[f.name] = f.kind === 'boolean' ? false : f.kind === 'list' ? [] : f.default;
  const out = { help, values: values as FlagValues<Fs>, positionals: [] as string[] };
  if (help) return out;

  const fail = (message: string): never => {
    throw new UsageError(message, commandName(spec));
  };
  const seen = new Set<string>();
  const set = (f: Flag, v: string | true) => {
    seen.add(f.name);
    if (f.kind === 'list') (values[f.name] as string[]).push(v as string);
    else values[f.name] = v;
  };
  /** A flag's argument: inline (`--x=v`, `-xv`) or the next word, which must not look like a flag. */
  const argument = (f: Flag, written: string, inline: string | undefined, i: number): [string, number] => {
    if (inline !== undefined) return [inline, i];
    const next = argv[i + 1];
    if (next === undefined) fail(`${written} needs an argument: ${flagSynopsis(f)}`);
    if (next!.startsWith('-') && next !== '-') fail(`${written} needs an argument: ${flagSynopsis(f)} (to give one that starts with '-', write --${f.name}=${next})`);
    return [next!, i + 1];
  };
  const take = (f: Flag, written: string, inline: string | undefined, i: number): number => {
    if (f.kind === 'boolean') {
      if (inline !== undefined) fail(`${written} takes no argument`);
      set(f, true);
      return i;
    }
    if (f.kind === 'optional' && inline === undefined) {
      const next = argv[i + 1];
      if (next !== undefined && f.accepts?.test(next)) {
        set(f, next);
        return i + 1;
      }
      set(f, f.implicit ?? '');
      return i;
    }
    const [v, j] = argument(f, written, inline, i);
    set(f, v);
    return j;
  };

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const f = spec.flags.find((x) => x.name === name);
      if (!f) fail(`unknown option '--${name}'`);
      i = take(f!, `--${name}`, eq < 0 ? undefined : a.slice(eq + 1), i);
    } else if (a.startsWith('-') && a !== '-') {
      // -v, -f FILE, -fFILE, -qv
      for (let k = 1; k < a.length; k++) {
        const f = spec.flags.find((x) => x.short === a[k]);
        if (!f) fail(`unknown option '-${a[k]}'`);
        if (f!.kind === 'boolean') {
          set(f!, true);
          continue;
        }
        i = take(f!, `-${a[k]}`, k + 1 < a.length ? a.slice(k + 1) : undefined, i);
        break;
      }
    } else out.positionals.push(a);
  }

  const want = spec.positionals ?? [];
  if (out.positionals.length > want.length) fail(`unexpected argument '${out.positionals[want.length]}'`);
  if (out.positionals.length < want.length) fail(`missing ${want[out.positionals.length]!.name}`);
  for (const f of spec.flags) if (f.required && !seen.has(f.name)) fail(`missing ${flagSynopsis(f)}`);
  for (const group of spec.anyOf ?? []) {
    if (!group.some((n) => seen.has(n))) fail(`needs ${group.map((n) => `--${n}`).join(' or ')}`);
  }
  return out;
}

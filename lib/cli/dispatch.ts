import { UsageError } from './args.js';
import { COMMANDS, type Command } from './commands.js';
import { commandName, HELP_FLAGS, parseFlags } from './flags.js';
import { commandHelp, overviewHelp } from './help.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const isHelp = (a: string | undefined) => a !== undefined && HELP_FLAGS.includes(a);
const startsWith = (argv: readonly string[], path: readonly string[]) => path.every((w, i) => argv[i] === w);

/** The commands whose path starts with `group` (`dtls` → dtls server, dtls client). */
const groupOf = (commands: readonly Command[], group: string) => commands.filter((c) => c.spec.path.length > 1 && c.spec.path[0] === group);

function overview(commands: readonly Command[], group?: string): string {
  const specs = (group ? groupOf(commands, group) : commands).map((c) => c.spec);
  // a group shows each command's first example; the overview one per first word, and `coaps help ...`
  const examples = specs.filter((s, i) => group || i === 0 || s.path[0] !== specs[i - 1]!.path[0]).map((s) => s.examples[0]!);
  if (!group) examples.push(`coaps help ${specs[0]!.path.join(' ')}`);
  return overviewHelp(specs, examples, group);
}

/** `coaps help [WORDS...]`: the help of the command or group the words name. */
function helpFor(words: readonly string[], commands: readonly Command[]): string {
  if (words.length === 0) return overview(commands);
  const cmd = commands.find((c) => startsWith(words, c.spec.path));
  if (cmd) return commandHelp(cmd.spec);
  if (words.length === 1 && groupOf(commands, words[0]!).length) return overview(commands, words[0]);
  throw new UsageError(`no command '${words.join(' ')}'`, 'coaps');
}

/**
 * Runs `coaps ARGV`: the command's help for `--help`/`-h`/`coaps help ...` (stdout, 0), a
 * usage error with a `--help` hint (stderr, 2), else the command's own exit code. Other
 * errors propagate.
 */
export async function dispatch(argv: readonly string[], io: Io, commands: readonly Command[] = COMMANDS): Promise<number> {
  try {
    if (argv.length === 0) throw new UsageError('no command given', 'coaps');
    if (isHelp(argv[0]) || argv[0] === 'help') {
      io.out(helpFor(argv.slice(1), commands));
      return 0;
    }
    const cmd = commands.find((c) => startsWith(argv, c.spec.path));
    if (!cmd) {
      const group = groupOf(commands, argv[0]!);
      if (!group.length) throw new UsageError(`unknown command '${argv[0]}'`, 'coaps');
      if (isHelp(argv[1])) {
        io.out(overview(commands, argv[0]));
        return 0;
      }
      const names = group.map((c) => c.spec.path[1]).join(', ');
      throw new UsageError(argv[1] === undefined ? `missing command (${names})` : `unknown command '${argv[1]}' (${names})`, `coaps ${argv[0]}`);
    }
    const rest = argv.slice(cmd.spec.path.length);
    if (parseFlags(cmd.spec, rest).help) {
      io.out(commandHelp(cmd.spec));
      return 0;
    }
    try {
      return await cmd.run(rest);
    } catch (e) {
      if (e instanceof UsageError) e.command ??= commandName(cmd.spec);
      throw e;
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`${e.command ?? 'coaps'}: ${e.message}\n${e.hint}\n`);
    return 2;
  }
}

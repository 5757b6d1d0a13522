import { commandName, flagSynopsis, type CommandSpec, type Flag } from './flags.js';

/** `coaps dtls server --listen HOST:PORT (--psk IDENTITY:HEXKEY | --key KEY) [options]` */
export function usageLine(spec: CommandSpec): string {
  const parts = [commandName(spec), ...(spec.positionals ?? []).map((p) => p.name)];
  for (const f of spec.flags) if (f.required) parts.push(flagSynopsis(f));
  for (const group of spec.anyOf ?? []) {
    const flags = group.map((n) => spec.flags.find((f) => f.name === n)!);
    parts.push(`(${flags.map(flagSynopsis).join(' | ')})`);
  }
  parts.push('[options]');
  return parts.join(' ');
}

const HELP_ROW: [string, string] = ['-h, --help', 'show this help and exit'];

function flagRow(f: Flag): [string, string] {
  const left = `${f.short ? `-${f.short}, ` : '    '}${flagSynopsis(f)}`;
  const notes = [f.kind === 'list' ? 'repeatable' : '', f.required ? 'required' : '', f.default !== undefined ? `default: ${f.default}` : ''].filter(Boolean);
  return [left, [f.description, ...notes.map((n) => `[${n}]`)].join(' ')];
}

function table(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`);
}

/** What `coaps <command> --help` prints. */
export function commandHelp(spec: CommandSpec): string {
  const lines = [`usage: ${usageLine(spec)}`, '', spec.summary];
  if (spec.positionals?.length) lines.push('', 'arguments:', ...table(spec.positionals.map((p) => [p.name, p.description])));
  lines.push('', 'options:', ...table([...spec.flags.map(flagRow), HELP_ROW]));
  if (spec.notes?.length) lines.push('', ...spec.notes);
  lines.push('', 'examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}

/** What `coaps --help` (or `coaps dtls --help`, for a group) prints: every command's usage line and summary. */
export function overviewHelp(specs: readonly CommandSpec[], examples: readonly string[], group?: string): string {
  const prefix = group ? `coaps ${group}` : 'coaps';
  const lines = [`usage: ${prefix} <command> [options]`, '', 'commands:'];
  for (const s of specs) lines.push(`  ${usageLine(s)}`, `      ${s.summary}`);
  lines.push(
    '',
    'options:',
    ...table([HELP_ROW]),
    '',
    `'${prefix} <command> --help' or 'coaps help ${group ? `${group} ` : ''}<command>' lists a command's options and examples.`,
    '',
    'examples:',
    ...examples.map((e) => `  ${e}`),
  );
  return lines.join('\n') + '\n';
}

import { Help, type Command } from 'commander';

/**
 * The flag tables of docs/cli.md, rendered from the commander program so that they cannot drift from it:
 * each command's arguments and options (with commander's choices and defaults, as `--help` shows them) go
 * between `<!-- flags:<command>:start -->` and `<!-- flags:<command>:end -->`, `attribution` naming the
 * program's own options. Regenerate with `pnpm --filter @attribution/cli gen-docs`.
 */

/** Text for a markdown table cell outside code: pipes, HTML, emphasis and VitePress's `{{` escaped. */
function cellText(text: string): string {
  return text
    .replace(/[\\`*_[\]|]/g, (c) => `\\${c}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\{\{|\}\}/g, (braces) => `<code v-pre>${braces}</code>`);
}

/** Text for inline code in a table cell: only pipes need escaping (a code span cannot hold a backtick here). */
const cellCode = (text: string): string => `\`${text.replace(/\|/g, '\\|')}\``;

/** The markdown table of `cmd`'s arguments and options, one row each, in the order of `--help`. */
export function flagTable(cmd: Command): string {
  const help = new Help();
  const rows = [
    ...cmd.registeredArguments.map((a) => [cellCode(a.required ? `<${a.name()}>` : `[${a.name()}]`), cellText(help.argumentDescription(a))]),
    ...help.visibleOptions(cmd).map((o) => [cellCode(o.flags), cellText(help.optionDescription(o))]),
  ];
  return ['| argument or flag | meaning |', '| --- | --- |', ...rows.map(([flag, meaning]) => `| ${flag} | ${meaning} |`)].join('\n');
}

const marker = (name: string, end: 'start' | 'end'): string => `<!-- flags:${name}:${end} -->`;

/** The commands with a flag table: the program itself (`attribution`) and each subcommand, by name. */
export function documentedCommands(program: Command): Map<string, Command> {
  return new Map([[program.name(), program], ...program.commands.map((c): [string, Command] => [c.name(), c])]);
}

/**
 * `markdown` with every flag table replaced by the one rendered from `program`. Throws when a command has
 * no markers, or markers name no command, so that a new subcommand cannot go undocumented.
 */
export function renderFlagTables(markdown: string, program: Command): string {
  const commands = documentedCommands(program);
  const missing = [...commands.keys()].filter((name) => !markdown.includes(marker(name, 'start')) || !markdown.includes(marker(name, 'end')));
  if (missing.length) throw new Error(`docs/cli.md has no flag table for ${missing.join(', ')}: add ${missing.map((m) => `${marker(m, 'start')} ${marker(m, 'end')}`).join(', ')}`);
  const unknown = [...markdown.matchAll(/<!-- flags:([^:]+):start -->/g)].map((m) => m[1] as string).filter((name) => !commands.has(name));
  if (unknown.length) throw new Error(`docs/cli.md has flag tables for commands that do not exist: ${unknown.join(', ')}`);
  let text = markdown;
  for (const [name, cmd] of commands) {
    const start = text.indexOf(marker(name, 'start')) + marker(name, 'start').length;
    const end = text.indexOf(marker(name, 'end'), start);
    if (end < 0) throw new Error(`docs/cli.md: ${marker(name, 'end')} must follow ${marker(name, 'start')}`);
    text = `${text.slice(0, start)}\n\n${flagTable(cmd)}\n\n${text.slice(end)}`;
  }
  return text;
}

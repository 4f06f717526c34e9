import fs from 'node:fs';
import { Command, Help, type ErrorOptions, type Option } from 'commander';

/**
 * Options a command cannot run without. They are checked in a `preAction` hook (see {@link checkUsage}), not
 * by commander's `requiredOption`, so that a misspelt option (`--methd`) and a missing argument (`<model>`)
 * are reported first: commander checks mandatory options before both.
 */
const REQUIRED = new WeakSet<Option>();
/** Options that may be repeated, collected into an array; `[]` when not given (set in {@link checkUsage}, so that help shows no `(default: [])`). */
const REPEATABLE = new WeakSet<Option>();

/** Marks `option` as required (its help text starts with `(required)`). */
export function required(option: Option): Option {
  REQUIRED.add(option);
  option.description = `(required) ${option.description}`;
  return option;
}

/** Whether `option` was marked with {@link required}. */
export const isRequired = (option: Option): boolean => REQUIRED.has(option);

/** Makes `option` repeatable: each use appends its value to an array, `[]` when it is not given. */
export function repeatable(option: Option): Option {
  REPEATABLE.add(option);
  return option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
}

/** The version of this package, from its package.json. */
export function version(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** `attribution explain`, the command as the user typed it. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Rewrites commander's usage errors into the CLI's one-line form, named after the command:
 * `attribution explain: unknown option '--methd' (did you mean --method?). See 'attribution explain --help'.`
 */
export function usageMessage(cmd: Command, message: string, code: string | undefined): string {
  let text = message.replace(/^error: /, '').trim();
  // Commander puts its suggestion on a second line: "\n(Did you mean --method?)".
  text = text.replace(/\s*\n\(Did you mean (.+)\?\)$/, ' (did you mean $1?)');
  if (code === 'commander.missingArgument') {
    const name = /'([^']+)'/.exec(text)?.[1];
    const argument = cmd.registeredArguments.find((a) => a.name() === name);
    if (argument) text = `missing argument <${argument.name()}>${argument.description ? `: ${argument.description}` : ''}`;
  }
  return `${commandPath(cmd)}: ${text.replace(/\.$/, '')}. See '${commandPath(cmd)} --help'.`;
}

/** Commander's Command with the CLI's usage errors (see {@link usageMessage}), for the program and its subcommands. */
export class CliCommand extends Command {
  override createCommand(name?: string): CliCommand {
    return new CliCommand(name);
  }

  override error(message: string, errorOptions?: ErrorOptions): never {
    return super.error(usageMessage(this, message, errorOptions?.code), errorOptions);
  }
}

/**
 * The `preAction` hook of the program: runs after commander has refused unknown options and missing or excess
 * arguments, and refuses a missing required option; gives repeatable options that were not given `[]`.
 */
export function checkUsage(_program: Command, command: Command): void {
  for (const option of command.options) {
    const key = option.attributeName();
    if (command.getOptionValue(key) !== undefined) continue;
    if (REQUIRED.has(option)) command.error(`required option '${option.flags}' not specified`, { code: 'commander.missingMandatoryOptionValue' });
    if (REPEATABLE.has(option)) command.setOptionValueWithSource(key, [], 'default');
  }
}

/** The help text of an option: its description with commander's choices and default. */
export const optionHelp = (option: Option): string => new Help().optionDescription(option);

import { Option, type Command } from 'commander';
import { stringify } from 'yaml';
import type { CommandIo } from '../io.js';

/**
 * The one flag vocabulary every command shares (ADR 0027): `-f/--file` for the file a command reads,
 * `-o/--output table|json|yaml`, `--planner` and `--token` for commands that talk to a planner. Older spellings
 * stay as hidden aliases that say on stderr what replaced them, so scripts keep working.
 */

export const OutputFormat = { Table: 'table', Json: 'json', Yaml: 'yaml' } as const;
export type OutputFormat = (typeof OutputFormat)[keyof typeof OutputFormat];
const FORMATS = Object.values(OutputFormat);

/** What every command's action is given: its io, a sleep it may wait with, and where its exit code goes. */
export interface CliContext {
  readonly io: CommandIo;
  readonly sleep: (ms: number) => Promise<void>;
  /** the exit code of the command that ran (set by its action) */
  exit: number;
}

/** `-o/--output table|json|yaml`, with the command's default. */
export function addOutputOption(cmd: Command, defaultFormat: OutputFormat = OutputFormat.Table): Command {
  return cmd.addOption(new Option('-o, --output <format>', 'output format').choices(FORMATS).default(defaultFormat));
}

/** `--planner URL` and `--token TOKEN`, for the commands that call the planner's API. */
export function addClientOptions(cmd: Command): Command {
  return cmd
    .option('--planner <url>', 'planner API URL (env MESHWAVE_PLANNER_URL; default http://127.0.0.1:8080)')
    .option('--token <token>', 'API token (env MESHWAVE_TOKEN, or ~/.config/meshwave/config.json)');
}

/**
 * A deprecated spelling of an option: hidden from help, still accepted; when used it says so on stderr and sets
 * the option it stands for (unless that one was given too, which then wins).
 */
export function addDeprecatedAlias(
  cmd: Command,
  io: CommandIo,
  alias: {
    readonly flags: string;
    readonly replaces: string;
    readonly use: string;
    readonly choices?: readonly string[];
    /** what the replaced option is set to (default: the alias's own value), e.g. `--json` sets `output` to `json` */
    readonly sets?: unknown;
  },
): Command {
  const option = new Option(alias.flags).hideHelp();
  if (alias.choices) option.choices(alias.choices);
  cmd.addOption(option);
  const key = option.attributeName();
  return cmd.hook('preAction', (self) => {
    const value: unknown = self.getOptionValue(key);
    if (value === undefined) return;
    io.stderr(`meshwave: ${option.long ?? alias.flags} is deprecated and will be removed; use ${alias.use}`);
    const source = self.getOptionValueSource(alias.replaces);
    if (source === undefined || source === 'default') self.setOptionValue(alias.replaces, alias.sets ?? value);
  });
}

/** `--format` as the old spelling of `-o/--output`. */
export function addFormatAlias(cmd: Command, io: CommandIo): Command {
  return addDeprecatedAlias(cmd, io, {
    flags: '--format <format>',
    replaces: 'output',
    use: '-o/--output',
    choices: FORMATS,
  });
}

/** Examples at the end of a command's help: every command has at least one. */
export function addExamples(cmd: Command, examples: readonly string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
}

/** Prints a value as JSON or YAML, or as the command's table (its text for people). */
export function printAs(io: CommandIo, format: OutputFormat, value: unknown, table: () => string): void {
  if (format === OutputFormat.Json) io.stdout(JSON.stringify(value, null, 2));
  else if (format === OutputFormat.Yaml) io.stdout(stringify(value));
  else io.stdout(table());
}

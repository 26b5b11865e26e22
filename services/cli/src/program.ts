import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ExitCode, type CommandIo } from './io.js';
import type { CliContext } from './commands/cli-options.js';
import { applyCommand } from './commands/apply-command.js';
import { completionCommand } from './commands/completion-command.js';
import { fleetControlCommands } from './commands/fleet-control-commands.js';
import { historyCommands } from './commands/history-commands.js';
import { operatorCommands } from './commands/operator-commands.js';
import { pinCommand } from './commands/pin-command.js';
import { planCommand } from './commands/plan-command.js';
import { splitCommand } from './commands/split-command.js';
import { demoCommand } from './demo/demo-command.js';

/** The package's version: `meshwave --version` says which CLI a bug report is about. */
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

/**
 * The `meshwave` command tree (ADR 0027): every command built by its module on one context, so a test can run
 * any command line against its own io. Parse errors never exit the process; `runCli` turns them into exit 2.
 */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('meshwave')
    .description('Gradual, health-gated Istio revision upgrades across a fleet')
    .version(VERSION, '-V, --version', 'print the version')
    .showSuggestionAfterError()
    // options belong to the command they follow: `plan diff --inventory` is diff's, not plan's (the program's
    // own options are only -V and -h)
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage and examples)')
    .configureOutput({
      writeOut: (text) => ctx.io.stdout(text),
      writeErr: (text) => ctx.io.stderr(text),
    });
  const commands = [
    planCommand(ctx),
    pinCommand(ctx),
    splitCommand(ctx),
    applyCommand(ctx),
    ...operatorCommands(ctx),
    ...fleetControlCommands(ctx),
    ...historyCommands(ctx),
    demoCommand(ctx),
  ];
  for (const c of commands) program.addCommand(c);
  program.addCommand(completionCommand(ctx, program));
  program.addHelpText(
    'after',
    `
Examples:
  $ meshwave plan -f examples/rollouts.yml --inventory examples/inventory.json
  $ meshwave apply -f examples/rollouts.yml && meshwave status --watch ID   # apply shows the plan and asks
  $ meshwave <command> --help

Every command takes -o/--output table|json|yaml; planner commands take --planner URL and --token TOKEN
(or MESHWAVE_PLANNER_URL, MESHWAVE_TOKEN). Exit status: 0 ok, 1 failed, 2 invalid input or refused, 3 deadline missed.
`,
  );
  // Errors and help exit through runCli, never through process.exit, on every command.
  const quiet = (c: Command): void => {
    c.exitOverride().configureOutput(program.configureOutput());
    if (c !== program) c.showHelpAfterError(`(see meshwave ${c.name()} --help)`);
    for (const sub of c.commands) quiet(sub);
  };
  quiet(program);
  return program;
}

/** Runs one command line (without `node` and the script) and returns its exit code. */
export async function runCli(
  argv: readonly string[],
  io: CommandIo,
  options: { sleep?: (ms: number) => Promise<void> } = {},
): Promise<number> {
  const ctx: CliContext = {
    io,
    sleep: options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    exit: ExitCode.Ok,
  };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exit;
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // Help asked for and the version end with exit code 0; every other end is a usage error, and so is
    // `meshwave` alone (the help, on stderr).
    return err.exitCode === 0 ? ExitCode.Ok : ExitCode.InvalidInput;
  }
}

#!/usr/bin/env node
import { ExitCode, processIo, type CommandIo } from './io.js';
import { runPlanCommand } from './plan-command.js';

type Command = (args: readonly string[], io: CommandIo) => Promise<number>;

const commands: Readonly<Record<string, { run: Command; summary: string }>> = {
  plan: { run: runPlanCommand, summary: 'compute the waves of a rollout file against an inventory (dry run)' },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: meshwave <command> [flags]\n\ncommands:\n${lines.join('\n')}`;
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    processIo.stdout(usage());
    return name === undefined ? ExitCode.InvalidInput : ExitCode.Ok;
  }
  const command = commands[name];
  if (command === undefined) {
    processIo.stderr(`unknown command "${name}"\n${usage()}`);
    return ExitCode.InvalidInput;
  }
  return command.run(rest, processIo);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // An unexpected failure: one line for people, never a stack trace.
    processIo.stderr(`meshwave: internal error: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = ExitCode.Failure;
  },
);

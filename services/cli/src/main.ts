#!/usr/bin/env node
import { ExitCode, processIo, type CommandIo } from './io.js';
import { runPinCommand } from './commands/pin-command.js';
import { runSplitCommand } from './commands/split-command.js';
import { runDemoCommand } from './demo/demo-command.js';
import { operatorAction, runApplyCommand, runFleetCommand, runStatusCommand } from './commands/operator-commands.js';
import { runPlanCommand } from './commands/plan-command.js';

type Command = (args: readonly string[], io: CommandIo) => Promise<number>;

const commands: Readonly<Record<string, { run: Command; summary: string }>> = {
  plan: { run: runPlanCommand, summary: 'compute the waves of a rollout file against an inventory (dry run)' },
  pin: {
    run: runPinCommand,
    summary: 'rewrite istio.io/rev in manifests to the assigned revision; --check for CI gates',
  },
  split: { run: runSplitCommand, summary: 'partition a service graph into isolated meshes (min cut, size cap)' },
  apply: { run: runApplyCommand, summary: 'create a rollout on the planner from a rollout file (-f)' },
  status: { run: runStatusCommand, summary: 'show a rollout (or all); --watch follows it to the end' },
  pause: { run: operatorAction('pause'), summary: 'pause a rollout: no new restarts, no new wave' },
  resume: { run: operatorAction('resume'), summary: 'resume a paused or halted rollout' },
  approve: { run: operatorAction('approve'), summary: 'approve the wave waiting for approval' },
  rollback: { run: operatorAction('rollback'), summary: 'move the dispatched units back to the old revision' },
  abort: { run: operatorAction('abort'), summary: 'stop the rollout for good (units stay where they are)' },
  demo: {
    run: runDemoCommand,
    summary: 'upgrade a simulated fleet in one process (npm start); --exit-when-done --json for scripts',
  },
  fleet: { run: runFleetCommand, summary: 'clusters, VM groups and the revisions still in use' },
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

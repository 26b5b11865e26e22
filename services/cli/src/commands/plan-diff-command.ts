import { Command } from 'commander';
import { parseInventory, parseRolloutSpec } from '@meshwave/contracts';
import { planRollout } from '@meshwave/plan';
import { ExitCode } from '../io.js';
import { addExamples, addOutputOption, printAs, type CliContext, type OutputFormat } from './cli-options.js';
import { diffPlans, formatPlanDiff } from './plan-diff.js';
import { exitOnInvalidInput, readInputFile } from './read-input.js';

interface PlanDiffFlags {
  readonly inventory?: string;
  readonly now?: string;
  readonly output: OutputFormat;
}

/** `meshwave plan diff OLD NEW --inventory FILE`: exit 0 when the plans are the same, 1 when they differ (as diff). */
async function runPlanDiff(before: string, after: string, opts: PlanDiffFlags, ctx: CliContext): Promise<number> {
  const { io } = ctx;
  const now = opts.now === undefined ? new Date() : new Date(opts.now);
  if (opts.inventory === undefined || Number.isNaN(now.getTime())) {
    io.stderr(
      `${opts.inventory === undefined ? '--inventory: missing: the fleet inventory (JSON or YAML)' : `--now: "${opts.now}" is not an RFC 3339 time`}\n(see meshwave plan diff --help)`,
    );
    return ExitCode.InvalidInput;
  }
  return exitOnInvalidInput(io, async () => {
    const inventory = parseInventory(await readInputFile(io, opts.inventory!), opts.inventory);
    // one instant for both plans, so only the files' difference shows
    const planOf = async (file: string) =>
      planRollout(parseRolloutSpec(await readInputFile(io, file), file), inventory, { now });
    const diff = diffPlans(await planOf(before), await planOf(after));
    printAs(io, opts.output, diff, () => formatPlanDiff(diff));
    return diff.same ? ExitCode.Ok : ExitCode.Failure;
  });
}

/** `meshwave plan diff`: what changing a rollout file changes in its plan, offline. */
export function planDiffCommand(ctx: CliContext): Command {
  const cmd = new Command('diff')
    .description('compare the plans of two rollout files against one inventory, offline: waves, units, outcome')
    .argument('<before>', 'the rollout file as it is')
    .argument('<after>', 'the rollout file as it would be')
    .option('--inventory <file>', 'the fleet inventory (JSON or YAML)')
    .option('--now <time>', 'plan both as of this RFC 3339 time (default: now)');
  addOutputOption(cmd);
  addExamples(cmd, [
    'meshwave plan diff rollouts.yml rollouts.new.yml --inventory examples/inventory.json',
    'meshwave plan diff a.yml b.yml --inventory inventory.json -o json',
  ]);
  cmd.addHelpText('after', 'Exit status: 0 the plans are the same, 1 they differ, 2 invalid input.\n');
  return cmd.action(async (before: string, after: string, opts: PlanDiffFlags) => {
    ctx.exit = await runPlanDiff(before, after, opts, ctx);
  });
}

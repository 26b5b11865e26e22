import { Command } from 'commander';
import { InvalidInputError, formatProblem, parseInventory, parseRolloutSpec } from '@meshwave/contracts';
import { formatPlanTable, isRefused, planRollout } from '@meshwave/plan';
import { ExitCode } from '../io.js';
import {
  addDeprecatedAlias,
  addExamples,
  addFormatAlias,
  addOutputOption,
  printAs,
  type CliContext,
  type OutputFormat,
} from './cli-options.js';
import { planDiffCommand } from './plan-diff-command.js';
import { readInputFile } from './read-input.js';

interface PlanFlags {
  readonly file?: string;
  readonly inventory?: string;
  readonly now?: string;
  readonly output: OutputFormat;
}

/**
 * `meshwave plan`: exit 0 when feasible, 3 when computed but missing the deadline, 4 when one of Istio's rules
 * refuses it (ADR 0028), 2 on invalid input.
 */
async function runPlan(opts: PlanFlags, ctx: CliContext): Promise<number> {
  const { io } = ctx;
  const problems: string[] = [];
  if (opts.file === undefined) problems.push('-f/--file: missing: the rollout file (rollouts.yml)');
  if (opts.inventory === undefined) problems.push('--inventory: missing: the fleet inventory (JSON or YAML)');
  const now = opts.now === undefined ? new Date() : new Date(opts.now);
  if (Number.isNaN(now.getTime()) || (opts.now !== undefined && !/^\d{4}-\d\d-\d\dT/.test(opts.now))) {
    problems.push(`--now: "${opts.now}" is not an RFC 3339 time such as 2026-11-23T08:00:00Z`);
  }
  if (problems.length > 0) {
    io.stderr(`${problems.join('\n')}\n(see meshwave plan --help)`);
    return ExitCode.InvalidInput;
  }
  try {
    const [specText, inventoryText] = await Promise.all([
      readInputFile(io, opts.file!),
      readInputFile(io, opts.inventory!),
    ]);
    const spec = parseRolloutSpec(specText, opts.file);
    const inventory = parseInventory(inventoryText, opts.inventory);
    const plan = planRollout(spec, inventory, { now });
    printAs(io, opts.output, plan, () => formatPlanTable(plan));
    if (isRefused(plan.problems)) return ExitCode.Refused;
    return plan.feasible ? ExitCode.Ok : ExitCode.DeadlineMissed;
  } catch (err) {
    if (err instanceof InvalidInputError) {
      io.stderr(err.problems.map(formatProblem).join('\n'));
      return ExitCode.InvalidInput;
    }
    throw err;
  }
}

/** `meshwave plan -f rollouts.yml --inventory inventory.json`: the waves, offline (a dry run). */
export function planCommand(ctx: CliContext): Command {
  const cmd = new Command('plan')
    .description('compute the waves of a rollout file against an inventory, offline (a dry run)')
    .option('-f, --file <file>', 'the rollout file (rollouts.yml)')
    .option('--inventory <file>', 'the fleet inventory (JSON or YAML)')
    .option('--now <time>', 'plan as of this RFC 3339 time (default: now)');
  addOutputOption(cmd);
  addDeprecatedAlias(cmd, ctx.io, { flags: '--spec <file>', replaces: 'file', use: '-f/--file' });
  addFormatAlias(cmd, ctx.io);
  addExamples(cmd, [
    'meshwave plan -f examples/rollouts.yml --inventory examples/inventory.json --now 2026-11-23T08:00:00Z',
    'meshwave plan -f examples/rollouts.yml --inventory examples/inventory.json --output json',
  ]);
  cmd.addHelpText(
    'after',
    "Exit status: 0 feasible, 3 computed but missing the deadline, 4 refused by one of Istio's rules, 2 invalid input.\n",
  );
  // `plan diff`: plan's own options stop at the subcommand, so `diff` reads its own --inventory and --now
  cmd.enablePositionalOptions().addCommand(planDiffCommand(ctx));
  return cmd.action(async (opts: PlanFlags) => {
    ctx.exit = await runPlan(opts, ctx);
  });
}

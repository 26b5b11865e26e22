import type { Command } from 'commander';
import type { PlanPolicy } from '@meshwave/contracts';
import { formatPlanTable } from '@meshwave/plan';
import { withPlannerClient } from './cli-config.js';
import { ExitCode } from '../io.js';
import { OutputFormat, printAs, type CliContext } from './cli-options.js';
import { plannerCommand, type ClientFlags } from './operator-commands.js';

type ApplyFlags = ClientFlags & { file: string; yes: boolean };

/** The answers that apply; anything else (an empty line included) leaves the planner untouched. */
const YES = /^\s*y(es)?\s*$/i;

/** Why nothing happens when nobody can be asked and `--yes` was not given. */
export const NOT_A_TERMINAL =
  'meshwave apply: not a terminal, so nobody can confirm: nothing was created. Review the plan first ' +
  '(`meshwave apply` on a terminal shows it, or `meshwave plan`), then run again with --yes to apply without asking.';

/** The planner's policy rules that apply to the rollout and each one it breaks (nothing without a policy). */
export function formatPolicy(policy: PlanPolicy | undefined): string[] {
  if (policy === undefined) return [];
  const lines = [`Policy rules that apply: ${policy.rules.length > 0 ? policy.rules.join(', ') : 'none'}`];
  for (const v of policy.violations) lines.push(`  breaks ${v.rule} at ${v.path}: ${v.message}`);
  if (policy.violations.length > 0)
    lines.push('The planner will refuse this rollout (POLICY_VIOLATION) until these are fixed.');
  return lines;
}

/**
 * `meshwave apply -f rollouts.yml`: shows the plan the planner would make now (waves, clusters and units per wave,
 * the estimated completion against the deadline, preflight risks, the policy rules that apply) and creates the rollout once the person at the
 * terminal confirms. `--yes` creates without asking (CI); off a terminal without `--yes` it refuses, exit 2, so a
 * script never applies by accident.
 */
export function applyCommand(ctx: CliContext): Command {
  return plannerCommand(ctx, 'apply', 'show the plan of a rollout file, then create the rollout once confirmed', [
    'meshwave apply -f examples/rollouts.yml              # shows the plan, asks before creating',
    'meshwave apply -f rollouts.yml --yes --output json   # CI: no question, the created rollout as JSON',
  ])
    .requiredOption('-f, --file <file>', 'the rollout file (rollouts.yml)')
    .option('-y, --yes', 'create without asking (needed off a terminal: CI, scripts)', false)
    .action(async (opts: ApplyFlags) => {
      const { io } = ctx;
      let text: string;
      try {
        text = await io.readFile(opts.file);
      } catch (err) {
        io.stderr(`${opts.file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        ctx.exit = ExitCode.InvalidInput;
        return;
      }
      const ask = opts.yes ? undefined : io.ask;
      if (!opts.yes && ask === undefined) {
        io.stderr(NOT_A_TERMINAL);
        ctx.exit = ExitCode.InvalidInput;
        return;
      }
      ctx.exit = await withPlannerClient(opts, io, async (client) => {
        // The preview is for people: on stdout with the table, on stderr when stdout carries JSON or YAML for a
        // program; a program that said --yes with -o json|yaml gets its document only.
        const table = opts.output === OutputFormat.Table;
        if (table || ask !== undefined) {
          const plan = await client.planRollout(text);
          const preview = [formatPlanTable(plan), ...formatPolicy(plan.policy)].join('\n');
          if (table) io.stdout(preview);
          else io.stderr(preview);
        }
        if (ask !== undefined && !YES.test(await ask('\nCreate this rollout on the planner? [y/N] '))) {
          io.stderr('meshwave apply: not confirmed: nothing was created');
          return ExitCode.Failure;
        }
        const created = await client.createRollout(text, opts.file);
        printAs(
          io,
          opts.output,
          created,
          () =>
            `rollout ${created.id} created (${created.phase}); ${created.plan.waves.length} waves, feasible: ${created.plan.feasible}`,
        );
        return ExitCode.Ok;
      });
    });
}

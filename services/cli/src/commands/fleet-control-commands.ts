import { Option, type Command } from 'commander';
import type { ExcludedUnit } from '@meshwave/contracts';
import type { FreezeStatus } from '../adapters/planner-client.js';
import { withPlannerClient } from './cli-config.js';
import { ExitCode } from '../io.js';
import { printAs, type CliContext } from './cli-options.js';
import { plannerCommand, type ClientFlags } from './operator-commands.js';
import { collectUnit, collectUnitKey } from './unit-key.js';

const unitOption = <T>(what: string, collect: (value: string, previous: T[] | undefined) => T[]): Option =>
  new Option('--unit <unit>', `${what}: cluster/namespace or cluster/namespace/Kind/name (repeat for more)`).argParser(
    collect,
  );

const reasonOption = (): Option =>
  new Option('--reason <text>', 'why, written to the audit log (required)').makeOptionMandatory();

function describeFreeze(s: FreezeStatus): string {
  const why = [s.since && `since ${s.since}`, s.by && `by ${s.by}`, s.reason && `"${s.reason}"`].filter(Boolean);
  return `${s.frozen ? 'the fleet is frozen' : 'the fleet is not frozen'}${why.length > 0 ? ` (${why.join(', ')})` : ''}`;
}

/** What `exclude` and its reverse `include` say in their help. */
const MEMBERSHIP_ACTIONS = {
  exclude: {
    summary: 'exclude workloads or namespaces from a rollout (audited; `meshwave include` takes them back)',
    unit: 'a unit to exclude',
    examples: [
      'meshwave exclude istio-1-25-2-abc123 --unit prod-us-east-1/search/Deployment/db --reason "crash-loops on 1-25-2, JIRA-42"',
      'meshwave exclude istio-1-25-2-abc123 --unit prod-eu-west-1/legacy --reason "namespace owned by team X, not ready"',
    ],
  },
  include: {
    summary:
      'include excluded workloads or namespaces back (audited): they move with a wave that has not started, or the running forced wave',
    unit: 'an exclusion to take back, named as it was excluded',
    examples: [
      'meshwave include istio-1-25-2-abc123 --unit prod-us-east-1/search/Deployment/db --reason "fixed in db 2.3.1, JIRA-42"',
    ],
  },
} as const;

/** `meshwave exclude|include ID --unit U...`: takes units (or whole namespaces) out of a rollout, or back into it. */
function membershipCommand(ctx: CliContext, action: keyof typeof MEMBERSHIP_ACTIONS): Command {
  const about = MEMBERSHIP_ACTIONS[action];
  return plannerCommand(ctx, `${action} <id>`, about.summary, [...about.examples])
    .addOption(unitOption(about.unit, collectUnit).makeOptionMandatory())
    .option('--reason <text>', 'why, written to the audit log')
    .action(async (id: string, opts: ClientFlags & { unit: ExcludedUnit[]; reason?: string }) => {
      ctx.exit = await withPlannerClient(opts, ctx.io, async (client) => {
        const res = await client.changeMembership(action, id, opts.unit, opts.reason);
        printAs(ctx.io, opts.output, res, () => `${action}: ${res.message} (phase ${res.phase})`);
        return ExitCode.Ok;
      });
    });
}

/** `meshwave retry ID [--unit U...] --reason TEXT`: the failed units again, on the same target revision. */
function retryCommand(ctx: CliContext): Command {
  return plannerCommand(
    ctx,
    'retry <id>',
    'retry failed units of a rollout on the same target (all failed ones by default)',
    [
      'meshwave retry istio-1-25-2-abc123 --reason "node pool fixed"',
      'meshwave retry istio-1-25-2-abc123 --unit prod-us-east-1/search/Deployment/db --reason "image pull fixed"',
    ],
  )
    .addOption(unitOption('only this failed unit', collectUnitKey))
    .addOption(reasonOption())
    .action(async (id: string, opts: ClientFlags & { unit?: string[]; reason: string }) => {
      ctx.exit = await withPlannerClient(opts, ctx.io, async (client) => {
        const res = await client.retry(id, opts.unit ?? [], opts.reason);
        printAs(ctx.io, opts.output, res, () => `retry: ${res.message} (phase ${res.phase})`);
        return ExitCode.Ok;
      });
    });
}

/** `meshwave freeze|unfreeze --reason TEXT`: every active rollout halts / may go on. */
function freezeCommand(ctx: CliContext, lift: boolean): Command {
  const name = lift ? 'unfreeze' : 'freeze';
  return plannerCommand(
    ctx,
    name,
    lift
      ? 'lift the fleet-wide freeze: halted rollouts may be resumed, dispatch goes on'
      : 'freeze the fleet: every active rollout halts at once, nothing dispatches until unfreeze',
    [`meshwave ${name} --reason "${lift ? 'INC-77 resolved' : 'INC-77: elevated 5xx in prod-us-east-1'}"`],
  )
    .addOption(reasonOption())
    .action(async (opts: ClientFlags & { reason: string }) => {
      ctx.exit = await withPlannerClient(opts, ctx.io, async (client) => {
        const res = lift ? await client.unfreeze(opts.reason) : await client.freeze(opts.reason);
        printAs(ctx.io, opts.output, res, () => `${name}: ${describeFreeze(res)}`);
        return ExitCode.Ok;
      });
    });
}

/** Commands that change what a rollout or the whole fleet may do: exclude, include, retry, freeze, unfreeze. */
export function fleetControlCommands(ctx: CliContext): Command[] {
  return [
    membershipCommand(ctx, 'exclude'),
    membershipCommand(ctx, 'include'),
    retryCommand(ctx),
    freezeCommand(ctx, false),
    freezeCommand(ctx, true),
  ];
}

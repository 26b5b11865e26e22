import { Command } from 'commander';
import type { RolloutStatus } from '@meshwave/contracts';
import { withPlannerClient } from './cli-config.js';
import { ExitCode } from '../io.js';
import {
  addClientOptions,
  addExamples,
  addFormatAlias,
  addOutputOption,
  printAs,
  OutputFormat,
  type CliContext,
} from './cli-options.js';
import { LiveView } from './live-view.js';
import { rolloutStatusLines, renderRolloutStatus } from './progress-view.js';
import { revisionsTable } from './revisions-command.js';
import { paintFor } from './terminal-color.js';
import { stringify } from 'yaml';

/** The options of every command that calls the planner. */
export interface ClientFlags {
  readonly planner?: string;
  readonly token?: string;
  readonly output: OutputFormat;
}

/** Terminal phases and how `status` exits on them. */
const TERMINAL_EXIT: Readonly<Record<string, number>> = {
  Completed: ExitCode.Ok,
  RolledBack: ExitCode.Failure,
  Failed: ExitCode.Failure,
};

/** A command that calls the planner: `--planner`, `--token`, `-o` (and the old `--format`), its examples. */
export function plannerCommand(ctx: CliContext, nameAndArgs: string, summary: string, examples: string[]): Command {
  const [name = '', ...args] = nameAndArgs.split(' ');
  const cmd = new Command(name).description(summary);
  if (args.length > 0) cmd.arguments(args.join(' '));
  addClientOptions(cmd);
  addOutputOption(cmd);
  addFormatAlias(cmd, ctx.io);
  return addExamples(cmd, examples);
}

type StatusFlags = ClientFlags & { watch: boolean; interval: string; tty: boolean };

/** Follows a rollout until it ends: redrawn in place on a terminal, the lines that changed anywhere else. */
async function watchRollout(
  ctx: CliContext,
  client: { rollout(id: string): Promise<RolloutStatus> },
  id: string,
  opts: StatusFlags,
): Promise<number> {
  const { io } = ctx;
  const terminal = opts.tty ? io.terminal : undefined;
  const view = new LiveView(io.stdout, terminal);
  const paint = paintFor(io, terminal !== undefined);
  let last = '';
  for (;;) {
    const status = await client.rollout(id);
    if (opts.output === OutputFormat.Table)
      view.update(rolloutStatusLines(status, { paint, traceUrl: io.env.MESHWAVE_TRACE_URL }));
    else {
      // a document per change: one JSON object per line, or a YAML stream
      const doc = opts.output === OutputFormat.Json ? JSON.stringify(status) : `---\n${stringify(status)}`;
      if (doc !== last) io.stdout(doc);
      last = doc;
    }
    const exit = TERMINAL_EXIT[status.phase];
    if (exit !== undefined) return exit;
    await ctx.sleep(Math.max(0.2, Number(opts.interval) || 1) * 1000);
  }
}

/** `meshwave status [ID] [--watch]`: one rollout (or all); with --watch, until it ends; non-zero if it fails. */
function statusCommand(ctx: CliContext): Command {
  return plannerCommand(ctx, 'status [id]', 'show a rollout (or list all); --watch follows it to its end', [
    'meshwave status',
    'meshwave status istio-1-25-2-abc123 --watch',
    'meshwave status istio-1-25-2-abc123 --watch --no-tty   # plain lines, only when something changed',
    'meshwave status istio-1-25-2-abc123 -o json',
  ])
    .option('-w, --watch', 'follow the rollout to its end; exit 1 when it rolls back or fails', false)
    .option('--interval <seconds>', 'seconds between looks with --watch (at least 0.2)', '1')
    .option('--no-tty', 'plain, append-only lines even on a terminal (as off one)')
    .action(async (id: string | undefined, opts: StatusFlags) => {
      const { io } = ctx;
      ctx.exit = await withPlannerClient(opts, io, async (client) => {
        if (id === undefined) {
          const list = await client.listRollouts();
          printAs(
            io,
            opts.output,
            list,
            () =>
              list.rollouts
                .map(
                  (r) =>
                    `${r.id}  ${r.name}  ${r.from} → ${r.to}  ${r.phase}${r.wavePhase ? `/${r.wavePhase}` : ''}  wave ${r.wave + 1}/${r.waves}`,
                )
                .join('\n') || 'no rollouts',
          );
          return ExitCode.Ok;
        }
        if (opts.watch) return watchRollout(ctx, client, id, opts);
        const status = await client.rollout(id);
        printAs(io, opts.output, status, () =>
          renderRolloutStatus(status, {
            paint: paintFor(io, opts.tty && io.terminal !== undefined),
            traceUrl: io.env.MESHWAVE_TRACE_URL,
          }),
        );
        return TERMINAL_EXIT[status.phase] ?? ExitCode.Ok;
      });
    });
}

/** The operator actions that take a rollout id and a reason, and what each does. */
export const ROLLOUT_ACTIONS = {
  pause: 'pause a rollout: no new restarts, no new wave',
  resume: 'resume a paused or halted rollout',
  approve: 'approve the wave waiting for approval',
  rollback: 'move the dispatched units back to the old revision',
  abort: 'stop the rollout for good (units stay where they are)',
} as const;
export type RolloutAction = keyof typeof ROLLOUT_ACTIONS;

/** `meshwave pause|resume|approve|rollback|abort ID [--reason TEXT]` */
function actionCommand(ctx: CliContext, action: RolloutAction): Command {
  return plannerCommand(ctx, `${action} <id>`, ROLLOUT_ACTIONS[action], [
    `meshwave ${action} istio-1-25-2-abc123 --reason "INC-123: ${action === 'approve' ? 'canary looks healthy' : 'on-call asked'}"`,
  ])
    .option('--reason <text>', 'why, written to the audit log')
    .action(async (id: string, opts: ClientFlags & { reason?: string }) => {
      ctx.exit = await withPlannerClient(opts, ctx.io, async (client) => {
        const res = await client.act(id, action, opts.reason);
        printAs(ctx.io, opts.output, res, () => `${action}: ${res.message} (phase ${res.phase})`);
        return ExitCode.Ok;
      });
    });
}

/** `meshwave fleet`: clusters, VM groups, units per revision, and which revisions are still in use. */
function fleetCommand(ctx: CliContext): Command {
  return plannerCommand(ctx, 'fleet', 'clusters, VM groups and the revisions still in use', [
    'meshwave fleet',
    'meshwave fleet -o yaml',
  ]).action(async (opts: ClientFlags) => {
    ctx.exit = await withPlannerClient(opts, ctx.io, async (client) => {
      const fleet = await client.fleet();
      printAs(ctx.io, opts.output, fleet, () => {
        const lines = fleet.clusters.map(
          (c) =>
            `${c.name.padEnd(24)} ${String(c.workloads).padStart(5)} workloads  ${Object.entries(c.revisions)
              .map(([r, n]) => `${r}: ${n}`)
              .join(
                '  ',
              )}${c.ambient ? `  ambient (ztunnel): ${c.ambient}` : ''}${c.mismatched ? `  (${c.mismatched} mismatched)` : ''}`,
        );
        for (const g of fleet.vmGroups)
          lines.push(
            `vm:${g.name.padEnd(21)} ${String(g.hosts).padStart(5)} hosts      ${Object.entries(g.versions)
              .map(([r, n]) => `${r}: ${n}`)
              .join('  ')}`,
          );
        lines.push('', 'revisions in use:', ...revisionLines(fleet.revisions));
        return lines.join('\n');
      });
      return ExitCode.Ok;
    });
  });
}

function revisionLines(
  revisions: readonly { revision: string; workloads: number; vmHosts: number; clusters: string[] }[],
): string[] {
  return revisions.map(
    (r) =>
      `  ${r.revision.padEnd(12)} ${r.workloads} workloads, ${r.vmHosts} VM hosts, clusters: ${r.clusters.join(', ') || '-'}`,
  );
}

/** `meshwave revisions`: every revision with what still uses it, and whether its control plane can go. */
function revisionsCommand(ctx: CliContext): Command {
  return plannerCommand(ctx, 'revisions', 'every revision, what still uses it, and whether it is safe to remove', [
    'meshwave revisions',
    'meshwave revisions -o json',
  ]).action(async (opts: ClientFlags) => {
    ctx.exit = await withPlannerClient(opts, ctx.io, async (client) => {
      const view = await client.revisions();
      printAs(ctx.io, opts.output, view, () => revisionsTable(view.revisions));
      return ExitCode.Ok;
    });
  });
}

/** `meshwave cluster NAME`: one cluster and its workloads. */
function clusterCommand(ctx: CliContext): Command {
  return plannerCommand(ctx, 'cluster <name>', 'one cluster: its labels, mesh and workloads with their revisions', [
    'meshwave cluster prod-us-east-1',
  ]).action(async (name: string, opts: ClientFlags) => {
    ctx.exit = await withPlannerClient(opts, ctx.io, async (client) => {
      const c = await client.cluster(name);
      printAs(ctx.io, opts.output, c, () =>
        [
          `cluster ${c.name}${c.mesh ? ` (mesh ${c.mesh})` : ''}  ${Object.entries(c.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(',')}`,
          ...c.workloadList.map(
            (w) =>
              `  ${`${w.namespace}/${w.kind}/${w.name}`.padEnd(48)} ${w.revision ?? '-'}${w.injectedRevision !== undefined && w.injectedRevision !== w.revision ? `  (injected ${w.injectedRevision ?? 'none'})` : ''}`,
          ),
        ].join('\n'),
      );
      return ExitCode.Ok;
    });
  });
}

/** The commands that read and drive rollouts on a planner (`apply` is in apply-command.ts). */
export function operatorCommands(ctx: CliContext): Command[] {
  return [
    statusCommand(ctx),
    ...(Object.keys(ROLLOUT_ACTIONS) as RolloutAction[]).map((a) => actionCommand(ctx, a)),
    fleetCommand(ctx),
    revisionsCommand(ctx),
    clusterCommand(ctx),
  ];
}

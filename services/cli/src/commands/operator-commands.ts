import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { RolloutStatus } from '@meshwave/contracts';
import { resolveClientConfig } from './cli-config.js';
import { ExitCode, type CommandIo } from '../io.js';
import { PlannerClient, PlannerClientError } from '../adapters/planner-client.js';
import { renderRolloutStatus } from './progress-view.js';

const COMMON = {
  planner: { type: 'string' },
  token: { type: 'string' },
  output: { type: 'string', short: 'o', default: 'text' },
} as const satisfies ParseArgsConfig['options'];

/** Terminal phases and how `status` exits on them. */
const TERMINAL_EXIT: Readonly<Record<string, number>> = {
  Completed: ExitCode.Ok,
  RolledBack: ExitCode.Failure,
  Failed: ExitCode.Failure,
};

type Parsed<O extends NonNullable<ParseArgsConfig['options']>> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: true }>
>;

function parse<O extends NonNullable<ParseArgsConfig['options']>>(
  args: readonly string[],
  options: O,
  io: CommandIo,
  usage: string,
): Parsed<O> | undefined {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true }) as Parsed<O>;
  } catch (err) {
    io.stderr(`${(err as Error).message}\nusage: ${usage}`);
    return undefined;
  }
}

async function withClient(
  values: { planner?: string | undefined; token?: string | undefined },
  io: CommandIo,
  fn: (client: PlannerClient) => Promise<number>,
): Promise<number> {
  const config = await resolveClientConfig(values, io);
  try {
    return await fn(new PlannerClient(config.plannerUrl, config.token));
  } catch (err) {
    if (err instanceof PlannerClientError) {
      io.stderr(`meshwave: ${err.message}`);
      return err.status !== undefined && err.status >= 400 && err.status < 500
        ? ExitCode.InvalidInput
        : ExitCode.Failure;
    }
    throw err;
  }
}

const json = (v: unknown): string => JSON.stringify(v, null, 2);

/** `meshwave apply -f rollouts.yml`: creates the rollout on the planner. */
export async function runApplyCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const usage = 'meshwave apply -f FILE [--planner URL] [--token T] [--output json]';
  const p = parse(args, { ...COMMON, file: { type: 'string', short: 'f' } }, io, usage);
  if (!p) return ExitCode.InvalidInput;
  const file = p.values.file;
  if (file === undefined) {
    io.stderr(`-f: missing: the rollout file\nusage: ${usage}`);
    return ExitCode.InvalidInput;
  }
  let text: string;
  try {
    text = await io.readFile(file);
  } catch (err) {
    io.stderr(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return ExitCode.InvalidInput;
  }
  return withClient(p.values, io, async (client) => {
    const created = await client.createRollout(text, file);
    io.stdout(
      p.values.output === 'json'
        ? json(created)
        : `rollout ${created.id} created (${created.phase}); ${created.plan.waves.length} waves, feasible: ${created.plan.feasible}`,
    );
    return ExitCode.Ok;
  });
}

/** `meshwave status [ID] [--watch]`: one rollout (or all); with --watch, until it ends; non-zero if it fails. */
export async function runStatusCommand(
  args: readonly string[],
  io: CommandIo,
  sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)),
): Promise<number> {
  const usage = 'meshwave status [ID] [--watch] [--interval SECONDS] [--output json]';
  const p = parse(
    args,
    { ...COMMON, watch: { type: 'boolean', short: 'w', default: false }, interval: { type: 'string', default: '1' } },
    io,
    usage,
  );
  if (!p) return ExitCode.InvalidInput;
  const [id] = p.positionals;
  return withClient(p.values, io, async (client) => {
    if (id === undefined) {
      const list = await client.listRollouts();
      if (p.values.output === 'json') io.stdout(json(list));
      else
        io.stdout(
          list.rollouts
            .map(
              (r) =>
                `${r.id}  ${r.name}  ${r.from} → ${r.to}  ${r.phase}${r.wavePhase ? `/${r.wavePhase}` : ''}  wave ${r.wave + 1}/${r.waves}`,
            )
            .join('\n') || 'no rollouts',
        );
      return ExitCode.Ok;
    }
    let status: RolloutStatus;
    let last = '';
    for (;;) {
      status = await client.rollout(id);
      const view = p.values.output === 'json' ? JSON.stringify(status) : renderRolloutStatus(status);
      if (view !== last) io.stdout(p.values.watch && p.values.output !== 'json' ? `\n${view}` : view);
      last = view;
      const exit = TERMINAL_EXIT[status.phase];
      if (exit !== undefined) return exit;
      if (!p.values.watch) return ExitCode.Ok;
      await sleep(Math.max(0.2, Number(p.values.interval) || 1) * 1000);
    }
  });
}

/** `meshwave pause|resume|approve|rollback|abort ID [--reason TEXT]` */
export function operatorAction(action: 'pause' | 'resume' | 'approve' | 'rollback' | 'abort') {
  return async (args: readonly string[], io: CommandIo): Promise<number> => {
    const usage = `meshwave ${action} ID [--reason TEXT] [--output json]`;
    const p = parse(args, { ...COMMON, reason: { type: 'string' } }, io, usage);
    if (!p) return ExitCode.InvalidInput;
    const [id] = p.positionals;
    if (id === undefined) {
      io.stderr(`ID: missing: the rollout id (see meshwave status)\nusage: ${usage}`);
      return ExitCode.InvalidInput;
    }
    return withClient(p.values, io, async (client) => {
      const res = await client.act(id, action, p.values.reason);
      io.stdout(p.values.output === 'json' ? json(res) : `${action}: ${res.message} (phase ${res.phase})`);
      return ExitCode.Ok;
    });
  };
}

/** `meshwave fleet`: clusters, VM groups, units per revision, and which revisions are still in use. */
export async function runFleetCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const p = parse(args, COMMON, io, 'meshwave fleet [--output json]');
  if (!p) return ExitCode.InvalidInput;
  return withClient(p.values, io, async (client) => {
    const fleet = await client.fleet();
    if (p.values.output === 'json') {
      io.stdout(json(fleet));
      return ExitCode.Ok;
    }
    const lines = fleet.clusters.map(
      (c) =>
        `${c.name.padEnd(24)} ${String(c.workloads).padStart(5)} workloads  ${Object.entries(c.revisions)
          .map(([r, n]) => `${r}: ${n}`)
          .join('  ')}${c.mismatched ? `  (${c.mismatched} mismatched)` : ''}`,
    );
    for (const g of fleet.vmGroups)
      lines.push(
        `vm:${g.name.padEnd(21)} ${String(g.hosts).padStart(5)} hosts      ${Object.entries(g.versions)
          .map(([r, n]) => `${r}: ${n}`)
          .join('  ')}`,
      );
    lines.push('', 'revisions in use:');
    for (const r of fleet.revisions)
      lines.push(
        `  ${r.revision.padEnd(12)} ${r.workloads} workloads, ${r.vmHosts} VM hosts, clusters: ${r.clusters.join(', ') || '-'}`,
      );
    io.stdout(lines.join('\n'));
    return ExitCode.Ok;
  });
}

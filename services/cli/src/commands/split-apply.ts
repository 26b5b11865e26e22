import type { MeshApplyResult, MeshSplitResult } from '@meshwave/contracts';
import { ExitCode, type CommandIo } from '../io.js';
import { withPlannerClient } from './cli-config.js';
import { printAs, type OutputFormat } from './cli-options.js';

/** The flags of `meshwave split --apply`. */
export interface SplitApplyFlags {
  readonly yes?: boolean;
  readonly clusters?: string;
  readonly reason?: string;
  readonly planner?: string;
  readonly token?: string;
  readonly output: OutputFormat;
}

/**
 * `meshwave split --apply` (ADR 0049): sends the split to the planner, which answers what it changes per cluster
 * (the namespaces whose `meshwave.io/mesh` label changes, the revisions whose discoverySelectors are set). Without
 * `--yes` that is a dry run: nothing is sent to the agents. With `--yes` the planner sends each cluster's agent its
 * command and audits it. Only mesh labels and selectors are written: each mesh's workloads move onto its revision
 * by a rollout of that mesh (`mesh:` in the rollout file).
 */
export async function applySplit(result: MeshSplitResult, flags: SplitApplyFlags, io: CommandIo): Promise<number> {
  const dryRun = flags.yes !== true;
  const request = {
    meshes: result.meshes.map((m) => ({ mesh: m.name, revision: m.revision, namespaces: m.namespaces })),
    ...(flags.clusters === undefined ? {} : { clusters: flags.clusters.split(',').map((c) => c.trim()) }),
    dryRun,
    ...(flags.reason === undefined ? {} : { reason: flags.reason }),
  };
  return withPlannerClient(flags, io, async (client) => {
    const answer = await client.applyMeshSplit(request);
    printAs(io, flags.output, answer, () => formatApply(answer));
    if (dryRun) io.stderr('meshwave split: dry run, nothing applied; run again with --yes to apply\n');
    return ExitCode.Ok;
  });
}

/** One line per namespace whose mesh changes, then the selectors each cluster's agent sets. */
export function formatApply(answer: MeshApplyResult): string {
  const out = [answer.dryRun ? 'would apply (dry run):' : `applied (generation ${answer.generation}):`];
  for (const c of answer.clusters) {
    out.push(`cluster ${c.cluster}:`);
    if (c.namespaces.length === 0) out.push('  namespaces: every one already in its mesh');
    for (const n of c.namespaces) out.push(`  namespace ${n.namespace}: ${n.from ?? '(none)'} -> ${n.to}`);
    for (const p of c.controlPlanes) out.push(`  discoverySelectors of ${p.revision}: mesh ${p.mesh}`);
  }
  if (answer.clusters.length === 0) out.push('no cluster has a namespace of these meshes');
  return `${out.join('\n')}\n`;
}

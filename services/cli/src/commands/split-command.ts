import type { MeshSplitResult, ServiceGraph } from '@meshwave/contracts';
import { Command } from 'commander';
import { MeshError, MeshErrorCode, parseMetisGraph, splitMeshes } from '@meshwave/mesh';
import { fetchServiceGraphFromPrometheus } from '../adapters/prometheus-graph-source.js';
import type { CommandIo } from '../io.js';
import { applySplit, type SplitApplyFlags } from './split-apply.js';
import {
  addDeprecatedAlias,
  addExamples,
  addClientOptions,
  addFormatAlias,
  addOutputOption,
  printAs,
  OutputFormat,
  type CliContext,
} from './cli-options.js';

/** Exit codes of `meshwave split`. */
export const SplitExitCode = {
  Ok: 0,
  /** bad input, infeasible constraints, metrics unavailable */
  Failed: 1,
  Usage: 2,
  /** a split was printed, but some mesh is over the size cap or the imbalance */
  ConstraintsNotMet: 3,
} as const;
export type SplitExitCode = (typeof SplitExitCode)[keyof typeof SplitExitCode];

interface SplitFlags {
  readonly file?: string;
  readonly prometheus?: string;
  readonly window: string;
  readonly podsQuery?: string;
  readonly k?: string;
  readonly maxSize?: string;
  readonly imbalance: string;
  readonly seed: string;
  readonly revision?: string;
  readonly groupBy?: string;
  readonly meshPrefix: string;
  readonly output: OutputFormat;
  readonly apply?: boolean;
}

/** `meshwave split`: checks flags, reads the graph, splits, prints. Returns the process exit code. */
async function runSplit(values: SplitFlags & SplitApplyFlags, io: CommandIo): Promise<number> {
  const usage = (message: string): SplitExitCode => {
    io.stderr(`${message}\n(see meshwave split --help)`);
    return SplitExitCode.Usage;
  };
  if (values.apply !== true && (values.yes === true || values.clusters !== undefined || values.reason !== undefined))
    return usage('--yes, --clusters and --reason go with --apply');
  if ((values.file === undefined) === (values.prometheus === undefined))
    return usage('give exactly one of -f/--file or --prometheus');
  const kText = values.k;
  if (kText === undefined && values.maxSize === undefined) return usage('give --k or --max-size');
  const meshes = kText === undefined ? undefined : Number(kText);
  if (meshes !== undefined && (!Number.isInteger(meshes) || meshes < 1))
    return usage(`--k must be a positive integer, got "${kText}"`);
  const maxSize = values.maxSize;
  if (maxSize !== undefined && !/^\d+(\.\d+)?%?$/.test(maxSize))
    return usage(`--max-size must be a pod count or a share such as 25%, got "${maxSize}"`);
  const imbalance = parseShare(values.imbalance);
  if (imbalance === undefined)
    return usage(`--imbalance must be a share such as 3% or 0.03, got "${values.imbalance}"`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) return usage(`--seed must be an integer, got "${values.seed}"`);

  let result: MeshSplitResult;
  try {
    const graph =
      values.file !== undefined
        ? parseGraphFile(values.file, await io.readFile(values.file))
        : await fetchServiceGraphFromPrometheus(values.prometheus!, values.window, {
            ...(values.podsQuery === undefined ? {} : { podsQuery: values.podsQuery }),
            ...(io.fetch === undefined ? {} : { fetch: io.fetch }),
          });
    result = splitMeshes(graph, {
      ...(meshes === undefined ? {} : { meshes }),
      ...(maxSize === undefined ? {} : { maxMeshSize: maxSize.endsWith('%') ? maxSize : Number(maxSize) }),
      imbalance,
      seed,
      ...(values.revision === undefined ? {} : { revision: values.revision }),
      ...(values.groupBy === undefined ? {} : { groupBy: values.groupBy }),
      meshPrefix: values.meshPrefix,
    });
  } catch (err) {
    const code = err instanceof MeshError ? `${err.code}: ` : '';
    io.stderr(`meshwave split: ${code}${(err as Error).message}\n`);
    return SplitExitCode.Failed;
  }
  if (values.apply !== true) printAs(io, values.output, result, () => formatSplitTable(result));
  if (!result.balance.satisfied) {
    io.stderr(
      `meshwave split: the heaviest mesh has ${result.balance.heaviest} pods, over the limit of ${result.balance.limit.toFixed(1)}${values.apply === true ? ': not applied' : ''}\n`,
    );
    return SplitExitCode.ConstraintsNotMet;
  }
  // a split over its constraints is never applied; one within them goes to the planner (a dry run without --yes)
  if (values.apply === true) return applySplit(result, values, io);
  return SplitExitCode.Ok;
}

function parseShare(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text);
  if (!m) return undefined;
  return m[2] === '%' ? Number(m[1]) / 100 : Number(m[1]);
}

/** METIS files by extension; anything else is JSON. */
function parseGraphFile(path: string, text: string): unknown {
  if (path.endsWith('.graph')) {
    const g = parseMetisGraph(text);
    const graph: ServiceGraph = { nodes: [], edges: [] };
    for (let v = 0; v < g.n; v++) {
      graph.nodes.push({ id: String(v + 1), weight: g.vwgt[v]! });
      for (let p = g.xadj[v]!; p < g.xadj[v + 1]!; p++) {
        const u = g.adjncy[p]!;
        if (u > v) graph.edges.push({ source: String(v + 1), target: String(u + 1), weight: g.adjwgt[p]! });
      }
    }
    return graph;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new MeshError(
      MeshErrorCode.InvalidGraph,
      `${path} is neither a METIS .graph file nor valid JSON: ${(cause as Error).message}`,
      { path },
      { cause },
    );
  }
}

const percent = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** Human-readable summary: one row per mesh, then the cut and the heaviest cross-mesh edges. */
export function formatSplitTable(result: MeshSplitResult): string {
  const header = ['mesh', 'revision', 'units', 'namespaces', 'pods', 'pod share', 'traffic share', 'cross traffic'];
  const rows = result.meshes.map((m) => [
    m.name,
    m.revision,
    String(m.units),
    String(m.namespaces.length),
    String(m.pods),
    percent(m.podShare),
    percent(m.trafficShare),
    m.crossTraffic.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [line(header), ...rows.map(line)];
  out.push('');
  out.push(`cross-mesh traffic: ${result.cut.traffic.toFixed(2)} (${percent(result.cut.share)} of all traffic)`);
  out.push(
    `blast radius: at most ${percent(result.blastRadius.largestPodShare)} of pods (${result.blastRadius.largestPodShareMesh}), ` +
      `${percent(result.blastRadius.largestTrafficShare)} of traffic (${result.blastRadius.largestTrafficShareMesh})`,
  );
  out.push(
    `balance: heaviest mesh ${result.balance.heaviest} pods, limit ${result.balance.limit.toFixed(1)} ` +
      `(imbalance ${percent(result.balance.imbalance)})${result.balance.satisfied ? '' : ' — NOT MET'}`,
  );
  const top = result.crossMeshEdges.slice(0, 10);
  if (top.length > 0) {
    out.push('', `heaviest cross-mesh edges (${result.crossMeshEdges.length} in all):`);
    for (const e of top)
      out.push(`  ${e.source} (${e.sourceMesh}) -> ${e.target} (${e.targetMesh}): ${e.traffic.toFixed(2)}`);
  }
  return `${out.join('\n')}\n`;
}

/** The `meshwave split` command: its flags, help and examples. */
export function splitCommand(ctx: CliContext): Command {
  const cmd = new Command('split')
    .description(
      'partition a service graph into isolated meshes (one control-plane revision each) under a size cap, cutting as little traffic as possible',
    )
    .option(
      '-f, --file <graph>',
      'service graph: JSON ({ nodes: [{ id, weight, namespace?, group?, pinned?, labels? }], edges: [{ source, target, weight }] }) or METIS .graph',
    )
    .option('--prometheus <url>', 'read istio_requests_total rates from Prometheus instead')
    .option('--window <duration>', 'rate window for --prometheus', '5m')
    .option('--pods-query <promql>', 'PromQL returning pods per workload (labels namespace, workload) for --prometheus')
    .option('--k <n>', 'number of meshes')
    .option('--max-size <n|p%>', 'largest mesh in pods, or as a share of all pods (the blast-radius cap)')
    .option('--imbalance <p%>', 'allowed imbalance between meshes', '3%')
    .option('--seed <n>', 'seed of the partitioner; same seed, same split', '1')
    .option('--revision <rev>', 'Istio revision, e.g. 1-25-2: control planes become <mesh>-<rev>')
    .option('--group-by <label>', 'nodes with the same value of this label stay in one mesh')
    .option('--mesh-prefix <p>', 'mesh names are <p>-a, <p>-b, ...', 'mesh')
    .option(
      '--apply',
      "apply the split through the planner and the agents: each namespace's meshwave.io/mesh label and each mesh revision's discoverySelectors (a dry run that prints the changes, unless --yes)",
    )
    .option('--yes', 'with --apply: apply for real (audited), not a dry run')
    .option('--clusters <globs>', 'with --apply: only these clusters (comma-separated name globs; default all)')
    .option('--reason <text>', 'with --apply: why, for the audit');
  addClientOptions(cmd);
  addOutputOption(cmd, OutputFormat.Json);
  addDeprecatedAlias(cmd, ctx.io, { flags: '--graph <graph>', replaces: 'file', use: '-f/--file' });
  addDeprecatedAlias(cmd, ctx.io, { flags: '--meshes <n>', replaces: 'k', use: '--k' });
  addFormatAlias(cmd, ctx.io);
  addExamples(cmd, [
    'meshwave split -f examples/services.json --max-size 35% --output table',
    'meshwave split --prometheus http://prometheus:9090 --window 1h --k 4 --revision 1-25-2',
    'meshwave split -f examples/services.json --k 2 --revision 1-25-2 --apply --output table',
    'meshwave split -f examples/services.json --k 2 --revision 1-25-2 --apply --yes --reason "split the fleet"',
  ]);
  cmd.addHelpText(
    'after',
    [
      'With --apply the split goes to the planner (POST /v1/meshes/apply): it prints, per cluster, the namespaces',
      'whose meshwave.io/mesh label changes and the revisions given the mesh as discoverySelectors; nothing is',
      'applied until --yes. Workloads keep their revision: move each mesh onto its own with a rollout (`mesh:`).',
      'Exit status: 0 split (or applied), 1 bad graph or infeasible, 2 invalid flags or a request the planner refused,',
      '3 over the size cap (never applied).',
      '',
    ].join('\n'),
  );
  return cmd.action(async (opts: SplitFlags & SplitApplyFlags) => {
    ctx.exit = await runSplit(opts, ctx.io);
  });
}

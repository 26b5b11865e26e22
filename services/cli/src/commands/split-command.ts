import type { MeshSplitResult, ServiceGraph } from '@meshwave/contracts';
import { parseArgs } from 'node:util';
import { MeshError, MeshErrorCode, parseMetisGraph, splitMeshes } from '@meshwave/mesh';
import { fetchServiceGraphFromPrometheus } from '../adapters/prometheus-graph-source.js';

/** What `meshwave split` may touch; the CLI passes the real file system and streams, tests pass fakes. */
export interface SplitCommandIo {
  readonly readFile: (path: string) => Promise<string>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly fetch?: typeof fetch;
}

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

export const SPLIT_USAGE = `usage: meshwave split (--graph FILE | --prometheus URL [--window 5m]) (--k N | --max-size N|P%) [options]

Splits workloads into isolated meshes (one control-plane revision each) under a size cap, minimising the
traffic that crosses meshes.

  --graph FILE        service graph: JSON ({ nodes: [{ id, weight, namespace?, group?, pinned?, labels? }],
                      edges: [{ source, target, weight }] }) or METIS .graph
  --prometheus URL    read istio_requests_total rates from Prometheus instead
  --window D          rate window for --prometheus (default 5m)
  --pods-query Q      PromQL returning pods per workload (labels namespace, workload) for --prometheus
  --k N               number of meshes (alias --meshes)
  --max-size N|P%     largest mesh in pods, or as a share of all pods (the blast-radius cap)
  --imbalance P%      allowed imbalance between meshes (default 3%)
  --seed N            seed of the partitioner (default 1); same seed, same split
  --revision R        Istio revision, e.g. 1-25-2: control planes become <mesh>-R
  --group-by LABEL    nodes with the same value of this label stay in one mesh
  --mesh-prefix P     mesh names are P-a, P-b, ... (default mesh)
  --format F          json (default) or table
`;

/** `meshwave split`: parses flags, reads the graph, splits, prints. Returns the process exit code. */
export async function runSplitCommand(args: readonly string[], io: SplitCommandIo): Promise<SplitExitCode> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        graph: { type: 'string' },
        prometheus: { type: 'string' },
        window: { type: 'string', default: '5m' },
        'pods-query': { type: 'string' },
        k: { type: 'string' },
        meshes: { type: 'string' },
        'max-size': { type: 'string' },
        imbalance: { type: 'string', default: '3%' },
        seed: { type: 'string', default: '1' },
        revision: { type: 'string' },
        'group-by': { type: 'string' },
        'mesh-prefix': { type: 'string', default: 'mesh' },
        format: { type: 'string', default: 'json' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    io.stderr(`${(err as Error).message}\n\n${SPLIT_USAGE}`);
    return SplitExitCode.Usage;
  }
  if (values.help) {
    io.stdout(SPLIT_USAGE);
    return SplitExitCode.Ok;
  }
  const usage = (message: string): SplitExitCode => {
    io.stderr(`${message}\n\n${SPLIT_USAGE}`);
    return SplitExitCode.Usage;
  };
  if ((values.graph === undefined) === (values.prometheus === undefined))
    return usage('give exactly one of --graph or --prometheus');
  const kText = values.k ?? values.meshes;
  if (kText === undefined && values['max-size'] === undefined) return usage('give --k or --max-size');
  const meshes = kText === undefined ? undefined : Number(kText);
  if (meshes !== undefined && (!Number.isInteger(meshes) || meshes < 1))
    return usage(`--k must be a positive integer, got "${kText}"`);
  const maxSize = values['max-size'];
  if (maxSize !== undefined && !/^\d+(\.\d+)?%?$/.test(maxSize))
    return usage(`--max-size must be a pod count or a share such as 25%, got "${maxSize}"`);
  const imbalance = parseShare(values.imbalance);
  if (imbalance === undefined)
    return usage(`--imbalance must be a share such as 3% or 0.03, got "${values.imbalance}"`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) return usage(`--seed must be an integer, got "${values.seed}"`);
  if (values.format !== 'json' && values.format !== 'table')
    return usage(`--format must be json or table, got "${values.format}"`);

  let result: MeshSplitResult;
  try {
    const graph =
      values.graph !== undefined
        ? parseGraphFile(values.graph, await io.readFile(values.graph))
        : await fetchServiceGraphFromPrometheus(values.prometheus!, values.window, {
            ...(values['pods-query'] === undefined ? {} : { podsQuery: values['pods-query'] }),
            ...(io.fetch === undefined ? {} : { fetch: io.fetch }),
          });
    result = splitMeshes(graph, {
      ...(meshes === undefined ? {} : { meshes }),
      ...(maxSize === undefined ? {} : { maxMeshSize: maxSize.endsWith('%') ? maxSize : Number(maxSize) }),
      imbalance,
      seed,
      ...(values.revision === undefined ? {} : { revision: values.revision }),
      ...(values['group-by'] === undefined ? {} : { groupBy: values['group-by'] }),
      meshPrefix: values['mesh-prefix'],
    });
  } catch (err) {
    const code = err instanceof MeshError ? `${err.code}: ` : '';
    io.stderr(`meshwave split: ${code}${(err as Error).message}\n`);
    return SplitExitCode.Failed;
  }
  io.stdout(values.format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : formatSplitTable(result));
  if (!result.balance.satisfied) {
    io.stderr(
      `meshwave split: the heaviest mesh has ${result.balance.heaviest} pods, over the limit of ${result.balance.limit.toFixed(1)}\n`,
    );
    return SplitExitCode.ConstraintsNotMet;
  }
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

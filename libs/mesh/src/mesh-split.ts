import {
  MAX_MESHES,
  MeshSplitOptions,
  ServiceGraph,
  type CrossMeshEdge,
  type MeshIstioConfig,
  type MeshSplitResult,
  type MeshSummary,
  type ResolvedMeshSplitOptions,
} from '@meshwave/contracts';
import { totalVertexWeight } from './csr-graph.js';
import { MeshError, MeshErrorCode } from './errors.js';
import { istioConfigForMesh } from './istio-config.js';
import { meshIndex, meshNames, meshRevision } from './mesh-names.js';
import { partitionGraph, type Partition } from './partitioner.js';
import { contractUnits, namespaceOf, type UnitGraph } from './unit-graph.js';

/** When only a size cap is given, try this many mesh counts above the minimum before giving up. */
const EXTRA_MESH_ATTEMPTS = 8;
/** Service graphs are small (hundreds to thousands of units): spend about this much work on repeated runs. */
const WORK_BUDGET = 100_000;
const MAX_ATTEMPTS = 4;

/**
 * Splits a service graph into meshes: each mesh under the size cap and within the allowed imbalance, namespaces
 * and groups whole, pinned units where they are pinned, and as little traffic as possible crossing meshes.
 * Returns the assignment, the cross-mesh edges, the blast-radius report and each mesh's Istio configuration.
 * Pure and deterministic: the same graph, options and seed give the same result.
 */
export function splitMeshes(graphInput: unknown, optionsInput: MeshSplitOptions): MeshSplitResult {
  const graph = parseOrThrow(ServiceGraph, graphInput, MeshErrorCode.InvalidGraph, 'service graph');
  const options = parseOrThrow(MeshSplitOptions, optionsInput, MeshErrorCode.InvalidOptions, 'split options');
  if (graph.nodes.length === 0)
    throw new MeshError(MeshErrorCode.InvalidGraph, 'the service graph has no nodes', {}, { path: 'graph.nodes' });

  const totalPods = graph.nodes.reduce((s, n) => s + n.weight, 0);
  const cap = resolveCap(options.maxMeshSize, totalPods);
  checkNodesFit(graph, cap, options.maxMeshSize);
  const candidates = meshCountCandidates(graph, options, totalPods, cap);

  // Fewest meshes that satisfy the balance (cap and imbalance); failing that, the fewest that keep every mesh under
  // the cap (reported `satisfied: false`); failing that, the last tried. More meshes than units cannot be placed
  // apart: an error when the count was asked for, the end of the search when the cap derived it.
  type Tried = { k: number; units: UnitGraph; partition: Partition };
  let chosen: Tried | undefined;
  let underCap: Tried | undefined;
  let last: Tried | undefined;
  for (const k of candidates) {
    const units = contractUnits(graph, (name) => pinIndexWithin(options.meshPrefix, name, k), options.groupBy);
    if (k > units.graph.n) {
      if (last !== undefined && options.meshes === undefined) break;
      throw new MeshError(
        MeshErrorCode.Infeasible,
        `${k} meshes requested but only ${units.graph.n} units can be placed apart`,
        { meshes: k, units: units.graph.n },
        { path: options.meshes !== undefined ? 'options.meshes' : 'options.maxMeshSize' },
      );
    }
    checkUnitsFit(graph, units, cap);
    const partition = partitionGraph(units.graph, {
      k,
      imbalance: options.imbalance,
      maxPartWeight: cap,
      fixed: units.fixed,
      seed: options.seed,
      attempts: Math.max(
        1,
        Math.min(MAX_ATTEMPTS, Math.floor(WORK_BUDGET / (units.graph.n + units.graph.adjncy.length))),
      ),
    });
    last = { k, units, partition };
    if (partition.balanced) {
      chosen = last;
      break;
    }
    if (underCap === undefined && Math.max(...partition.weights) <= cap) underCap = last;
  }
  const result = chosen ?? underCap ?? last!;
  return describeSplit(graph, options, result.k, result.units, result.partition);
}

function parseOrThrow<T>(
  schema: {
    safeParse(
      x: unknown,
    ): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  input: unknown,
  code: MeshErrorCode,
  what: string,
): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
  throw new MeshError(code, `invalid ${what}: ${problems.join('; ')}`, { problems });
}

function resolveCap(maxMeshSize: ResolvedMeshSplitOptions['maxMeshSize'], totalPods: number): number {
  if (maxMeshSize === undefined) return Infinity;
  if (typeof maxMeshSize === 'number') return maxMeshSize;
  return (Number(maxMeshSize.slice(0, -1)) / 100) * totalPods;
}

/**
 * The mesh counts to try, decided before any partitioning: the given `meshes`, or from the fewest the cap
 * allows up to EXTRA_MESH_ATTEMPTS more. Never more meshes than nodes (a mesh needs at least one), so the list
 * is short and finite whatever the options: a cap of `0%` or `1e-300` once made the list endless.
 */
export function meshCountCandidates(
  graph: ServiceGraph,
  options: Pick<ResolvedMeshSplitOptions, 'meshes' | 'meshPrefix' | 'maxMeshSize'>,
  totalPods: number,
  cap: number,
): number[] {
  const nodes = graph.nodes.length;
  if (options.meshes !== undefined) {
    if (options.meshes > nodes)
      throw new MeshError(
        MeshErrorCode.Infeasible,
        `${options.meshes} meshes requested but the graph has only ${nodes} nodes`,
        { meshes: options.meshes, nodes },
        { path: 'options.meshes' },
      );
    return [options.meshes];
  }
  let highestPin = -1;
  let pinnedAt = -1;
  graph.nodes.forEach((n, i) => {
    const index = n.pinned === undefined ? undefined : meshIndex(options.meshPrefix, n.pinned);
    if (index !== undefined && index > highestPin) {
      highestPin = index;
      pinnedAt = i;
    }
  });
  if (highestPin >= nodes) {
    throw new MeshError(
      MeshErrorCode.Infeasible,
      `node "${graph.nodes[pinnedAt]!.id}" is pinned to mesh number ${highestPin + 1}, but ${nodes} nodes make at most ${nodes} meshes`,
      { node: graph.nodes[pinnedAt]!.id },
      { path: `graph.nodes[${pinnedAt}].pinned` },
    );
  }
  // Every node fits under the cap (checkNodesFit), so totalPods / cap ≤ nodes, up to rounding.
  const byWeight = totalPods > 0 ? Math.min(nodes, Math.ceil(totalPods / cap - 1e-9)) : 1;
  const minimum = Math.max(1, byWeight, highestPin + 1);
  if (minimum > MAX_MESHES) {
    throw new MeshError(
      MeshErrorCode.Infeasible,
      `maxMeshSize ${String(options.maxMeshSize)} needs at least ${minimum} meshes; a split makes at most ${MAX_MESHES}`,
      { meshes: minimum },
      { path: highestPin + 1 === minimum ? `graph.nodes[${pinnedAt}].pinned` : 'options.maxMeshSize' },
    );
  }
  const candidates: number[] = [];
  for (let k = minimum; k <= Math.min(minimum + EXTRA_MESH_ATTEMPTS, nodes, MAX_MESHES); k++) candidates.push(k);
  return candidates;
}

/** A node heavier than the cap fits in no mesh: refused before any work, pointing at the cap. */
function checkNodesFit(graph: ServiceGraph, cap: number, maxMeshSize: ResolvedMeshSplitOptions['maxMeshSize']): void {
  const heaviest = graph.nodes.reduce((h, n) => (n.weight > h.weight ? n : h), graph.nodes[0]!);
  if (heaviest.weight > cap) {
    throw new MeshError(
      MeshErrorCode.Infeasible,
      `maxMeshSize ${String(maxMeshSize)} allows ${cap} pods per mesh, but node "${heaviest.id}" alone has ${heaviest.weight}`,
      { node: heaviest.id, pods: heaviest.weight, cap },
      { path: 'options.maxMeshSize' },
    );
  }
}

function pinIndexWithin(prefix: string, name: string, k: number): number | undefined {
  const i = meshIndex(prefix, name);
  return i !== undefined && i < k ? i : undefined;
}

function checkUnitsFit(graph: ServiceGraph, units: UnitGraph, cap: number): void {
  if (cap === Infinity) return;
  for (let u = 0; u < units.graph.n; u++) {
    const w = units.graph.vwgt[u]!;
    if (w > cap) {
      const members = graph.nodes.filter((_, i) => units.unitOf[i] === u).map((n) => n.id);
      throw new MeshError(
        MeshErrorCode.Infeasible,
        `units that must stay together (${members.slice(0, 5).join(', ')}${members.length > 5 ? ', …' : ''}) have ${w} pods, more than the mesh size cap of ${cap}`,
        { members, pods: w, cap },
        { path: 'options.maxMeshSize' },
      );
    }
  }
}

function describeSplit(
  graph: ServiceGraph,
  options: ResolvedMeshSplitOptions,
  k: number,
  units: UnitGraph,
  partition: Partition,
): MeshSplitResult {
  const names = meshNames(options.meshPrefix, k);
  const meshOfNode = graph.nodes.map((_, i) => partition.part[units.unitOf[i]!]!);
  const assignment: Record<string, string> = {};
  const meshById = new Map<string, number>();
  graph.nodes.forEach((node, i) => {
    assignment[node.id] = names[meshOfNode[i]!]!;
    meshById.set(node.id, meshOfNode[i]!);
  });

  const pods = new Float64Array(k);
  const unitCount = new Int32Array(k);
  const namespaces = names.map(() => new Set<string>());
  graph.nodes.forEach((node, i) => {
    const m = meshOfNode[i]!;
    pods[m] = pods[m]! + node.weight;
    unitCount[m]!++;
    namespaces[m]!.add(namespaceOf(node));
  });

  const touching = new Float64Array(k);
  const cross = new Float64Array(k);
  let totalTraffic = 0;
  let cutTraffic = 0;
  const crossMeshEdges: CrossMeshEdge[] = [];
  for (const e of graph.edges) {
    if (e.source === e.target) continue;
    const a = meshById.get(e.source)!;
    const b = meshById.get(e.target)!;
    totalTraffic += e.weight;
    touching[a] = touching[a]! + e.weight;
    if (a !== b) {
      touching[b] = touching[b]! + e.weight;
      cross[a] = cross[a]! + e.weight;
      cross[b] = cross[b]! + e.weight;
      cutTraffic += e.weight;
      crossMeshEdges.push({
        source: e.source,
        target: e.target,
        sourceMesh: names[a]!,
        targetMesh: names[b]!,
        traffic: e.weight,
      });
    }
  }
  crossMeshEdges.sort(
    (x, y) => y.traffic - x.traffic || x.source.localeCompare(y.source) || x.target.localeCompare(y.target),
  );

  const totalPods = totalVertexWeight(units.graph);
  const share = (x: number, total: number): number => (total > 0 ? x / total : 0);
  const meshes: MeshSummary[] = names.map((name, m) => ({
    name,
    revision: meshRevision(name, options.revision),
    units: unitCount[m]!,
    namespaces: [...namespaces[m]!].sort(),
    pods: pods[m]!,
    podShare: share(pods[m]!, totalPods),
    trafficShare: share(touching[m]!, totalTraffic),
    crossTraffic: cross[m]!,
  }));
  const byPods = meshes.reduce((a, b) => (b.podShare > a.podShare ? b : a));
  const byTraffic = meshes.reduce((a, b) => (b.trafficShare > a.trafficShare ? b : a));
  const heaviest = Math.max(...meshes.map((m) => m.pods));
  const istio: MeshIstioConfig[] = meshes.map((m) => istioConfigForMesh(m.name, m.revision, m.namespaces));
  return {
    meshes,
    assignment,
    crossMeshEdges,
    cut: { traffic: cutTraffic, share: share(cutTraffic, totalTraffic) },
    blastRadius: {
      largestPodShare: byPods.podShare,
      largestPodShareMesh: byPods.name,
      largestTrafficShare: byTraffic.trafficShare,
      largestTrafficShareMesh: byTraffic.name,
    },
    balance: {
      limit: partition.limit,
      heaviest,
      imbalance: totalPods > 0 ? heaviest / (totalPods / k) - 1 : 0,
      satisfied: partition.balanced,
    },
    istio,
    seed: options.seed,
  };
}

import {
  AMBIENT_NAMESPACE_LABEL,
  AmbientComponent,
  AmbientProblemCode,
  DaemonSetUpdateStrategy,
  NodeAgentKind,
  PlanProblemCode,
  resolveRevision,
  type AmbientStepCommand,
  type Inventory,
  type InventoryCluster,
  type InventoryNodeAgent,
  type PlannedAmbientNode,
  type PlannedAmbientStep,
  type PlannedWaypoint,
  type PlanProblem,
  type RolloutSpec,
  type InventoryWorkload,
  type SkippedWorkload,
  SkipReason,
} from '@meshwave/contracts';
import { compileGlobs, labelsMatch } from './glob.js';
import { skippedOf } from './plan-report.js';
import type { InMesh } from './rollout-mesh.js';
import { CompiledSelector } from './selection.js';
import { parseIstioVersion, versionSkewVerdict } from './upgrade-rules.js';
import { iso, type WaveScheduler } from './wave-schedule.js';

/** The name of a node wave (`ztunnel-2`) or of a waypoint step (`waypoints-1`), numbered from 1. */
export const ambientStepName = (component: AmbientComponent, index: number): string => `${component}-${index + 1}`;

/** istio-cni before ztunnel: ztunnel relies on the CNI agent of its node to hand it the pods' traffic. */
const NODE_AGENT_ORDER = [NodeAgentKind.IstioCni, NodeAgentKind.Ztunnel] as const;

/** What the ambient section moves in one cluster: node waves per node agent, and waypoint steps. */
interface ClusterMoves {
  readonly nodeWaves: Map<NodeAgentKind, PlannedAmbientNode[][]>;
  readonly waypointSteps: PlannedWaypoint[][];
}

const chunks = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

/** The node agent of `kind` that serves `to` in the cluster (its revision resolves to it), else the only one. */
function agentFor(c: InventoryCluster, kind: NodeAgentKind, to: string): InventoryNodeAgent | undefined {
  const agents = (c.ambient?.nodeAgents ?? []).filter((a) => a.kind === kind);
  return (
    agents.find((a) => resolveRevision(c.tags, a.revision) === to) ?? (agents.length === 1 ? agents[0] : undefined)
  );
}

/**
 * Istio's version rule for a node agent (ADR 0051, the rule of ADR 0028 reused): it moves only to a version its
 * control plane (`to`'s) already serves, at most one minor behind it, never ahead. Undefined when the agent may
 * move; the problem otherwise.
 */
function agentProblem(
  body: RolloutSpec['spec'],
  c: InventoryCluster,
  agent: InventoryNodeAgent,
): PlanProblem | undefined {
  const name = `${agent.kind} ${agent.namespace}/${agent.name} in cluster ${c.name}`;
  if (agent.updateStrategy !== DaemonSetUpdateStrategy.OnDelete)
    return {
      code: AmbientProblemCode.NotOnDelete,
      message: `${name} replaces its pods itself (updateStrategy ${agent.updateStrategy}): set it to OnDelete so meshwave moves it node by node`,
      cluster: c.name,
      blocking: true,
    };
  const to = resolveRevision(c.tags, body.to);
  const plane = c.controlPlanes?.find((p) => p.revision === to);
  const agentVersion = parseIstioVersion(agent.version);
  const planeVersion = parseIstioVersion(plane?.version);
  if (agentVersion === undefined || planeVersion === undefined)
    return {
      code: AmbientProblemCode.VersionUnknown,
      message: `${name}: the version of ${agentVersion === undefined ? `the node agent (${String(agent.version)})` : `control plane ${body.to}`} is unknown, so the version rule is not checked`,
      cluster: c.name,
      blocking: false,
    };
  const verdict = versionSkewVerdict(agentVersion, planeVersion);
  if (verdict.supported) return undefined;
  return {
    code: AmbientProblemCode.VersionSkew,
    message: `${name} moves to ${agentVersion.text}: ${verdict.why}`,
    cluster: c.name,
    blocking: true,
    refusal: true,
  };
}

/** What the `ambient:` section moves in each selected cluster, with the problems of Istio's rules. */
function movesOf(
  body: RolloutSpec['spec'],
  clusters: Inventory['clusters'],
  problems: PlanProblem[],
  inMesh: InMesh | undefined,
): Map<string, ClusterMoves> {
  const section = body.ambient!;
  const { pools, nodeLabels, ...where } = section.select;
  const selector = new CompiledSelector(where, clusters);
  const poolMatches = compileGlobs(pools);
  const out = new Map<string, ClusterMoves>();
  clusters.forEach((c, ci) => {
    if (!selector.matchesCluster(ci) || c.ambient === undefined) return;
    const nodes = c.ambient.nodes.filter(
      (n) =>
        (pools === undefined || (n.pool !== undefined && poolMatches(n.pool))) && labelsMatch(nodeLabels, n.labels),
    );
    const nodeWaves = new Map<NodeAgentKind, PlannedAmbientNode[][]>();
    for (const kind of NODE_AGENT_ORDER) {
      const agent = agentFor(c, kind, body.to);
      if (agent === undefined) continue;
      // a node whose agent pod runs another version than the DaemonSet's template moves
      const moving = nodes.filter((n) => n.agents[kind] !== undefined && n.agents[kind] !== agent.version);
      if (moving.length === 0) continue;
      const problem = agentProblem(body, c, agent);
      if (problem !== undefined) problems.push(problem);
      if (problem?.blocking === true) continue;
      const planned = moving.map((n) => ({ cluster: c.name, name: n.name, version: agent.version ?? '' }));
      nodeWaves.set(kind, chunks(planned, section.maxUnavailable));
    }
    const waypoints = c.ambient.waypoints
      // a rollout of one mesh moves only its mesh's waypoints (ADR 0056)
      .filter((w) => inMesh === undefined || inMesh(ci, w.namespace))
      .filter((w) => selector.matchesNamespace(w.namespace) && resolveRevision(c.tags, w.revision) === body.from)
      .map((w) => ({ cluster: c.name, namespace: w.namespace, name: w.name }));
    out.set(c.name, { nodeWaves, waypointSteps: chunks(waypoints, section.waypointsPerStep) });
  });
  return out;
}

/**
 * The ambient steps of a plan (ADR 0051), scheduled in the chain of waves: istio-cni's node waves, then ztunnel's,
 * then the waypoint steps. Step k of a component takes the k-th wave of every cluster (clusters move side by side,
 * each at most `maxUnavailable` nodes at once). A step converging after the deadline is a blocking
 * `DEADLINE_MISSED`, as a wave's is. Also returns the clusters the steps move in (Istio's control-plane rules
 * apply there).
 */
export function planAmbientSteps(
  body: RolloutSpec['spec'],
  clusters: Inventory['clusters'],
  scheduler: WaveScheduler,
  problems: PlanProblem[],
  inMesh?: InMesh,
): { steps: PlannedAmbientStep[]; clusters: Set<string> } {
  const steps: PlannedAmbientStep[] = [];
  const moving = new Set<string>();
  if (body.ambient === undefined) return { steps, clusters: moving };
  const soakSeconds = body.ambient.soak ?? body.defaults.soak;
  const moves = [...movesOf(body, clusters, problems, inMesh).values()];
  const wanted: {
    component: AmbientComponent;
    index: number;
    nodes: PlannedAmbientNode[];
    waypoints: PlannedWaypoint[];
  }[] = [];
  for (const kind of NODE_AGENT_ORDER) {
    const count = Math.max(0, ...moves.map((m) => m.nodeWaves.get(kind)?.length ?? 0));
    for (let k = 0; k < count; k++)
      wanted.push({
        component: kind,
        index: k,
        nodes: moves.flatMap((m) => m.nodeWaves.get(kind)?.[k] ?? []),
        waypoints: [],
      });
  }
  const waypointCount = Math.max(0, ...moves.map((m) => m.waypointSteps.length));
  for (let k = 0; k < waypointCount; k++)
    wanted.push({
      component: AmbientComponent.Waypoints,
      index: k,
      nodes: [],
      waypoints: moves.flatMap((m) => m.waypointSteps[k] ?? []),
    });
  const deadline = Date.parse(body.deadline);
  for (const w of wanted) {
    if (scheduler.blocked) break;
    const name = ambientStepName(w.component, w.index);
    const s = scheduler.scheduleStep(name, soakSeconds);
    if (s === undefined) break;
    if (s.converged > deadline)
      problems.push({
        code: PlanProblemCode.DeadlineMissed,
        message: `ambient step "${name}" starts ${iso(s.start)} and is estimated to converge ${iso(s.converged)}, after the deadline ${body.deadline}`,
        wave: name,
        blocking: true,
      });
    for (const n of w.nodes) moving.add(n.cluster);
    for (const p of w.waypoints) moving.add(p.cluster);
    steps.push({
      index: steps.length,
      name,
      component: w.component,
      earliestStart: iso(s.start),
      estimatedConverged: iso(s.converged),
      soakSeconds,
      nodes: w.nodes,
      waypoints: w.waypoints,
      delays: [...s.delays],
    });
  }
  return { steps, clusters: moving };
}

/**
 * The test that skips a sidecarless workload of an ambient namespace (`istio.io/dataplane-mode=ambient`): it has
 * no sidecar to restart, its data plane is its node's ztunnel (ADR 0051). A skipped workload is recorded in
 * `skipped` with the reason `ambient`.
 */
export function ambientSkipper(
  clusters: Inventory['clusters'],
  skipped: SkippedWorkload[],
): (cluster: number, w: InventoryWorkload) => boolean {
  const ambient = clusters.map(
    (c) =>
      new Set(
        (c.namespaces ?? [])
          .filter((n) => n.labels[AMBIENT_NAMESPACE_LABEL.key] === AMBIENT_NAMESPACE_LABEL.value)
          .map((n) => n.name),
      ),
  );
  return (ci, w) => {
    if (w.injectedRevision != null || !ambient[ci]!.has(w.namespace)) return false;
    skipped.push(skippedOf(clusters[ci]!.name, w, SkipReason.Ambient));
    return true;
  };
}

/**
 * What a cluster's desired state carries of a planned ambient step (ADR 0051): its nodes (or waypoints) of that
 * cluster, with the section's bound and drain policy; undefined when the step moves nothing there.
 */
export function ambientStepCommand(
  step: PlannedAmbientStep,
  cluster: string,
  body: Pick<RolloutSpec['spec'], 'to' | 'ambient'>,
): AmbientStepCommand | undefined {
  const section = body.ambient;
  if (section === undefined) return undefined;
  if (step.component === AmbientComponent.Waypoints) {
    const waypoints = step.waypoints
      .filter((w) => w.cluster === cluster)
      .map(({ namespace, name }) => ({ namespace, name }));
    return waypoints.length === 0
      ? undefined
      : {
          step: step.name,
          component: step.component,
          nodes: [],
          maxUnavailable: section.maxUnavailable,
          drain: section.drain,
          graceSeconds: section.grace,
          waypoints,
          revision: body.to,
        };
  }
  const nodes = step.nodes.filter((n) => n.cluster === cluster);
  if (nodes.length === 0) return undefined;
  return {
    step: step.name,
    component: step.component,
    version: nodes[0]!.version,
    nodes: nodes.map((n) => n.name),
    maxUnavailable: section.maxUnavailable,
    drain: section.drain,
    graceSeconds: section.grace,
    waypoints: [],
  };
}

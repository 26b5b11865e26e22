import {
  AmbientInventory,
  InventoryNode as InventoryNodeSchema,
  InventoryNodeAgent as InventoryNodeAgentSchema,
  InventoryWaypoint as InventoryWaypointSchema,
  MAX_NODE_AGENTS,
  MAX_NODES,
  MAX_WAYPOINTS,
  NODE_POOL_LABELS,
  RevisionName,
  WaypointFor,
  type InventoryNode,
  type InventoryNodeAgent,
  type InventoryWaypoint,
  type NodeAgentKind,
} from '@meshwave/contracts';
import {
  IstioLabel,
  nodeAgentOf,
  nodeAgentRevisionOf,
  nodeAgentVersionOf,
  nodePoolOf,
  waypointForOf,
} from '@meshwave/istio';
import type { DaemonSetView, NodePodView, NodeView, WaypointView } from '../ports/ambient-port.js';

const revisionOrNull = (r: string | null | undefined): string | null =>
  r !== null && r !== undefined && RevisionName.safeParse(r).success ? r : null;

const WAYPOINT_FOR = new Set<string>(Object.values(WaypointFor));

/** A node agent DaemonSet recognised, with its kind. */
export interface NodeAgentDaemonSet {
  readonly kind: NodeAgentKind;
  readonly daemonSet: DaemonSetView;
}

/** The istio-cni and ztunnel DaemonSets among a cluster's DaemonSets (ADR 0051). */
export function nodeAgentDaemonSets(daemonSets: readonly DaemonSetView[]): NodeAgentDaemonSet[] {
  return daemonSets.flatMap((d) => {
    const kind = nodeAgentOf({ ...d, kind: 'DaemonSet' });
    return kind === undefined ? [] : [{ kind, daemonSet: d }];
  });
}

/** The version a node agent's pod runs (its image tag), null when the tag says none. */
export const podAgentVersion = (kind: NodeAgentKind, p: NodePodView): string | null =>
  nodeAgentVersionOf(kind, Object.fromEntries(p.containers.map((c) => [c.name, c.image])), p.labels);

/** The version a node agent DaemonSet's pod template runs. */
export const templateAgentVersion = (kind: NodeAgentKind, d: DaemonSetView): string | null =>
  nodeAgentVersionOf(kind, d.images, d.templateLabels);

/**
 * What the inventory says of ambient mode (pure): every node with its pool and the version of each node agent's
 * live pod on it, the node agent DaemonSets, the waypoints. Entries the contract refuses are left out rather than
 * fail the report; the lists are capped by the contract's limits (the first by name are kept).
 */
export function ambientInventory(input: {
  readonly nodes: readonly NodeView[];
  readonly agents: readonly NodeAgentDaemonSet[];
  /** the live pods of each node agent, by kind */
  readonly agentPods: ReadonlyMap<NodeAgentKind, readonly NodePodView[]>;
  readonly waypoints: readonly WaypointView[];
}): AmbientInventory {
  const versions = new Map<string, Partial<Record<NodeAgentKind, string | null>>>();
  for (const [kind, pods] of input.agentPods)
    for (const p of pods) {
      if (p.terminating || p.nodeName === undefined) continue;
      const on = versions.get(p.nodeName) ?? {};
      on[kind] = podAgentVersion(kind, p);
      versions.set(p.nodeName, on);
    }
  const nodes: InventoryNode[] = [...input.nodes]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((n) => {
      const pool = nodePoolOf(n.labels, NODE_POOL_LABELS);
      return {
        name: n.name,
        labels: n.labels,
        ...(pool === undefined ? {} : { pool }),
        unschedulable: n.unschedulable,
        agents: versions.get(n.name) ?? {},
      };
    });
  const nodeAgents: InventoryNodeAgent[] = input.agents.map(({ kind, daemonSet: d }) => ({
    kind,
    namespace: d.namespace,
    name: d.name,
    revision: revisionOrNull(nodeAgentRevisionOf({ ...d, kind: 'DaemonSet' })),
    version: templateAgentVersion(kind, d),
    updateStrategy: d.updateStrategy === 'OnDelete' ? 'OnDelete' : 'RollingUpdate',
  }));
  const waypoints: InventoryWaypoint[] = input.waypoints.flatMap((w) => {
    const serves = waypointForOf(w.labels);
    if (serves === undefined || !WAYPOINT_FOR.has(serves)) return [];
    return [
      {
        namespace: w.namespace,
        name: w.name,
        revision: revisionOrNull(w.labels[IstioLabel.Revision]),
        for: serves as InventoryWaypoint['for'],
      },
    ];
  });
  // an entry the contract refuses is left out; over a limit, the first by name are kept
  const keep = <T>(items: readonly T[], schema: { safeParse(v: unknown): { success: boolean } }, max: number): T[] =>
    items.filter((i) => schema.safeParse(i).success).slice(0, max);
  return AmbientInventory.parse({
    nodes: keep(nodes, InventoryNodeSchema, MAX_NODES),
    nodeAgents: keep(nodeAgents, InventoryNodeAgentSchema, MAX_NODE_AGENTS),
    waypoints: keep(waypoints, InventoryWaypointSchema, MAX_WAYPOINTS),
  });
}

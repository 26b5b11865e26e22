import { NodeDrainPolicy, type NodeAgentKind } from '@meshwave/contracts';
import type { NodeView } from '../ports/ambient-port.js';

// One node's move of a node agent (ADR 0051), as a pure decision: given what the apiserver shows of the node (its
// cordon and meshwave's marks on it) and of the node agent's pods there, the one next write. The marks are the
// step's state: an agent killed mid-step reads them back and carries on where the last one stopped.

/** meshwave's marks on a node it moves. */
export const AmbientNodeAnnotation = {
  /** `<node agent>@<version>`: meshwave cordoned the node to move that node agent to that version */
  Step: 'meshwave.io/ambient-step',
  /** when meshwave cordoned it (RFC 3339): the grace of the drain policy counts from here */
  CordonedAt: 'meshwave.io/ambient-cordoned-at',
  /** `true`: the node was cordoned before meshwave came, and stays cordoned after */
  WasCordoned: 'meshwave.io/ambient-was-cordoned',
} as const;

/** What one node's move is for. */
export interface NodeMove {
  readonly component: NodeAgentKind;
  /** the version the node agent's pod must run (its DaemonSet's template) */
  readonly version: string;
  readonly policy: NodeDrainPolicy;
  /** `wait`: how long the cordoned node is held; `drain`: how long its evictions may take */
  readonly graceMs: number;
}

/** A node agent's pod on the node. */
export interface AgentPod {
  readonly namespace: string;
  readonly name: string;
  /** the version it runs; null when its image says none */
  readonly version: string | null;
  readonly ready: boolean;
  readonly terminating: boolean;
}

export interface PodRef {
  readonly namespace: string;
  readonly name: string;
}

export interface NodeObservation {
  readonly node: NodeView;
  readonly agentPods: readonly AgentPod[];
  /** the version of the DaemonSet's template, and whether its controller has seen that template */
  readonly template: { readonly version: string | null; readonly observed: boolean };
  /** under `drain`: the node's pods in ambient namespaces that are not a DaemonSet's, live or terminating */
  readonly drainable: readonly (PodRef & { readonly terminating: boolean })[];
  readonly now: number;
}

export type NodeAction =
  /** the node agent runs `version`, ready, and meshwave holds no cordon on the node */
  | { readonly kind: 'converged' }
  /** cordon the node and mark it (needs one of the cluster's `maxUnavailable` slots) */
  | { readonly kind: 'cordon'; readonly wasCordoned: boolean }
  | { readonly kind: 'evict'; readonly pods: readonly PodRef[] }
  /** delete the node agent's old pods: its DaemonSet (OnDelete) makes the next one from the new template */
  | { readonly kind: 'replace'; readonly pods: readonly PodRef[] }
  /** lift meshwave's cordon (unless the node was cordoned before) and its marks */
  | { readonly kind: 'uncordon'; readonly keepCordoned: boolean }
  | { readonly kind: 'wait'; readonly why: string }
  | { readonly kind: 'failed'; readonly why: string };

export const stepMark = (move: Pick<NodeMove, 'component' | 'version'>): string => `${move.component}@${move.version}`;

/** True when meshwave holds a cordon on the node for some move: it counts against `maxUnavailable`. */
export const heldByMeshwave = (node: NodeView): boolean => node.annotations[AmbientNodeAnnotation.Step] !== undefined;

const pods = (n: number): string => `${n} pod${n === 1 ? '' : 's'}`;

/** The next write for a node's move. */
export function decideNode(move: NodeMove, o: NodeObservation): NodeAction {
  const mark = o.node.annotations[AmbientNodeAnnotation.Step];
  const live = o.agentPods.filter((p) => !p.terminating);
  const stale = live.filter((p) => p.version !== move.version);
  const moved = stale.length === 0 && live.some((p) => p.ready);
  if (mark !== undefined && mark !== stepMark(move)) return { kind: 'wait', why: `the node is held for ${mark}` };
  if (mark === undefined) {
    if (moved) return { kind: 'converged' };
    if (o.template.version !== move.version || !o.template.observed)
      return {
        kind: 'wait',
        why: `the DaemonSet's template runs ${String(o.template.version)}, not ${move.version}: it must be updated first`,
      };
    return { kind: 'cordon', wasCordoned: o.node.unschedulable };
  }
  if (moved)
    return { kind: 'uncordon', keepCordoned: o.node.annotations[AmbientNodeAnnotation.WasCordoned] === 'true' };
  if (stale.length === 0) return { kind: 'wait', why: `the new ${move.component} pod is not ready on ${move.version}` };
  // the node is cordoned for this move and the old pod still runs: drain or wait, then replace it
  const since = Date.parse(o.node.annotations[AmbientNodeAnnotation.CordonedAt] ?? '');
  const graceEnds = (Number.isNaN(since) ? o.now : since) + move.graceMs;
  if (move.component === 'ztunnel' && move.policy === NodeDrainPolicy.Drain) {
    const left = o.drainable.filter((p) => !p.terminating);
    if (o.drainable.length > 0 && o.now >= graceEnds && move.graceMs > 0)
      return {
        kind: 'failed',
        why: `${pods(o.drainable.length)} still on the node after the grace of ${move.graceMs / 1000}s`,
      };
    if (left.length > 0) return { kind: 'evict', pods: left.map(({ namespace, name }) => ({ namespace, name })) };
    if (o.drainable.length > 0) return { kind: 'wait', why: `${pods(o.drainable.length)} evicted, still terminating` };
  } else if (move.component === 'ztunnel' && o.now < graceEnds)
    return { kind: 'wait', why: `holding the cordoned node until ${new Date(graceEnds).toISOString()}` };
  return { kind: 'replace', pods: stale.map(({ namespace, name }) => ({ namespace, name })) };
}

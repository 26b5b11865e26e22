import type { NodeAgentKind, NodeDrainPolicy } from '@meshwave/contracts';
import type { Clock } from '@meshwave/reconcile';
import { nodeAgentDaemonSets, podAgentVersion, templateAgentVersion } from '../core/ambient-inventory.js';
import {
  AmbientNodeAnnotation,
  decideNode,
  heldByMeshwave,
  stepMark,
  type NodeAction,
  type NodeMove,
} from '../core/node-step.js';
import type { AmbientPort, DaemonSetView, NodePodView, NodeView } from '../ports/ambient-port.js';

/** One node wave of a node agent (ADR 0051): these nodes, at most `maxUnavailable` of the cluster's cordoned. */
export interface NodeWave {
  readonly component: NodeAgentKind;
  readonly version: string;
  readonly nodes: readonly string[];
  /** nodes of the cluster meshwave may hold cordoned at once, every move counted */
  readonly maxUnavailable: number;
  readonly policy: NodeDrainPolicy;
  readonly graceMs: number;
}

export const NodeState = {
  /** not started: waiting for a free slot, or for its DaemonSet's template */
  Pending: 'pending',
  /** cordoned, draining or waiting, its pod being replaced */
  Moving: 'moving',
  Converged: 'converged',
  Failed: 'failed',
} as const;
export type NodeState = (typeof NodeState)[keyof typeof NodeState];

export interface NodeProgress {
  readonly node: string;
  readonly state: NodeState;
  /** what it waits for, or why it failed */
  readonly detail?: string;
}

/** The DaemonSet of the node agent: the one whose template runs `version`, else the only one. */
function daemonSetFor(all: readonly DaemonSetView[], wave: NodeWave): DaemonSetView | undefined {
  const ours = nodeAgentDaemonSets(all).filter((a) => a.kind === wave.component);
  const on = ours.find((a) => templateAgentVersion(a.kind, a.daemonSet) === wave.version);
  return (on ?? (ours.length === 1 ? ours[0] : undefined))?.daemonSet;
}

/** A node's state after a pass: moving once it is held for this wave (cordoned with the wave's mark). */
function stateOf(action: NodeAction, written: Written, heldForWave: boolean): NodeState {
  if (action.kind === 'converged' || written === 'uncordoned') return NodeState.Converged;
  if (action.kind === 'failed') return NodeState.Failed;
  return heldForWave || written === 'cordoned' ? NodeState.Moving : NodeState.Pending;
}

type Written = 'cordoned' | 'uncordoned' | 'no-slot' | 'other';

/**
 * One pass over a node wave: reads the nodes, the node agent's DaemonSet and pods (and, to drain, the pods of
 * each node being drained), then makes each node's next write. A node is cordoned only while fewer than
 * `maxUnavailable` of the cluster's nodes carry meshwave's mark, counted on the apiserver's own nodes at each pass,
 * so a restarted agent keeps the bound. Nodes already held are served first, so their slots free up.
 */
export async function nodeWavePass(port: AmbientPort, wave: NodeWave, now: number): Promise<NodeProgress[]> {
  const [nodes, daemonSets] = await Promise.all([port.listNodes(), port.listDaemonSets()]);
  const ds = daemonSetFor(daemonSets, wave);
  if (ds === undefined)
    return wave.nodes.map((node) => ({ node, state: NodeState.Pending, detail: `no ${wave.component} DaemonSet` }));
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const podsByNode = new Map<string, NodePodView[]>();
  for (const p of await port.podsLabelled(ds.namespace, ds.selector))
    if (p.nodeName !== undefined) podsByNode.set(p.nodeName, [...(podsByNode.get(p.nodeName) ?? []), p]);
  let held = nodes.filter(heldByMeshwave).length;
  const mark = stepMark(wave);
  const order = [...wave.nodes].sort(
    (a, b) =>
      Number(byName.get(b)?.annotations[AmbientNodeAnnotation.Step] === mark) -
      Number(byName.get(a)?.annotations[AmbientNodeAnnotation.Step] === mark),
  );
  const move: NodeMove = wave;
  const ambientNamespaces = wave.policy === 'drain' ? await port.ambientNamespaces() : new Set<string>();
  const progress = new Map<string, NodeProgress>();
  for (const name of order) {
    const node = byName.get(name);
    if (node === undefined) {
      progress.set(name, { node: name, state: NodeState.Failed, detail: 'no such node' });
      continue;
    }
    const drainable =
      wave.policy === 'drain' && node.annotations[AmbientNodeAnnotation.Step] === mark
        ? (await port.podsOnNode(name)).filter((p) => ambientNamespaces.has(p.namespace) && p.ownerKind !== 'DaemonSet')
        : [];
    const action = decideNode(move, {
      node,
      agentPods: (podsByNode.get(name) ?? []).map((p) => ({
        namespace: p.namespace,
        name: p.name,
        version: podAgentVersion(wave.component, p),
        ready: p.ready,
        terminating: p.terminating,
      })),
      template: { version: templateAgentVersion(wave.component, ds), observed: ds.observed },
      drainable,
      now,
    });
    const written = await act(port, node, action, mark, now, () => held < wave.maxUnavailable);
    if (written === 'cordoned') held++;
    if (written === 'uncordoned') held--;
    const detail = written === 'no-slot' ? `waiting for one of ${wave.maxUnavailable} slots` : detailOf(action);
    progress.set(name, {
      node: name,
      state: stateOf(action, written, node.annotations[AmbientNodeAnnotation.Step] === mark),
      ...(detail === undefined ? {} : { detail }),
    });
  }
  return wave.nodes.map((n) => progress.get(n)!);
}

const detailOf = (a: NodeAction): string | undefined =>
  a.kind === 'wait' || a.kind === 'failed' ? a.why : a.kind === 'converged' ? undefined : a.kind;

/** The write an action makes; at most one kind per node and pass. */
async function act(
  port: AmbientPort,
  node: NodeView,
  action: NodeAction,
  mark: string,
  now: number,
  slotFree: () => boolean,
): Promise<Written> {
  switch (action.kind) {
    case 'cordon':
      if (!slotFree()) return 'no-slot';
      // cordon and mark in one write: a node is never cordoned by meshwave without saying so
      await port.patchNode(node.name, {
        unschedulable: true,
        annotations: {
          [AmbientNodeAnnotation.Step]: mark,
          [AmbientNodeAnnotation.CordonedAt]: new Date(now).toISOString(),
          [AmbientNodeAnnotation.WasCordoned]: action.wasCordoned ? 'true' : null,
        },
      });
      return 'cordoned';
    case 'evict':
      for (const p of action.pods) await port.evictPod(p.namespace, p.name);
      return 'other';
    case 'replace':
      for (const p of action.pods) await port.deletePod(p.namespace, p.name);
      return 'other';
    case 'uncordon':
      await port.patchNode(node.name, {
        ...(action.keepCordoned ? {} : { unschedulable: false }),
        annotations: {
          [AmbientNodeAnnotation.Step]: null,
          [AmbientNodeAnnotation.CordonedAt]: null,
          [AmbientNodeAnnotation.WasCordoned]: null,
        },
      });
      return 'uncordoned';
    default:
      return 'other';
  }
}

/**
 * Runs a node wave to its end: a pass every `intervalMs` until every node converged, one failed, or `deadlineMs`
 * passed (then the nodes not converged fail saying what they waited for). Passes never overlap.
 */
export async function runNodeWave(
  port: AmbientPort,
  wave: NodeWave,
  options: {
    readonly clock: Clock;
    readonly intervalMs: number;
    readonly deadlineMs: number;
    readonly signal?: AbortSignal;
    /** each pass's progress, for a report */
    readonly onPass?: (progress: readonly NodeProgress[]) => void;
  },
): Promise<NodeProgress[]> {
  const { clock } = options;
  const ends = clock.now() + options.deadlineMs;
  for (;;) {
    const progress = await nodeWavePass(port, wave, clock.now());
    options.onPass?.(progress);
    if (progress.every((p) => p.state === NodeState.Converged) || progress.some((p) => p.state === NodeState.Failed))
      return progress;
    if (clock.now() >= ends)
      return progress.map((p) =>
        p.state === NodeState.Converged
          ? p
          : {
              ...p,
              state: NodeState.Failed,
              detail: `not converged within ${options.deadlineMs} ms: ${p.detail ?? p.state}`,
            },
      );
    if (options.signal?.aborted === true) return progress;
    await clock.sleep(options.intervalMs);
  }
}

import {
  AmbientComponent,
  AmbientStepState,
  RolloutPhase,
  type AmbientRolloutStatus,
  type AmbientStepProgress,
  type PlannedAmbientStep,
} from '@meshwave/contracts';
import { firstAmbientWave } from '../core/step-waves.js';
import type { Observations, RolloutRecord, RolloutState } from '../core/rollout-state.js';

type ClusterStatus = AmbientRolloutStatus['clusters'][number];
type NodeAgentStatus = ClusterStatus['nodeAgents'][number];
type MoveState = NodeAgentStatus['state'];

/** A node in a step's report that meshwave holds cordoned (the agent's `moving`: cordoned, drained, replaced). */
const HELD = 'moving';

/** Where step wave `w` stands: done once the engine moved past it (or the rollout completed). */
function stepState(state: RolloutState, w: number): AmbientStepState {
  if (state.phase === RolloutPhase.Completed || (w < state.wave && w < state.dispatchedWaves))
    return AmbientStepState.Done;
  return w < state.dispatchedWaves ? AmbientStepState.Active : AmbientStepState.Pending;
}

/** What one step did in one cluster: the names it moves there, those not yet on target, those held cordoned. */
interface StepInCluster {
  readonly names: readonly string[];
  readonly notDone: ReadonlySet<string>;
  readonly held: readonly string[];
  readonly state: MoveState;
  readonly reason?: string;
}

function stepInCluster(
  step: PlannedAmbientStep,
  cluster: string,
  stepState: AmbientStepState,
  entry: AmbientStepProgress | undefined,
): StepInCluster | undefined {
  const names =
    step.component === AmbientComponent.Waypoints
      ? step.waypoints.filter((p) => p.cluster === cluster).map((p) => `${p.namespace}/${p.name}`)
      : step.nodes.filter((n) => n.cluster === cluster).map((n) => n.name);
  if (names.length === 0) return undefined;
  // a step the engine moved past converged everywhere, whatever the agent reports now
  if (stepState === AmbientStepState.Done) return { names, notDone: new Set(), held: [], state: 'converged' };
  if (stepState === AmbientStepState.Pending || entry === undefined)
    return { names, notDone: new Set(names), held: [], state: 'pending' };
  return {
    names,
    notDone: new Set(entry.waiting.map((n) => n.name)),
    held: entry.waiting.filter((n) => n.state === HELD).map((n) => n.name),
    state: entry.state,
    ...(entry.reason !== undefined
      ? { reason: entry.reason }
      : entry.waiting[0]?.detail !== undefined
        ? { reason: `${entry.waiting[0].name}: ${entry.waiting[0].detail}` }
        : {}),
  };
}

/** The state of a node agent over its steps: failed or moving wins, converged only when every step converged. */
function combined(states: readonly MoveState[]): MoveState {
  if (states.includes('failed')) return 'failed';
  if (states.includes('moving')) return 'moving';
  if (states.every((s) => s === 'converged')) return 'converged';
  return states.includes('converged') ? 'moving' : 'pending';
}

/**
 * The ambient part of a rollout's status (ADR 0051): each step, and per cluster each node agent's nodes on its
 * target version, the nodes held cordoned now and the waypoints moved, from the engine's state and the agents'
 * latest reports (`UnitProgress.ambient`); undefined when the plan has no ambient step.
 */
export function buildAmbientStatus(
  record: RolloutRecord,
  state: RolloutState,
  observations: Observations,
): AmbientRolloutStatus | undefined {
  const planned = record.plan.ambientSteps;
  if (planned.length === 0) return undefined;
  const first = firstAmbientWave(record);
  const steps = planned.map((step, i) => ({
    wave: first + i,
    name: step.name,
    component: step.component,
    state: stepState(state, first + i),
    size: step.component === AmbientComponent.Waypoints ? step.waypoints.length : step.nodes.length,
  }));
  const clusterNames = [
    ...new Set(planned.flatMap((s) => [...s.nodes.map((n) => n.cluster), ...s.waypoints.map((p) => p.cluster)])),
  ].sort();
  const clusters = clusterNames.map((cluster): ClusterStatus => {
    const reported = observations.clusters.get(cluster)?.ambient ?? [];
    const moves = planned.flatMap((step, i) => {
      const entry = reported.find((e) => e.step === step.name);
      const inCluster = stepInCluster(step, cluster, steps[i]!.state, entry);
      return inCluster === undefined ? [] : [{ step, ...inCluster }];
    });
    const nodeAgents = [AmbientComponent.IstioCni, AmbientComponent.Ztunnel].flatMap((component): NodeAgentStatus[] => {
      const mine = moves.filter((m) => m.step.component === component);
      if (mine.length === 0) return [];
      const nodes = mine.reduce((n, m) => n + m.names.length, 0);
      const reason = mine.find((m) => m.state !== 'converged' && m.reason !== undefined)?.reason;
      return [
        {
          component,
          version: mine[0]!.step.nodes[0]?.version ?? '',
          nodes,
          onTarget: nodes - mine.reduce((n, m) => n + m.notDone.size, 0),
          cordoned: [...new Set(mine.flatMap((m) => m.held))].sort(),
          state: combined(mine.map((m) => m.state)),
          ...(reason !== undefined ? { reason } : {}),
        },
      ];
    });
    const waypointMoves = moves.filter((m) => m.step.component === AmbientComponent.Waypoints);
    const total = waypointMoves.reduce((n, m) => n + m.names.length, 0);
    return {
      cluster,
      nodeAgents,
      ...(total > 0
        ? { waypoints: { total, moved: total - waypointMoves.reduce((n, m) => n + m.notDone.size, 0) } }
        : {}),
    };
  });
  return { steps, clusters };
}

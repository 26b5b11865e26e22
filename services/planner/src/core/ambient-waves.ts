import type { AmbientStepCommand } from '@meshwave/contracts';
import { ambientStepCommand } from '@meshwave/plan';
import type { Observations, RolloutRecord, RolloutState } from './rollout-state.js';
import { ambientStepAt, firstAmbientWave } from './step-waves.js';
import { UnitStatus, type UnitObservation } from './unit-observations.js';

// The ambient steps as waves of the engine (ADR 0051): node waves of istio-cni and ztunnel, then waypoint steps,
// after the workload waves and before the gateway steps (step-waves.ts). This module says what each cluster's agent
// is told and how a step is observed; dispatch, soak, gates, windows and halts are the waves' own.

/** The unit key an ambient step is observed and gated under in a cluster: one per cluster and step. */
export const ambientUnitKey = (cluster: string, step: string): string => `${cluster}/ambient/${step}`;

/**
 * Each cluster's ambient commands: those of every ambient step dispatched so far, in the plan's order (the agent
 * runs them in that order, none while the rollout is halted). A failback takes none back: a node agent's version is
 * its DaemonSet's template, which the operator sets; the agent finishes a node wave under way (its nodes are
 * uncordoned) and no further one is dispatched.
 */
export function ambientCommandsOf(record: RolloutRecord, state: RolloutState): Map<string, AmbientStepCommand[]> {
  const out = new Map<string, AmbientStepCommand[]>();
  const first = firstAmbientWave(record);
  const steps = record.plan.ambientSteps.slice(0, Math.max(0, state.dispatchedWaves - first));
  steps.forEach((step, i) => {
    for (const cluster of clustersOf(record, first + i)) {
      const command = ambientStepCommand(step, cluster, record.spec.spec);
      if (command !== undefined) out.set(cluster, [...(out.get(cluster) ?? []), command]);
    }
  });
  return out;
}

/** The clusters ambient wave `w` moves something in, by name. */
function clustersOf(record: RolloutRecord, w: number): string[] {
  const step = ambientStepAt(record, w);
  if (step === undefined) return [];
  return [...new Set([...step.nodes.map((n) => n.cluster), ...step.waypoints.map((p) => p.cluster)])].sort();
}

const STATUS_OF: Record<string, UnitStatus> = {
  pending: UnitStatus.Pending,
  moving: UnitStatus.Moving,
  converged: UnitStatus.Converged,
  failed: UnitStatus.Failed,
};

/**
 * The ambient steps of waves `waves`, one observation per cluster each, as its agent reported it
 * (`UnitProgress.ambient`). The agent-report gate judges them as it judges units: converged once the agent reports
 * the step converged in a report of the generation that carried it, failed when the agent gave up on it (a node
 * not ready by the progress deadline, a refusal of the apiserver), reports missing when the agent is silent.
 */
export function observeAmbient(
  record: RolloutRecord,
  state: RolloutState,
  observations: Observations,
  waves: readonly number[],
): UnitObservation[] {
  const out: UnitObservation[] = [];
  for (const w of waves) {
    const step = ambientStepAt(record, w);
    if (step === undefined) continue;
    for (const cluster of clustersOf(record, w)) {
      const report = observations.clusters.get(cluster);
      const sent = state.targets[`cluster/${cluster}`]?.generation ?? 0;
      const entry = report?.ambient?.find((e) => e.step === step.name);
      const dispatched = w < state.dispatchedWaves;
      const waiting = entry?.waiting.map((n) => `${n.name}: ${n.state}${n.detail ? ` (${n.detail})` : ''}`) ?? [];
      const message = entry?.reason ?? (waiting.length > 0 ? waiting.slice(0, 5).join('; ') : undefined);
      out.push({
        unit: ambientUnitKey(cluster, step.name),
        cluster,
        wave: w,
        desired: step.waypoints.length > 0 ? record.spec.spec.to : (step.nodes[0]?.version ?? record.spec.spec.to),
        status: dispatched && entry !== undefined ? (STATUS_OF[entry.state] ?? UnitStatus.Pending) : UnitStatus.Pending,
        fresh: dispatched && report !== undefined && report.generation >= sent,
        ...(entry?.state === 'failed' ? { reason: 'AmbientStepFailed' } : {}),
        ...(message !== undefined ? { message } : {}),
        crashLooping: false,
        sidecarMismatch: false,
        restarts: 0,
      });
    }
  }
  return out;
}

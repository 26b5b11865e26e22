import { UnitFailureReason, UnitState, unitKey } from '@meshwave/contracts';
import { IstioLabel, injectedRevisionOf } from '@meshwave/istio';
import { assessHandoff, assessInHandoff } from './namespace-handoff.js';
import { isLive, namespaceRelabel, namespaceRevisionOf, workloadRelabel } from './revision-rules.js';
import type { UnitAssessment, UnitAssignment, UnitObservation } from './unit-model.js';
import { assessWorkload, mostCommon, restartedFor } from './workload-assessment.js';

/**
 * Pure decisions of the converge loop: given what a unit should run and what the cluster shows, say what state
 * the unit is in and which writes would move it. No I/O and no clock (`now` is a parameter), so every rule is
 * tested on plain data.
 */

export * from './unit-model.js';
export {
  assignedRevisionOf,
  livePods,
  namespaceRelabel,
  namespaceRevisionOf,
  podOnRevision,
  workloadRelabel,
} from './revision-rules.js';
export { assessHandoff, assessInHandoff, handoffWrites } from './namespace-handoff.js';
export { unitWrites } from './unit-writes.js';
export { listedContents, observeUnit, observeUnitIn, type NamespaceContents } from './unit-observation.js';
export { FailureHold, judgeFailure, loopLagging, type JudgementBasis } from './failure-judgement.js';

/** Assesses one unit: its state, whether a restart is in flight, and which workloads still need one. */
export function assessUnit(a: UnitAssignment, o: UnitObservation, nowMs: number): UnitAssessment {
  const key = unitKey(a.target);
  const revision = a.target.revision;
  // A tag move never relabels: the tag the unit is labelled with points at the target once it starts.
  const tagged = a.tag !== undefined;
  const nsLabelled = tagged || (o.namespace !== undefined && namespaceRelabel(o.namespace, revision) === undefined);
  // At workload granularity a namespace label already injecting the target is as good as the template label.
  const nsInjectsTarget = tagged || namespaceRevisionOf(o.namespace) === revision;
  const results = o.workloads.map((w) => {
    const labelled =
      a.granularity === 'namespace'
        ? nsLabelled
        : nsInjectsTarget || Object.keys(workloadRelabel(w.workload, revision)).length === 0;
    return { w, r: assessWorkload(w, labelled, a, nowMs) };
  });
  // one pass over the unit's pods: the live ones' injected revisions, every one's restarts
  let unavailableReplicas = 0;
  let restarts = 0;
  const injected: (string | null)[] = [];
  for (const w of o.workloads) {
    unavailableReplicas += Math.max(0, w.workload.replicas - w.workload.availableReplicas);
    for (const p of w.pods) {
      restarts += p.restarts;
      if (isLive(p)) injected.push(injectedRevisionOf(p.annotations));
    }
  }
  const injectedRevision = mostCommon(injected);
  const health = {
    unavailableReplicas,
    restarts,
    crashLooping: results.some((x) => x.r.crashLooping),
    sidecarMismatch: results.some((x) => x.r.sidecarMismatch),
  };
  const bare =
    o.barePods.length > 0
      ? `${o.barePods.length} bare pod(s) not managed by a controller are left as they are`
      : undefined;
  const toRestart = results.filter((x) => x.r.needsRestart).map((x) => x.w);
  const failed = results.find((x) => x.r.state === UnitState.Failed);
  const restarting = results.some((x) => x.r.state === UnitState.Restarting);
  const pending = results.some((x) => x.r.state === UnitState.Pending);
  // A workload to restart again (an operator's retry) has not started this attempt, whatever its marks say.
  const anyStarted = results.some((x) => !x.r.needsRestart && restartedFor(x.w.workload) === revision);
  const common = { key, injectedRevision, toRestart, hasWrites: toRestart.length > 0, ...health };

  // Nothing to converge: neither the namespace nor (for a workload unit) the workload exists.
  if (o.workloads.length === 0 && (o.namespace === undefined || a.granularity === 'workload'))
    return {
      ...common,
      state: UnitState.Failed,
      reason: UnitFailureReason.NotFound,
      message: `${key} not found`,
      inFlight: false,
    };
  const injection = o.namespace?.labels[IstioLabel.Injection];
  if (a.granularity === 'workload' && injection !== undefined && injection !== 'enabled')
    // Istio's revision webhooks skip any namespace that carries istio-injection: a restart would only drop sidecars.
    return {
      ...common,
      toRestart: [],
      hasWrites: false,
      state: UnitState.Failed,
      reason: UnitFailureReason.InjectionDisabled,
      message: `namespace ${o.namespace!.name} is labelled istio-injection=${injection}: no revision injects its pods`,
      inFlight: false,
    };
  const handoff = o.workloads.length > 0 && !tagged ? assessHandoff(a, o, nowMs) : undefined;
  if (handoff) return assessInHandoff(common, handoff, o);
  if (failed)
    return { ...common, state: UnitState.Failed, reason: failed.r.reason, message: failed.r.message, inFlight: false };
  if (restarting || (pending && anyStarted))
    return { ...common, state: UnitState.Restarting, inFlight: true, ...(bare ? { message: bare } : {}) };
  if (pending || (a.granularity === 'namespace' && !nsLabelled))
    return { ...common, state: UnitState.Pending, inFlight: false, ...(bare ? { message: bare } : {}) };
  return { ...common, state: UnitState.Converged, inFlight: false, ...(bare ? { message: bare } : {}) };
}

/** Which units may start now: none when halted, else as many pending ones as maxUnavailable leaves room for. */
export function selectUnitsToStart(
  assessments: readonly UnitAssessment[],
  options: { readonly maxUnavailable: number; readonly halted: boolean },
): { readonly start: readonly string[]; readonly inFlight: number } {
  const inFlight = assessments.filter((x) => x.inFlight).length;
  if (options.halted) return { start: [], inFlight };
  const room = Math.max(0, options.maxUnavailable - inFlight);
  const start = assessments
    .filter((x) => x.state === UnitState.Pending)
    .slice(0, room)
    .map((x) => x.key);
  return { start, inFlight };
}

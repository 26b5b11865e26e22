import { UnitFailureReason, UnitState } from '@meshwave/contracts';
import { MeshwaveAnnotation, PROXY_CONTAINER, injectedRevisionOf, lastRestartOf } from '@meshwave/istio';
import type { WorkloadView } from '../ports/kubernetes-port.js';
import { isLive, livePods, podOnRevision } from './revision-rules.js';
import type { ObservedWorkload, UnitAssignment } from './unit-model.js';

export const mostCommon = (values: readonly (string | null)[]): string | null => {
  const counts = new Map<string | null, number>();
  let best: string | null = null;
  let bestCount = 0;
  for (const v of values) {
    const c = (counts.get(v) ?? 0) + 1;
    counts.set(v, c);
    if (c > bestCount) [best, bestCount] = [v, c];
  }
  return best;
};

export const restartedFor = (w: WorkloadView): string | undefined =>
  w.templateAnnotations[MeshwaveAnnotation.RestartedFor];

export interface WorkloadAssessment {
  readonly state: UnitState;
  readonly reason?: string;
  readonly message?: string;
  readonly needsRestart: boolean;
  readonly crashLooping: boolean;
  readonly sidecarMismatch: boolean;
}

/** Judges one workload of a unit against the target revision. */
export function assessWorkload(
  o: ObservedWorkload,
  labelled: boolean,
  a: UnitAssignment,
  nowMs: number,
): WorkloadAssessment {
  const { workload: w } = o;
  const revision = a.target.revision;
  // what the pods say injected them: the tag's revision when the target is a tag
  const injects = a.injects ?? revision;
  // one pass over the pods, no lists built: this runs for every unit at every watch event of a wave (issue 15)
  let running = 0;
  let allOnTarget = true;
  let sidecarMismatch = false;
  let crashLooping = false;
  for (const p of o.pods) {
    if (!isLive(p)) continue;
    running++;
    const check = podOnRevision(p, injects);
    allOnTarget &&= check.ok;
    sidecarMismatch ||= check.mismatch;
    // Only pods of the target revision judge the move: during a failback the crash-looping pods are the ones
    // being replaced, not a failure of the failback.
    crashLooping ||= p.crashLooping && injectedRevisionOf(p.annotations) === injects;
  }
  // As `kubectl rollout status` judges it, plus the pods themselves: exactly the desired number running, so a
  // surge pod or an old pod not yet gone does not count as done.
  const rolledOut =
    w.observedGeneration >= w.generation &&
    w.updatedReplicas >= w.replicas &&
    w.availableReplicas >= w.replicas &&
    running === w.replicas;
  // Only the template's last restart can be one toward the target: a handoff restart onto it (a failback during
  // the handoff) is judged, not repeated; a handoff mark a later move superseded is history (ADR 0011).
  const last = lastRestartOf(w.templateAnnotations);
  // An operator's retry (a higher attempt) makes an earlier restart towards the same revision history.
  const started = last?.revision === revision && last.attempt >= (a.target.attempt ?? 0);
  const base = { crashLooping, sidecarMismatch };

  if (rolledOut && allOnTarget) {
    if (labelled) return { ...base, state: UnitState.Converged, needsRestart: false };
    // Pods already run the target; only the label is missing. A template label change restarts the workload
    // anyway, so at workload granularity it goes out as a marked restart (a crash cannot make us repeat it).
    return { ...base, state: UnitState.Pending, needsRestart: a.granularity === 'workload' && !started };
  }
  if (!started) return { ...base, state: UnitState.Pending, needsRestart: true };
  // A restart toward the target was started (by us, now or before a crash): judge it, never repeat it.
  if (crashLooping)
    return {
      ...base,
      state: UnitState.Failed,
      reason: UnitFailureReason.CrashLoop,
      message: `${w.name}: a container is in CrashLoopBackOff`,
      needsRestart: false,
    };
  // The deadline runs from that restart (a move's restartedAt, a handoff's handoff-at), never from an older one.
  const startedAt = last?.atMs ?? NaN;
  const overdue = Number.isFinite(startedAt) && nowMs - startedAt > a.progressDeadlineSeconds * 1000;
  if (w.progressDeadlineExceeded || overdue)
    return {
      ...base,
      state: UnitState.Failed,
      reason: UnitFailureReason.ProgressDeadlineExceeded,
      message: `${w.name}: not converged within ${a.progressDeadlineSeconds}s`,
      needsRestart: false,
    };
  if (rolledOut && sidecarMismatch) {
    const wrong = livePods(o.pods).find((p) => podOnRevision(p, injects).mismatch);
    const proxy = wrong?.containers.find((c) => c.name === PROXY_CONTAINER)?.image ?? 'no istio-proxy';
    return {
      ...base,
      state: UnitState.Failed,
      reason: UnitFailureReason.SidecarMismatch,
      message: `${w.name}: pod ${wrong?.name ?? '?'} runs revision ${String(injectedRevisionOf(wrong?.annotations))} (${proxy}), want ${injects}`,
      needsRestart: false,
    };
  }
  return { ...base, state: UnitState.Restarting, needsRestart: false };
}

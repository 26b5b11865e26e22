import { UnitFailureReason, UnitState, unitKey, type UnitTarget } from '@meshwave/contracts';
import {
  mapPatchIsNoop,
  selectorMatches,
  type MapPatch,
  type NamespaceView,
  type PodView,
  type WorkloadRef,
  type WorkloadView,
} from './kubernetes-port.js';
import {
  IstioLabel,
  MeshwaveAnnotation,
  PROXY_CONTAINER,
  imageTag,
  injectedRevisionOf,
  proxyVersionOfRevision,
} from './revision-labels.js';

/**
 * Pure decisions of the converge loop: given what a unit should run and what the cluster shows, say what state
 * the unit is in and which writes would move it. No I/O and no clock (`now` is a parameter), so every rule is
 * tested on plain data.
 */

/** Which granularity a unit was assigned at: the namespace label, or the workload's template label. */
export type Granularity = 'namespace' | 'workload';

/** A unit as the agent must converge it. */
export interface UnitAssignment {
  readonly target: UnitTarget;
  readonly granularity: Granularity;
  readonly rolloutId: string;
  readonly generation: number;
  readonly wave: number;
  readonly progressDeadlineSeconds: number;
}

/** A workload with the pods its selector picks. */
export interface ObservedWorkload {
  readonly workload: WorkloadView;
  readonly pods: readonly PodView[];
}

/** What the cluster shows for one unit: its namespace and the workloads it covers. */
export interface UnitObservation {
  readonly namespace: NamespaceView | undefined;
  readonly workloads: readonly ObservedWorkload[];
  /** pods in the unit without a controller: reported, never restarted or deleted */
  readonly barePods: readonly PodView[];
}

export interface WorkloadWrite {
  readonly ref: WorkloadRef;
  readonly labels?: MapPatch;
  readonly templateLabels?: MapPatch;
  readonly templateAnnotations?: MapPatch;
  /** the write restarts the workload (changes its pod template) */
  readonly restart: boolean;
  /** compare-and-set: the write fails if the workload changed since it was observed */
  readonly resourceVersion: string;
}

export interface NamespaceWrite {
  readonly name: string;
  readonly labels: MapPatch;
  readonly resourceVersion: string;
}

/** The unit's state, derived from observation each pass ("status is reconstituted from the world"). */
export interface UnitAssessment {
  readonly key: string;
  readonly state: UnitState;
  readonly reason?: string;
  readonly message?: string;
  /** the revision its running pods carry (the most common one), null without sidecars */
  readonly injectedRevision: string | null;
  /** a restart toward the target has been started and has not finished */
  readonly inFlight: boolean;
  /** workloads still to restart toward the target (never restarted for it yet) */
  readonly toRestart: readonly ObservedWorkload[];
  readonly unavailableReplicas: number;
  readonly restarts: number;
  readonly crashLooping: boolean;
  readonly sidecarMismatch: boolean;
}

/** A pod runs the target when the injector of the target revision made it, with the matching proxy, and it is Ready. */
export function podOnRevision(pod: PodView, revision: string): { ok: boolean; mismatch: boolean } {
  const injected = injectedRevisionOf(pod.annotations);
  const expected = proxyVersionOfRevision(revision);
  const proxy = pod.containers.find((c) => c.name === PROXY_CONTAINER);
  const imageOk = expected === undefined || (proxy !== undefined && imageTag(proxy.image) === expected);
  const mismatch = injected !== revision || proxy === undefined || !imageOk;
  return { ok: !mismatch && pod.ready, mismatch };
}

/** The workload's assigned revision as Istio would read it: the namespace label wins, then the template label. */
export function assignedRevisionOf(namespace: NamespaceView | undefined, workload: WorkloadView): string | null {
  const ns = namespace?.labels ?? {};
  if (ns[IstioLabel.Injection] === 'enabled') return 'default';
  return ns[IstioLabel.Revision] ?? workload.templateLabels[IstioLabel.Revision] ?? null;
}

/** Namespace label changes that make the namespace inject `revision`, or undefined when it already does. */
export function namespaceRelabel(namespace: NamespaceView, revision: string): MapPatch | undefined {
  const patch: MapPatch = { [IstioLabel.Revision]: revision, [IstioLabel.Injection]: null };
  return mapPatchIsNoop(namespace.labels, patch) ? undefined : patch;
}

/** Label changes for workload granularity: the pod template (what the injector reads) and the workload's own labels (what people read). */
export function workloadRelabel(w: WorkloadView, revision: string): { labels?: MapPatch; templateLabels?: MapPatch } {
  const patch: MapPatch = { [IstioLabel.Revision]: revision };
  return {
    ...(mapPatchIsNoop(w.labels, patch) ? {} : { labels: patch }),
    ...(mapPatchIsNoop(w.templateLabels, patch) ? {} : { templateLabels: patch }),
  };
}

const mostCommon = (values: readonly (string | null)[]): string | null => {
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

const restartedFor = (w: WorkloadView): string | undefined => w.templateAnnotations[MeshwaveAnnotation.RestartedFor];

interface WorkloadAssessment {
  readonly state: UnitState;
  readonly reason?: string;
  readonly message?: string;
  readonly needsRestart: boolean;
  readonly crashLooping: boolean;
  readonly sidecarMismatch: boolean;
}

function assessWorkload(o: ObservedWorkload, labelled: boolean, a: UnitAssignment, nowMs: number): WorkloadAssessment {
  const { workload: w } = o;
  const revision = a.target.revision;
  const running = o.pods.filter((p) => !p.terminating);
  const checks = running.map((p) => podOnRevision(p, revision));
  // Only pods of the target revision judge the move: during a failback the crash-looping pods are the ones
  // being replaced, not a failure of the failback.
  const crashLooping = running.some((p) => p.crashLooping && injectedRevisionOf(p.annotations) === revision);
  // As `kubectl rollout status` judges it, plus the pods themselves: exactly the desired number running, so a
  // surge pod or an old pod not yet gone does not count as done.
  const rolledOut =
    w.observedGeneration >= w.generation &&
    w.updatedReplicas >= w.replicas &&
    w.availableReplicas >= w.replicas &&
    running.length === w.replicas;
  const allOnTarget = checks.every((c) => c.ok);
  const sidecarMismatch = checks.some((c) => c.mismatch);
  const started = restartedFor(w) === revision;
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
  const startedAt = Date.parse(w.templateAnnotations[MeshwaveAnnotation.RestartedAt] ?? '');
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
    const wrong = running.find((p) => podOnRevision(p, revision).mismatch);
    const proxy = wrong?.containers.find((c) => c.name === PROXY_CONTAINER)?.image ?? 'no istio-proxy';
    return {
      ...base,
      state: UnitState.Failed,
      reason: UnitFailureReason.SidecarMismatch,
      message: `${w.name}: pod ${wrong?.name ?? '?'} runs revision ${String(injectedRevisionOf(wrong?.annotations))} (${proxy}), want ${revision}`,
      needsRestart: false,
    };
  }
  return { ...base, state: UnitState.Restarting, needsRestart: false };
}

/** Assesses one unit: its state, whether a restart is in flight, and which workloads still need one. */
export function assessUnit(a: UnitAssignment, o: UnitObservation, nowMs: number): UnitAssessment {
  const key = unitKey(a.target);
  const revision = a.target.revision;
  const nsLabelled = o.namespace !== undefined && namespaceRelabel(o.namespace, revision) === undefined;
  const results = o.workloads.map((w) => {
    const labelled =
      a.granularity === 'namespace' ? nsLabelled : Object.keys(workloadRelabel(w.workload, revision)).length === 0;
    return { w, r: assessWorkload(w, labelled, a, nowMs) };
  });
  const allPods = o.workloads.flatMap((w) => w.pods);
  const injectedRevision = mostCommon(
    allPods.filter((p) => !p.terminating).map((p) => injectedRevisionOf(p.annotations)),
  );
  const health = {
    unavailableReplicas: o.workloads.reduce(
      (n, w) => n + Math.max(0, w.workload.replicas - w.workload.availableReplicas),
      0,
    ),
    restarts: allPods.reduce((n, p) => n + p.restarts, 0),
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
  const anyStarted = results.some((x) => restartedFor(x.w.workload) === revision);
  const common = { key, injectedRevision, toRestart, ...health };

  if (o.namespace === undefined && o.workloads.length === 0)
    return {
      ...common,
      state: UnitState.Failed,
      reason: UnitFailureReason.NotFound,
      message: `${key} not found`,
      inFlight: false,
    };
  if (a.granularity === 'workload' && o.workloads.length === 0)
    return {
      ...common,
      state: UnitState.Failed,
      reason: UnitFailureReason.NotFound,
      message: `${key} not found`,
      inFlight: false,
    };
  if (failed)
    return { ...common, state: UnitState.Failed, reason: failed.r.reason, message: failed.r.message, inFlight: false };
  if (restarting || (pending && anyStarted))
    return { ...common, state: UnitState.Restarting, inFlight: true, ...(bare ? { message: bare } : {}) };
  if (pending || (a.granularity === 'namespace' && !nsLabelled))
    return { ...common, state: UnitState.Pending, inFlight: false, ...(bare ? { message: bare } : {}) };
  return { ...common, state: UnitState.Converged, inFlight: false, ...(bare ? { message: bare } : {}) };
}

/** The writes that start (or continue) moving a unit: relabel first, then one restart patch per workload. */
export function unitWrites(
  a: UnitAssignment,
  o: UnitObservation,
  toRestart: readonly ObservedWorkload[],
  nowIso: string,
): {
  namespace?: NamespaceWrite;
  workloads: WorkloadWrite[];
} {
  const revision = a.target.revision;
  const nsPatch = a.granularity === 'namespace' && o.namespace ? namespaceRelabel(o.namespace, revision) : undefined;
  const restartMarks: MapPatch = {
    [MeshwaveAnnotation.RestartedAt]: nowIso,
    [MeshwaveAnnotation.RestartedFor]: revision,
    [MeshwaveAnnotation.RestartedBy]: `${a.rolloutId}#${a.generation}`,
  };
  const workloads = toRestart.map(({ workload: w }): WorkloadWrite => {
    const relabel = a.granularity === 'workload' ? workloadRelabel(w, revision) : {};
    return {
      ref: { namespace: w.namespace, kind: w.kind, name: w.name },
      ...relabel,
      templateAnnotations: restartMarks,
      restart: true,
      resourceVersion: w.resourceVersion,
    };
  });
  return {
    ...(nsPatch && o.namespace
      ? { namespace: { name: o.namespace.name, labels: nsPatch, resourceVersion: o.namespace.resourceVersion } }
      : {}),
    workloads,
  };
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

/** Picks a unit's workloads and bare pods out of a namespace's contents. */
export function observeUnit(
  target: UnitTarget,
  namespace: NamespaceView | undefined,
  workloads: readonly WorkloadView[],
  pods: readonly PodView[],
): UnitObservation {
  const inNs = workloads.filter(
    (w) =>
      w.namespace === target.namespace &&
      (target.kind === undefined || (w.kind === target.kind && w.name === target.name)),
  );
  const nsPods = pods.filter((p) => p.namespace === target.namespace);
  return {
    namespace,
    workloads: inNs.map((w) => ({
      workload: w,
      pods: nsPods.filter((p) => p.controlled && selectorMatches(w.selector, p.labels)),
    })),
    barePods: target.kind === undefined ? nsPods.filter((p) => !p.controlled) : [],
  };
}

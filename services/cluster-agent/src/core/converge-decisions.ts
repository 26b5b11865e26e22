import { UnitFailureReason, UnitState, unitKey, type UnitTarget } from '@meshwave/contracts';
import {
  mapPatchIsNoop,
  selectorMatches,
  type MapPatch,
  type NamespaceView,
  type PodView,
  type WorkloadRef,
  type WorkloadView,
} from '../ports/kubernetes-port.js';
import {
  IstioLabel,
  MeshwaveAnnotation,
  MeshwaveLabel,
  PROXY_CONTAINER,
  imageTag,
  injectedRevisionOf,
  lastRestartOf,
  optsOutOfInjection,
  proxyVersionOfRevision,
  revisionForcedByNamespace,
  type TemplateRestart,
} from '@meshwave/istio';

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
  /**
   * Every workload of the namespace, for a workload unit (a namespace label handoff touches them all); absent
   * for a namespace unit, whose `workloads` are already all of them.
   */
  readonly namespaceWorkloads?: readonly ObservedWorkload[];
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

/**
 * A namespace label handed over to the namespace's pod templates (ADR 0011). Istio's webhook selectors let a
 * namespace's `istio.io/rev` (or `istio-injection=enabled`) win over any pod label, so one workload can only
 * move once the namespace label is gone — and before it goes, every workload must carry the revision on its own
 * template, or its next pods would get no sidecar.
 */
export interface NamespaceHandoff {
  readonly namespace: string;
  /** the revision the namespace label injects now, which the templates take over */
  readonly revision: string;
  /** some template already carries the handoff mark: the handoff is under way */
  readonly started: boolean;
  /** workloads whose template still lacks `istio.io/rev` */
  readonly toLabel: readonly ObservedWorkload[];
  /** labelled workloads whose pods are not all from the labelled template yet */
  readonly waitingFor: readonly string[];
  /** a handoff restart that missed its progress deadline */
  readonly failure?: string;
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
  /** set while the unit's namespace label must first be handed over to the templates */
  readonly handoff?: NamespaceHandoff;
  /** a start now would write something (a relabel, a restart or the next handoff step) */
  readonly hasWrites: boolean;
  readonly unavailableReplicas: number;
  readonly restarts: number;
  readonly crashLooping: boolean;
  readonly sidecarMismatch: boolean;
}

/**
 * Pods that count: not on their way out, and not finished (an evicted or Failed pod, or a Succeeded one, stays
 * listed until garbage-collected but serves nothing and will never change).
 */
export const livePods = (pods: readonly PodView[]): PodView[] =>
  pods.filter((p) => !p.terminating && p.phase !== 'Failed' && p.phase !== 'Succeeded');

/** A pod runs the target when the injector of the target revision made it, with the matching proxy, and it is Ready. */
export function podOnRevision(pod: PodView, revision: string): { ok: boolean; mismatch: boolean } {
  const injected = injectedRevisionOf(pod.annotations);
  const expected = proxyVersionOfRevision(revision);
  const proxy = pod.containers.find((c) => c.name === PROXY_CONTAINER);
  const imageOk = expected === undefined || (proxy !== undefined && imageTag(proxy.image) === expected);
  const mismatch = injected !== revision || proxy === undefined || !imageOk;
  return { ok: !mismatch && pod.ready, mismatch };
}

/**
 * The revision a namespace's label injects into every pod whatever the pod's own label says, as Istio's webhook
 * selectors read it: `istio-injection=enabled` (the default tag), else `istio.io/rev`; undefined without either.
 */
export const namespaceRevisionOf = (namespace: NamespaceView | undefined): string | undefined =>
  revisionForcedByNamespace(namespace?.labels);

/** The workload's assigned revision as Istio would read it: the namespace label wins, then the template label. */
export function assignedRevisionOf(namespace: NamespaceView | undefined, workload: WorkloadView): string | null {
  return namespaceRevisionOf(namespace) ?? workload.templateLabels[IstioLabel.Revision] ?? null;
}

/**
 * Whether a workload unit must first hand its namespace's label over to the templates: only when the namespace
 * label injects a revision other than the target (a namespace already on the target needs no handoff).
 */
export function assessHandoff(a: UnitAssignment, o: UnitObservation, nowMs: number): NamespaceHandoff | undefined {
  if (a.granularity !== 'workload' || !o.namespace) return undefined;
  const revision = namespaceRevisionOf(o.namespace);
  if (revision === undefined || revision === a.target.revision) return undefined;
  // Workloads that opt out of injection get no sidecar either way: left alone.
  const all = (o.namespaceWorkloads ?? o.workloads).filter(
    (w) => !optsOutOfInjection(w.workload.templateLabels, w.workload.templateAnnotations),
  );
  // Under the namespace label every pod runs R whatever its template says; the templates must say R (or the
  // rollout's target T, which a move or the webhook put there) before the label goes. A stale label of another
  // revision would inject a revision that may be gone.
  const handedOver = (label: string | undefined): boolean => label === revision || label === a.target.revision;
  const toLabel = all.filter((w) => !handedOver(w.workload.templateLabels[IstioLabel.Revision]));
  const handoffRestartOf = (w: ObservedWorkload): TemplateRestart | undefined => {
    const last = lastRestartOf(w.workload.templateAnnotations);
    return last?.handoff === true && last.revision === revision ? last : undefined;
  };
  const marked = all.filter((w) => handoffRestartOf(w) !== undefined);
  // Done when no pod of a template not handed over is left: after that, no controller can create one again.
  const pending = all.filter((w) => {
    const running = livePods(w.pods);
    return (
      !toLabel.includes(w) &&
      (w.workload.observedGeneration < w.workload.generation ||
        w.workload.updatedReplicas < w.workload.replicas ||
        running.length > w.workload.replicas ||
        running.some((p) => !handedOver(p.labels[IstioLabel.Revision])))
    );
  });
  const overdue = pending.find((w) => {
    const at = handoffRestartOf(w)?.atMs ?? NaN;
    return (
      w.workload.progressDeadlineExceeded || (Number.isFinite(at) && nowMs - at > a.progressDeadlineSeconds * 1000)
    );
  });
  return {
    namespace: o.namespace.name,
    revision,
    started: marked.length > 0,
    toLabel,
    waitingFor: pending.map((w) => `${w.workload.kind}/${w.workload.name}`),
    ...(overdue
      ? {
          failure: `${overdue.workload.name}: not rolled out within ${a.progressDeadlineSeconds}s while handing namespace ${o.namespace.name}'s istio.io/rev=${revision} over to its workloads`,
        }
      : {}),
  };
}

/** Namespace label changes that make the namespace inject `revision`, or undefined when it already does. */
export function namespaceRelabel(namespace: NamespaceView, revision: string): MapPatch | undefined {
  const patch: MapPatch = {
    [IstioLabel.Revision]: revision,
    [IstioLabel.Injection]: null,
    [MeshwaveLabel.HandoffOf]: null,
  };
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
  const running = livePods(o.pods);
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
  // Only the template's last restart can be one toward the target: a handoff restart onto it (a failback during
  // the handoff) is judged, not repeated; a handoff mark a later move superseded is history (ADR 0011).
  const last = lastRestartOf(w.templateAnnotations);
  const started = last?.revision === revision;
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
  // At workload granularity a namespace label already injecting the target is as good as the template label.
  const nsInjectsTarget = namespaceRevisionOf(o.namespace) === revision;
  const results = o.workloads.map((w) => {
    const labelled =
      a.granularity === 'namespace'
        ? nsLabelled
        : nsInjectsTarget || Object.keys(workloadRelabel(w.workload, revision)).length === 0;
    return { w, r: assessWorkload(w, labelled, a, nowMs) };
  });
  const allPods = o.workloads.flatMap((w) => w.pods);
  const injectedRevision = mostCommon(livePods(allPods).map((p) => injectedRevisionOf(p.annotations)));
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
  const common = { key, injectedRevision, toRestart, hasWrites: toRestart.length > 0, ...health };

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
  const handoff = o.workloads.length > 0 ? assessHandoff(a, o, nowMs) : undefined;
  if (handoff) {
    // The workload's own restart waits until the namespace label is gone; until then its pods stay as they are.
    const inHandoff = { ...common, handoff, toRestart: [] };
    if (handoff.failure !== undefined)
      return {
        ...inHandoff,
        state: UnitState.Failed,
        reason: UnitFailureReason.ProgressDeadlineExceeded,
        message: handoff.failure,
        inFlight: false,
        hasWrites: false,
      };
    const canWrite = handoff.toLabel.length > 0 || handoff.waitingFor.length === 0;
    if (!handoff.started)
      return {
        ...inHandoff,
        state: UnitState.Pending,
        inFlight: false,
        // nothing to write while other rollouts of the namespace finish: the watches wake the unit
        hasWrites: canWrite,
        message: `namespace ${handoff.namespace} injects ${handoff.revision} through its label: it is handed over to its ${(o.namespaceWorkloads ?? o.workloads).length} workload(s) first`,
      };
    return {
      ...inHandoff,
      state: UnitState.Restarting,
      inFlight: true,
      hasWrites: canWrite,
      message:
        handoff.waitingFor.length > 0
          ? `handing namespace ${handoff.namespace}'s istio.io/rev=${handoff.revision} over to its workloads: waiting for ${handoff.waitingFor.join(', ')}`
          : `handing namespace ${handoff.namespace}'s istio.io/rev=${handoff.revision} over to its workloads`,
    };
  }
  if (failed)
    return { ...common, state: UnitState.Failed, reason: failed.r.reason, message: failed.r.message, inFlight: false };
  if (restarting || (pending && anyStarted))
    return { ...common, state: UnitState.Restarting, inFlight: true, ...(bare ? { message: bare } : {}) };
  if (pending || (a.granularity === 'namespace' && !nsLabelled))
    return { ...common, state: UnitState.Pending, inFlight: false, ...(bare ? { message: bare } : {}) };
  return { ...common, state: UnitState.Converged, inFlight: false, ...(bare ? { message: bare } : {}) };
}

/**
 * The next handoff step: label every unlabelled template with the namespace's revision (one restart each, on the
 * revision they already run); once their pods all come from labelled templates, drop the namespace label.
 */
export function handoffWrites(
  handoff: NamespaceHandoff,
  namespace: NamespaceView,
  nowIso: string,
): { namespace?: NamespaceWrite; workloads: WorkloadWrite[] } {
  if (handoff.toLabel.length > 0)
    return {
      workloads: handoff.toLabel.map(({ workload: w }) => ({
        ref: { namespace: w.namespace, kind: w.kind, name: w.name },
        ...workloadRelabel(w, handoff.revision),
        templateAnnotations: {
          [MeshwaveAnnotation.HandoffOf]: handoff.revision,
          [MeshwaveAnnotation.HandoffAt]: nowIso,
          // a restart for another revision made while the namespace label won proved nothing: forget it
          [MeshwaveAnnotation.RestartedFor]: null,
        },
        restart: true,
        resourceVersion: w.resourceVersion,
      })),
    };
  if (handoff.waitingFor.length > 0) return { workloads: [] };
  return {
    namespace: {
      name: namespace.name,
      labels: {
        [IstioLabel.Revision]: null,
        [IstioLabel.Injection]: null,
        [MeshwaveLabel.HandoffOf]: handoff.revision,
      },
      resourceVersion: namespace.resourceVersion,
    },
    workloads: [],
  };
}

/**
 * The writes that start (or continue) moving a unit: relabel first, then one restart patch per workload. A unit
 * in a namespace handoff writes the handoff's next step instead.
 */
export function unitWrites(
  a: UnitAssignment,
  o: UnitObservation,
  toRestart: readonly ObservedWorkload[],
  nowIso: string,
): {
  namespace?: NamespaceWrite;
  workloads: WorkloadWrite[];
} {
  // The unit's own restart waits for the next pass after the namespace label is gone: by then every unit of the
  // namespace is pending again and takes a maxUnavailable slot like any other.
  const handoff = assessHandoff(a, o, Date.parse(nowIso));
  if (handoff && o.namespace) return handoffWrites(handoff, o.namespace, nowIso);
  const revision = a.target.revision;
  const nsPatch = a.granularity === 'namespace' && o.namespace ? namespaceRelabel(o.namespace, revision) : undefined;
  const restartMarks: MapPatch = {
    [MeshwaveAnnotation.RestartedAt]: nowIso,
    [MeshwaveAnnotation.RestartedFor]: revision,
    [MeshwaveAnnotation.RestartedBy]: `${a.rolloutId}#${a.generation}`,
  };
  const workloads = toRestart.map(({ workload: w }): WorkloadWrite => {
    // At namespace granularity a template label of another revision would only mislead, and would win again
    // the day the namespace label goes (a later handoff): the restart brings it in line at no extra cost.
    const relabel =
      a.granularity === 'workload' || w.templateLabels[IstioLabel.Revision] !== undefined
        ? workloadRelabel(w, revision)
        : {};
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
  const withPods = (w: WorkloadView): ObservedWorkload => ({
    workload: w,
    pods: nsPods.filter((p) => p.controlled && selectorMatches(w.selector, p.labels)),
  });
  // The rest of the namespace matters to a workload unit only while a namespace label forces another revision
  // (a handoff); matching every pod to every workload on each pass would cost the common case dearly.
  const nsRevision = namespaceRevisionOf(namespace);
  const handoffPossible = target.kind !== undefined && nsRevision !== undefined && nsRevision !== target.revision;
  return {
    namespace,
    workloads: inNs.map(withPods),
    ...(handoffPossible
      ? { namespaceWorkloads: workloads.filter((w) => w.namespace === target.namespace).map(withPods) }
      : {}),
    barePods: target.kind === undefined ? nsPods.filter((p) => !p.controlled) : [],
  };
}

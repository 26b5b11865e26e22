import { UnitFailureReason, UnitState } from '@meshwave/contracts';
import {
  IstioLabel,
  MeshwaveAnnotation,
  MeshwaveLabel,
  lastRestartOf,
  optsOutOfInjection,
  type TemplateRestart,
} from '@meshwave/istio';
import type { NamespaceView } from '../ports/kubernetes-port.js';
import { livePods, namespaceRevisionOf, workloadRelabel } from './revision-rules.js';
import type {
  NamespaceHandoff,
  NamespaceWrite,
  ObservedWorkload,
  UnitAssessment,
  UnitAssignment,
  UnitObservation,
  WorkloadWrite,
} from './unit-model.js';

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
    room: a.handoffBatch === undefined ? toLabel.length : Math.max(0, a.handoffBatch - pending.length),
    ...(overdue
      ? {
          failure: `${overdue.workload.name}: not rolled out within ${a.progressDeadlineSeconds}s while handing namespace ${o.namespace.name}'s istio.io/rev=${revision} over to its workloads`,
        }
      : {}),
  };
}

/**
 * The next handoff step: label the unlabelled templates with the namespace's revision (one restart each, on the
 * revision they already run), as many as the batch has room for; once their pods all come from labelled templates,
 * drop the namespace label.
 */
export function handoffWrites(
  handoff: NamespaceHandoff,
  namespace: NamespaceView,
  nowIso: string,
): { namespace?: NamespaceWrite; workloads: WorkloadWrite[] } {
  if (handoff.toLabel.length > 0)
    return {
      // a batch at a time: each label restarts the workload, and the namespace's maxUnavailable holds for them too
      workloads: handoff.toLabel.slice(0, handoff.room).map(({ workload: w }) => ({
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

/** What a unit's state is while its namespace label is handed over to the templates (ADR 0011). */
export function assessInHandoff(
  common: Omit<UnitAssessment, 'state' | 'inFlight' | 'reason' | 'message' | 'handoff'>,
  handoff: NamespaceHandoff,
  o: UnitObservation,
): UnitAssessment {
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
  const canWrite = handoff.toLabel.length > 0 ? handoff.room > 0 : handoff.waitingFor.length === 0;
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

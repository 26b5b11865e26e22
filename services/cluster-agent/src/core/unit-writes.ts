import { IstioLabel, MeshwaveAnnotation } from '@meshwave/istio';
import type { MapPatch } from '../ports/kubernetes-port.js';
import { assessHandoff, handoffWrites } from './namespace-handoff.js';
import { namespaceRelabel, workloadRelabel } from './revision-rules.js';
import type { NamespaceWrite, ObservedWorkload, UnitAssignment, UnitObservation, WorkloadWrite } from './unit-model.js';

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
  // A tag move writes restarts only: the labels (the tag) stay as the manifests have them (ADR 0035).
  const tagged = a.tag !== undefined;
  const handoff = tagged ? undefined : assessHandoff(a, o, Date.parse(nowIso));
  if (handoff && o.namespace) return handoffWrites(handoff, o.namespace, nowIso);
  const revision = a.target.revision;
  const nsPatch =
    a.granularity === 'namespace' && o.namespace && !tagged ? namespaceRelabel(o.namespace, revision) : undefined;
  const restartMarks: MapPatch = {
    [MeshwaveAnnotation.RestartedAt]: nowIso,
    [MeshwaveAnnotation.RestartedFor]: revision,
    [MeshwaveAnnotation.RestartedBy]: `${a.rolloutId}#${a.generation}`,
    [MeshwaveAnnotation.RestartAttempt]: a.target.attempt !== undefined ? String(a.target.attempt) : null,
  };
  const workloads = toRestart.map(({ workload: w }): WorkloadWrite => {
    // At namespace granularity a template label of another revision would only mislead, and would win again
    // the day the namespace label goes (a later handoff): the restart brings it in line at no extra cost.
    const relabel =
      !tagged && (a.granularity === 'workload' || w.templateLabels[IstioLabel.Revision] !== undefined)
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

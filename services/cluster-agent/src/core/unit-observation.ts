import type { UnitTarget } from '@meshwave/contracts';
import { selectorMatches, type NamespaceView, type PodView, type WorkloadView } from '../ports/kubernetes-port.js';
import { movesApart } from './gateway-step.js';
import { namespaceRevisionOf } from './revision-rules.js';
import type { ObservedWorkload, UnitObservation } from './unit-model.js';

/**
 * What observing a unit reads of its namespace. The agent's cache answers from its indexes (a workload by key,
 * its pods from the pods-by-owner index), so observing a workload unit costs that workload's pods, not its
 * namespace's; lists read from the apiserver answer by filtering (`listedContents`).
 */
export interface NamespaceContents {
  readonly namespace: NamespaceView | undefined;
  /** every workload of the namespace */
  workloads(): readonly WorkloadView[];
  /** the workload of this kind and name, if there is one */
  workload(kind: string, name: string): WorkloadView | undefined;
  /** the controlled pods the workload's selector picks */
  podsOf(w: WorkloadView): readonly PodView[];
  /** the namespace's pods without a controller */
  barePods(): readonly PodView[];
}

/** NamespaceContents over plain lists (as read from the apiserver; objects of other namespaces are ignored). */
export function listedContents(
  name: string,
  namespace: NamespaceView | undefined,
  workloads: readonly WorkloadView[],
  pods: readonly PodView[],
): NamespaceContents {
  const inNs = workloads.filter((w) => w.namespace === name);
  const nsPods = pods.filter((p) => p.namespace === name);
  return {
    namespace,
    workloads: () => inNs,
    workload: (kind, workloadName) => inNs.find((w) => w.kind === kind && w.name === workloadName),
    podsOf: (w) => nsPods.filter((p) => p.controlled && selectorMatches(w.selector, p.labels)),
    barePods: () => nsPods.filter((p) => !p.controlled),
  };
}

/** Picks a unit's workloads and bare pods out of its namespace's contents. */
export function observeUnitIn(target: UnitTarget, contents: NamespaceContents): UnitObservation {
  const withPods = (w: WorkloadView): ObservedWorkload => ({ workload: w, pods: contents.podsOf(w) });
  // A namespace unit restarts its workloads, never its gateways (they move by canary, ADR 0047) nor its node
  // agents (node by node, ADR 0051).
  const own =
    target.kind === undefined
      ? contents.workloads().filter((w) => !movesApart(w))
      : [contents.workload(target.kind, target.name ?? '')].filter((w) => w !== undefined);
  // The rest of the namespace matters to a workload unit only while a namespace label forces another revision
  // (a handoff); matching every pod to every workload on each pass would cost the common case dearly.
  const nsRevision = namespaceRevisionOf(contents.namespace);
  const handoffPossible = target.kind !== undefined && nsRevision !== undefined && nsRevision !== target.revision;
  return {
    namespace: contents.namespace,
    workloads: own.map(withPods),
    ...(handoffPossible ? { namespaceWorkloads: contents.workloads().map(withPods) } : {}),
    barePods: target.kind === undefined ? contents.barePods() : [],
  };
}

/** Picks a unit's workloads and bare pods out of lists of a namespace's contents. */
export function observeUnit(
  target: UnitTarget,
  namespace: NamespaceView | undefined,
  workloads: readonly WorkloadView[],
  pods: readonly PodView[],
): UnitObservation {
  return observeUnitIn(target, listedContents(target.namespace, namespace, workloads, pods));
}

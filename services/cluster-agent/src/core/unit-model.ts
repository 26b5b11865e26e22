import type { GatewayPin, UnitState, UnitTarget } from '@meshwave/contracts';
import type { FailureHold } from './failure-judgement.js';
import type { MapPatch, NamespaceView, PodView, WorkloadRef, WorkloadView } from '../ports/kubernetes-port.js';

/** The data the converge decisions work on: what a unit should run, what the cluster shows, what to write. */

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
  /**
   * A tag move (ADR 0035): the unit is labelled with this revision tag, which is pointed at its revision before
   * it restarts; its labels are never written, and no namespace label is handed over.
   */
  readonly tag?: string;
  /** with `tag`: the Gateway API Gateways pinned to the tag's revision before the tag moves (ADR 0056) */
  readonly gatewayPins?: readonly GatewayPin[];
  /** the rollout allows an upgrade path Istio does not support: a tag move's live path check does not refuse */
  readonly allowUnsupportedUpgradePath?: boolean;
  /**
   * When the target revision is a revision tag (a rollout whose `to` is a tag, ADR 0046): the revision the tag
   * points at now, which injects the unit's pods. Labels are written with the tag; pods are judged on this.
   */
  readonly injects?: string;
  /**
   * At most this many handoff restarts of the unit's namespace under way at once (ADR 0011 addendum): the rollout's
   * maxUnavailable in the cluster. Absent: every template of the namespace is labelled in one step.
   */
  readonly handoffBatch?: number;
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
  /** how many of `toLabel` may be labelled (and so restarted) now: the batch less the handoff restarts under way */
  readonly room: number;
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
  /** a failure verdict held back (`judgeFailure`): what would settle it */
  readonly hold?: FailureHold;
}

import {
  GatewayLabel,
  IstioLabel,
  canaryCopyName,
  canaryCopyOf,
  gatewayOf,
  isWaypointDeployment,
  nodeAgentOf,
  stepReplicas,
} from '@meshwave/istio';
import type { WorkloadView } from '../ports/kubernetes-port.js';

// Istio's gateway canary (ADR 0047), as a pure decision: given what the cluster shows of a gateway Deployment and
// of meshwave's copy of it on the new revision, the one write that brings them closer to the step's share.

/** True when the workload is a gateway or meshwave's canary copy of one: never an ordinary workload (ADR 0047). */
export const isGatewayDeployment = (w: WorkloadView): boolean =>
  gatewayOf(w) !== undefined || canaryCopyOf(w.labels) !== undefined;

/**
 * True when the workload moves apart from the workloads of its namespace: a gateway (ADR 0047), ambient mode's
 * istio-cni or ztunnel DaemonSet, which moves node by node (ADR 0051), never restarted whole, or a waypoint's
 * Deployment, which istiod re-renders when the waypoint step relabels its `Gateway` (ADR 0056, 0057).
 */
export const movesApart = (w: WorkloadView): boolean =>
  isGatewayDeployment(w) || nodeAgentOf(w) !== undefined || isWaypointDeployment(w);

/** A gateway canary step: `percent` of gateway `name`'s replicas on `revision` (0: all back on the old one). */
export interface GatewayStepTarget {
  readonly namespace: string;
  readonly name: string;
  readonly revision: string;
  readonly percent: number;
  /** at 100%: delete the old gateway once it has no pod left (the step is final; no failback after it) */
  readonly removeOld: boolean;
}

/** One of the two Deployments as the step reads it. */
export interface GatewaySide {
  readonly view: WorkloadView;
  /** its ready pods, not terminating, injected with the revision it should run (the copy: the step's) */
  readonly readyPods: number;
  /** its pods, ready or not, not terminating */
  readonly livePods: number;
}

export type GatewayStepAction =
  | { readonly kind: 'create-copy'; readonly name: string; readonly replicas: number; readonly total: number }
  | { readonly kind: 'scale'; readonly which: 'gateway' | 'copy'; readonly replicas: number }
  | { readonly kind: 'delete'; readonly which: 'gateway' | 'copy' }
  | { readonly kind: 'wait'; readonly reason: string }
  | { readonly kind: 'converged' }
  | { readonly kind: 'failed'; readonly reason: string };

/** The total the copy was created for (its label), else the gateway's replicas now. */
function totalOf(gateway: GatewaySide | undefined, copy: GatewaySide | undefined): number | undefined {
  const recorded = Number(copy?.view.labels[GatewayLabel.Replicas]);
  if (Number.isInteger(recorded) && recorded > 0) return recorded;
  return gateway?.view.replicas;
}

const settled = (s: GatewaySide): boolean => s.view.observedGeneration >= s.view.generation;

/**
 * The next write of a step, new pods before old ones go: whichever side must grow grows first, and only once its
 * pods are ready does the other side shrink, so the ready-replica ratio (the traffic ratio behind the shared
 * Service) never drops below what either step promises. A failback is a step with a lower share.
 */
export function nextGatewayAction(
  target: GatewayStepTarget,
  gateway: GatewaySide | undefined,
  copy: GatewaySide | undefined,
): GatewayStepAction {
  const total = totalOf(gateway, copy);
  if (total === undefined) return { kind: 'failed', reason: `gateway ${target.namespace}/${target.name} not found` };
  const want = stepReplicas(total, target.percent);
  if (gateway === undefined) {
    if (want.old > 0)
      return { kind: 'failed', reason: `gateway ${target.name} was removed at its last step: it cannot fail back` };
    if (copy!.view.replicas !== want.copy) return { kind: 'scale', which: 'copy', replicas: want.copy };
    return copy!.readyPods >= want.copy && settled(copy!)
      ? { kind: 'converged' }
      : { kind: 'wait', reason: `copy ${copy!.readyPods}/${want.copy} ready on ${target.revision}` };
  }
  if (copy === undefined && want.copy > 0)
    return {
      kind: 'create-copy',
      name: canaryCopyName(target.name, target.revision),
      replicas: want.copy,
      total,
    };
  // grow first
  if (copy !== undefined && copy.view.replicas < want.copy)
    return { kind: 'scale', which: 'copy', replicas: want.copy };
  if (gateway.view.replicas < want.old) return { kind: 'scale', which: 'gateway', replicas: want.old };
  if (copy !== undefined && (copy.readyPods < want.copy || !settled(copy)))
    return { kind: 'wait', reason: `copy ${copy.readyPods}/${want.copy} ready on ${target.revision}` };
  if (gateway.readyPods < want.old || !settled(gateway))
    return { kind: 'wait', reason: `gateway ${gateway.readyPods}/${want.old} ready` };
  // then shrink
  if (copy !== undefined && copy.view.replicas > want.copy)
    return { kind: 'scale', which: 'copy', replicas: want.copy };
  if (gateway.view.replicas > want.old) return { kind: 'scale', which: 'gateway', replicas: want.old };
  if (copy !== undefined && copy.livePods > want.copy)
    return { kind: 'wait', reason: `copy ${copy.livePods} pods, ${want.copy} wanted` };
  if (gateway.livePods > want.old)
    return { kind: 'wait', reason: `gateway ${gateway.livePods} pods, ${want.old} wanted` };
  // and remove what holds nothing
  if (copy !== undefined && want.copy === 0) return { kind: 'delete', which: 'copy' };
  if (want.old === 0 && target.removeOld) return { kind: 'delete', which: 'gateway' };
  return { kind: 'converged' };
}

/** A Deployment object as read from and written to the apiserver, as far as the copy touches it. */
export interface DeploymentObject {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
    readonly [field: string]: unknown;
  };
  readonly spec?: {
    readonly replicas?: number;
    readonly selector?: { readonly matchLabels?: Record<string, string>; readonly [field: string]: unknown };
    readonly template?: {
      readonly metadata?: { readonly labels?: Record<string, string>; readonly [field: string]: unknown };
      readonly [field: string]: unknown;
    };
    readonly [field: string]: unknown;
  };
  readonly [field: string]: unknown;
}

/**
 * The canary copy of a gateway Deployment (Istio's gateway canary): its spec, with pods labelled `istio.io/rev:
 * <revision>` beside the gateway's own selector labels (so the gateway's Service selects both) plus a label of
 * the copy's own in its selector (so neither Deployment's ReplicaSets adopt the other's pods).
 */
export function canaryCopyBody(
  gateway: DeploymentObject,
  copy: { readonly name: string; readonly revision: string; readonly replicas: number; readonly total: number },
): DeploymentObject {
  // metadata is not copied beyond the labels: `last-applied-configuration` and the like belong to the gateway
  const { metadata = {}, spec = {} } = gateway;
  const own = { [GatewayLabel.CanaryRevision]: copy.revision };
  const template = spec.template ?? {};
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: copy.name,
      ...(metadata.namespace !== undefined ? { namespace: metadata.namespace } : {}),
      labels: {
        ...metadata.labels,
        [GatewayLabel.CanaryOf]: metadata.name ?? '',
        [GatewayLabel.Replicas]: String(copy.total),
        ...own,
      },
    },
    spec: {
      ...spec,
      replicas: copy.replicas,
      selector: { ...spec.selector, matchLabels: { ...spec.selector?.matchLabels, ...own } },
      template: {
        ...template,
        metadata: {
          ...template.metadata,
          labels: { ...template.metadata?.labels, ...own, [IstioLabel.Revision]: copy.revision },
        },
      },
    },
  };
}

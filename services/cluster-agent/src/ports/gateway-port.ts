import type { DeploymentObject } from '../core/gateway-step.js';

/** A Gateway API `Gateway` as the gateway steps read it. */
export interface GatewayRevisionView {
  readonly revision: string | null;
  readonly pinnedTag: string | null;
}

/**
 * What a gateway canary (ADR 0047) writes beyond the agent's usual patches: a Deployment created (the copy on the
 * new revision), scaled and deleted. Implemented on the real apiserver only (`gatewayOperations`); its tests run
 * there, as the copy's pods must be scheduled, injected and made ready by a real control loop.
 */
export interface GatewayDeploymentPort {
  /** the Deployment as the apiserver has it; undefined when there is none */
  readDeployment(namespace: string, name: string): Promise<DeploymentObject | undefined>;
  /** creates it; `exists` when a Deployment of that name is there already (nothing written) */
  createDeployment(namespace: string, body: DeploymentObject): Promise<'created' | 'exists'>;
  /** sets `spec.replicas` (a merge patch of that field only) */
  scaleDeployment(namespace: string, name: string, replicas: number): Promise<void>;
  /** deletes it, its ReplicaSets and pods with it (background propagation); `absent` when it is gone already */
  deleteDeployment(namespace: string, name: string): Promise<'deleted' | 'absent'>;
  /**
   * a Gateway API `Gateway`'s `istio.io/rev` label (null when it has none) and the tag meshwave pinned it from
   * (`meshwave.io/pinned-tag`, ADR 0056); undefined when there is no such Gateway
   */
  readGateway(namespace: string, name: string): Promise<GatewayRevisionView | undefined>;
  /**
   * sets its `istio.io/rev` (a merge patch of that label, and of the pin annotation when `pinnedTag` is given, null
   * removing it): istiod then restarts the gateway's Deployment when the revision it names changes (ADR 0050)
   */
  setGatewayRevision(namespace: string, name: string, revision: string, pinnedTag?: string | null): Promise<void>;
}

import type { GatewaySide, GatewayStepAction } from './gateway-step.js';

// A Gateway API gateway's step (ADR 0050), as a pure decision. istiod runs the Deployment of a Gateway API
// `Gateway` and restarts it whenever the revision (or tag) the Gateway names moves (istio/istio#59959), so it cannot
// be canaried pod by pod: its step moves the Gateway's `istio.io/rev` and waits for istiod's restart to bring every
// pod up on that revision.

/** A Gateway API gateway's step: the Gateway `gatewayName` on `revision` (`to` at 100%, `from` at 0%). */
export interface GatewayApiStepTarget {
  readonly namespace: string;
  /** the Deployment istiod runs for the Gateway */
  readonly name: string;
  readonly gatewayName: string;
  readonly revision: string;
  /**
   * what the Gateway's `istio.io/rev` should say when not `revision`: the tag a Gateway pinned before a tag move
   * followed, once that tag names `revision` (ADR 0056)
   */
  readonly label?: string;
}

/** The decision: relabel the Gateway, or wait for istiod's restart, or done. */
export type GatewayApiAction = GatewayStepAction | { readonly kind: 'relabel-gateway'; readonly revision: string };

/**
 * `label` is the Gateway's `istio.io/rev` now (undefined: no Gateway of that name, null: unlabelled); `side` the
 * Deployment with its pods ready on `revision`. Converged once every replica is a ready pod on the revision, no
 * older pod is left and the Deployment's controller saw its last change.
 */
export function nextGatewayApiAction(
  target: GatewayApiStepTarget,
  label: string | null | undefined,
  side: GatewaySide | undefined,
): GatewayApiAction {
  const where = `${target.namespace}/${target.gatewayName}`;
  if (label === undefined) return { kind: 'failed', reason: `Gateway ${where} not found` };
  const wanted = target.label ?? target.revision;
  if (label !== wanted) return { kind: 'relabel-gateway', revision: wanted };
  if (side === undefined)
    return { kind: 'wait', reason: `istiod has no Deployment ${target.name} for Gateway ${where}` };
  const { view, readyPods, livePods } = side;
  if (view.observedGeneration >= view.generation && readyPods === view.replicas && livePods === view.replicas)
    return { kind: 'converged' };
  return {
    kind: 'wait',
    reason: `istiod restarting ${target.name}: ${readyPods}/${view.replicas} pods ready on ${target.revision}, ${livePods} live`,
  };
}

import { WorkloadKind, type GatewayStepCommand } from '@meshwave/contracts';
import { gatewayOf, injectedRevisionOf } from '@meshwave/istio';
import { nextGatewayApiAction, type GatewayApiAction } from '../core/gateway-api-step.js';
import { selectorMatches } from '../ports/kubernetes-port.js';
import type { GatewayRevisionView } from '../ports/gateway-port.js';
import type { GatewayCanaryPort } from './gateway-canary.js';

/**
 * One pass of a Gateway API gateway's step (ADR 0050): reads the Deployment istiod runs, the Gateway it serves and
 * their pods; moves the Gateway's `istio.io/rev` (`to` at 100%, or the rollout's tag for a Gateway pinned before
 * the tag moved, ADR 0056; `from` at 0%, or the tag once a failback unpinned it, ADR 0058) or waits for istiod's
 * restart. At
 * most one write, idempotent: a pass run again once converged writes nothing.
 */
export async function reconcileGatewayApiStep(
  kube: GatewayCanaryPort,
  command: GatewayStepCommand,
  from: string,
): Promise<GatewayApiAction> {
  const { namespace, name } = command;
  const revision = command.percent === 100 ? command.revision : from;
  const [view, pods] = await Promise.all([
    kube.getWorkload({ namespace, kind: WorkloadKind.Deployment, name }),
    kube.listPods(namespace),
  ]);
  const recognised = view === undefined ? undefined : gatewayOf(view);
  if (recognised?.kind !== 'gateway-api')
    return { kind: 'failed', reason: `${namespace}/${name} is not the Deployment of a Gateway API gateway` };
  const gatewayName = recognised.gatewayName;
  const gateway = await kube.readGateway(namespace, gatewayName);
  const followsTag = command.tag !== undefined && gateway !== undefined && followsTagAt(command, gateway);
  const own = pods.filter((p) => p.controlled && !p.terminating && selectorMatches(view!.selector, p.labels));
  const ready = own.filter((p) => p.ready && injectedRevisionOf(p.annotations) === revision).length;
  const target = { namespace, name, gatewayName, revision, ...(followsTag ? { label: command.tag } : {}) };
  const action = nextGatewayApiAction(target, gateway === undefined ? undefined : gateway.revision, {
    view: view!,
    readyPods: ready,
    livePods: own.length,
  });
  if (action.kind === 'relabel-gateway') await kube.setGatewayRevision(namespace, gatewayName, action.revision);
  return action;
}

/**
 * Whether the Gateway's label should be the rollout's tag rather than the step's revision: at 100%, a Gateway pinned
 * from the tag before it moved (ADR 0056); at 0%, a Gateway labelled with the tag and no longer pinned, as the agent
 * leaves it once a failback pointed the tag back at `from` (ADR 0058). A Gateway the 100% step labelled with the tag
 * still carries its pin, so at 0% it is labelled `from` (pinned) until the tag goes back. Either way the step
 * converges only once the pods run the step's revision.
 */
function followsTagAt(command: GatewayStepCommand, gateway: GatewayRevisionView): boolean {
  if (command.percent === 100) return gateway.pinnedTag === command.tag;
  return command.percent === 0 && gateway.revision === command.tag && gateway.pinnedTag === null;
}

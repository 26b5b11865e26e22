import { WorkloadKind, type GatewayStepCommand } from '@meshwave/contracts';
import { gatewayOf, injectedRevisionOf } from '@meshwave/istio';
import { nextGatewayApiAction, type GatewayApiAction } from '../core/gateway-api-step.js';
import { selectorMatches } from '../ports/kubernetes-port.js';
import type { GatewayRevisionView } from '../ports/gateway-port.js';
import type { GatewayCanaryPort } from './gateway-canary.js';

/**
 * One pass of a Gateway API gateway's step (ADR 0050): reads the Deployment istiod runs, the Gateway it serves and
 * their pods; moves the Gateway's `istio.io/rev` (`to` at 100%, or the rollout's tag for a Gateway pinned before
 * the tag moved, ADR 0056; `from` at 0%, or the tag once it names `from` again, ADR 0058) or waits for istiod's
 * restart. At most one write, idempotent: a pass run again once converged writes nothing.
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
  const wanted = gateway === undefined ? {} : await labelWanted(kube, command, gateway, from);
  const own = pods.filter((p) => p.controlled && !p.terminating && selectorMatches(view!.selector, p.labels));
  const ready = own.filter((p) => p.ready && injectedRevisionOf(p.annotations) === revision).length;
  const target = {
    namespace,
    name,
    gatewayName,
    revision,
    ...(wanted.label !== undefined ? { label: wanted.label } : {}),
  };
  const action = nextGatewayApiAction(target, gateway === undefined ? undefined : gateway.revision, {
    view: view!,
    readyPods: ready,
    livePods: own.length,
  });
  const unpin = wanted.unpin === true ? null : undefined;
  if (action.kind === 'relabel-gateway') await kube.setGatewayRevision(namespace, gatewayName, action.revision, unpin);
  // labelled with the tag already (the tag went back first): only the pin goes
  else if (unpin === null) await kube.setGatewayRevision(namespace, gatewayName, command.tag!, null);
  return action;
}

/**
 * The Gateway's label when it should be the rollout's tag rather than the step's revision, and whether its pin goes:
 * at 100%, a Gateway pinned from the tag before it moved (ADR 0056), pin kept; at 0% (a failback), a Gateway pinned
 * from the tag once the tag names `from` again (read live), pin removed, so it follows the tag again whichever of
 * this step and the tag's move back comes first (ADR 0058); and a Gateway labelled with the tag and no longer pinned,
 * as the failback left it. A Gateway the 100% step labelled with the tag still carries its pin, so at 0%, the tag
 * still naming `to`, it is labelled `from`. Either way the step converges only once the pods run its revision.
 */
async function labelWanted(
  kube: GatewayCanaryPort,
  command: GatewayStepCommand,
  gateway: GatewayRevisionView,
  from: string,
): Promise<{ readonly label?: string; readonly unpin?: true }> {
  const { tag, percent } = command;
  if (tag === undefined) return {};
  if (percent === 100) return gateway.pinnedTag === tag ? { label: tag } : {};
  if (percent !== 0) return {};
  if (gateway.pinnedTag === null) return gateway.revision === tag ? { label: tag } : {};
  if (gateway.pinnedTag !== tag || kube.revisionTagTarget === undefined) return {};
  return (await kube.revisionTagTarget(tag)) === from ? { label: tag, unpin: true } : {};
}

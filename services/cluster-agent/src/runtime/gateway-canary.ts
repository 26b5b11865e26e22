import { WorkloadKind } from '@meshwave/contracts';
import { GatewayLabel, canaryCopyName, injectedRevisionOf } from '@meshwave/istio';
import {
  canaryCopyBody,
  nextGatewayAction,
  type GatewaySide,
  type GatewayStepAction,
  type GatewayStepTarget,
} from '../core/gateway-step.js';
import type { GatewayDeploymentPort } from '../ports/gateway-port.js';
import { selectorMatches, type KubernetesPort, type PodView, type WorkloadView } from '../ports/kubernetes-port.js';

/** What a gateway step reads and writes. */
export type GatewayCanaryPort = Pick<KubernetesPort, 'getWorkload' | 'listPods'> &
  GatewayDeploymentPort & {
    /**
     * the revision a revision tag names now, read live (not from a watch): a failback's 0% step labels a pinned
     * Gateway with the tag once it names `from` (ADR 0058); absent: never
     */
    readonly revisionTagTarget?: (tag: string) => Promise<string | undefined>;
  };

/** A side as the step reads it: the gateway's own pods exclude the copy's, which its selector also picks. */
function sideOf(view: WorkloadView | undefined, pods: readonly PodView[], revision?: string): GatewaySide | undefined {
  if (view === undefined) return undefined;
  const own = pods.filter(
    (p) =>
      p.controlled &&
      !p.terminating &&
      selectorMatches(view.selector, p.labels) &&
      (revision !== undefined || p.labels[GatewayLabel.CanaryRevision] === undefined),
  );
  const ready = own.filter(
    (p) => p.ready && (revision === undefined || injectedRevisionOf(p.annotations) === revision),
  );
  return { view, readyPods: ready.length, livePods: own.length };
}

/**
 * One pass of a gateway step (ADR 0047), level-triggered: reads the gateway, its copy and their pods, decides
 * (`nextGatewayAction`) and makes at most one write. Returns what it decided; `wait` and the writes mean "look
 * again", `converged` and `failed` are final for this step.
 */
export async function reconcileGatewayStep(
  kube: GatewayCanaryPort,
  target: GatewayStepTarget,
): Promise<GatewayStepAction> {
  const { namespace, name, revision } = target;
  const copyName = canaryCopyName(name, revision);
  const [gatewayView, copyView, pods] = await Promise.all([
    kube.getWorkload({ namespace, kind: WorkloadKind.Deployment, name }),
    kube.getWorkload({ namespace, kind: WorkloadKind.Deployment, name: copyName }),
    kube.listPods(namespace),
  ]);
  const action = nextGatewayAction(target, sideOf(gatewayView, pods), sideOf(copyView, pods, revision));
  switch (action.kind) {
    case 'create-copy': {
      const gateway = await kube.readDeployment(namespace, name);
      if (gateway === undefined) return { kind: 'wait', reason: `gateway ${name} went away while read` };
      await kube.createDeployment(namespace, canaryCopyBody(gateway, { ...action, revision }));
      break;
    }
    case 'scale':
      await kube.scaleDeployment(namespace, action.which === 'copy' ? copyName : name, action.replicas);
      break;
    case 'delete':
      await kube.deleteDeployment(namespace, action.which === 'copy' ? copyName : name);
      break;
    default:
      break;
  }
  return action;
}

export interface GatewayStepOutcome {
  readonly state: 'converged' | 'failed';
  readonly reason?: string;
  /** every write the step made, in order (`create-copy`, `scale`, `delete`) */
  readonly writes: readonly GatewayStepAction[];
}

export interface RunGatewayStepOptions {
  /** a step not converged after this long fails, with what it was waiting for */
  readonly progressDeadlineMs: number;
  /** pause between passes */
  readonly intervalMs: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** told about each pass's decision, to report progress */
  readonly onAction?: (action: GatewayStepAction) => void;
}

/** Runs passes of a step until it converges, fails, or misses its progress deadline. */
export async function runGatewayStep(
  kube: GatewayCanaryPort,
  target: GatewayStepTarget,
  options: RunGatewayStepOptions,
): Promise<GatewayStepOutcome> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const writes: GatewayStepAction[] = [];
  const deadline = now() + options.progressDeadlineMs;
  for (;;) {
    const action = await reconcileGatewayStep(kube, target);
    options.onAction?.(action);
    if (action.kind === 'converged') return { state: 'converged', writes };
    if (action.kind === 'failed') return { state: 'failed', reason: action.reason, writes };
    if (action.kind !== 'wait') writes.push(action);
    else if (now() >= deadline)
      return { state: 'failed', reason: `not converged in ${options.progressDeadlineMs} ms: ${action.reason}`, writes };
    await sleep(options.intervalMs);
  }
}

import { GatewayLabel, IstioLabel, injectedRevisionOf } from '@meshwave/istio';
import type { AmbientPort, NodePodView } from '../ports/ambient-port.js';

/** A waypoint to move, and where it stands after a pass. */
export interface WaypointProgress {
  readonly namespace: string;
  readonly name: string;
  readonly state: 'converged' | 'moving' | 'failed';
  readonly detail?: string;
}

/**
 * The revision a waypoint's pod runs: istiod's waypoint template writes it as the pod's `istio.io/rev`
 * annotation (the pod is never injected); a label or an injected sidecar's status are read when it is not there.
 */
export function waypointPodRevision(p: NodePodView): string | null {
  return (
    p.annotations?.[IstioLabel.Revision] ?? p.labels[IstioLabel.Revision] ?? injectedRevisionOf(p.annotations) ?? null
  );
}

/**
 * What a waypoint's pods still wait for: undefined once every live pod is ready on `revision`. `runs`: the revision
 * whose istiod renders the waypoint, which is `revision` unless that is a tag (istiod writes its own revision on
 * the pod, never the tag's name: ADR 0056).
 */
function podsWaitingFor(pods: readonly NodePodView[], revision: string, runs: string): string | undefined {
  const live = pods.filter((p) => !p.terminating);
  const other = live.filter((p) => waypointPodRevision(p) !== runs);
  if (other.length > 0) return `${other.length} pod(s) not on ${revision}`;
  const unready = live.filter((p) => !p.ready);
  if (unready.length > 0) return `${unready.length} pod(s) on ${revision} not ready`;
  return undefined;
}

/**
 * One pass of a waypoint step (ADR 0051, 0056): each waypoint's `istio.io/rev` label set to `revision`, after which
 * istiod re-renders the waypoint's Deployment on it; the waypoint is converged once every live pod istiod runs for
 * it (labelled `gateway.networking.k8s.io/gateway-name`) is ready on `revision`, so the next step starts only after
 * this one's waypoints moved. Idempotent: a waypoint on `revision` is not written again. One that is gone fails.
 * `revision` may be a tag (a rollout's `to`, ADR 0046): the label names it, and the pods are judged on the revision
 * `tagTarget` says it points at now.
 */
export async function waypointPass(
  port: AmbientPort,
  waypoints: readonly { readonly namespace: string; readonly name: string }[],
  revision: string,
  tagTarget: (name: string) => string | undefined = () => undefined,
): Promise<WaypointProgress[]> {
  const runs = tagTarget(revision) ?? revision;
  const present = new Map((await port.listWaypoints()).map((w) => [`${w.namespace}/${w.name}`, w]));
  const out: WaypointProgress[] = [];
  for (const { namespace, name } of waypoints) {
    const w = present.get(`${namespace}/${name}`);
    if (w === undefined) {
      out.push({ namespace, name, state: 'failed', detail: 'no such waypoint' });
      continue;
    }
    if (w.labels[IstioLabel.Revision] !== revision) {
      await port.labelWaypoint(namespace, name, revision);
      out.push({ namespace, name, state: 'moving', detail: `relabelled to ${revision}` });
      continue;
    }
    const waiting = podsWaitingFor(
      await port.podsLabelled(namespace, { [GatewayLabel.GatewayApiName]: name }),
      revision,
      runs,
    );
    out.push(
      waiting === undefined
        ? { namespace, name, state: 'converged' }
        : { namespace, name, state: 'moving', detail: waiting },
    );
  }
  return out;
}

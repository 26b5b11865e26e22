import { IstioLabel } from '@meshwave/istio';
import type { AmbientPort } from '../ports/ambient-port.js';

/** A waypoint to move, and where it stands after a pass. */
export interface WaypointProgress {
  readonly namespace: string;
  readonly name: string;
  readonly state: 'converged' | 'failed';
  readonly detail?: string;
}

/**
 * One pass of a waypoint step (ADR 0051): each waypoint's `istio.io/rev` label set to `revision` (istiod then
 * redeploys the waypoint on it, as for any Gateway whose revision moves). Idempotent: a waypoint on `revision`
 * is not written again. A waypoint that is gone fails saying so.
 */
export async function waypointPass(
  port: AmbientPort,
  waypoints: readonly { readonly namespace: string; readonly name: string }[],
  revision: string,
): Promise<WaypointProgress[]> {
  const present = new Map((await port.listWaypoints()).map((w) => [`${w.namespace}/${w.name}`, w]));
  const out: WaypointProgress[] = [];
  for (const { namespace, name } of waypoints) {
    const w = present.get(`${namespace}/${name}`);
    if (w === undefined) {
      out.push({ namespace, name, state: 'failed', detail: 'no such waypoint' });
      continue;
    }
    if (w.labels[IstioLabel.Revision] !== revision) await port.labelWaypoint(namespace, name, revision);
    out.push({ namespace, name, state: 'converged' });
  }
  return out;
}

import {
  IstioLabel,
  MeshwaveLabel,
  PROXY_CONTAINER,
  imageTag,
  injectedRevisionOf,
  proxyVersionOfRevision,
  revisionForcedByNamespace,
} from '@meshwave/istio';
import {
  mapPatchIsNoop,
  type MapPatch,
  type NamespaceView,
  type PodView,
  type WorkloadView,
} from '../ports/kubernetes-port.js';

/**
 * A pod that counts: not on its way out, and not finished (an evicted or Failed pod, or a Succeeded one, stays
 * listed until garbage-collected but serves nothing and will never change).
 */
export const isLive = (p: PodView): boolean => !p.terminating && p.phase !== 'Failed' && p.phase !== 'Succeeded';

/** the pods that count (see `isLive`) */
export const livePods = (pods: readonly PodView[]): PodView[] => pods.filter(isLive);

/** A pod runs the target when the injector of the target revision made it, with the matching proxy, and it is Ready. */
export function podOnRevision(pod: PodView, revision: string): { ok: boolean; mismatch: boolean } {
  const injected = injectedRevisionOf(pod.annotations);
  const expected = proxyVersionOfRevision(revision);
  const proxy = pod.containers.find((c) => c.name === PROXY_CONTAINER);
  const imageOk = expected === undefined || (proxy !== undefined && imageTag(proxy.image) === expected);
  const mismatch = injected !== revision || proxy === undefined || !imageOk;
  return { ok: !mismatch && pod.ready, mismatch };
}

/**
 * The revision a namespace's label injects into every pod whatever the pod's own label says, as Istio's webhook
 * selectors read it: `istio-injection=enabled` (the default tag), else `istio.io/rev`; undefined without either.
 */
export const namespaceRevisionOf = (namespace: NamespaceView | undefined): string | undefined =>
  revisionForcedByNamespace(namespace?.labels);

/** The workload's assigned revision as Istio would read it: the namespace label wins, then the template label. */
export function assignedRevisionOf(namespace: NamespaceView | undefined, workload: WorkloadView): string | null {
  return namespaceRevisionOf(namespace) ?? workload.templateLabels[IstioLabel.Revision] ?? null;
}

/** Namespace label changes that make the namespace inject `revision`, or undefined when it already does. */
export function namespaceRelabel(namespace: NamespaceView, revision: string): MapPatch | undefined {
  const patch: MapPatch = {
    [IstioLabel.Revision]: revision,
    [IstioLabel.Injection]: null,
    [MeshwaveLabel.HandoffOf]: null,
  };
  return mapPatchIsNoop(namespace.labels, patch) ? undefined : patch;
}

/** Label changes for workload granularity: the pod template (what the injector reads) and the workload's own labels (what people read). */
export function workloadRelabel(w: WorkloadView, revision: string): { labels?: MapPatch; templateLabels?: MapPatch } {
  const patch: MapPatch = { [IstioLabel.Revision]: revision };
  return {
    ...(mapPatchIsNoop(w.labels, patch) ? {} : { labels: patch }),
    ...(mapPatchIsNoop(w.templateLabels, patch) ? {} : { templateLabels: patch }),
  };
}

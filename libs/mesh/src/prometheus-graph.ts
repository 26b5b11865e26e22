import type { ServiceGraph } from '@meshwave/contracts';

/** One sample of a Prometheus instant-vector result (`data.result[i]` of `/api/v1/query`). */
export interface PrometheusSample {
  readonly metric: Readonly<Record<string, string>>;
  /** [unix seconds, value as text] */
  readonly value: readonly [number, string];
}

/** Istio marks callers and callees outside the mesh (ingress from the internet, unknown clients) this way. */
const UNKNOWN = 'unknown';

/**
 * Request rate between workloads over `window` (e.g. `5m`), as reported by the calling side's proxy so every
 * call is counted once.
 */
export function istioRequestRateQuery(window: string): string {
  return (
    'sum by (source_workload_namespace, source_workload, destination_workload_namespace, destination_workload) ' +
    `(rate(istio_requests_total{reporter="source"}[${window}]))`
  );
}

/**
 * Builds a service graph from `istio_requests_total` rates: one node per workload (`namespace/workload`, in its
 * namespace, so namespaces stay whole), one edge per caller → callee pair weighted by requests per second.
 * Pod counts come from `pods`, samples labelled `namespace` and `workload`; without them every workload weighs 1.
 * Traffic from or to `unknown` workloads (outside the mesh) cannot be moved and is left out.
 */
export function serviceGraphFromIstioRequests(
  traffic: readonly PrometheusSample[],
  pods: readonly PrometheusSample[] = [],
): ServiceGraph {
  const nodes = new Map<string, { id: string; namespace: string; weight: number }>();
  const node = (namespace: string | undefined, workload: string | undefined): string | undefined => {
    if (!namespace || !workload || namespace === UNKNOWN || workload === UNKNOWN) return undefined;
    const id = `${namespace}/${workload}`;
    if (!nodes.has(id)) nodes.set(id, { id, namespace, weight: 1 });
    return id;
  };
  const rates = new Map<string, { source: string; target: string; weight: number }>();
  for (const s of traffic) {
    const rate = Number(s.value[1]);
    if (!Number.isFinite(rate) || rate <= 0) continue;
    const source = node(s.metric['source_workload_namespace'], s.metric['source_workload']);
    const target = node(s.metric['destination_workload_namespace'], s.metric['destination_workload']);
    if (source === undefined || target === undefined) continue;
    const key = `${source}\u0000${target}`;
    const edge = rates.get(key);
    if (edge) edge.weight += rate;
    else rates.set(key, { source, target, weight: rate });
  }
  for (const s of pods) {
    const count = Number(s.value[1]);
    const id = node(s.metric['namespace'], s.metric['workload']);
    if (id !== undefined && Number.isFinite(count) && count >= 0) nodes.get(id)!.weight = count;
  }
  const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return {
    nodes: [...nodes.values()].sort(byId),
    edges: [...rates.values()].sort((a, b) =>
      a.source === b.source ? (a.target < b.target ? -1 : 1) : a.source < b.source ? -1 : 1,
    ),
  };
}

import { InventoryGateway as InventoryGatewaySchema, RevisionName, type InventoryGateway } from '@meshwave/contracts';
import { canaryCopyOf, gatewayOf, GatewayLabel, injectedRevisionOf } from '@meshwave/istio';
import { assignedRevisionOf } from '../core/converge-decisions.js';
import type { WorkloadView } from '../ports/kubernetes-port.js';
import type { ClusterCache } from './cluster-cache.js';

const revisionOrNull = (r: string | null | undefined): string | null =>
  r !== null && r !== undefined && RevisionName.safeParse(r).success ? r : null;

/** The revision injected into the workload's live pods (the first one that says), null without sidecars. */
function injectedOf(cache: ClusterCache, w: WorkloadView): string | null {
  for (const p of cache.podsOf(w)) {
    if (p.terminating) continue;
    const injected = injectedRevisionOf(p.annotations);
    if (injected !== null) return injected;
  }
  return null;
}

/**
 * The cluster's gateways as the inventory reports them, from the gateway Deployments of the cache: each with its
 * canary copy, when meshwave runs one beside it. A copy whose gateway is gone (removed at the last step) is the
 * gateway now, and is reported as one. Entries the contract refuses are left out rather than fail the report.
 */
export function inventoryGateways(cache: ClusterCache, deployments: readonly WorkloadView[]): InventoryGateway[] {
  const byName = new Map(deployments.map((w) => [`${w.namespace}/${w.name}`, w]));
  const copies = new Map<string, WorkloadView>();
  for (const w of deployments) {
    const of = canaryCopyOf(w.labels);
    if (of !== undefined && byName.has(`${w.namespace}/${of}`)) copies.set(`${w.namespace}/${of}`, w);
  }
  const out: InventoryGateway[] = [];
  for (const w of deployments) {
    const of = canaryCopyOf(w.labels);
    if (of !== undefined && byName.has(`${w.namespace}/${of}`)) continue;
    const recognised = gatewayOf(w);
    const copy = copies.get(`${w.namespace}/${w.name}`);
    const copyRevision = copy?.templateLabels[GatewayLabel.CanaryRevision];
    const parsed = InventoryGatewaySchema.safeParse({
      namespace: w.namespace,
      name: w.name,
      kind: recognised?.kind ?? 'injected',
      ...(recognised?.kind === 'gateway-api' ? { gatewayName: recognised.gatewayName } : {}),
      labels: w.labels,
      revision: revisionOrNull(assignedRevisionOf(cache.namespace(w.namespace), w)),
      injectedRevision: revisionOrNull(injectedOf(cache, w)),
      replicas: w.replicas,
      readyReplicas: w.availableReplicas,
      ...(copy !== undefined && copyRevision !== undefined
        ? {
            canary: {
              name: copy.name,
              revision: copyRevision,
              replicas: copy.replicas,
              readyReplicas: copy.availableReplicas,
            },
          }
        : {}),
    });
    if (parsed.success) out.push(parsed.data);
  }
  return out.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

import { AMBIENT_NAMESPACE_LABEL } from '@meshwave/contracts';

// Which workloads are ambient (ADR 0051): sidecarless workloads of a namespace labelled
// `istio.io/dataplane-mode=ambient`, whose data plane is their node's ztunnel rather than a sidecar of some revision.
// The plan skips them; the fleet view and the `meshwave_units` gauge count them apart, on no revision.

/** What a cluster's `meshwave_units` series and fleet view count its ambient workloads under. */
export const AMBIENT_UNITS = 'ambient';

const NO_NAMESPACES: ReadonlySet<string> = new Set();

/** The names of the ambient namespaces among a cluster's namespaces (none when it lists none). */
export function ambientNamespacesOf(
  namespaces: readonly { readonly name: string; readonly labels: Readonly<Record<string, string>> }[] | undefined,
): ReadonlySet<string> {
  const ambient = (namespaces ?? []).filter(
    (n) => n.labels[AMBIENT_NAMESPACE_LABEL.key] === AMBIENT_NAMESPACE_LABEL.value,
  );
  return ambient.length === 0 ? NO_NAMESPACES : new Set(ambient.map((n) => n.name));
}

/** A workload of an ambient namespace without a sidecar (its injected revision none, or not seen). */
export const isAmbientWorkload = (
  w: { readonly namespace: string; readonly injectedRevision?: string | null },
  ambientNamespaces: ReadonlySet<string>,
): boolean => w.injectedRevision == null && ambientNamespaces.has(w.namespace);

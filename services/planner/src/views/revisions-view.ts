import {
  MAX_FLEET_REVISION_USERS,
  resolveRevision,
  type Inventory,
  type RevisionRemoval,
  type RevisionsView,
  type RevisionUser,
} from '@meshwave/contracts';

interface Usage {
  installedIn: Set<string>;
  pods: number;
  users: (RevisionUser & { cluster: string })[];
  /** users a cluster counted without naming them */
  unnamed: number;
  vmHosts: number;
  tags: { cluster: string; tag: string }[];
  namespaceLabels: { cluster: string; namespace: string }[];
  workloadLabels: number;
}

/** The namespace label naming the revision that injects it (Istio's `istio.io/rev`). */
const REVISION_LABEL = 'istio.io/rev';

/**
 * Every revision the fleet knows (installed, run, pointed at or named) with what still uses it, and whether its
 * control plane can go: nothing uses it, and every cluster reported its pods per revision (ADR 0035).
 */
export function buildRevisionsView(inventory: Inventory): RevisionsView {
  const usage = new Map<string, Usage>();
  const use = (revision: string): Usage => {
    let u = usage.get(revision);
    if (!u)
      usage.set(
        revision,
        (u = {
          installedIn: new Set(),
          pods: 0,
          users: [],
          unnamed: 0,
          vmHosts: 0,
          tags: [],
          namespaceLabels: [],
          workloadLabels: 0,
        }),
      );
    return u;
  };
  const unreported: string[] = [];
  for (const c of inventory.clusters) {
    const tags = c.tags ?? {};
    for (const p of c.controlPlanes ?? []) use(p.revision).installedIn.add(c.name);
    for (const [tag, revision] of Object.entries(tags)) use(revision).tags.push({ cluster: c.name, tag });
    // a truncated list leaves revisions out: the cluster has not reported them all
    if (c.revisionPods === undefined || c.revisionPodsTruncated === true) unreported.push(c.name);
    for (const r of c.revisionPods ?? []) {
      // a CronJob's template may name a tag: it uses the revision the tag points to
      const u = use(resolveRevision(tags, r.revision)!);
      u.pods += r.pods;
      u.users.push(...r.users.map((x) => ({ ...x, cluster: c.name })));
      u.unnamed += r.more;
    }
    // A label naming a tag keeps the tag's revision in use through the tag, listed above.
    for (const ns of c.namespaces ?? []) {
      const label = ns.labels[REVISION_LABEL];
      if (label !== undefined && !Object.hasOwn(tags, label))
        use(label).namespaceLabels.push({ cluster: c.name, namespace: ns.name });
    }
    // a workload's `revision` is the label as found (its namespace's or its template's), possibly a tag
    for (const w of c.workloads)
      if (w.revision !== null && !Object.hasOwn(tags, w.revision)) use(w.revision).workloadLabels++;
  }
  for (const g of inventory.vmGroups) for (const h of g.hosts) if (h.version !== null) use(h.version).vmHosts++;
  const revisions = [...usage]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([revision, u]): RevisionRemoval => {
      const unused =
        u.users.length === 0 &&
        u.unnamed === 0 &&
        u.pods === 0 &&
        u.vmHosts === 0 &&
        u.tags.length === 0 &&
        u.namespaceLabels.length === 0 &&
        u.workloadLabels === 0;
      return {
        revision,
        installedIn: [...u.installedIn].sort(),
        pods: u.pods,
        users: u.users.slice(0, MAX_FLEET_REVISION_USERS),
        moreUsers: Math.max(0, u.users.length - MAX_FLEET_REVISION_USERS) + u.unnamed,
        vmHosts: u.vmHosts,
        tags: u.tags,
        namespaceLabels: u.namespaceLabels,
        workloadLabels: u.workloadLabels,
        unreportedClusters: unreported,
        safeToRemove: unused && unreported.length === 0,
      };
    });
  return { revisions };
}

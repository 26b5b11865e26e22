import { z } from 'zod';
import { RevisionUser } from './inventory.js';

/** At most this many users named per revision over the fleet (the rest are counted in `moreUsers`). */
export const MAX_FLEET_REVISION_USERS = 200;

/**
 * One revision fleet-wide and everything that still uses it (ADR 0035): pods with its proxy in every namespace,
 * VM hosts, revision tags pointing at it, namespace and workload labels naming it. `safeToRemove` only when
 * nothing does and every cluster said which pods it runs (a cluster that did not is never read as unused).
 */
export const RevisionRemoval = z.object({
  revision: z.string(),
  /** clusters with a control plane of this revision installed */
  installedIn: z.array(z.string()),
  /** pods running a proxy of this revision, over every cluster and namespace */
  pods: z.number().int().nonnegative(),
  users: z.array(RevisionUser.extend({ cluster: z.string() })).max(MAX_FLEET_REVISION_USERS),
  moreUsers: z.number().int().nonnegative(),
  vmHosts: z.number().int().nonnegative(),
  tags: z.array(z.object({ cluster: z.string(), tag: z.string() })),
  /** namespaces whose `istio.io/rev` names this revision */
  namespaceLabels: z.array(z.object({ cluster: z.string(), namespace: z.string() })),
  /** workloads whose own `istio.io/rev` names this revision (not through a tag) */
  workloadLabels: z.number().int().nonnegative(),
  /** clusters that did not report their pods per revision: nothing is known of them */
  unreportedClusters: z.array(z.string()),
  safeToRemove: z.boolean(),
});
export type RevisionRemoval = z.infer<typeof RevisionRemoval>;

export const RevisionsView = z.object({ revisions: z.array(RevisionRemoval) });
export type RevisionsView = z.infer<typeof RevisionsView>;

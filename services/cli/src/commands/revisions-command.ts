import type { RevisionRemoval } from '@meshwave/contracts';
import { textTable } from './text-table.js';

/** How many users of a revision the table names before it says how many more there are. */
const USERS_SHOWN = 10;

/**
 * `meshwave revisions` for people: one row per revision with what still uses it and whether its control plane
 * can be removed, then the first users of each revision still in use.
 */
export function revisionsTable(revisions: readonly RevisionRemoval[]): string {
  if (revisions.length === 0) return 'no revision known';
  const rows = revisions.map((r) => [
    r.revision,
    r.installedIn.join(',') || '-',
    String(r.pods),
    String(r.vmHosts),
    r.tags.map((t) => `${t.cluster}/${t.tag}`).join(',') || '-',
    String(r.namespaceLabels.length),
    String(r.workloadLabels),
    r.safeToRemove ? 'yes' : r.unreportedClusters.length > 0 && r.pods === 0 ? 'unknown' : 'no',
  ]);
  const lines = textTable(
    ['REVISION', 'INSTALLED IN', 'PODS', 'VM HOSTS', 'TAGS', 'NS LABELS', 'WORKLOAD LABELS', 'SAFE TO REMOVE'],
    rows,
  );
  for (const r of revisions) {
    if (r.users.length === 0) continue;
    lines.push('', `${r.revision} still runs in:`);
    for (const u of r.users.slice(0, USERS_SHOWN))
      lines.push(`  ${u.cluster}  ${u.namespace}  ${u.kind}/${u.name}  (${u.pods} pod${u.pods === 1 ? '' : 's'})`);
    const more = r.users.length - Math.min(USERS_SHOWN, r.users.length) + r.moreUsers;
    if (more > 0) lines.push(`  … and ${more} more (-o json lists up to 200)`);
  }
  const unreported = revisions[0]?.unreportedClusters ?? [];
  if (unreported.length > 0) lines.push('', `clusters that did not report their pods: ${unreported.join(', ')}`);
  return lines.join('\n');
}

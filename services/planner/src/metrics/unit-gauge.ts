import { resolveRevision } from '@meshwave/contracts';
import type { Gauge } from 'prom-client';

/** A workload as counted: by the revision it is assigned. */
type Workload = { readonly revision?: string | null };

/** Workloads per revision of one cluster, as the `meshwave_units` gauge shows them. */
type RevisionCounts = ReadonlyMap<string, number>;

/**
 * How many workloads of a cluster's list are assigned each revision (`none` for no revision); a workload
 * labelled with a revision tag counts on the revision the cluster's `tags` say it points to.
 */
export function countByRevision(
  workloads: readonly { readonly revision?: string | null }[],
  tags?: Readonly<Record<string, string>>,
): RevisionCounts {
  const counts = new Map<string, number>();
  for (const w of workloads) {
    const revision = resolveRevision(tags, w.revision) ?? 'none';
    counts.set(revision, (counts.get(revision) ?? 0) + 1);
  }
  return counts;
}

/**
 * The `meshwave_units` gauge kept per cluster: a report replaces only its own cluster's series (the work is
 * proportional to that cluster, never to the fleet), and a revision a cluster no longer has is removed.
 */
export class UnitGauge {
  private readonly clusters = new Map<string, RevisionCounts>();

  constructor(private readonly gauge: Gauge<'cluster' | 'revision'>) {}

  /** One cluster's workloads, as its latest report (or the base inventory) lists them. */
  setCluster(cluster: string, counts: RevisionCounts): void {
    const before = this.clusters.get(cluster);
    for (const revision of before?.keys() ?? []) {
      if (!counts.has(revision)) this.gauge.remove({ cluster, revision });
    }
    for (const [revision, n] of counts) {
      if (before?.get(revision) !== n) this.gauge.set({ cluster, revision }, n);
    }
    this.clusters.set(cluster, counts);
  }

  /**
   * A delta's changes to one cluster (ADR 0031): each changed workload moves its count from its old revision to
   * its new one, so the work follows the change, not the cluster. Revision tags resolve as `countByRevision` does.
   */
  adjust(
    cluster: string,
    changes: readonly { readonly before?: Workload; readonly after?: Workload }[],
    tags?: Readonly<Record<string, string>>,
  ): void {
    const counts = new Map(this.clusters.get(cluster));
    const add = (w: Workload | undefined, n: number): void => {
      if (w === undefined) return;
      const revision = resolveRevision(tags, w.revision) ?? 'none';
      const next = (counts.get(revision) ?? 0) + n;
      if (next > 0) counts.set(revision, next);
      else counts.delete(revision);
    };
    for (const c of changes) {
      add(c.before, -1);
      add(c.after, 1);
    }
    this.setCluster(cluster, counts);
  }

  /** The whole fleet at once (an operator's new base inventory): clusters it no longer has are dropped. */
  setFleet(clusters: ReadonlyMap<string, RevisionCounts>): void {
    for (const cluster of [...this.clusters.keys()]) {
      if (clusters.has(cluster)) continue;
      for (const revision of this.clusters.get(cluster)?.keys() ?? []) this.gauge.remove({ cluster, revision });
      this.clusters.delete(cluster);
    }
    for (const [cluster, counts] of clusters) this.setCluster(cluster, counts);
  }
}

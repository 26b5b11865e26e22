import { resolveRevision } from '@meshwave/contracts';
import type { Gauge } from 'prom-client';
import { AMBIENT_UNITS, ambientNamespacesOf, isAmbientWorkload } from '../core/ambient-workloads.js';

/** A workload as counted: by the revision it is assigned, or as ambient (ADR 0051). */
type Workload = {
  readonly namespace: string;
  readonly revision?: string | null;
  readonly injectedRevision?: string | null;
};

/** What a cluster's units are counted from: its workloads, revision tags and namespaces (for the ambient ones). */
export interface ClusterUnits {
  readonly workloads: readonly Workload[];
  readonly tags?: Readonly<Record<string, string>>;
  readonly namespaces?: readonly { readonly name: string; readonly labels: Readonly<Record<string, string>> }[];
}

/** Workloads per revision of one cluster, as the `meshwave_units` gauge shows them. */
type RevisionCounts = ReadonlyMap<string, number>;

const NO_AMBIENT: ReadonlySet<string> = new Set();

/** The series a workload counts in: `ambient`, its revision (a tag resolved), or `none`. */
const seriesOf = (w: Workload, tags: ClusterUnits['tags'], ambient: ReadonlySet<string>): string =>
  isAmbientWorkload(w, ambient) ? AMBIENT_UNITS : (resolveRevision(tags, w.revision) ?? 'none');

/**
 * How many workloads of a cluster's list are assigned each revision (`none` for no revision); a workload
 * labelled with a revision tag counts on the revision the cluster's `tags` say it points to. A sidecarless workload
 * of one of the `ambient` namespaces counts under `ambient`, as the fleet view counts it.
 */
export function countByRevision(
  workloads: readonly Workload[],
  tags?: Readonly<Record<string, string>>,
  ambient: ReadonlySet<string> = NO_AMBIENT,
): RevisionCounts {
  const counts = new Map<string, number>();
  for (const w of workloads) {
    const series = seriesOf(w, tags, ambient);
    counts.set(series, (counts.get(series) ?? 0) + 1);
  }
  return counts;
}

const sameSet = (a: ReadonlySet<string>, b: ReadonlySet<string>): boolean =>
  a.size === b.size && [...a].every((x) => b.has(x));

/**
 * The `meshwave_units` gauge kept per cluster: a report replaces only its own cluster's series (the work is
 * proportional to that cluster, never to the fleet), and a revision a cluster no longer has is removed. Each
 * cluster's ambient namespaces are kept with its counts, so a delta's workloads are counted without its namespaces.
 */
export class UnitGauge {
  private readonly clusters = new Map<string, RevisionCounts>();
  private readonly ambient = new Map<string, ReadonlySet<string>>();

  constructor(private readonly gauge: Gauge<'cluster' | 'revision'>) {}

  /** One cluster's workloads, as its latest report (or the base inventory) lists them: counted again. */
  countCluster(cluster: string, units: ClusterUnits): void {
    const ambient = ambientNamespacesOf(units.namespaces);
    this.ambient.set(cluster, ambient);
    this.setCluster(cluster, countByRevision(units.workloads, units.tags, ambient));
  }

  /**
   * Whether a delta of `cluster` can be applied by `adjust`: its counts are held and the delta's namespaces (when it
   * carries them: they changed) leave its ambient namespaces as they were. Otherwise the cluster is counted again.
   */
  adjustable(cluster: string, namespaces: ClusterUnits['namespaces']): boolean {
    const held = this.ambient.get(cluster);
    if (held === undefined || !this.clusters.has(cluster)) return false;
    return namespaces === undefined || sameSet(held, ambientNamespacesOf(namespaces));
  }

  /**
   * A delta's changes to one cluster (ADR 0031): each changed workload moves its count from its old series to its
   * new one, so the work follows the change, not the cluster. Revision tags resolve as `countByRevision` does.
   */
  adjust(
    cluster: string,
    changes: readonly { readonly before?: Workload; readonly after?: Workload }[],
    tags?: Readonly<Record<string, string>>,
  ): void {
    const counts = new Map(this.clusters.get(cluster));
    const ambient = this.ambient.get(cluster) ?? NO_AMBIENT;
    const add = (w: Workload | undefined, n: number): void => {
      if (w === undefined) return;
      const series = seriesOf(w, tags, ambient);
      const next = (counts.get(series) ?? 0) + n;
      if (next > 0) counts.set(series, next);
      else counts.delete(series);
    };
    for (const c of changes) {
      add(c.before, -1);
      add(c.after, 1);
    }
    this.setCluster(cluster, counts);
  }

  /** The whole fleet at once (an operator's new base inventory): clusters it no longer has are dropped. */
  countFleet(clusters: readonly (ClusterUnits & { readonly name: string })[]): void {
    const names = new Set(clusters.map((c) => c.name));
    for (const cluster of [...this.clusters.keys()]) {
      if (names.has(cluster)) continue;
      for (const revision of this.clusters.get(cluster)?.keys() ?? []) this.gauge.remove({ cluster, revision });
      this.clusters.delete(cluster);
      this.ambient.delete(cluster);
    }
    for (const c of clusters) this.countCluster(c.name, c);
  }

  private setCluster(cluster: string, counts: RevisionCounts): void {
    const before = this.clusters.get(cluster);
    for (const revision of before?.keys() ?? []) {
      if (!counts.has(revision)) this.gauge.remove({ cluster, revision });
    }
    for (const [revision, n] of counts) {
      if (before?.get(revision) !== n) this.gauge.set({ cluster, revision }, n);
    }
    this.clusters.set(cluster, counts);
  }
}

import type {
  InventoryCluster,
  InventoryWorkload,
  VmGroup,
  VmGroupSelector,
  WorkloadSelector,
} from '@meshwave/contracts';
import { compileGlobs, labelsMatch } from './glob.js';

/**
 * A selector compiled against one inventory: cluster and namespace decisions are cached, so matching a
 * workload costs a few lookups and its label check.
 */
export class CompiledSelector {
  private readonly clusterMatches: Uint8Array;
  private readonly namespaceMatcher: (name: string) => boolean;
  /** no namespace list: every namespace matches, without a cache lookup per unit */
  private readonly anyNamespace: boolean;
  private readonly namespaceCache = new Map<string, boolean>();
  private readonly kinds: ReadonlySet<string> | undefined;

  constructor(
    private readonly selector: WorkloadSelector,
    clusters: readonly InventoryCluster[],
  ) {
    const clusterGlob = compileGlobs(selector.clusters);
    this.clusterMatches = new Uint8Array(clusters.length);
    clusters.forEach((c, i) => {
      this.clusterMatches[i] = clusterGlob(c.name) && labelsMatch(selector.clusterLabels, c.labels) ? 1 : 0;
    });
    this.namespaceMatcher = compileGlobs(selector.namespaces);
    this.anyNamespace = selector.namespaces === undefined;
    this.kinds = selector.kinds ? new Set(selector.kinds) : undefined;
  }

  matchesCluster(cluster: number): boolean {
    return this.clusterMatches[cluster] === 1;
  }

  matchesNamespace(namespace: string): boolean {
    if (this.anyNamespace) return true;
    let hit = this.namespaceCache.get(namespace);
    if (hit === undefined) {
      hit = this.namespaceMatcher(namespace);
      this.namespaceCache.set(namespace, hit);
    }
    return hit;
  }

  /** true when a workload's own kind or labels matter, beyond its cluster and namespace */
  get checksWorkloads(): boolean {
    return this.kinds !== undefined || this.selector.workloadLabels !== undefined;
  }

  matchesWorkload(workload: InventoryWorkload): boolean {
    return (
      (this.kinds === undefined || this.kinds.has(workload.kind)) &&
      labelsMatch(this.selector.workloadLabels, workload.labels)
    );
  }

  matches(cluster: number, workload: InventoryWorkload): boolean {
    return (
      this.clusterMatches[cluster] === 1 &&
      this.matchesNamespace(workload.namespace) &&
      (this.kinds === undefined || this.kinds.has(workload.kind)) &&
      labelsMatch(this.selector.workloadLabels, workload.labels)
    );
  }
}

export function matchesVmGroup(selector: VmGroupSelector, group: VmGroup): boolean {
  return compileGlobs(selector.groups)(group.name) && labelsMatch(selector.groupLabels, group.labels);
}

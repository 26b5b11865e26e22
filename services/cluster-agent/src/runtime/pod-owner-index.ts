import {
  selectorMatches,
  workloadRefKey,
  type Labels,
  type PodView,
  type WorkloadView,
} from '../ports/kubernetes-port.js';

/** What maintaining the index cost, for tests that prove work follows the change, not the namespace. */
export interface PodOwnerIndexStats {
  selectorEvaluations: number;
  podsVisited: number;
}

const podKey = (p: { namespace: string; name: string }): string => `${p.namespace}/${p.name}`;
// A workload is filed under the first pair of its selector: a pod it selects carries that pair, so a pod's own
// labels lead to every candidate owner and the full selector is evaluated only for those.
const pairKey = (namespace: string, k: string, v: string): string => `${namespace}\u0000${k}=${v}`;
const firstPair = (selector: Labels): [string, string] | undefined => Object.entries(selector)[0];

/**
 * Which workload's selector picks each controlled pod, kept up to date on cache events: a pod event evaluates
 * the selectors of the workloads filed under its labels, a workload event (a new or changed selector) its own
 * namespace's pods once, and a lookup costs the workload's own pods.
 */
export class PodOwnerIndex {
  readonly stats: PodOwnerIndexStats = { selectorEvaluations: 0, podsVisited: 0 };
  private readonly podsByOwner = new Map<string, Map<string, PodView>>();
  private readonly ownersByPod = new Map<string, Set<string>>();
  /** the labels each linked pod was matched on: a pod updated with the same labels keeps its owners */
  private readonly linkedLabels = new Map<string, Labels>();
  private readonly workloadsByPair = new Map<string, Map<string, WorkloadView>>();
  private readonly selectors = new Map<string, WorkloadView>();

  /** the pods a workload's selector picks (controlled ones only) */
  podsOf(w: { namespace: string; kind: string; name: string }): Iterable<PodView> {
    return this.podsByOwner.get(workloadRefKey(w as WorkloadView))?.values() ?? [];
  }

  /** the keys of the workloads that select a pod */
  ownersOf(p: { namespace: string; name: string }): ReadonlySet<string> {
    return this.ownersByPod.get(podKey(p)) ?? new Set();
  }

  clear(): void {
    this.podsByOwner.clear();
    this.ownersByPod.clear();
    this.linkedLabels.clear();
    this.workloadsByPair.clear();
    this.selectors.clear();
  }

  /** returns the keys of the workloads the pod belonged to before and belongs to now */
  upsertPod(p: PodView): string[] {
    // Most pod events (a container started, the pod Ready, a restart counted) keep its labels, so the same
    // selectors pick it: the pod is replaced where it is filed, no selector is evaluated again (issue 15). A
    // workload's new selector is matched by `upsertWorkload` itself, so its owners cannot be stale.
    const key = podKey(p);
    const owners = this.ownersByPod.get(key);
    const matched = this.linkedLabels.get(key);
    if (p.controlled && owners !== undefined && matched !== undefined && sameLabels(matched, p.labels)) {
      for (const o of owners) this.podsByOwner.get(o)?.set(p.name, p);
      return [...owners];
    }
    const before = this.unlink(key, p.name);
    if (!p.controlled) return before;
    const now: string[] = [];
    for (const [k, v] of Object.entries(p.labels)) {
      const candidates = this.workloadsByPair.get(pairKey(p.namespace, k, v));
      if (!candidates) continue;
      for (const [owner, w] of candidates) {
        this.stats.selectorEvaluations++;
        if (selectorMatches(w.selector, p.labels)) {
          this.link(owner, p, key);
          now.push(owner);
        }
      }
    }
    if (before.length === 0) return now;
    return [...new Set([...before, ...now])];
  }

  deletePod(p: PodView): string[] {
    return this.unlink(podKey(p), p.name);
  }

  /** files a workload; with a new or changed selector, matches it against its namespace's pods once */
  upsertWorkload(w: WorkloadView, namespacePods: () => Iterable<PodView>): void {
    const key = workloadRefKey(w);
    const known = this.selectors.get(key);
    this.selectors.set(key, w);
    if (known && sameLabels(known.selector, w.selector)) {
      this.file(key, w);
      return;
    }
    // unfiled under its old selector (the one it was filed under, not the new one just recorded)
    if (known) this.forget(key, known);
    this.file(key, w);
    if (!firstPair(w.selector)) return;
    for (const p of namespacePods()) {
      this.stats.podsVisited++;
      if (!p.controlled) continue;
      this.stats.selectorEvaluations++;
      if (selectorMatches(w.selector, p.labels)) this.link(key, p, podKey(p));
    }
  }

  deleteWorkload(w: WorkloadView): void {
    const key = workloadRefKey(w);
    const known = this.selectors.get(key) ?? w;
    this.selectors.delete(key);
    this.forget(key, known);
  }

  /** unfiles a workload as it was filed (`known`) and unlinks its pods */
  private forget(key: string, known: WorkloadView): void {
    const pair = firstPair(known.selector);
    if (pair) this.workloadsByPair.get(pairKey(known.namespace, ...pair))?.delete(key);
    for (const p of this.podsByOwner.get(key)?.values() ?? []) this.ownersByPod.get(podKey(p))?.delete(key);
    this.podsByOwner.delete(key);
  }

  private file(key: string, w: WorkloadView): void {
    const pair = firstPair(w.selector);
    if (!pair) return;
    const k = pairKey(w.namespace, ...pair);
    let m = this.workloadsByPair.get(k);
    if (!m) this.workloadsByPair.set(k, (m = new Map()));
    m.set(key, w);
  }

  /** `key` is the pod's `podKey`, built once per event: each key built is a new string hashed again */
  private link(owner: string, p: PodView, key: string): void {
    let pods = this.podsByOwner.get(owner);
    if (!pods) this.podsByOwner.set(owner, (pods = new Map()));
    pods.set(p.name, p);
    let owners = this.ownersByPod.get(key);
    if (!owners) this.ownersByPod.set(key, (owners = new Set()));
    owners.add(owner);
    this.linkedLabels.set(key, p.labels);
  }

  private unlink(key: string, name: string): string[] {
    const owners = this.ownersByPod.get(key);
    if (!owners) return [];
    this.ownersByPod.delete(key);
    this.linkedLabels.delete(key);
    for (const o of owners) this.podsByOwner.get(o)?.delete(name);
    return [...owners];
  }
}

function sameLabels(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

import {
  workloadRefKey,
  type CronJobs,
  type DisruptionBudgetView,
  type KubernetesPort,
  type NamespaceView,
  type PodView,
  type WatchEvent,
  type WatchHandle,
  type WorkloadRef,
  type WorkloadView,
} from '../ports/kubernetes-port.js';
import type { NamespaceContents } from '../core/unit-observation.js';
import { RevisionPodsIndex } from '../core/revision-pods.js';
import { PodOwnerIndex, type PodOwnerIndexStats } from './pod-owner-index.js';

/** What changed, so the agent can enqueue only the units of that namespace. */
export interface CacheChange {
  readonly resource: 'namespaces' | 'workloads' | 'pods' | 'disruptionBudgets';
  /** the namespace touched; undefined after a full re-list */
  readonly namespace: string | undefined;
  /** the changed object itself (undefined after a re-list), so a change can wake only the units it concerns */
  readonly object?: unknown;
  /** keys of the workloads the change concerns: the changed workload, or the pod's owners before and after */
  readonly workloads?: readonly string[];
}

/**
 * The agent's view of the cluster, kept current by the port's watches (informer cache). Reconciles read it
 * instead of the apiserver, and write results back through `remember*`, so a decision never rests on a view
 * older than the agent's own last write.
 */
export class ClusterCache {
  private readonly namespaces = new Map<string, NamespaceView>();
  private readonly workloadsByNs = new Map<string, Map<string, WorkloadView>>();
  private readonly podsByNs = new Map<string, Map<string, PodView>>();
  private readonly budgetsByNs = new Map<string, Map<string, DisruptionBudgetView>>();
  private readonly synced = { namespaces: false, workloads: false, pods: false, disruptionBudgets: false };
  private readonly owners = new PodOwnerIndex();
  /** the pods with a proxy per revision, kept pod by pod (an inventory reads it, never scans every pod) */
  private readonly revisions = new RevisionPodsIndex();
  private handles: WatchHandle[] = [];
  private syncWaiters: (() => void)[] = [];

  constructor(private readonly onChange: (change: CacheChange) => void) {}

  start(port: KubernetesPort): void {
    this.handles = [
      port.watch('namespaces', (e) =>
        this.apply(
          'namespaces',
          e,
          (ns) => ns.name,
          () => this.namespaces,
          (n) => n.name,
        ),
      ),
      port.watch('workloads', (e) =>
        this.apply(
          'workloads',
          e,
          (w) => w.namespace,
          (ns) => bucket(this.workloadsByNs, ns),
          (w) => workloadRefKey(w),
        ),
      ),
      port.watch('pods', (e) =>
        this.apply(
          'pods',
          e,
          (p) => p.namespace,
          (ns) => bucket(this.podsByNs, ns),
          (p) => p.name,
        ),
      ),
      port.watch('disruptionBudgets', (e) =>
        this.apply(
          'disruptionBudgets',
          e,
          (b) => b.namespace,
          (ns) => bucket(this.budgetsByNs, ns),
          (b) => b.name,
        ),
      ),
    ];
  }

  stop(): void {
    for (const h of this.handles) h.stop();
    this.handles = [];
  }

  get isSynced(): boolean {
    return Object.values(this.synced).every(Boolean);
  }

  whenSynced(): Promise<void> {
    if (this.isSynced) return Promise.resolve();
    return new Promise((r) => this.syncWaiters.push(r));
  }

  namespace(name: string): NamespaceView | undefined {
    return this.namespaces.get(name);
  }
  allNamespaces(): readonly NamespaceView[] {
    return [...this.namespaces.values()];
  }
  workloads(namespace?: string): readonly WorkloadView[] {
    if (namespace !== undefined) return [...(this.workloadsByNs.get(namespace)?.values() ?? [])];
    return [...this.workloadsByNs.values()].flatMap((m) => [...m.values()]);
  }
  /** the namespace's PodDisruptionBudgets */
  disruptionBudgets(namespace: string): Iterable<DisruptionBudgetView> {
    return this.budgetsByNs.get(namespace)?.values() ?? [];
  }
  pods(namespace: string): readonly PodView[] {
    return [...(this.podsByNs.get(namespace)?.values() ?? [])];
  }
  /** the controlled pods a workload's selector picks, from the index (costs the workload's own pods) */
  podsOf(w: WorkloadRef): Iterable<PodView> {
    return this.owners.podsOf(w);
  }
  /** The namespace as a unit observation reads it: workloads by key and pods by owner, from the indexes. */
  contents(namespace: string): NamespaceContents {
    return {
      namespace: this.namespaces.get(namespace),
      workloads: () => this.workloads(namespace),
      workload: (kind, name) =>
        this.workloadsByNs.get(namespace)?.get(workloadRefKey({ namespace, kind, name } as WorkloadRef)),
      podsOf: (w) => [...this.owners.podsOf(w)],
      barePods: () => this.pods(namespace).filter((p) => !p.controlled),
    };
  }
  /** the workload with this key, if cached */
  workload(key: string, namespace: string): WorkloadView | undefined {
    return this.workloadsByNs.get(namespace)?.get(key);
  }
  /** the live pods with a proxy per revision and what runs them (see `revisionPodsOf`), from the index */
  revisionPods(cronJobs: CronJobs): ReturnType<RevisionPodsIndex['read']> {
    return this.revisions.read(cronJobs);
  }
  /** what reading the revision pods cost so far */
  get revisionPodsStats(): Readonly<RevisionPodsIndex['stats']> {
    return this.revisions.stats;
  }
  /** what keeping the pods-by-owner index cost so far */
  get indexStats(): Readonly<PodOwnerIndexStats> {
    return this.owners.stats;
  }

  rememberNamespace(ns: NamespaceView): void {
    if (isNewer(ns.resourceVersion, this.namespaces.get(ns.name)?.resourceVersion)) this.namespaces.set(ns.name, ns);
  }
  rememberWorkload(w: WorkloadView): void {
    const b = bucket(this.workloadsByNs, w.namespace);
    const key = workloadRefKey(w);
    if (!isNewer(w.resourceVersion, b.get(key)?.resourceVersion)) return;
    b.set(key, w);
    this.owners.upsertWorkload(w, () => this.podsByNs.get(w.namespace)?.values() ?? []);
  }

  private apply<T extends { resourceVersion?: string }>(
    resource: CacheChange['resource'],
    event: WatchEvent<T>,
    nsOf: (o: T) => string,
    mapOf: (ns: string) => Map<string, T>,
    keyOf: (o: T) => string,
  ): void {
    if (event.type === 'resync') {
      if (resource === 'namespaces') this.namespaces.clear();
      else
        ({ workloads: this.workloadsByNs, pods: this.podsByNs, disruptionBudgets: this.budgetsByNs })[resource].clear();
      for (const o of event.objects) mapOf(nsOf(o)).set(keyOf(o), o);
      if (resource === 'workloads' || resource === 'pods') this.reindex();
      const wasSynced = this.isSynced;
      this.synced[resource] = true;
      if (!wasSynced && this.isSynced) {
        const w = this.syncWaiters;
        this.syncWaiters = [];
        for (const r of w) r();
      }
      this.onChange({ resource, namespace: undefined });
      return;
    }
    const map = mapOf(nsOf(event.object));
    const key = keyOf(event.object);
    let applied = true;
    if (event.type === 'delete') map.delete(key);
    else if (isNewer(event.object.resourceVersion, map.get(key)?.resourceVersion)) map.set(key, event.object);
    else applied = false;
    const workloads = applied ? this.index(resource, event) : [];
    this.onChange({ resource, namespace: nsOf(event.object), object: event.object, workloads });
  }

  /** Keeps the pods-by-owner index in step with one event; returns the workloads it concerns. */
  private index(resource: CacheChange['resource'], event: WatchEvent<unknown>): string[] {
    if (event.type === 'resync' || resource === 'namespaces' || resource === 'disruptionBudgets') return [];
    if (resource === 'pods') {
      const p = event.object as PodView;
      if (event.type === 'delete') this.revisions.delete(p);
      else this.revisions.upsert(p);
      return event.type === 'delete' ? this.owners.deletePod(p) : this.owners.upsertPod(p);
    }
    const w = event.object as WorkloadView;
    if (event.type === 'delete') this.owners.deleteWorkload(w);
    else this.owners.upsertWorkload(w, () => this.podsByNs.get(w.namespace)?.values() ?? []);
    return [workloadRefKey(w)];
  }

  /** After a re-list: every workload filed, then every pod matched by its own labels (no namespace scans). */
  private reindex(): void {
    this.owners.clear();
    this.revisions.clear();
    for (const m of this.workloadsByNs.values()) for (const w of m.values()) this.owners.upsertWorkload(w, () => []);
    for (const m of this.podsByNs.values())
      for (const p of m.values()) {
        this.owners.upsertPod(p);
        this.revisions.upsert(p);
      }
  }
}

function bucket<T>(m: Map<string, Map<string, T>>, ns: string): Map<string, T> {
  let b = m.get(ns);
  if (!b) m.set(ns, (b = new Map()));
  return b;
}

/**
 * Resource versions are opaque to clients, but in practice etcd revisions: compare them as numbers when both
 * are, so a late watch event cannot overwrite the response of our own newer write. Otherwise, take the new one.
 */
function isNewer(candidate: string | undefined, current: string | undefined): boolean {
  if (candidate === undefined || current === undefined) return true;
  const a = Number(candidate);
  const b = Number(current);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return true;
  return a >= b;
}

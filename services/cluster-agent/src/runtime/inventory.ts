import {
  ControlPlane,
  InventoryNamespace as InventoryNamespaceSchema,
  InventoryWorkload as InventoryWorkloadSchema,
  RevisionName,
  type InventoryGateway,
  type InventoryNamespace,
  type InventoryReport,
  type InventoryWorkload,
  type InventoryWorkloadRef,
} from '@meshwave/contracts';
import { PROTECTED_NAMESPACES, injectedRevisionOf } from '@meshwave/istio';
import { assignedRevisionOf } from '../core/converge-decisions.js';
import { validRevisionName } from '../core/revision-pods.js';
import { workloadAllowsNoDisruption } from '../core/disruption-budgets.js';
import { workloadRefKey, type IstioInstallation, type WorkloadView } from '../ports/kubernetes-port.js';
import type { CacheChange, ClusterCache } from './cluster-cache.js';
import { isGatewayDeployment, movesApart } from '../core/gateway-step.js';
import { inventoryGateways } from './gateway-inventory.js';

/** What a workload's inventory entry is made of: when none of it changed, neither did the entry. */
interface EntryInputs {
  readonly w: WorkloadView;
  readonly assigned: string | null;
  readonly injected: string | null;
  readonly preflight: InventoryWorkload['preflight'] | undefined;
}

/** Reads what the workload's entry is made of: its first running pod's injected revision, its assigned one. */
function entryInputs(cache: ClusterCache, w: WorkloadView): EntryInputs {
  let injected: string | null = null;
  for (const p of cache.podsOf(w)) {
    if (p.terminating) continue;
    injected = injectedRevisionOf(p.annotations);
    if (injected !== null) break;
  }
  const assigned = assignedRevisionOf(cache.namespace(w.namespace), w);
  const preflight =
    w.preflight !== undefined
      ? {
          ...w.preflight,
          noDisruptionAllowed: workloadAllowsNoDisruption(
            w,
            cache.disruptionBudgets(w.namespace),
            cache.workloads(w.namespace),
          ),
        }
      : undefined;
  return { w, assigned, injected, preflight };
}

/** Whether two reads give the same entry: the fields it takes from the workload, its revisions, its preflight. */
function sameInputs(a: EntryInputs, b: EntryInputs): boolean {
  return a.assigned === b.assigned && a.injected === b.injected && sameWorkloadInputs(a, b);
}

/** Whether two reads give the same entry but for its revisions: what a restart onto another revision changes. */
function sameWorkloadInputs(a: EntryInputs, b: EntryInputs): boolean {
  return (
    a.w.replicas === b.w.replicas &&
    a.w.kind === b.w.kind &&
    a.w.name === b.w.name &&
    a.w.namespace === b.w.namespace &&
    sameLabels(a.w.labels, b.w.labels) &&
    (a.preflight === b.preflight || JSON.stringify(a.preflight) === JSON.stringify(b.preflight))
  );
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

/** One workload as the inventory reports it, with its assigned and injected revisions; undefined if not valid. */
function inventoryEntry({ w, assigned, injected, preflight }: EntryInputs): InventoryWorkload | undefined {
  const parsed = InventoryWorkloadSchema.safeParse({
    namespace: w.namespace,
    kind: w.kind,
    name: w.name,
    labels: w.labels,
    revision: checkedRevision(assigned),
    injectedRevision: checkedRevision(injected),
    replicas: w.replicas,
    ...(preflight !== undefined ? { preflight } : {}),
  });
  return parsed.success ? parsed.data : undefined;
}

/** a revision as an entry reports it: null when there is none or the contract would refuse its name */
const checkedRevision = (revision: string | null): string | null =>
  revision !== null && validRevisionName(revision) ? revision : null;

/**
 * The entry of a workload whose revisions alone changed since `old` was validated from `before`: the schema checks
 * nothing else of them but their names (`RevisionName`, nullable), so the rest of the valid entry stands. A wave
 * changes each restarted workload's injected revision once, and validating the whole entry (its labels above all)
 * again for it was a tenth of an agent's CPU in a big wave (issue 15).
 */
function withRevisions(old: InventoryWorkload, { assigned, injected }: EntryInputs): InventoryWorkload {
  return { ...old, revision: checkedRevision(assigned), injectedRevision: checkedRevision(injected) };
}

/**
 * The cluster's control planes and revision tags as the inventory reports them; a control plane or tag whose
 * names the contract refuses (no revision could be called so) is left out rather than fail the whole report.
 */
export function istioInventory(installation: IstioInstallation): Pick<InventoryReport, 'controlPlanes' | 'tags'> {
  const controlPlanes = installation.controlPlanes.flatMap((p) => {
    const parsed = ControlPlane.safeParse(p);
    return parsed.success ? [parsed.data] : [];
  });
  const tags: Record<string, string> = {};
  for (const [tag, revision] of Object.entries(installation.tags))
    if (RevisionName.safeParse(tag).success && RevisionName.safeParse(revision).success) tags[tag] = revision;
  return { controlPlanes, tags };
}

// Namespaces with their labels: the planner learns each one's mesh (`meshwave.io/mesh`) from them. A label
// change arrives as a namespace watch event, which schedules the debounced inventory like any other change.
function inventoryNamespaces(cache: ClusterCache): InventoryNamespace[] {
  const out: InventoryNamespace[] = [];
  for (const ns of cache.allNamespaces()) {
    if (PROTECTED_NAMESPACES.includes(ns.name)) continue;
    const parsed = InventoryNamespaceSchema.safeParse({ name: ns.name, labels: ns.labels });
    if (parsed.success) out.push(parsed.data);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** What changed in the inventory since the last `takeChanges`: what a delta report carries (ADR 0031). */
export interface InventoryChanges {
  readonly upserted: InventoryWorkload[];
  readonly removed: InventoryWorkloadRef[];
  /** the namespaces' list or labels changed */
  readonly namespaces: boolean;
  /** the gateways changed (ADR 0047): a delta then carries them whole */
  readonly gateways: boolean;
}

const isEmpty = (items: Iterable<unknown>): boolean => {
  for (const _ of items) return false;
  return true;
};

const refOf = (w: InventoryWorkloadRef): InventoryWorkloadRef => ({
  namespace: w.namespace,
  kind: w.kind,
  name: w.name,
});

/**
 * The cluster's inventory kept entry by entry: a cache change marks the workloads it concerns (a pod's owners,
 * from the cache's pods-by-owner index; a namespace's workloads on a relabel), and `refresh` recomputes only
 * those, each from its own pods. Only a re-list recomputes everything. The entries that changed are kept apart
 * until taken, so a report can carry only them.
 */
export class InventoryBook {
  /** entries recomputed so far (for tests proving the work follows the change) */
  entriesComputed = 0;
  /** entries whose revisions alone changed, renewed without validating the rest again (tests count them) */
  revisionsRenewed = 0;
  private readonly entries = new Map<string, InventoryWorkload>();
  /**
   * what each entry was made of: most pod events (a pod Ready, one replaced by another on the same revision)
   * change none of it, and the entry is then kept without validating and comparing it again (issue 15)
   */
  private readonly inputs = new Map<string, EntryInputs>();
  private readonly dirty = new Map<string, string>();
  private all = true;
  private namespacesDirty = true;
  private namespaceList: InventoryNamespace[] = [];
  /** workloads whose entry changed (added, changed or gone) since the last `takeChanges`, by key */
  private readonly changed = new Map<string, InventoryWorkloadRef>();
  private namespacesChanged = false;
  /** gateway Deployments (and canary copies) by key → namespace: reported apart, never as workloads (ADR 0047) */
  private readonly gatewayKeys = new Map<string, string>();
  private gatewaysDirty = true;
  private gatewayList: InventoryGateway[] = [];
  private gatewaysChanged = false;

  constructor(private readonly cache: ClusterCache) {}

  note(change: CacheChange): void {
    if (change.namespace === undefined) {
      this.all = true;
      this.namespacesDirty = true;
    } else if (
      change.resource === 'disruptionBudgets' ||
      (change.resource === 'workloads' && !isEmpty(this.cache.disruptionBudgets(change.namespace)))
    ) {
      // A budget's selector may pick any workload of its namespace (and did pick others before it changed), and
      // its expected pods are the replicas of every workload it picks: a workload scaled changes its neighbours'.
      for (const w of this.cache.workloads(change.namespace)) this.dirty.set(workloadRefKey(w), w.namespace);
      for (const key of change.workloads ?? []) this.dirty.set(key, change.namespace);
    } else if (change.resource === 'namespaces') {
      this.namespacesDirty = true;
      // the namespace's labels take part in each of its workloads' assigned revision
      for (const w of this.cache.workloads(change.namespace)) this.dirty.set(workloadRefKey(w), w.namespace);
    } else for (const key of change.workloads ?? []) this.dirty.set(key, change.namespace);
  }

  /** Brings the marked entries up to date; true when anything the inventory says changed. */
  refresh(): boolean {
    let changed = false;
    if (this.namespacesDirty) {
      const next = inventoryNamespaces(this.cache);
      const differs = JSON.stringify(next) !== JSON.stringify(this.namespaceList);
      this.namespacesChanged ||= differs;
      changed ||= differs;
      this.namespaceList = next;
      this.namespacesDirty = false;
    }
    if (this.all) {
      this.all = false;
      this.dirty.clear();
      this.gatewayKeys.clear();
      this.gatewaysDirty = true;
      const before = this.entries.size;
      const old = new Map(this.entries);
      this.entries.clear();
      for (const w of this.cache.workloads())
        changed = this.put(workloadRefKey(w), w, old.get(workloadRefKey(w))) || changed;
      for (const [key, entry] of old) if (!this.entries.has(key)) this.changed.set(key, refOf(entry));
      for (const key of this.inputs.keys()) if (!this.entries.has(key)) this.inputs.delete(key);
      return this.refreshGateways() || changed || before !== this.entries.size;
    }
    for (const [key, namespace] of this.dirty) {
      // a gateway changed or went; `put` takes it back while it is still one
      if (this.gatewayKeys.delete(key)) this.gatewaysDirty = true;
      const w = this.cache.workload(key, namespace);
      const old = this.entries.get(key);
      this.entries.delete(key);
      if (w) changed = this.put(key, w, old) || changed;
      else this.inputs.delete(key);
      if (!w && old !== undefined) {
        this.changed.set(key, refOf(old));
        changed = true;
      }
    }
    this.dirty.clear();
    return this.refreshGateways() || changed;
  }

  /** Recomputes the gateways when one changed (a handful per cluster); true when the list differs. */
  private refreshGateways(): boolean {
    if (!this.gatewaysDirty) return false;
    this.gatewaysDirty = false;
    const deployments = [...this.gatewayKeys].flatMap(([key, ns]) => this.cache.workload(key, ns) ?? []);
    const next = inventoryGateways(this.cache, deployments);
    const differs = JSON.stringify(next) !== JSON.stringify(this.gatewayList);
    this.gatewayList = next;
    this.gatewaysChanged ||= differs;
    return differs;
  }

  gateways(): InventoryGateway[] {
    return this.gatewayList;
  }

  workloads(): InventoryWorkload[] {
    return [...this.entries.values()];
  }

  /** the changes since the last call (a whole report sent meanwhile takes them too: see `clearChanges`) */
  takeChanges(): InventoryChanges {
    const upserted: InventoryWorkload[] = [];
    const removed: InventoryWorkloadRef[] = [];
    for (const [key, ref] of this.changed) {
      const entry = this.entries.get(key);
      if (entry) upserted.push(entry);
      else removed.push(ref);
    }
    const namespaces = this.namespacesChanged;
    const gateways = this.gatewaysChanged;
    this.clearChanges();
    return { upserted, removed, namespaces, gateways };
  }

  /** a whole inventory was sent: what changed before it is in it */
  clearChanges(): void {
    this.changed.clear();
    this.namespacesChanged = false;
    this.gatewaysChanged = false;
  }

  namespaces(): InventoryNamespace[] {
    return this.namespaceList;
  }

  /** computes one entry; true when it differs from `old` */
  private put(key: string, w: WorkloadView, old: InventoryWorkload | undefined): boolean {
    // Gateways are reported apart, in every namespace (istio-system's ingress gateway too), never as workloads.
    const gateway = isGatewayDeployment(w);
    if (gateway) {
      this.gatewayKeys.set(key, w.namespace);
      this.gatewaysDirty = true;
    }
    if (PROTECTED_NAMESPACES.includes(w.namespace)) return false;
    this.entriesComputed++;
    // a node agent is reported in `ambient` (ADR 0051), never as a workload a unit restarts
    if (movesApart(w)) {
      this.inputs.delete(key);
      return this.settle(key, undefined, old);
    }
    const inputs = entryInputs(this.cache, w);
    const before = this.inputs.get(key);
    this.inputs.set(key, inputs);
    if (old !== undefined && before !== undefined && sameWorkloadInputs(before, inputs)) {
      if (sameInputs(before, inputs)) {
        this.entries.set(key, old);
        return false;
      }
      this.revisionsRenewed++;
      return this.settle(key, withRevisions(old, inputs), old);
    }
    return this.settle(key, inventoryEntry(inputs), old);
  }

  /** files a recomputed entry; true when it differs from `old` */
  private settle(key: string, entry: InventoryWorkload | undefined, old: InventoryWorkload | undefined): boolean {
    if (entry) this.entries.set(key, entry);
    const differs = JSON.stringify(entry) !== JSON.stringify(old);
    const ref = entry ?? old;
    if (differs && ref) this.changed.set(key, refOf(ref));
    return differs;
  }
}

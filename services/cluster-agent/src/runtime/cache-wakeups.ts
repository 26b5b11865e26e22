import { UnitWaitReason, unitKey } from '@meshwave/contracts';
import { ISTIO_SYSTEM_NAMESPACE } from '@meshwave/istio';
import { namespaceRevisionOf } from '../core/converge-decisions.js';
import type { Labels } from '../ports/kubernetes-port.js';
import type { CacheChange, ClusterCache } from './cluster-cache.js';
import type { UnitBook } from './unit-book.js';

/** reasons a unit waits for which a change of Istio's installation (istiod, its webhooks, a tag) may lift */
const ISTIO_WAITS: ReadonlySet<string> = new Set([
  UnitWaitReason.ControlPlaneNotReady,
  UnitWaitReason.RevisionTagMissing,
  UnitWaitReason.UnsupportedUpgradePath,
]);

/** The units waiting for Istio's installation to change: woken when istiod or one of Istio's webhooks changes. */
export function unitsWaitingOnIstio(book: UnitBook): string[] {
  return [...book.statuses.values()]
    .filter((s) => s.reason !== undefined && ISTIO_WAITS.has(s.reason))
    .map((s) => s.key);
}

/**
 * The units a cache change concerns: after a re-list every unit; otherwise the namespace's unit and, of its
 * workload units, only those the changed object belongs to.
 */
export function unitsToWake(change: CacheChange, book: UnitBook, cache: ClusterCache): Iterable<string> {
  // a PodDisruptionBudget changes what the preflight reports, never what a unit must do
  if (change.resource === 'disruptionBudgets') return [];
  if (change.namespace === undefined) return book.units.keys();
  // istiod lives in istio-system: a change there may be the control plane a waiting unit waits for
  if (change.namespace === ISTIO_SYSTEM_NAMESPACE) return unitsWaitingOnIstio(book);
  const keys = book.keysIn(change.namespace);
  if (!keys) return [];
  const obj = change.object as { kind?: string; name?: string; labels?: Labels; selector?: Labels } | undefined;
  if (change.resource === 'namespaces' || !obj) return keys;
  const ns = change.namespace;
  const woken = new Set<string>();
  const wake = (target: { namespace: string; kind?: string; name?: string }): void => {
    const key = unitKey(target);
    if (keys.has(key)) woken.add(key);
  };
  wake({ namespace: ns });
  if (change.resource === 'workloads') {
    if (obj.kind !== undefined && obj.name !== undefined) wake({ namespace: ns, kind: obj.kind, name: obj.name });
  } else {
    // A pod wakes the units of the workloads that select (or selected) it, as the cache's owner index says; a
    // workload's key is its unit's key.
    for (const key of change.workloads ?? []) if (keys.has(key)) woken.add(key);
  }
  // Units in a namespace label handoff depend on every workload of their namespace.
  if (namespaceRevisionOf(cache.namespace(ns)) !== undefined) for (const key of keys) woken.add(key);
  return woken;
}

/**
 * Wakes each unit once per burst of cache changes: the watch events of one step of a restart (a pod started, an
 * old one removed, the workload's status, the next pod created) arrive together, and a unit woken by the first
 * would be assessed at once, on a cache holding only that event, then again after the rest (issue 15). The keys
 * of a burst are gathered and handed to `wake` once it is over (a microtask later), each once.
 */
export function wakeBatches(wake: (key: string) => void): { add(key: string): void } {
  let pending = new Set<string>();
  const flush = (): void => {
    const keys = pending;
    pending = new Set();
    for (const key of keys) wake(key);
  };
  return {
    add(key) {
      if (pending.size === 0) queueMicrotask(flush);
      pending.add(key);
    },
  };
}

import { injectedRevisionOf, type SimulatedCluster } from '@meshwave/cluster-agent';
import type { Plan, VmGroup } from '@meshwave/contracts';

/** The demo's ground truth at the end: how many workloads in the rollout's scope run the target revision. */

const SYSTEM_NAMESPACES: ReadonlySet<string> = new Set(['kube-system', 'istio-system']);

/**
 * Counts the workloads the rollout covers (system namespaces and its exclusions, `cluster/namespace` or
 * `cluster/namespace/kind/name`, left out) and those whose every pod is Ready on revision `to`. Each workload's
 * pods come from the simulated cluster's owner index, so the count costs the fleet's size once, not
 * workloads × pods.
 */
export async function workloadsOnTarget(
  clusters: readonly SimulatedCluster[],
  excluded: ReadonlySet<string>,
  to: string,
): Promise<{ total: number; onTarget: number }> {
  let total = 0;
  let onTarget = 0;
  for (const cluster of clusters) {
    const ambient = await cluster.ambient.ambientNamespaces();
    for (const w of await cluster.listWorkloads()) {
      // a Deployment scaled to 0 runs nothing on any revision: an old gateway at the end of its canary (ADR 0050)
      if (SYSTEM_NAMESPACES.has(w.namespace) || w.replicas === 0) continue;
      const key = `${cluster.name}/${w.namespace}/${w.kind}/${w.name}`;
      if (excluded.has(key) || excluded.has(`${cluster.name}/${w.namespace}`)) continue;
      const own = cluster.podsOfWorkload(w).filter((p) => !p.terminating);
      // a sidecarless workload of an ambient namespace is no unit: its node's ztunnel carries it (ADR 0051)
      if (ambient.has(w.namespace) && own.every((p) => injectedRevisionOf(p.annotations) === null)) continue;
      total++;
      if (own.length > 0 && own.every((p) => injectedRevisionOf(p.annotations) === to && p.ready)) onTarget++;
    }
  }
  return { total, onTarget };
}

/** VM hosts in the rollout's scope (those its plan moves: groups no `vms` entry selects are left alone) on `to`. */
export function vmHostsOnTarget(
  plan: Plan,
  groups: readonly VmGroup[],
  to: string,
): { total: number; onTarget: number } {
  const planned = new Set(plan.waves.flatMap((w) => w.vmHosts.map((h) => `${h.group}/${h.name}`)));
  const hosts = groups.flatMap((g) => g.hosts.filter((h) => planned.has(`${g.name}/${h.name}`)));
  return { total: hosts.length, onTarget: hosts.filter((h) => h.version === to).length };
}

/** The node agents' pods and nodes at the end (ADR 0051), read from the simulated clusters. */
export interface NodeAgentsTruth {
  /** node-agent pods (istio-cni and ztunnel, one per node each) */
  readonly total: number;
  /** those Ready on their DaemonSet's template */
  readonly onTarget: number;
  /** nodes left cordoned or carrying meshwave's step mark */
  readonly cordonedNodes: number;
}

/** Each node agent's pods Ready on the image its DaemonSet's template names, and the nodes left cordoned. */
export async function nodeAgentsOnTarget(clusters: readonly SimulatedCluster[]): Promise<NodeAgentsTruth> {
  let total = 0;
  let onTarget = 0;
  let cordonedNodes = 0;
  for (const { ambient } of clusters) {
    for (const n of await ambient.listNodes())
      if (n.unschedulable || n.annotations['meshwave.io/ambient-step'] !== undefined) cordonedNodes++;
    for (const d of await ambient.listDaemonSets())
      for (const p of await ambient.podsLabelled(d.namespace, d.selector)) {
        total++;
        if (p.ready && p.containers.every((c) => d.images[c.name] === c.image)) onTarget++;
      }
  }
  return { total, onTarget, cordonedNodes };
}

/** A cluster whose apiserver saw more workloads restarting at once than the plan lets restart there. */
export interface OverMaxUnavailable {
  readonly cluster: string;
  /** the most workloads whose rollout was under way at once, on the simulated apiserver */
  readonly peak: number;
  /** the plan's largest maxUnavailable for the cluster, over every wave */
  readonly planned: number;
}

/** Per cluster, the most workloads whose rollout was under way at once, as its simulated apiserver counted them. */
export function peakRestarting(clusters: readonly SimulatedCluster[]): Record<string, number> {
  return Object.fromEntries(clusters.map((c) => [c.name, c.stats().peakRestarting]));
}

/**
 * The clusters that restarted more workloads at once than any wave of the plan allows there (a rollout without
 * gateways or pacing: gateway canaries and a deadline's pacing may raise the count legitimately).
 */
export function overMaxUnavailable(plan: Plan, peaks: Readonly<Record<string, number>>): OverMaxUnavailable[] {
  const planned = new Map<string, number>();
  for (const w of plan.waves)
    for (const c of w.clusters) planned.set(c.cluster, Math.max(planned.get(c.cluster) ?? 0, c.maxUnavailable));
  return Object.entries(peaks)
    .filter(([cluster, peak]) => peak > Math.max(1, planned.get(cluster) ?? 0))
    .map(([cluster, peak]) => ({ cluster, peak, planned: planned.get(cluster) ?? 0 }));
}

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
    for (const w of await cluster.listWorkloads()) {
      // a Deployment scaled to 0 runs nothing on any revision: an old gateway at the end of its canary (ADR 0050)
      if (SYSTEM_NAMESPACES.has(w.namespace) || w.replicas === 0) continue;
      const key = `${cluster.name}/${w.namespace}/${w.kind}/${w.name}`;
      if (excluded.has(key) || excluded.has(`${cluster.name}/${w.namespace}`)) continue;
      total++;
      const own = cluster.podsOfWorkload(w).filter((p) => !p.terminating);
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

import { resolvePercentOrCount, type Inventory, type PlannedVmHost, type RolloutSpec } from '@meshwave/contracts';
import { matchesVmGroup } from './selection.js';
import { hashWithSeed } from './stable-hash.js';

/**
 * VM hosts on `from`, per wave name, ordered by stable hash and batched by their entry's maxUnavailable. A group
 * is claimed by the first `vms` entry selecting it; hosts of unclaimed groups are counted as untouched. A rollout
 * naming a mesh considers only the groups whose `mesh` is that mesh.
 */
export function planVmHosts(
  spec: RolloutSpec,
  inventory: Inventory,
  seed: number,
): { hostsByWave: Map<string, PlannedVmHost[]>; untouched: number } {
  const body = spec.spec;
  const hostsByWave = new Map<string, PlannedVmHost[]>();
  let untouched = 0;
  for (const group of inventory.vmGroups) {
    // a rollout of one mesh moves only its mesh's groups (ADR 0056); another mesh's are not its own to count
    if (body.mesh !== undefined && group.mesh !== body.mesh) continue;
    const entry = body.vms.find((v) => matchesVmGroup(v.select, group));
    if (entry === undefined) {
      untouched += group.hosts.length;
      continue;
    }
    const perBatch = Math.max(1, resolvePercentOrCount(entry.maxUnavailable, group.hosts.length));
    const ranked = group.hosts
      .filter((h) => h.version === body.from)
      .map((h) => ({ name: h.name, rank: hashWithSeed(seed, `vmgroup/${group.name}/${h.name}`) }))
      .sort((a, b) => a.rank - b.rank || (a.name < b.name ? -1 : 1));
    const list = hostsByWave.get(entry.wave) ?? [];
    ranked.forEach((h, i) => list.push({ group: group.name, name: h.name, batch: Math.floor(i / perBatch) }));
    hostsByWave.set(entry.wave, list);
  }
  return { hostsByWave, untouched };
}

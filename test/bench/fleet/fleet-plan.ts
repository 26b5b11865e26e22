// The plan of the benchmark's rollout computed here, with the planner's own planning code, from the inventory
// the embedded fleet's agents will report. It gives the bound (and so the run's deadline) before the run, and
// a bound for a run that never got as far as planning (its API never opened). When the demo returns the
// planner's plan, that one is used.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  demoRolloutSpec,
  demoWorkloadKind,
  demoWorkloadNames,
  demoWorkloadReplicas,
  type DemoFleetConfig,
} from '@meshwave/cli';
import { Inventory, RolloutSpec, type Plan } from '@meshwave/contracts';
import { planRollout } from '@meshwave/plan';

const EXAMPLE = fileURLToPath(new URL('../../../examples/rollouts.yml', import.meta.url));

/** The inventory as the embedded fleet's agents and vm-bridge report it (labels as embedded-fleet.ts sets them). */
export function fleetInventory(fleet: DemoFleetConfig): Inventory {
  return Inventory.parse({
    clusters: fleet.clusters.map((c) => ({
      name: c.name,
      labels: c.labels,
      namespaces: c.namespaces.map((name) => ({ name })),
      workloads: c.namespaces.flatMap((namespace) =>
        demoWorkloadNames(c.workloadsPerNamespace).map((name, i) => ({
          namespace,
          kind: demoWorkloadKind(i),
          name,
          labels: { app: name, tier: i % 3 === 0 ? 'low' : 'high', team: namespace },
          revision: fleet.installed,
          replicas: demoWorkloadReplicas(i),
        })),
      ),
    })),
    vmGroups: fleet.vmGroups.map((g) => ({
      name: g.name,
      labels: g.labels,
      hosts: Array.from({ length: g.hosts }, (_, i) => ({ name: `${g.name}-${i + 1}`, version: fleet.installed })),
    })),
  });
}

export function fleetPlan(fleet: DemoFleetConfig, now: Date): Plan {
  const spec = RolloutSpec.parse(demoRolloutSpec(readFileSync(EXAMPLE, 'utf8'), fleet.timing.soakSeconds, now));
  return planRollout(spec, fleetInventory(fleet), { now });
}

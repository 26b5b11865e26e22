// PodDisruptionBudgets read from a real kube-apiserver (ADR 0042): the agent, under the chart's RBAC, watches them
// and reports which workloads a budget allows no disruption; the planner's preflight turns that into
// PDB_ALLOWS_NO_DISRUPTION for the unit, as it did for inventory files only before.
import { afterEach, describe, expect, it } from 'vitest';
import { planRollout } from '@meshwave/plan';
import { Inventory, RiskCode, RolloutSpec } from '@meshwave/contracts';
import { loadTestEnv } from '../../support/env.ts';
import { heldInventory, newAgentHarness } from './agent-harness.ts';
import { NEW, OLD, eventually, newNamespace, newWorkload, uniqueName } from './fixtures.ts';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('PodDisruptionBudgets from a real apiserver', () => {
  it('Given Deployments under budgets of maxUnavailable 0, minAvailable = replicas and maxUnavailable 1, When the agent reports, Then the first two allow no disruption and the plan shows PDB_ALLOWS_NO_DISRUPTION for them only', async () => {
    const h = await newAgentHarness(env, cluster);
    cleanups.push(() => h.close());
    const ns = uniqueName('pdb');
    await newNamespace(h.admin, ns, { 'istio.io/rev': OLD });
    cleanups.push(() => h.admin.core.deleteNamespace({ name: ns }));
    const budgets = { locked: { maxUnavailable: 0 }, full: { minAvailable: 2 }, loose: { maxUnavailable: 1 } };
    for (const [name, bounds] of Object.entries(budgets)) {
      await newWorkload(h.admin, { namespace: ns, kind: 'Deployment', name, replicas: 2 });
      await h.admin.policy.createNamespacedPodDisruptionBudget({
        namespace: ns,
        body: { metadata: { name }, spec: { selector: { matchLabels: { app: name } }, ...bounds } },
      });
    }
    await newWorkload(h.admin, { namespace: ns, kind: 'Deployment', name: 'unbudgeted', replicas: 2 });

    await h.startAgent();
    const reported = (): Record<string, boolean | undefined> =>
      Object.fromEntries(
        (heldInventory(h)?.workloads ?? [])
          .filter((w) => w.namespace === ns)
          .map((w) => [w.name, w.preflight?.noDisruptionAllowed]),
      );
    await eventually(
      'the four Deployments reported with what their budgets allow',
      async () => Object.values(reported()).filter((v) => v !== undefined).length === 4,
    );
    expect(reported()).toEqual({ locked: true, full: true, loose: false, unbudgeted: false });

    const report = heldInventory(h)!;
    const inventory = Inventory.parse({
      clusters: [
        {
          name: report.cluster,
          workloads: report.workloads.filter((w) => w.namespace === ns),
          controlPlanes: report.controlPlanes,
          tags: report.tags,
        },
      ],
    });
    const spec = RolloutSpec.parse({
      apiVersion: 'meshwave.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'pdb-preflight' },
      spec: { from: OLD, to: NEW, granularity: 'workload', deadline: '2099-01-01T00:00:00Z', waves: [{ name: 'all' }] },
    });
    const plan = planRollout(spec, inventory, { now: new Date() });
    const pdbRisks = plan.risks.filter((r) => r.code === RiskCode.PdbAllowsNoDisruption).map((r) => r.unit);
    expect(pdbRisks.sort()).toEqual([
      `${cluster.name}/${ns}/Deployment/full`,
      `${cluster.name}/${ns}/Deployment/locked`,
    ]);

    // the budget relaxed on the apiserver: the next report says so
    await h.admin.policy.patchNamespacedPodDisruptionBudget({
      namespace: ns,
      name: 'locked',
      body: [{ op: 'replace', path: '/spec/maxUnavailable', value: 1 }],
    });
    await eventually('the relaxed budget reported', async () => reported().locked === false);
  });
});

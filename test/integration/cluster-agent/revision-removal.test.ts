// Safe removal of an old revision on a real kube-apiserver (ADR 0035): with exactly the chart's RBAC, the agent
// reports what still uses a revision in every namespace — a CronJob whose template names it (its Job's pod
// completes at once under kwok: the CronJob still starts pods of it at its next run) and a bare pod in kube-system —
// and the planner's revisions view then calls the revision in use, never safe to remove.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Inventory, MessageType, type InventoryReport } from '@meshwave/contracts';
import { buildRevisionsView } from '@meshwave/planner';
import { loadTestEnv } from '../../support/env.ts';
import { newAgentHarness } from './agent-harness.ts';
import { OLD, eventually, newBarePod, newNamespace, newPodTemplate } from './fixtures.ts';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('revisions still in use', () => {
  it('Given a CronJob run and a bare pod in kube-system on the old revision, When the agent reports, Then both are named as users of it and it is not safe to remove', async () => {
    const id = randomUUID().slice(0, 8);
    const h = await newAgentHarness(env, cluster);
    cleanups.push(() => h.close());
    const ns = `batch-${id}`;
    await newNamespace(h.admin, ns);
    cleanups.push(() => h.admin.core.deleteNamespace({ name: ns }));
    // A suspended CronJob and a Job run from it as `kubectl create job --from=cronjob/…` does (owned by it).
    const template = newPodTemplate(`nightly-${id}`, { 'istio.io/rev': OLD });
    const cronJob = await h.admin.batch.createNamespacedCronJob({
      namespace: ns,
      body: {
        metadata: { name: 'nightly' },
        spec: {
          schedule: '0 3 * * *',
          suspend: true,
          jobTemplate: { spec: { template: { ...template, spec: { ...template.spec!, restartPolicy: 'Never' } } } },
        },
      },
    });
    await h.admin.batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: {
          name: `nightly-manual-${id}`,
          ownerReferences: [
            { apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly', uid: cronJob.metadata!.uid!, controller: true },
          ],
        },
        spec: { template: { ...template, spec: { ...template.spec!, restartPolicy: 'Never' } } },
      },
    });
    const bare = `bare-${id}`;
    await newBarePod(h.admin, 'kube-system', bare, { 'istio.io/rev': OLD });
    cleanups.push(() => h.admin.core.deleteNamespacedPod({ namespace: 'kube-system', name: bare }));
    await h.startAgent();

    const report = await eventually('the agent names the CronJob and the bare pod as users of the old revision', () => {
      const reports = h.events.filter((e) => e.type === MessageType.Inventory).map((e) => e.data as InventoryReport);
      const last = reports.at(-1);
      const users = last?.revisionPods?.find((r) => r.revision === OLD)?.users ?? [];
      const named = (kind: string, namespace: string, name: string) =>
        users.some((u) => u.kind === kind && u.namespace === namespace && u.name === name);
      if (named('CronJob', ns, 'nightly') && named('Pod', 'kube-system', bare)) return last;
      throw new Error(
        `${reports.length} reports; the last one's pods per revision: ${JSON.stringify(last?.revisionPods)}`,
      );
    });

    const view = buildRevisionsView(
      Inventory.parse({
        clusters: [
          {
            name: cluster.name,
            workloads: [],
            ...(report.controlPlanes ? { controlPlanes: report.controlPlanes } : {}),
            ...(report.tags ? { tags: report.tags } : {}),
            revisionPods: report.revisionPods,
          },
        ],
      }),
    );
    const old = view.revisions.find((r) => r.revision === OLD);
    expect(old?.safeToRemove).toBe(false);
    expect(old?.users).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ cluster: cluster.name, kind: 'CronJob', namespace: ns, name: 'nightly' }),
        { cluster: cluster.name, kind: 'Pod', namespace: 'kube-system', name: bare, pods: 1 },
      ]),
    );
  });
});

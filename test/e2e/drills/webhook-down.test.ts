// Drill: the agent's admission webhook gone. Every agent serves its webhook, registered on its apiserver as its chart
// registers it (TLS from the chart's caBundle, failurePolicy Ignore). One cluster's agent is killed, and its webhook
// listener with it, while the rollout soaks between waves: pods are created meanwhile (a pod from a stale manifest,
// and the replacements of deleted Deployment pods), and the next wave is dispatched to the dead agent. Then the agent
// starts again. Pods must have been created all along, admitted without the webhook, and the agent's reconcile must
// put every Deployment on the new revision, each restarted exactly once. Decided from outside: the objects the
// apiserver returned and stores, its pod and Deployment watch, and the ReplicaSets at the end.
import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { eventually } from '../../support/eventually.ts';
import { rolloutStatus, waitForPhase } from '../../support/fleet-api.ts';
import { expectConvergedExactlyOnce, startDrillRollout, useFleet } from '../../support/fleet-drill.ts';
import { NEW, OLD, type FleetCluster } from '../../support/fleet-processes.ts';
import { fleetVerdict, outageFacts, reportDrill } from '../../support/fleet-verdict.ts';

// No VM hosts: the webhook is the cluster-agent's; the VM path has drills of its own.
const drill = useFleet({ namespacesPerCluster: 2, deploymentsPerNamespace: 2, vmHosts: 0 });
const REV = 'istio.io/rev';

/**
 * Creates a bare pod from a stale manifest (labelled with the old revision) in `namespace`, as an operator applying
 * an old file would: the revision label the apiserver stored, and the revision the injector gave its sidecar.
 * Where the agent moved the namespace its webhook relabels such a pod; nothing else does (the agent never writes
 * pods, and the injector double injects whatever revision the label names).
 */
async function stalePod(
  c: FleetCluster,
  namespace: string,
  name: string,
): Promise<{ label?: string; injected?: string }> {
  const pod = await c.admin.core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, labels: { app: 'stale-manifest', [REV]: OLD } },
      spec: {
        containers: [{ name: 'app', image: 'registry.k8s.io/e2e-test-images/agnhost:2.53' }],
        tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
      },
    },
  });
  const status = pod.metadata?.annotations?.['sidecar.istio.io/status'];
  const injected = status === undefined ? undefined : (JSON.parse(status) as { revision?: string }).revision;
  return {
    ...(pod.metadata?.labels?.[REV] !== undefined ? { label: pod.metadata.labels[REV] } : {}),
    ...(injected !== undefined ? { injected } : {}),
  };
}

const livePods = async (c: FleetCluster, namespace: string, app: string): Promise<k8s.V1Pod[]> =>
  (await c.admin.core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items.filter(
    (p) => p.metadata?.deletionTimestamp === undefined,
  );

/**
 * Deletes one pod of every Deployment of `c` and waits until its ReplicaSet's replacement exists: a pod the
 * apiserver admitted while the webhook it calls for every pod was unreachable. The replacements' names.
 */
async function replacePods(c: FleetCluster): Promise<string[]> {
  const created: string[] = [];
  for (const key of c.deployments) {
    const [namespace, app] = key.split('/') as [string, string];
    const [old] = await livePods(c, namespace, app);
    if (old?.metadata?.name === undefined) throw new Error(`${key} has no live pod to delete`);
    await c.admin.core.deleteNamespacedPod({ namespace, name: old.metadata.name, gracePeriodSeconds: 0 });
    const replacement = await eventually(
      `a replacement pod of ${key}`,
      async () => (await livePods(c, namespace, app)).find((p) => p.metadata?.name !== old.metadata?.name),
      60_000,
    );
    created.push(`${namespace}/${replacement.metadata!.name!}`);
  }
  return created;
}

describe('drill: webhook down', () => {
  it("Given every agent's webhook registered as its chart registers it (TLS, failurePolicy Ignore) and answering, When one agent and its webhook listener are gone while pods are created and the next wave is dispatched, Then the pods are still created, and once the agent is back its reconcile puts every Deployment on the new revision, each restarted exactly once", async () => {
    const f = drill.fleet();
    const o = drill.observers();
    const down = f.clusters[0]!;
    const [moved] = down.namespaces as [string, string];
    // wave 0: the first namespace of every cluster, then a soak long enough to take the agent away before wave 1
    const firstWave = f.clusters.map((c) => c.namespaces[0]!);
    const { api, id, started } = await startDrillRollout(f, {
      name: `webhook-${f.id}`,
      granularity: 'namespace',
      waves: [{ percent: 100, namespaces: firstWave }, 100],
      vmWave: null,
      soak: '25s',
    });
    await eventually(
      'wave 0 converged (soaking)',
      async () => {
        const s = await rolloutStatus(api, id);
        return s.wave === 0 && s.wavePhase === 'Soaking';
      },
      180_000,
    );
    expect((await down.admin.core.readNamespace({ name: moved })).metadata?.labels?.[REV]).toBe(NEW);

    // Given: the apiserver calls the agent's webhook, which relabels a stale pod in the namespace the agent moved
    const withWebhook = await stalePod(down, moved, 'stale-webhook-up');

    // When: the agent is killed, its webhook listener with it; pods are created meanwhile, wave 1 is dispatched
    const agent = f.agents.get(down.name)!;
    await agent.kill('SIGKILL');
    const stoppedAt = Date.now();
    const withoutWebhook = await stalePod(down, moved, 'stale-webhook-down');
    const replaced = await replacePods(down);
    await eventually('wave 1 dispatched', async () => (await rolloutStatus(api, id)).wave >= 1, 120_000);
    const replacement = f.startAgent(down, `agent-${down.name}-b`);
    f.agents.set(down.name, replacement);
    const restartedAt = Date.now();

    // Then: the agent's reconcile completes the rollout
    await waitForPhase(api, id, ['Completed'], 300_000);
    const completedAt = Date.now();
    for (const name of ['stale-webhook-up', 'stale-webhook-down'])
      await down.admin.core.deleteNamespacedPod({ namespace: moved, name, gracePeriodSeconds: 0 });
    const verdict = await fleetVerdict(f, o);
    reportDrill('webhook-down', {
      cluster: down.name,
      staleWithWebhook: withWebhook,
      staleWithoutWebhook: withoutWebhook,
      podsCreatedWithoutWebhook: replaced.length + 1,
      ...outageFacts(o, verdict, { started, stopped: stoppedAt, restarted: restartedAt, completed: completedAt }),
    });
    // the revision label is the webhook's doing (the injector double then follows the label or, where the namespace
    // names a revision, the namespace's: what it injected is recorded, not judged)
    expect(withWebhook.label, 'a stale pod while the webhook answers: relabelled onto the new revision').toBe(NEW);
    expect(withoutWebhook.label, 'a stale pod while the webhook is gone: created, its label left as it was').toBe(OLD);
    expect(replaced, "replacement pods of the cluster's Deployments created while the webhook was gone").toHaveLength(
      down.deployments.length,
    );
    expectConvergedExactlyOnce(verdict);
  }, 600_000);
});

// One revision per mesh on a real kube-apiserver (issue 21, ADR 0049): a planner and a real cluster-agent (under the
// chart's RBAC) run two rollouts at once, one per mesh, each to its mesh's own revision. An independent pod watch
// (admin client) records the revision injected into every pod of each namespace; it decides.
import { randomUUID } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { MESH_LABEL } from '@meshwave/contracts';
import { injectedRevisionOf } from '@meshwave/istio';
import { registerRevision, unregisterRevision } from '../../env/injector/registration.ts';
import { loadTestEnv } from '../../support/env.ts';
import { newAgentHarness } from './agent-harness.ts';
import { OLD, eventually, newIstiod, newNamespace, newWorkload } from './fixtures.ts';
import { newHarnessPlanner, type HarnessPlanner } from './harness-planner.ts';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;
const injector = env.injector;
if (!injector) throw new Error('env.json has no injector: run `node test/env/env.ts up` with clusters');

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** Every revision injected into a pod of each watched namespace, as the apiserver shows the pods. */
async function watchInjected(kubeconfig: string, namespaces: readonly string[]): Promise<Map<string, Set<string>>> {
  const seen = new Map(namespaces.map((ns) => [ns, new Set<string>()]));
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  for (const ns of namespaces) {
    const informer = k8s.makeInformer<k8s.V1Pod>(kc, `/api/v1/namespaces/${ns}/pods`, () =>
      core.listNamespacedPod({ namespace: ns }),
    );
    const onPod = (p: k8s.V1Pod): void => {
      const revision = injectedRevisionOf(p.metadata?.annotations);
      if (revision !== null) seen.get(ns)!.add(revision);
    };
    informer.on('add', onPod);
    informer.on('update', onPod);
    await informer.start();
    cleanups.push(() => informer.stop());
  }
  return seen;
}

/** A rollout of `mesh`, every namespace of the cluster selected: the mesh alone decides which units are its. */
const meshRollout = (name: string, mesh: string, to: string): string =>
  [
    'apiVersion: meshwave.io/v1alpha1',
    'kind: Rollout',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  from: ${OLD}`,
    `  to: ${to}`,
    `  mesh: ${mesh}`,
    '  deadline: "2030-01-01T00:00:00Z"',
    '  defaults: { soak: 0s, maxUnavailable: 1, batchEstimate: 5s }',
    '  waves:',
    '    - { name: all, percent: 100 }',
    '',
  ].join('\n');

async function phaseOf(p: HarnessPlanner, id: string): Promise<string> {
  return (await p.api<{ phase: string }>('GET', `/v1/rollouts/${encodeURIComponent(id)}`)).body.phase;
}

describe('one revision per mesh on a real apiserver', () => {
  it("Given two meshes on the shared revision, When each mesh's rollout to its own revision runs at the same time, Then both complete and every pod of each mesh's namespace ends on that mesh's revision, never the other's", async () => {
    const id = randomUUID().slice(0, 6);
    const meshes = [
      { mesh: `ma${id}`, revision: `ma${id}-1-25-2`, version: '1.25.2' },
      { mesh: `mb${id}`, revision: `mb${id}-1-26-0`, version: '1.26.0' },
    ] as const;
    const h = await newAgentHarness(env, cluster, { maxUnavailable: 1 });
    cleanups.push(() => h.close());
    for (const m of meshes) {
      await newIstiod(h.admin, m.revision, m.version);
      cleanups.push(() =>
        h.admin.apps.deleteNamespacedDeployment({ namespace: 'istio-system', name: `istiod-${m.revision}` }),
      );
      await registerRevision(cluster, injector, { revision: m.revision, version: m.version });
      cleanups.push(() => unregisterRevision(cluster, m.revision));
    }
    const namespaces = meshes.map((m) => `${m.mesh}-ns`);
    for (const [i, ns] of namespaces.entries()) {
      await newNamespace(h.admin, ns, { [MESH_LABEL]: meshes[i]!.mesh, 'istio.io/rev': OLD });
      cleanups.push(() => h.admin.core.deleteNamespace({ name: ns }));
      for (const name of ['api', 'web'])
        await newWorkload(h.admin, { namespace: ns, kind: 'Deployment', name, replicas: 1 });
    }
    const injected = await watchInjected(cluster.kubeconfig, namespaces);
    await h.startAgent();
    const p = await newHarnessPlanner(env, h);
    cleanups.push(() => p.close());
    const files = meshes.map((m) => meshRollout(`upgrade-${m.mesh}`, m.mesh, m.revision));
    // the agent's inventory (namespaces with their mesh labels, the control planes) has reached the planner
    for (const [i, yaml] of files.entries())
      await eventually(`a plan of ${meshes[i]!.mesh}'s two units, feasible`, async () => {
        const plan = await p.api<{ feasible: boolean; waves: { units: string[] }[] }>('POST', '/v1/plans', yaml);
        return plan.status === 200 && plan.body.feasible && plan.body.waves[0]?.units.length === 2;
      });

    const created = await Promise.all(files.map((yaml) => p.api<{ id: string }>('POST', '/v1/rollouts', yaml)));
    expect(created.map((r) => r.status)).toEqual([201, 201]);
    const ids = created.map((r) => r.body.id);
    for (const rid of ids)
      await eventually(`${rid} Completed`, async () => (await phaseOf(p, rid)) === 'Completed', 180_000);

    for (const [i, ns] of namespaces.entries()) {
      const pods = await h.admin.core.listNamespacedPod({ namespace: ns });
      const live = pods.items.filter((pod) => pod.metadata?.deletionTimestamp === undefined);
      expect(live.map((pod) => injectedRevisionOf(pod.metadata?.annotations))).toEqual(
        live.map(() => meshes[i]!.revision),
      );
      // the other mesh's revision was never injected here
      expect([...injected.get(ns)!].sort()).toEqual([OLD, meshes[i]!.revision].sort());
    }
    expect(h.rejections()).toEqual([]);
  });
});

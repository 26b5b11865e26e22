// Given the simulated clusters of the test environment (etcd + kube-apiserver + controller-manager +
// scheduler + kwok) and the Istio injector double registered for revisions 1-24-5 and 1-25-2:
// workloads get Ready pods with the namespace's revision, a revision move + restart replaces them, a bad
// revision crash-loops, and RBAC refuses a restricted identity outside its role.
import { randomUUID } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  markRevisionBad,
  registerRevision,
  registerRevisionTag,
  unregisterRevision,
} from '../injector/registration.ts';
import { loadTestEnv, userKubeconfig, type ClusterEnv } from '../../support/env.ts';
import { eventually } from '../../support/eventually.ts';

const env = loadTestEnv({ needClusters: 1 });
const injector = env.injector;
if (!injector) throw new Error('env.json has no injector: run `node test/env/env.ts up` with clusters');

const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

function clients(kubeconfig: string) {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  return {
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    rbac: kc.makeApiClient(k8s.RbacAuthorizationV1Api),
    admission: kc.makeApiClient(k8s.AdmissionregistrationV1Api),
  };
}

function newDeployment(name: string, replicas: number): k8s.V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: name, version: 'v1' } },
        spec: {
          containers: [
            { name: 'app', image: 'registry.k8s.io/e2e-test-images/agnhost:2.53', ports: [{ containerPort: 8080 }] },
          ],
          // nodes are not tainted here, but manifests written for kwok usually carry its toleration
          tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
        },
      },
    },
  };
}

function sidecarRevision(pod: k8s.V1Pod): string | undefined {
  const status = pod.metadata?.annotations?.['sidecar.istio.io/status'];
  return status ? (JSON.parse(status) as { revision: string }).revision : undefined;
}

function proxyImage(pod: k8s.V1Pod): string | undefined {
  return pod.spec?.containers.find((c) => c.name === 'istio-proxy')?.image;
}

function isReady(pod: k8s.V1Pod): boolean {
  return (
    !pod.metadata?.deletionTimestamp &&
    pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true
  );
}

/** Waits for a complete rollout, as `kubectl rollout status` judges it, and returns the live pods. */
async function rolledOut(c: ReturnType<typeof clients>, namespace: string, name: string): Promise<k8s.V1Pod[]> {
  return eventually(
    `rollout of ${namespace}/${name}`,
    async () => {
      const d = await c.apps.readNamespacedDeployment({ namespace, name });
      const want = d.spec?.replicas ?? 1;
      const s = d.status;
      if (!s || (s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return false;
      if (s.updatedReplicas !== want || s.availableReplicas !== want || (s.replicas ?? 0) !== want) return false;
      const pods = (await c.core.listNamespacedPod({ namespace, labelSelector: `app=${name}` })).items;
      const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
      return live.length === want && live.every(isReady) && pods.length === want ? live : false;
    },
    90_000,
  );
}

describe.concurrent.each(env.clusters.map((c) => [c.name, c] as const))('cluster %s', (_name, cluster: ClusterEnv) => {
  const admin = clients(cluster.kubeconfig);

  it('injects the namespace revision, then moves pods to the new revision on relabel + restart', async () => {
    // Given a namespace on revision 1-24-5 and a Deployment in it
    const ns = `smoke-${randomUUID().slice(0, 8)}`;
    await admin.core.createNamespace({ body: { metadata: { name: ns, labels: { 'istio.io/rev': '1-24-5' } } } });
    await admin.apps.createNamespacedDeployment({ namespace: ns, body: newDeployment('web', 2) });

    // Then its pods become Ready with the 1-24-5 sidecar
    const first = await rolledOut(admin, ns, 'web');
    expect(first.map(sidecarRevision)).toEqual(['1-24-5', '1-24-5']);
    expect(first.map(proxyImage)).toEqual(['docker.io/istio/proxyv2:1.24.5', 'docker.io/istio/proxyv2:1.24.5']);
    expect(first.every((p) => p.spec?.nodeName?.startsWith('kwok-node-'))).toBe(true);

    // When the namespace moves to 1-25-2 and the Deployment restarts the way `kubectl rollout restart` does
    await admin.core.patchNamespace({ name: ns, body: { metadata: { labels: { 'istio.io/rev': '1-25-2' } } } }, merge);
    await admin.apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: ns,
        body: {
          spec: {
            template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } },
          },
        },
      },
      merge,
    );

    // Then new pods replace the old ones, all Ready with the 1-25-2 sidecar
    const second = await rolledOut(admin, ns, 'web');
    const firstNames = new Set(first.map((p) => p.metadata?.name));
    expect(second.some((p) => firstNames.has(p.metadata?.name))).toBe(false);
    expect(second.map(sidecarRevision)).toEqual(['1-25-2', '1-25-2']);
    expect(second.map(proxyImage)).toEqual(['docker.io/istio/proxyv2:1.25.2', 'docker.io/istio/proxyv2:1.25.2']);

    await admin.core.deleteNamespace({ name: ns });
  });

  it('refuses a restricted identity outside its role', async () => {
    // Given user smoke-reader who may only read pods in one namespace
    const ns = `rbac-${randomUUID().slice(0, 8)}`;
    await admin.core.createNamespace({ body: { metadata: { name: ns } } });
    await admin.rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: 'pod-reader' },
        rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
      },
    });
    await admin.rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'pod-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'smoke-reader' }],
      },
    });
    const reader = clients(await userKubeconfig(cluster, 'smoke-reader', ['meshwave:smoke']));

    // Then it lists pods in its namespace, and is refused elsewhere and for writes
    await eventually('role in effect', async () =>
      Array.isArray((await reader.core.listNamespacedPod({ namespace: ns })).items),
    );
    const refused = async (p: Promise<unknown>): Promise<number | undefined> =>
      p.then(
        () => undefined,
        (e: { code?: number }) => e.code,
      );
    expect(await refused(reader.core.listNamespacedPod({ namespace: 'kube-system' }))).toBe(403);
    expect(await refused(reader.core.listNamespace())).toBe(403);
    expect(
      await refused(reader.apps.createNamespacedDeployment({ namespace: ns, body: newDeployment('nope', 1) })),
    ).toBe(403);
    expect(
      await refused(
        reader.core.patchNamespace({ name: ns, body: { metadata: { labels: { 'istio.io/rev': '1-25-2' } } } }, merge),
      ),
    ).toBe(403);

    await admin.core.deleteNamespace({ name: ns });
  });
});

describe('a revision marked bad', () => {
  const cluster = env.clusters[0]!;
  const admin = clients(cluster.kubeconfig);

  it('crash-loops its sidecar under kwok: pods never Ready, restarts grow; marked good again, pods become Ready', async () => {
    // Given revision 1-26-0 registered bad in one cluster and a namespace on it
    await registerRevision(cluster, injector, { revision: '1-26-0' });
    await markRevisionBad(cluster, injector, '1-26-0');
    const ns = `bad-${randomUUID().slice(0, 8)}`;
    await admin.core.createNamespace({ body: { metadata: { name: ns, labels: { 'istio.io/rev': '1-26-0' } } } });
    await admin.apps.createNamespacedDeployment({ namespace: ns, body: newDeployment('web', 1) });

    // Then its pod crash-loops: istio-proxy in CrashLoopBackOff with a growing restart count, never Ready
    const restarts = async (): Promise<number> => {
      const pods = (await admin.core.listNamespacedPod({ namespace: ns })).items;
      const proxy = pods[0]?.status?.containerStatuses?.find((s) => s.name === 'istio-proxy');
      expect(pods.every((p) => !isReady(p))).toBe(true);
      return proxy?.state?.waiting?.reason === 'CrashLoopBackOff' ? proxy.restartCount : 0;
    };
    const early = await eventually('crash loop', async () => {
      const n = await restarts();
      return n >= 1 ? n : false;
    });
    await eventually('restart count growing', async () => (await restarts()) > early + 1, 30_000);
    const d = await admin.apps.readNamespacedDeployment({ namespace: ns, name: 'web' });
    expect(d.status?.availableReplicas ?? 0).toBe(0);

    // When it is marked good again and the workload restarts, Then the pod becomes Ready
    await markRevisionBad(cluster, injector, '1-26-0', false);
    await admin.apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: ns,
        body: {
          spec: {
            template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } },
          },
        },
      },
      merge,
    );
    await eventually(
      'healthy pod',
      async () => {
        const pods = (await admin.core.listNamespacedPod({ namespace: ns })).items.filter(
          (p) => !p.metadata?.deletionTimestamp,
        );
        return pods.some((p) => isReady(p) && sidecarRevision(p) === '1-26-0');
      },
      90_000,
    );

    await admin.core.deleteNamespace({ name: ns });
    await unregisterRevision(cluster, '1-26-0');
  });
});

describe('a revision tag', () => {
  const cluster = env.clusters[0]!;
  const admin = clients(cluster.kubeconfig);

  it('injects the revision the tag points at, as istioctl tag set registers it', async () => {
    // Given tag `stable` pointing at 1-25-2 and a namespace selecting the tag
    await registerRevisionTag(cluster, injector, { tag: 'stable', revision: '1-25-2' });
    const ns = `tag-${randomUUID().slice(0, 8)}`;
    await admin.core.createNamespace({ body: { metadata: { name: ns, labels: { 'istio.io/rev': 'stable' } } } });
    await admin.apps.createNamespacedDeployment({ namespace: ns, body: newDeployment('web', 1) });

    // Then the pod carries the 1-25-2 sidecar
    const pods = await rolledOut(admin, ns, 'web');
    expect(pods.map(sidecarRevision)).toEqual(['1-25-2']);
    expect(pods.map(proxyImage)).toEqual(['docker.io/istio/proxyv2:1.25.2']);
    const mwc = await admin.admission.readMutatingWebhookConfiguration({ name: 'istio-revision-tag-stable' });
    expect(mwc.metadata?.labels).toMatchObject({ 'istio.io/tag': 'stable', 'istio.io/rev': '1-25-2' });

    await admin.core.deleteNamespace({ name: ns });
    await unregisterRevision(cluster, 'stable', { tag: true });
  });
});

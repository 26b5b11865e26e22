// The agent reads a cluster's control planes and revision tags on a real kube-apiserver, with exactly the RBAC
// the Helm chart grants it: an istiod Deployment in istio-system (run by kwok) and a tag webhook registered as
// `istioctl tag set` does (the injector double's registration).
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createKubernetesClient, type KubernetesClient } from '@meshwave/cluster-agent';
import { registerRevisionTag, unregisterRevision } from '../../env/injector/registration.ts';
import { loadTestEnv } from '../../support/env.ts';
import { newChartIdentity, type ChartIdentity } from './chart-identity.ts';
import { OLD, eventually, newAdminClients, newPodTemplate } from './fixtures.ts';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;
const injector = env.injector;
if (!injector) throw new Error('env.json has no injector: run `node test/env/env.ts up` with clusters');
const admin = newAdminClients(cluster.kubeconfig);

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('control planes and revision tags', () => {
  it('Given an istiod of a revision in istio-system and a revision tag, When the agent reads the installation with the chart RBAC, Then it finds both, with version and readiness', async () => {
    const id = randomUUID().slice(0, 8);
    const revision = `cp-${id}`;
    const tag = `tag-${id}`;
    await admin.core.createNamespace({ body: { metadata: { name: 'istio-system' } } }).catch(() => undefined);
    await admin.apps.createNamespacedDeployment({
      namespace: 'istio-system',
      body: {
        metadata: { name: `istiod-${revision}`, labels: { app: 'istiod', 'istio.io/rev': revision } },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'istiod', 'istio.io/rev': revision } },
          template: {
            ...newPodTemplate('istiod', { 'istio.io/rev': revision, 'sidecar.istio.io/inject': 'false' }),
            spec: {
              ...newPodTemplate('istiod').spec!,
              containers: [{ name: 'discovery', image: 'docker.io/istio/pilot:1.25.2' }],
            },
          },
        },
      },
    });
    cleanups.push(() =>
      admin.apps.deleteNamespacedDeployment({ namespace: 'istio-system', name: `istiod-${revision}` }),
    );
    await registerRevisionTag(cluster, injector, { tag, revision: OLD });
    cleanups.push(() => unregisterRevision(cluster, tag, { tag: true }));
    const identity: ChartIdentity = await newChartIdentity(cluster, admin, `meshwave-cp-${id}`);
    cleanups.push(() => identity.cleanup());
    const kube: KubernetesClient = createKubernetesClient({ kubeconfig: identity.kubeconfig });
    cleanups.push(async () => kube.close());

    await eventually(`istiod-${revision} ready and tag ${tag} seen`, async () => {
      const installation = await kube.readIstioInstallation();
      const plane = installation?.controlPlanes.find((p) => p.revision === revision);
      return plane?.ready === true && installation?.tags[tag] === OLD;
    });
    const installation = await kube.readIstioInstallation();
    expect(installation?.controlPlanes).toContainEqual({ revision, version: '1.25.2', ready: true });
    expect(installation?.tags[tag]).toBe(OLD);
  });
});

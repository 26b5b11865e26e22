// The admission webhook called by a real kube-apiserver (clientConfig.url + caBundle, a certificate made for
// 127.0.0.1 in the test), ordered before the Istio injector double.
import { afterEach, describe, expect, it } from 'vitest';
import type * as k8s from '@kubernetes/client-node';
import { UnitState } from '@meshwave/contracts';
import {
  startWebhookServer,
  webhookConfiguration,
  type AssignmentSource,
  type WebhookServer,
} from '@meshwave/cluster-agent';
import { loadTestEnv } from '../../support/env.ts';
import { newAgentHarness, type AgentHarness } from './agent-harness.ts';
import {
  NEW,
  OLD,
  eventually,
  newAdminClients,
  newBarePod,
  newNamespace,
  newWorkload,
  uniqueName,
} from './fixtures.ts';
import { newServingCert } from '../../support/certificates.ts';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;
const admin = newAdminClients(cluster.kubeconfig);
const cert = newServingCert();

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** Registers the webhook for `namespace` only (other tests share the cluster), pointing at `port` on 127.0.0.1. */
async function registerWebhook(namespace: string, port: number): Promise<void> {
  const name = `aa-meshwave-revision-pin-${namespace}`;
  const cfg = webhookConfiguration({ caBundle: cert.caBundle, url: `https://127.0.0.1:${port}/mutate`, name }) as {
    webhooks: { namespaceSelector: { matchExpressions: unknown[] } }[];
  };
  for (const w of cfg.webhooks)
    w.namespaceSelector.matchExpressions.push({
      key: 'kubernetes.io/metadata.name',
      operator: 'In',
      values: [namespace],
    });
  await admin.admission.createMutatingWebhookConfiguration({ body: cfg as k8s.V1MutatingWebhookConfiguration });
  cleanups.push(() => admin.admission.deleteMutatingWebhookConfiguration({ name }));
}

async function serveWebhook(assignments: AssignmentSource): Promise<WebhookServer> {
  const server = await startWebhookServer({ assignments, cert: cert.cert, key: cert.key, port: 0, host: '127.0.0.1' });
  cleanups.push(() => server.close());
  return server;
}

const sidecarRevision = (p: k8s.V1Pod): string | undefined => {
  const s = p.metadata?.annotations?.['sidecar.istio.io/status'];
  return s ? (JSON.parse(s) as { revision: string }).revision : undefined;
};
const livePods = async (ns: string): Promise<k8s.V1Pod[]> =>
  (await admin.core.listNamespacedPod({ namespace: ns })).items.filter((p) => !p.metadata?.deletionTimestamp);

/** A namespace whose label lags (none yet: its pods are injected by their own template label, 1-24-5). */
async function givenLaggingNamespace(): Promise<string> {
  const ns = uniqueName('lagging');
  await newNamespace(admin, ns);
  cleanups.push(() => admin.core.deleteNamespace({ name: ns }));
  await newWorkload(admin, {
    namespace: ns,
    kind: 'Deployment',
    name: 'web',
    replicas: 1,
    templateLabels: { 'istio.io/rev': OLD },
  });
  await eventually('web on 1-24-5', async () => (await livePods(ns)).some((p) => sidecarRevision(p) === OLD));
  return ns;
}

async function scale(ns: string, replicas: number): Promise<void> {
  await admin.apps.patchNamespacedDeploymentScale({
    namespace: ns,
    name: 'web',
    body: [{ op: 'replace', path: '/spec/replicas', value: replicas }],
  });
}

describe('admission webhook on a real apiserver', () => {
  it('Given a namespace assigned 1-25-2 whose label lags, When a pod is created from the stale template, Then the webhook labels it and the injector gives it the 1-25-2 sidecar', async () => {
    const ns = await givenLaggingNamespace();
    const server = await serveWebhook({
      revisionFor: (namespace, workload) => (namespace === ns && !workload ? NEW : undefined),
    });
    await registerWebhook(ns, server.port);
    await scale(ns, 3);
    await eventually(
      'new pods on 1-25-2',
      async () => (await livePods(ns)).filter((p) => sidecarRevision(p) === NEW).length === 2,
    );
    const fresh = (await livePods(ns)).filter((p) => sidecarRevision(p) === NEW);
    for (const p of fresh) expect(p.metadata?.labels?.['istio.io/rev']).toBe(NEW);
    expect((await livePods(ns)).filter((p) => sidecarRevision(p) === OLD)).toHaveLength(1); // the old pod is untouched
  });

  it('Given a namespace handed over to its workloads (meshwave.io/handoff-of=1-24-5), When a new unlabelled Deployment and a bare pod are created, Then the webhook gives them 1-24-5 and the injector their sidecar', async () => {
    const ns = uniqueName('handed-off');
    await newNamespace(admin, ns, { 'meshwave.io/handoff-of': OLD });
    cleanups.push(() => admin.core.deleteNamespace({ name: ns }));
    const server = await serveWebhook({
      revisionFor: () => undefined,
      handoffRevisionOf: (namespace) => (namespace === ns ? OLD : undefined),
    });
    await registerWebhook(ns, server.port);
    await newWorkload(admin, { namespace: ns, kind: 'Deployment', name: 'fresh', replicas: 1 });
    const d = await admin.apps.readNamespacedDeployment({ namespace: ns, name: 'fresh' });
    expect(d.spec?.template.metadata?.labels?.['istio.io/rev']).toBe(OLD);
    await newBarePod(admin, ns, 'oneoff');
    await eventually('both injected by 1-24-5', async () => {
      const pods = await livePods(ns);
      return pods.length === 2 && pods.every((p) => sidecarRevision(p) === OLD);
    });
  });

  it('Given a workload moved to 1-25-2 at workload granularity, When an old manifest is re-applied, Then its template label stays pinned', async () => {
    const ns = await givenLaggingNamespace();
    // the agent's restart mark: the move has started
    await admin.apps.patchNamespacedDeployment({
      namespace: ns,
      name: 'web',
      body: [{ op: 'add', path: '/spec/template/metadata/annotations', value: { 'meshwave.io/restarted-for': NEW } }],
    });
    const server = await serveWebhook({
      revisionFor: (namespace, workload) =>
        namespace === ns && workload?.kind === 'Deployment' && workload.name === 'web' ? NEW : undefined,
    });
    await registerWebhook(ns, server.port);
    await admin.apps
      .patchNamespacedDeployment({
        namespace: ns,
        name: 'web',
        body: [{ op: 'replace', path: '/spec/template/metadata/labels/version', value: 'v2' }],
      })
      .catch(async () => {
        await admin.apps.patchNamespacedDeployment({
          namespace: ns,
          name: 'web',
          body: [{ op: 'add', path: '/spec/template/metadata/labels/version', value: 'v2' }],
        });
      });
    const d = await admin.apps.readNamespacedDeployment({ namespace: ns, name: 'web' });
    expect(d.spec?.template.metadata?.labels?.['istio.io/rev']).toBe(NEW);
  });

  it('Given the webhook is down, When pods are created, Then they are still admitted (failurePolicy Ignore) and the agent reconcile moves them', async () => {
    const ns = await givenLaggingNamespace();
    const server = await serveWebhook({ revisionFor: () => NEW });
    const port = server.port;
    await server.close();
    await registerWebhook(ns, port);
    await scale(ns, 2);
    await eventually(
      'second pod admitted with the old sidecar',
      async () => (await livePods(ns)).filter((p) => sidecarRevision(p) === OLD).length === 2,
    );

    const h: AgentHarness = await newAgentHarness(env, cluster);
    cleanups.push(() => h.close());
    await h.startAgent();
    await h.send({ units: [{ namespace: ns, revision: NEW }] });
    await eventually(
      'converged',
      async () => h.agent?.units().find((u) => u.key === ns)?.state === UnitState.Converged,
      110_000,
    );
    const pods = await livePods(ns);
    expect(pods.map(sidecarRevision)).toEqual([NEW, NEW]);
  });
});

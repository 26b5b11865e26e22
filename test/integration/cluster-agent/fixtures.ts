// Fixture builders shared by the cluster-agent integration tests: admin clients for setup, workloads that run
// under kwok, and an `eventually` that polls (real clusters take real time).
import { randomUUID } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import type { PortScenarioFixture, KubernetesClient } from '@meshwave/cluster-agent';
import { MeshwaveAnnotation, createKubernetesClient } from '@meshwave/cluster-agent';
import type { ClusterEnv } from '../../support/env.ts';
import { eventually } from '../../support/eventually.ts';
import { createKafkaBus, type EventBus, type SigningOptions } from '@meshwave/bus';
import { MessageType, clusterKey, type ClusterDesiredState } from '@meshwave/contracts';

export const OLD = '1-24-5';
export const NEW = '1-25-2';

export interface AdminClients {
  readonly core: k8s.CoreV1Api;
  readonly apps: k8s.AppsV1Api;
  readonly rbac: k8s.RbacAuthorizationV1Api;
  readonly admission: k8s.AdmissionregistrationV1Api;
  readonly coordination: k8s.CoordinationV1Api;
  readonly batch: k8s.BatchV1Api;
  readonly policy: k8s.PolicyV1Api;
}

export function newAdminClients(kubeconfig: string): AdminClients {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  return {
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    rbac: kc.makeApiClient(k8s.RbacAuthorizationV1Api),
    admission: kc.makeApiClient(k8s.AdmissionregistrationV1Api),
    coordination: kc.makeApiClient(k8s.CoordinationV1Api),
    batch: kc.makeApiClient(k8s.BatchV1Api),
    policy: kc.makeApiClient(k8s.PolicyV1Api),
  };
}

const TOLERATIONS = [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }];

export function newPodTemplate(app: string, labels: Record<string, string> = {}): k8s.V1PodTemplateSpec {
  return {
    metadata: { labels: { app, ...labels } },
    spec: {
      containers: [{ name: 'app', image: 'registry.k8s.io/e2e-test-images/agnhost:2.53' }],
      tolerations: TOLERATIONS,
    },
  };
}

export async function newWorkload(
  admin: AdminClients,
  spec: {
    namespace: string;
    kind: 'Deployment' | 'StatefulSet' | 'DaemonSet';
    name: string;
    replicas: number;
    templateLabels?: Record<string, string>;
  },
): Promise<void> {
  const metadata = { name: spec.name, labels: { app: spec.name } };
  const selector = { matchLabels: { app: spec.name } };
  const template = newPodTemplate(spec.name, spec.templateLabels);
  if (spec.kind === 'Deployment')
    await admin.apps.createNamespacedDeployment({
      namespace: spec.namespace,
      body: {
        metadata,
        spec: {
          replicas: spec.replicas,
          selector,
          template,
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        },
      },
    });
  else if (spec.kind === 'StatefulSet')
    await admin.apps.createNamespacedStatefulSet({
      namespace: spec.namespace,
      body: { metadata, spec: { replicas: spec.replicas, selector, template, serviceName: spec.name } },
    });
  else
    await admin.apps.createNamespacedDaemonSet({
      namespace: spec.namespace,
      body: { metadata, spec: { selector, template } },
    });
}

export async function newNamespace(
  admin: AdminClients,
  name: string,
  labels: Record<string, string> = {},
): Promise<void> {
  await admin.core.createNamespace({ body: { metadata: { name, labels } } });
}

export async function newBarePod(
  admin: AdminClients,
  namespace: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<void> {
  await admin.core.createNamespacedPod({
    namespace,
    body: { metadata: { name, labels }, spec: newPodTemplate(name, labels).spec! },
  });
}

/** One polling helper for every test (test/support/eventually.ts); re-exported for the agent tests. */
export { eventually };

export const uniqueName = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

/**
 * Pauses or resumes Deployments (`kubectl rollout pause|resume`). Paused, a Deployment keeps the restart the
 * agent writes on its template but does not roll it out: "a wave in flight" then stays until the test resumes
 * it, instead of being a moment a poll may miss on a fast machine. Each call adds one to the generation.
 */
export async function setPaused(
  admin: AdminClients,
  namespaces: readonly string[],
  name: string,
  paused: boolean,
): Promise<void> {
  for (const namespace of namespaces)
    await admin.apps.patchNamespacedDeployment({ namespace, name, body: { spec: { paused } } }, mergePatch);
}

/** The restart marks the agent wrote on a Deployment's pod template, as the apiserver has them. */
export async function restartMarks(
  admin: AdminClients,
  namespace: string,
  name: string,
): Promise<{ restartedFor?: string; restartedAt?: string }> {
  const d = await admin.apps.readNamespacedDeployment({ namespace, name });
  const annotations = d.spec?.template.metadata?.annotations ?? {};
  const restartedFor = annotations[MeshwaveAnnotation.RestartedFor];
  const restartedAt = annotations[MeshwaveAnnotation.RestartedAt];
  return {
    ...(restartedFor !== undefined ? { restartedFor } : {}),
    ...(restartedAt !== undefined ? { restartedAt } : {}),
  };
}

/** The port scenario fixture on a real apiserver: setup through admin clients, the port under test from `kubeconfig`. */
export function newRealFixture(
  cluster: ClusterEnv,
  kubeconfig = cluster.kubeconfig,
): PortScenarioFixture & { client: KubernetesClient; cleanup(): Promise<void> } {
  const admin = newAdminClients(cluster.kubeconfig);
  const client = createKubernetesClient({ kubeconfig });
  const created: string[] = [];
  return {
    client,
    port: client,
    revisions: [OLD, NEW],
    uniqueName,
    async createNamespace(name, labels) {
      await newNamespace(admin, name, { ...labels });
      created.push(name);
    },
    createWorkload: (spec) => newWorkload(admin, spec),
    createBarePod: (ns, name, labels) => newBarePod(admin, ns, name, { ...labels }),
    eventually: async (what, check) => {
      await eventually(what, check);
    },
    async cleanup() {
      client.close();
      await Promise.all(created.map((name) => admin.core.deleteNamespace({ name }).catch(() => undefined)));
    },
  };
}

/**
 * An istiod double: the Deployment `istiod-<revision>` of istio-system as istioctl installs it (labels `app=istiod`
 * and `istio.io/rev`, container `discovery` whose image tag is the version), run by kwok, so the agent sees the
 * revision's control plane ready. Idempotent: the clusters keep the default revisions' doubles.
 */
export async function newIstiod(admin: AdminClients, revision: string, version: string): Promise<void> {
  await admin.core.createNamespace({ body: { metadata: { name: 'istio-system' } } }).catch(() => undefined);
  const labels = { app: 'istiod', 'istio.io/rev': revision };
  const template = newPodTemplate('istiod', { ...labels, 'sidecar.istio.io/inject': 'false' });
  await admin.apps
    .createNamespacedDeployment({
      namespace: 'istio-system',
      body: {
        metadata: { name: `istiod-${revision}`, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            ...template,
            spec: { ...template.spec!, containers: [{ name: 'discovery', image: `docker.io/istio/pilot:${version}` }] },
          },
        },
      },
    })
    .catch((err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
}

/** The control planes of the revisions every cluster's injector double serves (test/env/injector). */
export async function ensureDefaultIstiods(admin: AdminClients): Promise<void> {
  await newIstiod(admin, OLD, '1.24.5');
  await newIstiod(admin, NEW, '1.25.2');
}

export interface NamespaceWave {
  readonly brokers: readonly string[];
  /** the planner's Ed25519 keys, which the agent trusts (`newSigningFleet(...).signingFor('planner')`) */
  readonly signing: SigningOptions;
  readonly cluster: string;
  readonly rolloutId: string;
  readonly namespaces: readonly string[];
  readonly maxUnavailable: number;
}

/**
 * The planner's side of one wave at namespace granularity: a signed ClusterDesiredState (generation 1, epoch 1)
 * moving `namespaces` from OLD to NEW, published on real Kafka. Returns the planner's bus, to close.
 */
export async function publishNamespaceWave(wave: NamespaceWave): Promise<EventBus> {
  const planner = createKafkaBus({
    brokers: [...wave.brokers],
    source: 'planner',
    signing: wave.signing,
  });
  const desired: ClusterDesiredState = {
    rolloutId: wave.rolloutId,
    wave: 0,
    generation: 1,
    epoch: 1,
    cluster: wave.cluster,
    from: OLD,
    to: NEW,
    granularity: 'namespace',
    maxUnavailable: wave.maxUnavailable,
    halted: false,
    progressDeadlineSeconds: 300,
    units: wave.namespaces.map((namespace) => ({ namespace, revision: NEW })),
  };
  await planner.publish([
    {
      topic: 'commands',
      key: clusterKey(wave.cluster),
      type: MessageType.ClusterDesiredState,
      data: desired,
      audience: clusterKey(wave.cluster),
    },
  ]);
  return planner;
}

/** A namespace on OLD holding one Deployment `web` of one replica: what a namespace wave moves. Returns its name. */
export async function newNamespaceOnOld(admin: AdminClients, prefix: string): Promise<string> {
  const ns = uniqueName(prefix);
  await newNamespace(admin, ns, { 'istio.io/rev': OLD });
  await newWorkload(admin, { namespace: ns, kind: 'Deployment', name: 'web', replicas: 1 });
  return ns;
}

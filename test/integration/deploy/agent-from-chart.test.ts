// The cluster-agent as its chart runs it: the image built from deploy/docker/cluster-agent.Dockerfile (without a
// Docker engine, image-build.ts), started with the container's arguments, environment and volumes as the chart
// renders them, under the chart's ServiceAccount token and RBAC (no admin credentials), against a real
// kube-apiserver, Kafka and Redis. The token reaches it as a kubeconfig, since the in-cluster mount path is not
// ours to write; everything else is the chart's (ADR 0029). The apiserver then calls the agent's admission webhook
// through the chart's own MutatingWebhookConfiguration (ADR 0042; what differs from production is said there).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newServingCert } from '../../support/certificates.js';
import { chartWebhookRegistration } from '../../support/chart-webhook.js';
import { parseDockerfile, type Stage } from '../../support/dockerfile.js';
import { loadHelmEnv, loadTestEnv, suppressKafkaJsTimeoutNegativeWarning } from '../../support/env.js';
import { podSpecOf, renderChart } from '../../support/helm-chart.js';
import { freePorts } from '../../support/ports.js';
import { newSigningFleet } from '../../support/signing-fleet.js';
import { newChartIdentity } from '../cluster-agent/chart-identity.js';
import {
  NEW,
  OLD,
  ensureDefaultIstiods,
  eventually,
  newAdminClients,
  newNamespaceOnOld,
  publishNamespaceWave,
} from '../cluster-agent/fixtures.js';
import { containerEnv, mountVolume, startPod, type RunningPod } from './chart-pod.js';
import { buildImage, entrypointCommand, repoRoot } from './image-build.js';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;
const admin = newAdminClients(cluster.kubeconfig);

let workspace: string;
let stage: Stage;
let imageRoot: string;
const cleanups: (() => Promise<unknown>)[] = [];

// the agent restarts nothing onto a revision whose istiod it does not see ready (ADR 0028)
beforeAll(() => ensureDefaultIstiods(admin));
beforeAll(() => {
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-agent-image-'));
  const dockerfile = parseDockerfile(
    fs.readFileSync(path.join(repoRoot, 'deploy/docker/cluster-agent.Dockerfile'), 'utf8'),
  );
  stage = dockerfile.stages.at(-1)!;
  imageRoot = buildImage(dockerfile, workspace, 'cluster-agent').get(String(dockerfile.stages.length - 1))!;
}, 600_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  fs.rmSync(workspace, { recursive: true, force: true });
});

describe('the cluster-agent, installed from its chart', () => {
  it("Given the chart's ServiceAccount and RBAC on a real apiserver, When its image runs as the chart's container, Then it answers the chart's probe, holds the chart's Lease and converges the namespace a signed command moves, and the apiserver calls the webhook the chart registers", async () => {
    suppressKafkaJsTimeoutNegativeWarning();
    const id = randomUUID().slice(0, 6);
    const release = `meshwave-chart-${id}`;
    const clusterName = `${cluster.name}-chart-${id}`; // a fresh ledger in the shared Redis
    const identity = await newChartIdentity(cluster, admin, release);
    cleanups.push(() => identity.cleanup());
    // Ed25519 as the chart signs (ADR 0038; HMAC is the embedded demo's only, ADR 0046): the agent's private key in
    // its signing Secret, the planner's public key in the one trusted-keys Secret; the test plays the planner
    const keys = newSigningFleet([clusterName]);
    cleanups.push(async () => keys.cleanup());
    const [webhookPort, metricsPort] = await freePorts(2);
    // The webhook's serving certificate and CA, given to the chart as a Secret and `webhook.caBundle`, as a cluster
    // with its own certificate issuer does: the apiserver reaches the agent at 127.0.0.1 (below), a name the
    // certificate the chart generates for its Service cannot carry.
    const serving = newServingCert();
    const values = {
      clusterName,
      'kafka.brokers': `{${env.kafka.brokers.join(',')}}`,
      'redis.url': env.redis.url,
      'signing.activeKeyId': keys.pairOf(clusterName).privateKey.id,
      'signing.existingSecret': `${release}-signing`,
      'signing.trustedKeySecrets': `{${release}-planner-public-keys}`,
      'webhook.port': String(webhookPort),
      'webhook.certSecret': `${release}-webhook-tls`,
      'webhook.caBundle': serving.caBundle,
      'metrics.port': String(metricsPort),
    };
    const manifests = renderChart(
      loadHelmEnv(),
      cluster,
      'meshwave-cluster-agent',
      Object.entries(values).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
      { name: release, namespace: release },
    );
    const container = podSpecOf(manifests.find((m) => m.kind === 'Deployment')!).containers[0]!;
    expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]); // the chart generates no certificate then
    mountVolume(imageRoot, '/etc/meshwave/signing', {
      'private.json': JSON.stringify([keys.pairOf(clusterName).privateKey]),
    });
    mountVolume(imageRoot, '/etc/meshwave/trusted/0', {
      'public.json': JSON.stringify([keys.pairOf('planner').trustedKey]),
    });
    mountVolume(imageRoot, '/etc/meshwave/webhook', { 'tls.crt': serving.cert, 'tls.key': serving.key });
    const podName = `${identity.fullname}-0`;
    const pod: RunningPod = startPod(entrypointCommand(stage, imageRoot), container, {
      ...containerEnv(container, { name: podName, namespace: release }, imageRoot),
      KUBECONFIG: identity.kubeconfig,
    });
    cleanups.push(async () => pod.process.kill('SIGTERM'));
    const alive = (): boolean => pod.process.exitCode === null;
    const wait = async <T>(what: string, check: () => Promise<T>): Promise<T> =>
      eventually(what, check, { timeoutMs: 120_000, alive }).catch((err: Error) => {
        throw new Error(`${err.message}\n--- the agent's output:\n${pod.output()}`);
      });

    await wait("the readiness probe's path answers", async () => {
      const probe = container.readinessProbe!.httpGet.path;
      return (await fetch(`http://127.0.0.1:${metricsPort}${probe}`)).ok;
    });
    await wait("the pod holds the chart's Lease", async () => {
      const lease = await admin.coordination.readNamespacedLease({ namespace: release, name: identity.fullname });
      return lease.spec?.holderIdentity === podName;
    });

    const ns = await newNamespaceOnOld(admin, 'chart');
    cleanups.push(() => admin.core.deleteNamespace({ name: ns }));
    const planner = await publishNamespaceWave({
      brokers: env.kafka.brokers,
      signing: keys.signingFor('planner'),
      cluster: clusterName,
      rolloutId: `chart-${id}`,
      namespaces: [ns],
      maxUnavailable: 1,
    });
    cleanups.push(() => planner.close());
    await wait('the namespace relabelled by the agent', async () => {
      return (await admin.core.readNamespace({ name: ns })).metadata?.labels?.['istio.io/rev'] === NEW;
    });

    // The chart's webhook registration, as rendered, is the one the apiserver calls: a pod created from a stale
    // manifest (labelled with the old revision) in the namespace the agent moved comes back from the apiserver
    // labelled with the new one, a decision only the agent's webhook makes (the agent never writes pods, and the
    // injector double, called after it in name order, injects whatever revision the label names).
    const registration = chartWebhookRegistration(manifests, { port: webhookPort!, namespaces: [ns], suffix: ns });
    expect(registration.webhooks?.map((w) => w.clientConfig.caBundle)).toEqual([serving.caBundle, serving.caBundle]);
    await admin.admission.createMutatingWebhookConfiguration({ body: registration });
    cleanups.push(() => admin.admission.deleteMutatingWebhookConfiguration({ name: registration.metadata!.name! }));
    const stale = await admin.core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'from-stale-manifest', labels: { app: 'stale', 'istio.io/rev': OLD } },
        spec: {
          containers: [{ name: 'app', image: 'registry.k8s.io/e2e-test-images/agnhost:2.53' }],
          tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
        },
      },
    });
    expect(stale.metadata?.labels?.['istio.io/rev']).toBe(NEW);
    const injected = JSON.parse(stale.metadata?.annotations?.['sidecar.istio.io/status'] ?? '{}') as {
      revision?: string;
    };
    expect(injected.revision).toBe(NEW);
    expect(pod.process.exitCode).toBeNull();
  });
});

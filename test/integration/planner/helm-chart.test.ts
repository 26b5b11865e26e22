// The three Helm charts of deploy/helm, linted and rendered by a real helm (built into the test environment from
// its Go module, ADR 0017) with the chart's default values plus only what it requires, and the rendered
// manifests accepted by a real kube-apiserver of the test environment under strict validation.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadHelmEnv, loadTestEnv, type ClusterEnv, type HelmEnv } from '../../support/env.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const chartDir = (name: string): string => path.join(root, 'deploy/helm', name);

interface Container {
  name: string;
  readinessProbe?: { httpGet: { path: string } };
  livenessProbe?: { httpGet: { path: string } };
  env?: { name: string; value?: string }[];
  securityContext?: Record<string, unknown>;
}

interface PodSpec {
  containers: Container[];
  securityContext?: Record<string, unknown>;
  serviceAccountName?: string;
}

interface Manifest {
  kind: string;
  apiVersion: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  webhooks?: { name: string; failurePolicy: string; timeoutSeconds: number; clientConfig: { caBundle: string } }[];
}

const TOKEN_SHA256 = '5f2b3c8e0d6c4bbf9a2f3d1c7e8a9b0c1d2e3f405162738495a6b7c8d9e0f1a2';

/** What each chart cannot render without; every other value is the chart's default. */
const REQUIRED: Record<string, string[]> = {
  'meshwave-planner': [
    '--set',
    'kafka.brokers={kafka-0.kafka:9092}',
    '--set',
    'redis.url=redis://redis:6379',
    '--set-json',
    `auth.tokens=[{"name":"ops","role":"operator","sha256":"${TOKEN_SHA256}"}]`,
    '--set-json',
    'auth.signingKeys=[{"id":"fleet-2026","secret":"0123456789abcdef0123456789abcdef"}]',
    '--set',
    'auth.activeSigningKey=fleet-2026',
  ],
  'meshwave-cluster-agent': [
    '--set',
    'clusterName=prod-1',
    '--set',
    'kafka.brokers={kafka-0.kafka:9092}',
    '--set',
    'redis.url=redis://redis:6379',
  ],
  'meshwave-vm-bridge': [
    '--set',
    'kafka.brokers={kafka-0.kafka:9092}',
    '--set',
    'redis.url=redis://redis:6379',
    '--set',
    'signing.activeKeyId=fleet-2026',
  ],
};

let helm: HelmEnv;
let cluster: ClusterEnv;

beforeAll(() => {
  cluster = loadTestEnv({ needClusters: 1 }).clusters[0]!;
  helm = loadHelmEnv(); // no helm: the test fails, saying how to get it
});

function runHelm(args: readonly string[]): string {
  return execFileSync(helm.bin, args, { encoding: 'utf8', stdio: 'pipe' });
}

/** `helm template` for the test environment's Kubernetes version, parsed. */
function render(chart: string, values: readonly string[]): Manifest[] {
  const text = runHelm([
    'template',
    'mw',
    chartDir(chart),
    '--namespace',
    'default',
    '--kube-version',
    cluster.kubernetesVersion,
    ...values,
  ]);
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

/** What helm says when the chart is rendered without any value of its own. */
function renderFailure(chart: string): string {
  try {
    runHelm(['template', 'mw', chartDir(chart), '--kube-version', cluster.kubernetesVersion]);
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
  return 'rendered without its required values';
}

/** `kubectl apply --dry-run=server --validate=strict` on the test apiserver; every object must be accepted. */
function expectAcceptedByApiserver(manifests: readonly Manifest[]): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mw-chart-'));
  try {
    const file = path.join(dir, 'manifests.json');
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }));
    const out = execFileSync(
      'kubectl',
      [
        '--kubeconfig',
        cluster.kubeconfig,
        'apply',
        '--dry-run=server',
        '--validate=strict',
        '-n',
        'default',
        '-f',
        file,
      ],
      { encoding: 'utf8', stdio: 'pipe' },
    );
    for (const m of manifests)
      expect(out).toMatch(
        new RegExp(
          `^${m.kind.toLowerCase()}(\\.[a-z0-9.]+)?/${m.metadata.name} (created|configured|unchanged) \\(server dry run\\)$`,
          'm',
        ),
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const one = (manifests: readonly Manifest[], kind: string): Manifest => {
  const found = manifests.filter((m) => m.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};
const podSpecOf = (deployment: Manifest): PodSpec => (deployment.spec as { template: { spec: PodSpec } }).template.spec;
const envOf = (c: Container): Record<string, string | undefined> =>
  Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
const sortedKinds = (manifests: readonly Manifest[]): string[] => manifests.map((m) => m.kind).sort();

describe.each(Object.keys(REQUIRED))('Helm chart %s', (chart) => {
  it('Given the default values and only the required ones, Then helm lints it and a real kube-apiserver accepts what it renders', () => {
    runHelm(['lint', chartDir(chart), '--strict', '--kube-version', cluster.kubernetesVersion, ...REQUIRED[chart]!]);
    const manifests = render(chart, REQUIRED[chart]!);
    expect(manifests.length).toBeGreaterThan(0);
    expectAcceptedByApiserver(manifests);
  });

  it('Given none of its required values, Then rendering fails and says which value is missing', () => {
    expect(renderFailure(chart)).toMatch(
      {
        'meshwave-planner': /kafka\.brokers is required|auth\.tokens \(or auth\.existingSecret\) is required/,
        'meshwave-cluster-agent': /clusterName is required/,
        'meshwave-vm-bridge': /kafka\.brokers is required/,
      }[chart]!,
    );
  });
});

describe('meshwave-planner, as rendered', () => {
  it('Then by default it has a Deployment of 2 replicas with probes and a read-only non-root pod, a Service, config and token Secret, a PDB and no ServiceMonitor', () => {
    const manifests = render('meshwave-planner', REQUIRED['meshwave-planner']!);
    expect(sortedKinds(manifests)).toEqual([
      'ConfigMap',
      'Deployment',
      'PodDisruptionBudget',
      'Secret',
      'Service',
      'ServiceAccount',
    ]);
    const deployment = one(manifests, 'Deployment');
    expect((deployment.spec as { replicas: number }).replicas).toBe(2);
    const pod = podSpecOf(deployment);
    const container = pod.containers[0]!;
    expect(container.readinessProbe?.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe?.httpGet.path).toBe('/healthz');
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(Object.keys(envOf(container))).toEqual(
      expect.arrayContaining([
        'MESHWAVE_INSTANCE_ID',
        'MESHWAVE_ADVERTISE_URL',
        'MESHWAVE_TOKENS_FILE',
        'MESHWAVE_SIGNING_KEYS_FILE',
      ]),
    );
    expect(one(manifests, 'ConfigMap').data).toMatchObject({
      MESHWAVE_KAFKA_BROKERS: 'kafka-0.kafka:9092',
      MESHWAVE_REDIS_URL: 'redis://redis:6379',
    });
    expect(JSON.parse(one(manifests, 'Secret').stringData!['tokens.json']!)).toEqual([
      { name: 'ops', role: 'operator', sha256: TOKEN_SHA256 },
    ]);
    expect(one(manifests, 'PodDisruptionBudget').spec).toMatchObject({ minAvailable: 1 });
  });

  it('Given the test values (tests/values-test.yaml), Then it lints, adds the ServiceMonitor and the Prometheus settings, and the apiserver accepts the rest', () => {
    const values = ['-f', path.join(chartDir('meshwave-planner'), 'tests/values-test.yaml')];
    runHelm(['lint', chartDir('meshwave-planner'), '--strict', '--kube-version', cluster.kubernetesVersion, ...values]);
    const manifests = render('meshwave-planner', values);
    expect(sortedKinds(manifests)).toEqual([
      'ConfigMap',
      'Deployment',
      'PodDisruptionBudget',
      'Secret',
      'Service',
      'ServiceAccount',
      'ServiceMonitor',
    ]);
    expect(one(manifests, 'ConfigMap').data).toMatchObject({
      MESHWAVE_KAFKA_BROKERS: 'kafka-0.kafka:9092,kafka-1.kafka:9092',
      MESHWAVE_REDIS_URL: 'redis://redis:6379',
      MESHWAVE_PROMETHEUS_URL: 'http://prometheus.monitoring:9090',
      MESHWAVE_PROMETHEUS_CLUSTER_LABEL: 'cluster',
    });
    expect(JSON.parse(one(manifests, 'Secret').stringData!['tokens.json']!)).toEqual([
      { name: 'ops', role: 'operator', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);
    // The ServiceMonitor CRD is not installed on the test apiserver; everything else is validated.
    expectAcceptedByApiserver(manifests.filter((m) => m.kind !== 'ServiceMonitor'));
  });
});

describe('meshwave-cluster-agent, as rendered', () => {
  it('Then it has 2 replicas that never get a sidecar, least-privilege RBAC for its ServiceAccount, and a webhook that never blocks and trusts the certificate it serves', () => {
    const manifests = render('meshwave-cluster-agent', REQUIRED['meshwave-cluster-agent']!);
    expect(sortedKinds(manifests)).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'Deployment',
      'MutatingWebhookConfiguration',
      'PodDisruptionBudget',
      'Role',
      'RoleBinding',
      'Secret',
      'Service',
      'ServiceAccount',
    ]);
    const deployment = one(manifests, 'Deployment');
    expect((deployment.spec as { replicas: number }).replicas).toBe(2);
    const template = (deployment.spec as { template: { metadata: { labels: Record<string, string> } } }).template;
    expect(template.metadata.labels['sidecar.istio.io/inject']).toBe('false');
    const pod = podSpecOf(deployment);
    const container = pod.containers[0]!;
    expect(envOf(container)).toMatchObject({
      MESHWAVE_CLUSTER: 'prod-1',
      MESHWAVE_KAFKA_BROKERS: 'kafka-0.kafka:9092',
      MESHWAVE_REDIS_URL: 'redis://redis:6379',
    });
    expect(envOf(container)).not.toHaveProperty('MESHWAVE_IN_MEMORY');
    expect(container.readinessProbe?.httpGet.path).toBe('/healthz');
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
    const serviceAccount = one(manifests, 'ServiceAccount');
    expect(pod.serviceAccountName).toBe(serviceAccount.metadata.name);
    for (const binding of manifests.filter((m) => m.kind.endsWith('Binding')))
      expect((binding as unknown as { subjects: { kind: string; name: string }[] }).subjects).toEqual([
        expect.objectContaining({ kind: 'ServiceAccount', name: serviceAccount.metadata.name }),
      ]);
    const webhook = one(manifests, 'MutatingWebhookConfiguration');
    const cert = one(manifests, 'Secret');
    expect(webhook.webhooks!.length).toBeGreaterThan(0);
    for (const w of webhook.webhooks!) {
      expect(w.failurePolicy).toBe('Ignore');
      expect(w.timeoutSeconds).toBeLessThanOrEqual(5);
      expect(w.clientConfig.caBundle).toBe(cert.data!['ca.crt']);
    }
  });
});

describe('meshwave-vm-bridge, as rendered', () => {
  it('Then by default it has one replica ready only while active, a Service, and Kafka, Redis and the signing key from the environment, never an in-memory bus or store', () => {
    const manifests = render('meshwave-vm-bridge', REQUIRED['meshwave-vm-bridge']!);
    expect(sortedKinds(manifests)).toEqual(['ConfigMap', 'Deployment', 'Service', 'ServiceAccount']);
    const deployment = one(manifests, 'Deployment');
    expect((deployment.spec as { replicas: number }).replicas).toBe(1);
    const pod = podSpecOf(deployment);
    expect(pod.containers[0]!.readinessProbe?.httpGet.path).toBe('/healthz');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(envOf(pod.containers[0]!)).toMatchObject({
      MESHWAVE_KAFKA_BROKERS: 'kafka-0.kafka:9092',
      MESHWAVE_REDIS_URL: 'redis://redis:6379',
      MESHWAVE_SIGNING_ACTIVE_KEY: 'fleet-2026',
    });
    expect(envOf(pod.containers[0]!)).not.toHaveProperty('MESHWAVE_IN_MEMORY');
    const config = one(manifests, 'ConfigMap').data!['config.yaml']!;
    expect(config).not.toMatch(/\b(bus|store):/);
  });
});

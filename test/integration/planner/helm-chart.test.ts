// The three Helm charts of deploy/helm, linted and rendered by a real helm (built into the test environment from
// its Go module, ADR 0017) with the chart's default values plus only what it requires, and the rendered
// manifests accepted by a real kube-apiserver of the test environment under strict validation.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadHelmEnv, loadTestEnv, type ClusterEnv, type HelmEnv } from '../../support/env.js';
import {
  CHARTS,
  REQUIRED,
  TOKEN_SHA256,
  acceptedLine,
  applyServerDryRun,
  chartDir,
  lintChart,
  podSpecOf,
  prodValues,
  renderChart,
  runHelm,
  type ChartName,
  type Container,
  type Manifest,
} from '../../support/helm-chart.js';

/** What the agent's chart renders, by default and in production: RBAC, the webhook and its certificate. */
const AGENT_KINDS = [
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
];

/** What a production release renders (ci/prod-values.yaml): the counts the README states. */
const PROD_KINDS: Record<ChartName, string[]> = {
  'meshwave-planner': ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service', 'ServiceAccount'],
  'meshwave-cluster-agent': AGENT_KINDS,
  'meshwave-vm-bridge': ['ConfigMap', 'Deployment', 'Service', 'ServiceAccount'],
};

/** One value per chart that values.schema.json refuses, and how helm names it. */
const SCHEMA_REFUSALS: Record<ChartName, [string, RegExp]> = {
  'meshwave-planner': ['service.port=70000', /\/service\/port/],
  'meshwave-cluster-agent': ['webhook.timeoutSeconds=9', /\/webhook\/timeoutSeconds/],
  'meshwave-vm-bridge': ['replicaCount=0', /\/replicaCount/],
};

let helm: HelmEnv;
let cluster: ClusterEnv;

beforeAll(() => {
  cluster = loadTestEnv({ needClusters: 1 }).clusters[0]!;
  helm = loadHelmEnv(); // no helm: the test fails, saying how to get it
});

const render = (chart: ChartName, values: readonly string[]): Manifest[] => renderChart(helm, cluster, chart, values);

/** What helm says when the chart is rendered with only `values` (by default, without any value of its own). */
function renderFailure(chart: string, values: readonly string[] = []): string {
  try {
    runHelm(helm, ['template', 'mw', chartDir(chart), '--kube-version', cluster.kubernetesVersion, ...values]);
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
  return 'rendered without its required values';
}

/** Every object must be accepted by the test apiserver (server-side dry run, strict validation). */
function expectAcceptedByApiserver(manifests: readonly Manifest[]): void {
  const out = applyServerDryRun(cluster, manifests);
  for (const m of manifests) expect(out).toMatch(acceptedLine(m));
}

const one = (manifests: readonly Manifest[], kind: string): Manifest => {
  const found = manifests.filter((m) => m.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};
const envOf = (c: Container): Record<string, string | undefined> =>
  Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
const sortedKinds = (manifests: readonly Manifest[]): string[] => manifests.map((m) => m.kind).sort();

describe.each(CHARTS)('Helm chart %s', (chart) => {
  it('Given the default values and only the required ones, Then helm lints it and a real kube-apiserver accepts what it renders', () => {
    lintChart(helm, cluster, chart, REQUIRED[chart]);
    const manifests = render(chart, REQUIRED[chart]);
    expect(manifests.length).toBeGreaterThan(0);
    expectAcceptedByApiserver(manifests);
  });

  it('Given its production-like values (ci/prod-values.yaml), Then helm lints it, renders the kinds a production release has, and a real kube-apiserver accepts every object', () => {
    lintChart(helm, cluster, chart, prodValues(chart));
    const manifests = render(chart, prodValues(chart));
    expect(sortedKinds(manifests)).toEqual(PROD_KINDS[chart]);
    expectAcceptedByApiserver(manifests);
  });

  it('Given a value its values.schema.json refuses, Then helm refuses to render and names the value', () => {
    const [value, message] = SCHEMA_REFUSALS[chart];
    expect(renderFailure(chart, [...REQUIRED[chart], '--set', value])).toMatch(message);
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
    const manifests = render('meshwave-planner', REQUIRED['meshwave-planner']);
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
        'MESHWAVE_SIGNING_PRIVATE_KEYS_FILE',
        'MESHWAVE_SIGNING_ACTIVE_KEY',
      ]),
    );
    // keys only from Secrets, never from values (ADR 0038): one mounted file per trusted-keys Secret
    expect(envOf(container)['MESHWAVE_SIGNING_TRUSTED_KEYS_FILES']).toBe('/etc/meshwave/trusted/0/public.json');
    expect(pod.volumes?.find((v) => v.name === 'trusted-0')).toMatchObject({
      secret: { secretName: 'meshwave-agent-key-prod-1' },
    });
    expect(Object.keys(one(manifests, 'Secret').stringData!)).toEqual(['tokens.json']);
    expect(one(manifests, 'ConfigMap').data).toMatchObject({
      MESHWAVE_KAFKA_BROKERS: 'kafka-0.kafka:9092',
      MESHWAVE_REDIS_URL: 'redis://redis:6379',
    });
    expect(JSON.parse(one(manifests, 'Secret').stringData!['tokens.json']!)).toEqual([
      { name: 'ops', role: 'operator', sha256: TOKEN_SHA256 },
    ]);
    expect(one(manifests, 'PodDisruptionBudget').spec).toMatchObject({ minAvailable: 1 });
  });

  it('Then its heap is sized below its memory limit (ADR 0062, 0066): 320 of 512 MiB by default, 800 of 1 GiB in production, a 16 MiB semi-space, 2 malloc arenas and a fixed 128 KiB mmap threshold; each left to Node or glibc with 0', () => {
    type Heap = [string | undefined, unknown, string | undefined, string | undefined];
    const heapOf = (values: readonly string[]): Heap => {
      const container = podSpecOf(one(render('meshwave-planner', values), 'Deployment')).containers[0]!;
      const env = envOf(container);
      return [
        env['NODE_OPTIONS'],
        container.resources?.limits?.['memory'],
        env['MALLOC_ARENA_MAX'],
        env['MALLOC_MMAP_THRESHOLD_'],
      ];
    };
    expect(heapOf(REQUIRED['meshwave-planner'])).toEqual([
      '--max-old-space-size=320 --max-semi-space-size=16',
      '512Mi',
      '2',
      '131072',
    ]);
    expect(heapOf(prodValues('meshwave-planner'))).toEqual([
      '--max-old-space-size=800 --max-semi-space-size=16',
      '1Gi',
      '2',
      '131072',
    ]);
    const set = (...kv: string[]): string[] => [...REQUIRED['meshwave-planner'], ...kv.flatMap((v) => ['--set', v])];
    expect(heapOf(set('maxOldSpaceMiB=0'))[0]).toBe('--max-semi-space-size=16');
    expect(
      heapOf(set('maxOldSpaceMiB=0', 'maxSemiSpaceMiB=0', 'mallocArenaMax=0', 'mallocMmapThresholdBytes=0')),
    ).toEqual([undefined, '512Mi', undefined, undefined]);
  });

  it('Given the test values (tests/values-test.yaml), Then it lints, adds the ServiceMonitor and the Prometheus settings, and the apiserver accepts the rest', () => {
    const values = ['-f', path.join(chartDir('meshwave-planner'), 'tests/values-test.yaml')];
    lintChart(helm, cluster, 'meshwave-planner', values);
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
    const manifests = render('meshwave-cluster-agent', REQUIRED['meshwave-cluster-agent']);
    expect(sortedKinds(manifests)).toEqual(AGENT_KINDS);
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
    const manifests = render('meshwave-vm-bridge', REQUIRED['meshwave-vm-bridge']);
    expect(sortedKinds(manifests)).toEqual(['ConfigMap', 'Deployment', 'Service', 'ServiceAccount']);
    const deployment = one(manifests, 'Deployment');
    expect((deployment.spec as { replicas: number }).replicas).toBe(1);
    const pod = podSpecOf(deployment);
    expect(pod.containers[0]!.readinessProbe?.httpGet.path).toBe('/healthz');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(envOf(pod.containers[0]!)).toMatchObject({
      MESHWAVE_KAFKA_BROKERS: 'kafka-0.kafka:9092',
      MESHWAVE_REDIS_URL: 'redis://redis:6379',
      MESHWAVE_SIGNING_ACTIVE_KEY: 'vm-bridge-2026',
    });
    expect(envOf(pod.containers[0]!)).not.toHaveProperty('MESHWAVE_IN_MEMORY');
    const config = one(manifests, 'ConfigMap').data!['config.yaml']!;
    expect(config).not.toMatch(/\b(bus|store):/);
  });

  it("Given groups with a mesh (ADR 0058), Then the bridge's config gives each its mesh, and a value that is not a mesh name is refused", () => {
    const groups = `groups=[{"name":"payments-vms","enrollmentTokenSha256":"${TOKEN_SHA256}","mesh":"payments"},{"name":"batch-vms","enrollmentTokenSha256":"${TOKEN_SHA256}"}]`;
    const manifests = render('meshwave-vm-bridge', [...REQUIRED['meshwave-vm-bridge'], '--set-json', groups]);
    const config = parseYaml(one(manifests, 'ConfigMap').data!['config.yaml']!) as {
      groups: { name: string; mesh?: string }[];
    };
    expect(config.groups.map((g) => [g.name, g.mesh])).toEqual([
      ['payments-vms', 'payments'],
      ['batch-vms', undefined],
    ]);
    const bad = `groups=[{"name":"payments-vms","enrollmentTokenSha256":"${TOKEN_SHA256}","mesh":"Payments"}]`;
    expect(renderFailure('meshwave-vm-bridge', [...REQUIRED['meshwave-vm-bridge'], '--set-json', bad])).toMatch(/mesh/);
  });
});

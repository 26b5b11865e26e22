// The charts of deploy/helm as the tests render them: a real helm (built into the test environment, ADR 0017),
// the chart's default values plus only what it requires, and a real kube-apiserver's server-side dry run as the
// judge of what it renders. Used by the chart tests and by the image test (which starts each bundle with the
// arguments its chart gives the container).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { ClusterEnv, HelmEnv } from './env.ts';

export const CHARTS = ['meshwave-planner', 'meshwave-cluster-agent', 'meshwave-vm-bridge'] as const;
export type ChartName = (typeof CHARTS)[number];

export const chartDir = (name: string): string =>
  path.join(fileURLToPath(new URL('../../deploy/helm/', import.meta.url)), name);

export interface Container {
  name: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: { httpGet: { path: string } };
  livenessProbe?: { httpGet: { path: string } };
  env?: { name: string; value?: string }[];
  securityContext?: Record<string, unknown>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

export interface PodSpec {
  containers: Container[];
  volumes?: { name: string; secret?: { secretName: string } }[];
  securityContext?: Record<string, unknown>;
  serviceAccountName?: string;
}

export interface Manifest {
  kind: string;
  apiVersion: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  webhooks?: { name: string; failurePolicy: string; timeoutSeconds: number; clientConfig: { caBundle: string } }[];
}

export const TOKEN_SHA256 = '5f2b3c8e0d6c4bbf9a2f3d1c7e8a9b0c1d2e3f405162738495a6b7c8d9e0f1a2';

/** What each chart cannot render without; every other value is the chart's default. */
export const REQUIRED: Record<ChartName, string[]> = {
  'meshwave-planner': [
    '--set',
    'kafka.brokers={kafka-0.kafka:9092}',
    '--set',
    'redis.url=redis://redis:6379',
    '--set-json',
    `auth.tokens=[{"name":"ops","role":"operator","sha256":"${TOKEN_SHA256}"}]`,
    '--set',
    'signing.activeKeyId=planner-2026',
    '--set',
    'signing.trustedKeySecrets={meshwave-agent-key-prod-1}',
  ],
  'meshwave-cluster-agent': [
    '--set',
    'clusterName=prod-1',
    '--set',
    'kafka.brokers={kafka-0.kafka:9092}',
    '--set',
    'redis.url=redis://redis:6379',
    '--set',
    'signing.activeKeyId=prod-1-2026',
  ],
  'meshwave-vm-bridge': [
    '--set',
    'kafka.brokers={kafka-0.kafka:9092}',
    '--set',
    'redis.url=redis://redis:6379',
    '--set',
    'signing.activeKeyId=vm-bridge-2026',
  ],
};

/** The production-like values file of a chart (`ci/prod-values.yaml`), as helm arguments. */
export const prodValues = (chart: ChartName): string[] => ['-f', path.join(chartDir(chart), 'ci/prod-values.yaml')];

export function runHelm(helm: HelmEnv, args: readonly string[]): string {
  return execFileSync(helm.bin, args, { encoding: 'utf8', stdio: 'pipe' });
}

/** `helm lint --strict` for the test environment's Kubernetes version. */
export function lintChart(helm: HelmEnv, cluster: ClusterEnv, chart: ChartName, values: readonly string[]): void {
  runHelm(helm, ['lint', chartDir(chart), '--strict', '--kube-version', cluster.kubernetesVersion, ...values]);
}

/** `helm template` for the test environment's Kubernetes version, parsed (release `mw` in `default` unless given). */
export function renderChart(
  helm: HelmEnv,
  cluster: ClusterEnv,
  chart: ChartName,
  values: readonly string[],
  release: { name: string; namespace: string } = { name: 'mw', namespace: 'default' },
): Manifest[] {
  const text = runHelm(helm, [
    'template',
    release.name,
    chartDir(chart),
    '--namespace',
    release.namespace,
    '--kube-version',
    cluster.kubernetesVersion,
    ...values,
  ]);
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

/**
 * `kubectl apply --dry-run=server --validate=strict` on the test apiserver: what kubectl said of each object
 * (`deployment.apps/mw-x created (server dry run)`), or the error that refused the lot.
 */
export function applyServerDryRun(cluster: ClusterEnv, manifests: readonly Manifest[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mw-chart-'));
  try {
    const file = path.join(dir, 'manifests.json');
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }));
    return execFileSync(
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
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The pattern of kubectl's line saying the apiserver accepted `m` in a dry run. */
export const acceptedLine = (m: Manifest): RegExp =>
  new RegExp(
    `^${m.kind.toLowerCase()}(\\.[a-z0-9.]+)?/${m.metadata.name} (created|configured|unchanged) \\(server dry run\\)$`,
    'm',
  );

export const podSpecOf = (deployment: Manifest): PodSpec =>
  (deployment.spec as { template: { spec: PodSpec } }).template.spec;

// The planner's Helm chart: its rendered manifests (checked in, made by `helm template`) are validated by a
// real kube-apiserver of the test environment; with a helm binary at hand, the chart is linted and rendered
// again and must still produce exactly the checked-in manifests (ADR 0010).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTestEnv, type TestEnv } from '../../support/env.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const chart = path.join(root, 'deploy/helm/meshwave-planner');
const renderedFile = path.join(chart, 'tests/rendered.yaml');
const valuesFile = path.join(chart, 'tests/values-test.yaml');

interface Manifest {
  kind: string;
  apiVersion: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

function findHelm(): string | undefined {
  const candidates = [process.env.MESHWAVE_HELM, path.join(os.homedir(), '.cache/meshwave/tools/helm')];
  for (const c of candidates) if (c && existsSync(c)) return c;
  try {
    return execFileSync('sh', ['-c', 'command -v helm'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** `helm template` of the test values, as the checked-in file holds it. */
function render(helm: string, extra: string[] = []): string {
  return execFileSync(
    helm,
    ['template', 'mw', chart, '--namespace', 'default', '--kube-version', '1.31.0', '-f', valuesFile, ...extra],
    {
      encoding: 'utf8',
    },
  );
}

function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

let manifests: Manifest[];
let env: TestEnv;

beforeAll(() => {
  env = loadTestEnv({ needClusters: 1 });
  manifests = parseManifests(readFileSync(renderedFile, 'utf8'));
});

describe('meshwave-planner Helm chart', () => {
  it('Given the rendered manifests, Then a real kube-apiserver accepts every one of them under strict validation', () => {
    const cluster = env.clusters[0]!;
    // The ServiceMonitor CRD is not installed on the test apiserver; everything else is validated.
    const core = manifests.filter((m) => m.kind !== 'ServiceMonitor');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mw-chart-'));
    const file = path.join(dir, 'core.yaml');
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: core }));
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
      { encoding: 'utf8' },
    );
    for (const m of core)
      expect(out).toMatch(
        new RegExp(
          `^${m.kind.toLowerCase()}(\\.[a-z.]+)?/${m.metadata.name} (created|configured|unchanged) \\(server dry run\\)$`,
          'm',
        ),
      );
  });

  it('Then it has a Deployment of at least 2 replicas with probes, a Service, config and token Secret, a PDB and the ServiceMonitor', () => {
    const kinds = manifests.map((m) => m.kind).sort();
    expect(kinds).toEqual([
      'ConfigMap',
      'Deployment',
      'PodDisruptionBudget',
      'Secret',
      'Service',
      'ServiceAccount',
      'ServiceMonitor',
    ]);
    const deployment = manifests.find((m) => m.kind === 'Deployment')!;
    const spec = deployment.spec as {
      replicas: number;
      template: {
        spec: {
          containers: {
            readinessProbe: { httpGet: { path: string } };
            livenessProbe: { httpGet: { path: string } };
            env: { name: string; value?: string }[];
            securityContext: Record<string, unknown>;
          }[];
          securityContext: Record<string, unknown>;
        };
      };
    };
    expect(spec.replicas).toBeGreaterThanOrEqual(2);
    const container = spec.template.spec.containers[0]!;
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(container.env.map((e) => e.name)).toEqual(
      expect.arrayContaining([
        'MESHWAVE_INSTANCE_ID',
        'MESHWAVE_ADVERTISE_URL',
        'MESHWAVE_TOKENS_FILE',
        'MESHWAVE_SIGNING_KEYS_FILE',
      ]),
    );
    const config = manifests.find((m) => m.kind === 'ConfigMap')!;
    expect(config.data).toMatchObject({
      MESHWAVE_KAFKA_BROKERS: 'kafka-0.kafka:9092,kafka-1.kafka:9092',
      MESHWAVE_REDIS_URL: 'redis://redis:6379',
      MESHWAVE_PROMETHEUS_URL: 'http://prometheus.monitoring:9090',
      MESHWAVE_PROMETHEUS_CLUSTER_LABEL: 'cluster',
    });
    const secret = manifests.find((m) => m.kind === 'Secret')!;
    expect(JSON.parse(secret.stringData!['tokens.json']!)).toEqual([
      { name: 'ops', role: 'operator', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);
    const pdb = manifests.find((m) => m.kind === 'PodDisruptionBudget')!;
    expect(pdb.spec).toMatchObject({ minAvailable: 1 });
  });

  it('Given a helm binary, Then the chart lints, still renders exactly the checked-in manifests, and refuses missing required values', () => {
    const helm = findHelm();
    if (helm === undefined) {
      // Helm cannot be installed on every machine (ADR 0010): the static manifests above are then the check.
      expect(existsSync(renderedFile)).toBe(true);
      return;
    }
    execFileSync(helm, ['lint', chart, '-f', valuesFile], { encoding: 'utf8' });
    // compared as documents, so formatting the checked-in file (prettier) does not matter
    expect(parseManifests(render(helm))).toEqual(manifests);
    expect(() =>
      execFileSync(helm, ['template', 'mw', chart, '--kube-version', '1.31.0'], { encoding: 'utf8', stdio: 'pipe' }),
    ).toThrow(/kafka.brokers is required|auth.tokens/);
    expect(render(helm, ['--set', 'serviceMonitor.enabled=false'])).not.toContain('kind: ServiceMonitor');
  });
});

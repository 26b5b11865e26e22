// The processes of one test cluster, started in order and each awaited until it serves: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok (with its fake nodes), then the injector double's webhooks.
import fs from 'node:fs';
import path from 'node:path';
import { eventually } from '../../support/eventually.ts';
import type { ClusterState, InjectorState } from '../../support/env-state.ts';
import { registerDefaultRevisions } from '../injector/registration.ts';
import { envRoot, pidAlive, startDetached } from './common.ts';
import { applyObject, apiReady, insecureGet, kubeRequest, nodesReady } from './kube-api.ts';
import type { KubeBinaries } from './kube-binaries.ts';

/** Fake nodes kwok keeps Ready in every cluster. */
export const FAKE_NODES = ['kwok-node-0', 'kwok-node-1', 'kwok-node-2'];

const PROCESSES = ['etcd', 'apiserver', 'controllerManager', 'scheduler', 'kwok'] as const;

export function procAlive(c: ClusterState): boolean {
  return PROCESSES.every((k) => pidAlive(c.pids[k]));
}

/** Where a cluster's processes write, and the environment they run with. */
interface Launch {
  readonly cluster: ClusterState;
  readonly bins: KubeBinaries;
  readonly logFile: (process: string) => string;
  readonly env: NodeJS.ProcessEnv;
}

/** Starts every process of `cluster` (recording their pids in it) and resolves once the cluster serves. */
export async function startClusterProcesses(
  cluster: ClusterState,
  bins: KubeBinaries,
  injector: InjectorState | undefined,
): Promise<void> {
  const logDir = path.join(cluster.dir, 'logs');
  const launch: Launch = {
    cluster,
    bins,
    logFile: (n) => path.join(logDir, `${n}.log`),
    env: { NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' },
  };
  const etcdUrl = await startEtcd(launch);
  await startApiserver(launch, etcdUrl);
  startControllers(launch);
  startKwok(launch);
  await awaitClusterServing(cluster);
  if (injector) await registerDefaultRevisions(cluster, injector);
}

async function startEtcd({ cluster, bins, logFile, env }: Launch): Promise<string> {
  const { name, dir, ports } = cluster;
  // fsync off: test data, as envtest does
  const etcdUrl = `http://127.0.0.1:${ports.etcd}`;
  const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
  cluster.pids.etcd = startDetached(
    bins.etcd,
    [
      `--name=${name}`,
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=${name}=${peerUrl}`,
      '--unsafe-no-fsync=true',
      '--quota-backend-bytes=2147483648',
      '--log-level=warn',
    ],
    { logFile: logFile('etcd'), env },
  );
  await eventually(`${name} etcd`, async () => (await insecureGet(`${etcdUrl}/health`)) === 200, {
    timeoutMs: 60_000,
    alive: () => pidAlive(cluster.pids.etcd),
  });
  return etcdUrl;
}

async function startApiserver({ cluster, bins, logFile, env }: Launch, etcdUrl: string): Promise<void> {
  const { name, certDir, ports } = cluster;
  cluster.pids.apiserver = startDetached(
    bins['kube-apiserver'],
    [
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${certDir}`,
      `--tls-cert-file=${path.join(certDir, 'apiserver.crt')}`,
      `--tls-private-key-file=${path.join(certDir, 'apiserver.key')}`,
      `--secure-port=${ports.apiserver}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--endpoint-reconciler-type=none',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      '--authorization-mode=RBAC',
      `--client-ca-file=${path.join(certDir, 'client-ca.crt')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${path.join(certDir, 'sa.pub')}`,
      `--service-account-signing-key-file=${path.join(certDir, 'sa.key')}`,
      '--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook',
      '--profiling=false',
      '--event-ttl=30m',
      '--v=0',
    ],
    { logFile: logFile('kube-apiserver'), env },
  );
  await eventually(`${name} kube-apiserver`, () => apiReady(cluster), {
    timeoutMs: 180_000,
    intervalMs: 300,
    alive: () => pidAlive(cluster.pids.apiserver),
  });
}

function startControllers({ cluster, bins, logFile, env }: Launch): void {
  const { name, dir, certDir, ports, kubeconfig, caFile } = cluster;
  const delegated = [`--authentication-kubeconfig=${kubeconfig}`, `--authorization-kubeconfig=${kubeconfig}`];
  cluster.pids.controllerManager = startDetached(
    bins['kube-controller-manager'],
    [
      `--kubeconfig=${kubeconfig}`,
      ...delegated,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.controllerManager}`,
      `--cert-dir=${path.join(dir, 'kcm-certs')}`,
      `--root-ca-file=${caFile}`,
      `--service-account-private-key-file=${path.join(certDir, 'sa.key')}`,
      `--cluster-name=${name}`,
      '--concurrent-deployment-syncs=10',
      '--concurrent-replicaset-syncs=10',
      '--kube-api-qps=100',
      '--kube-api-burst=200',
      '--profiling=false',
    ],
    { logFile: logFile('kube-controller-manager'), env },
  );

  cluster.pids.scheduler = startDetached(
    bins['kube-scheduler'],
    [
      `--kubeconfig=${kubeconfig}`,
      ...delegated,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.scheduler}`,
      `--cert-dir=${path.join(dir, 'scheduler-certs')}`,
      '--kube-api-qps=100',
      '--kube-api-burst=200',
      '--profiling=false',
    ],
    { logFile: logFile('kube-scheduler'), env },
  );
}

function startKwok({ cluster, bins, logFile, env }: Launch): void {
  const { dir, ports, kubeconfig } = cluster;
  const kwokConfig = path.join(dir, 'kwok.yaml');
  fs.writeFileSync(kwokConfig, kwokConfigYaml(bins.stagesDir));
  cluster.pids.kwok = startDetached(
    bins.kwok,
    [
      `--config=${kwokConfig}`,
      `--kubeconfig=${kubeconfig}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      `--server-address=127.0.0.1:${ports.kwok}`,
      '--cidr=10.244.0.0/16',
      '--node-ip=10.1.0.1',
    ],
    { logFile: logFile('kwok'), env },
  );
}

async function awaitClusterServing(cluster: ClusterState): Promise<void> {
  const { name, ports } = cluster;
  for (const node of FAKE_NODES) await applyObject(cluster, '/api/v1/nodes', fakeNode(node));
  await eventually(`${name} fake nodes Ready`, () => nodesReady(cluster, FAKE_NODES), {
    timeoutMs: 120_000,
    intervalMs: 300,
    alive: () => procAlive(cluster),
  });
  await eventually(
    `${name} kube-controller-manager healthz`,
    async () => (await insecureGet(`https://127.0.0.1:${ports.controllerManager}/healthz`)) === 200,
    { timeoutMs: 120_000, alive: () => pidAlive(cluster.pids.controllerManager) },
  );
  await eventually(
    `${name} kube-scheduler healthz`,
    async () => (await insecureGet(`https://127.0.0.1:${ports.scheduler}/healthz`)) === 200,
    { timeoutMs: 120_000, alive: () => pidAlive(cluster.pids.scheduler) },
  );
  await eventually(
    `${name} default service account`,
    async () =>
      (await kubeRequest(cluster, 'GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
    { timeoutMs: 120_000 },
  );
}

/** A kwok-managed Node object. */
function fakeNode(name: string) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        type: 'kwok',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/role': 'agent',
        'node-role.kubernetes.io/agent': '',
      },
    },
    // no kwok taint: ordinary manifests schedule onto the fake nodes without a toleration
    spec: {},
    status: {
      allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
      capacity: { cpu: '32', memory: '256Gi', pods: '110' },
    },
  };
}

function kwokConfigYaml(stagesDir: string): string {
  const ours = path.join(envRoot, 'kwok');
  const stageFiles = [
    ...fs
      .readdirSync(stagesDir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => path.join(stagesDir, f)),
    ...fs
      .readdirSync(ours)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => path.join(ours, f)),
  ];
  const docs = [
    `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  nodeLeaseDurationSeconds: 40
  nodeLeaseParallelism: 4
  podPlayStageParallelism: 4
  nodePlayStageParallelism: 4
  podsOnNodeSyncParallelism: 2
  enablePodsOnNodeSyncListPager: true
  enableDebuggingHandlers: false
`,
  ];
  for (const f of stageFiles) docs.push(fs.readFileSync(f, 'utf8'));
  return docs.join('\n---\n');
}

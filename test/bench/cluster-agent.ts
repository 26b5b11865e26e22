// Cluster agent against a real kube-apiserver (kwok pods, the Istio injector double) of the test env:
//  1. the agent converges N Deployments (default 2,000) from 1-24-5 to 1-25-2 at workload granularity under a
//     client-side budget of 50 requests/s (burst 100); measured: time until every restart is issued ("dispatch"),
//     and until every unit is converged (pods Ready with the 1-25-2 sidecar) when that finishes within the limit;
//  2. baseline in the same run: a raw PATCH loop restarting the same Deployments with the same token bucket;
//  3. the 429 answers both saw (target 0) and the ratio raw/agent for dispatch (target ≥ 80%).
// Needs `npm run build` (imports dist) and `npm run env:up`. Stops by itself (hard limit below).
// Options: --deployments N (default 2000), --replicas N (default 1), --qps N (default 50), --concurrency N (default 32,
// requests in flight for both), --cluster NAME.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Agent, request, type RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { createClusterAgent, createKubernetesClient, TokenBucket } from '@meshwave/cluster-agent';
import { createInMemoryBus } from '@meshwave/bus';
import { createInMemoryStore } from '@meshwave/store';
import { MessageType, clusterKey } from '@meshwave/contracts';
import { optionValue } from '../support/command-line.ts';
import { loadTestEnv } from '../support/env.ts';
import { ensureDefaultIstiods, newAdminClients } from '../integration/cluster-agent/fixtures.ts';

const HARD_LIMIT_MS = 1_500_000;
const hardStop = setTimeout(() => {
  console.error(`cluster-agent bench: still running after ${HARD_LIMIT_MS / 1000} s, giving up`);
  process.exit(2);
}, HARD_LIMIT_MS);
hardStop.unref();

const N = Number(optionValue('--deployments') ?? 2000);
const REPLICAS = Number(optionValue('--replicas') ?? 1);
const QPS = Number(optionValue('--qps') ?? 50);
const PER_NS = 100;
// requests in flight, for the agent (reconciles at once) and the raw loop alike
const CONCURRENCY = Number(optionValue('--concurrency') ?? 32);
const CONVERGE_LIMIT_MS = 600_000;

const env = loadTestEnv({ needClusters: 1 });
const clusterName = optionValue('--cluster') ?? env.clusters.at(-1)?.name;
const found = env.clusters.find((c) => c.name === clusterName);
if (!found) throw new Error('no cluster in env.json: run `npm run env:up`');
const cluster = found; // a checked name: the hoisted functions below do not see the narrowing of `found`

// ---- admin requests for setup (not rate-limited: setup is not what is measured) -----------------------
const kc = new KubeConfig();
kc.loadFromFile(cluster.kubeconfig);
const opts: RequestOptions = {};
await kc.applyToHTTPSOptions(opts);
const agent = new Agent({ keepAlive: true, maxSockets: 32, ca: opts.ca, cert: opts.cert, key: opts.key });
/** The fields of an answer this benchmark reads: an error's message, a list's Deployments. */
interface KubeBody {
  readonly message?: string;
  readonly items?: readonly { status?: { availableReplicas?: number; updatedReplicas?: number } }[];
}
function kube(
  method: string,
  urlPath: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: KubeBody | undefined }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(cluster.server + urlPath),
      {
        method,
        agent,
        headers: { ...opts.headers, accept: 'application/json', ...(payload ? { 'content-type': contentType } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({
              status: res.statusCode ?? 0,
              body: chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as KubeBody) : undefined,
            });
          } catch (err) {
            reject(err);
          }
        });
        res.on('error', reject);
        res.on('aborted', () => reject(new Error(`${method} ${urlPath}: response aborted`)));
      },
    );
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${urlPath}: timed out`)));
    if (payload) req.write(payload);
    req.end();
  });
}
async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

const id = randomUUID().slice(0, 6);
const namespaces = Array.from({ length: Math.ceil(N / PER_NS) }, (_, i) => `bench-${id}-${i}`);
const deployments = Array.from({ length: N }, (_, i) => ({
  namespace: namespaces[Math.floor(i / PER_NS)]!,
  name: `app-${i % PER_NS}`,
}));
console.log(
  `cluster ${cluster.name}: ${N} Deployments × ${REPLICAS} replica(s) in ${namespaces.length} namespaces, budget ${QPS} req/s`,
);

const t0 = performance.now();
// The env's fake nodes hold 110 pods each, as a kubelet does; the bench brings its own kwok nodes for its pods
// (and a spare for the restarts' surge pods), and removes them afterwards.
const PODS_PER_NODE = 110;
const nodes = Array.from({ length: Math.ceil((N * REPLICAS) / PODS_PER_NODE) + 1 }, (_, i) => `bench-${id}-node-${i}`);
for (const name of nodes) {
  const r = await kube('POST', '/api/v1/nodes', {
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { type: 'kwok', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' },
    },
    status: {
      allocatable: { cpu: '32', memory: '256Gi', pods: String(PODS_PER_NODE) },
      capacity: { cpu: '32', memory: '256Gi', pods: String(PODS_PER_NODE) },
    },
  });
  if (r.status >= 300) throw new Error(`create node ${name}: ${r.status} ${JSON.stringify(r.body?.message)}`);
}
for (const ns of namespaces) await kube('POST', '/api/v1/namespaces', { metadata: { name: ns } });
await pool(deployments, 24, async (d) => {
  const r = await kube('POST', `/apis/apps/v1/namespaces/${d.namespace}/deployments`, {
    metadata: { name: d.name, labels: { app: d.name } },
    spec: {
      replicas: REPLICAS,
      selector: { matchLabels: { app: d.name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: d.name, 'istio.io/rev': '1-24-5' } },
        spec: {
          containers: [{ name: 'app', image: 'registry.k8s.io/e2e-test-images/agnhost:2.53' }],
          tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
        },
      },
    },
  });
  if (r.status >= 300)
    throw new Error(`create ${d.namespace}/${d.name}: ${r.status} ${JSON.stringify(r.body?.message)}`);
});
// Wait until every Deployment runs its pods (kwok makes them Ready).
for (;;) {
  const mine: NonNullable<KubeBody['items']>[number][] = [];
  for (const ns of namespaces) {
    const r = await kube('GET', `/apis/apps/v1/namespaces/${ns}/deployments`);
    if (r.body?.items === undefined) throw new Error(`list Deployments of ${ns}: ${r.status} ${r.body?.message}`);
    mine.push(...r.body.items);
  }
  const ready = mine.filter(
    (d) => (d.status?.availableReplicas ?? 0) === REPLICAS && (d.status?.updatedReplicas ?? 0) === REPLICAS,
  ).length;
  if (ready === N) break;
  if (performance.now() - t0 > 900_000) throw new Error(`setup: only ${ready}/${N} Deployments ready`);
  await new Promise((r) => setTimeout(r, 2000));
}
console.log(`setup: ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// ---- 1. the agent ----------------------------------------------------------------------------------------
// the agent restarts nothing onto a revision whose istiod it does not see ready (ADR 0028)
await ensureDefaultIstiods(newAdminClients(cluster.kubeconfig));
let agent429 = 0;
let agentRequests = 0;
const client = createKubernetesClient({
  kubeconfig: cluster.kubeconfig,
  qps: QPS,
  burst: QPS * 2,
  onResponse: (_verb, status) => {
    agentRequests++;
    if (status === 429) agent429++;
  },
});
const signing = { keys: [{ id: 'bench', secret: 'bench-signing-key-0123456789abcdefghij' }], activeKeyId: 'bench' };
const bus = createInMemoryBus({ source: clusterKey(cluster.name), signing });
const clusterAgent = createClusterAgent({
  cluster: cluster.name,
  kubernetes: client,
  bus,
  store: createInMemoryStore(),
  concurrency: CONCURRENCY,
  intervals: { resyncMs: 60_000, inventoryDebounceMs: 5_000, progressDebounceMs: 2_000 },
});
await clusterAgent.start();
const requestsBefore = agentRequests;
const a0 = performance.now();
await clusterAgent.handleCommand({
  id: 'bench',
  type: MessageType.ClusterDesiredState,
  source: 'bench',
  time: new Date().toISOString(),
  key: clusterKey(cluster.name),
  partition: 0,
  offset: '0',
  data: {
    rolloutId: `bench-${id}`,
    wave: 0,
    generation: 1,
    epoch: 1,
    cluster: cluster.name,
    from: '1-24-5',
    to: '1-25-2',
    granularity: 'workload',
    maxUnavailable: N,
    halted: false,
    progressDeadlineSeconds: 1800,
    units: deployments.map((d) => ({ namespace: d.namespace, kind: 'Deployment', name: d.name, revision: '1-25-2' })),
  },
});
let dispatchMs: number | undefined;
let convergeMs: number | undefined;
for (;;) {
  const units = clusterAgent.units();
  const pending = units.filter((u) => u.state === 'pending').length;
  const converged = units.filter((u) => u.state === 'converged').length;
  if (dispatchMs === undefined && units.length === N && pending === 0) dispatchMs = performance.now() - a0;
  if (converged === N) {
    convergeMs = performance.now() - a0;
    break;
  }
  if (performance.now() - a0 > CONVERGE_LIMIT_MS) break;
  await new Promise((r) => setTimeout(r, 250));
}
const agentCalls = agentRequests - requestsBefore;
const failed = clusterAgent.units().filter((u) => u.state === 'failed');
await clusterAgent.stop();
client.close();

// ---- 2. the raw PATCH loop at the same budget ------------------------------------------------------------
let raw429 = 0;
const bucket = new TokenBucket(QPS, QPS * 2);
const r0 = performance.now();
await pool(deployments, CONCURRENCY, async (d) => {
  for (;;) {
    await bucket.take();
    const r = await kube(
      'PATCH',
      `/apis/apps/v1/namespaces/${d.namespace}/deployments/${d.name}`,
      {
        spec: {
          template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } },
        },
      },
      'application/merge-patch+json',
    );
    if (r.status === 429) {
      raw429++;
      continue;
    }
    if (r.status >= 300) throw new Error(`raw patch ${d.namespace}/${d.name}: ${r.status}`);
    return;
  }
});
const rawMs = performance.now() - r0;

// ---- report and clean up -----------------------------------------------------------------------------------
const s = (ms: number | undefined): string => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(1)} s`);
console.log(
  `agent: dispatch (every restart issued) ${s(dispatchMs)}, converged (rollouts complete, every pod Ready on 1-25-2) ${s(convergeMs)}${failed[0] ? `, ${failed.length} failed (${failed[0].reason})` : ''}`,
);
console.log(
  `agent: ${agentCalls} API requests after the command (${(agentCalls / N).toFixed(2)} per Deployment), 429 answers: ${agent429}`,
);
console.log(`raw PATCH loop: ${s(rawMs)} for ${N} restarts, 429 answers: ${raw429}`);
if (dispatchMs !== undefined)
  console.log(`ratio raw/agent (dispatch): ${((rawMs / dispatchMs) * 100).toFixed(0)}% (target ≥ 80%)`);
await pool(namespaces, 8, (ns) => kube('DELETE', `/api/v1/namespaces/${ns}`));
await pool(nodes, 8, (name) => kube('DELETE', `/api/v1/nodes/${name}`));
agent.destroy();
process.exit(0);

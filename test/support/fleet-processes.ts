// The whole fleet as separate OS processes, started exactly as README's "Run it for real" says (the committed
// bins, the variables and flags every service documents, no test-only wiring): planner replicas, one
// cluster-agent per test apiserver (under the chart's ServiceAccount and RBAC), the vm-bridge and vm-agent
// processes, on the real Kafka, Redis and kube-apiservers (kwok, injector double) of test/env. Each fleet has
// its own topics, Redis key prefix, cluster names and namespaces, so it shares the servers with other tests.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  NEW,
  OLD,
  ensureDefaultIstiods,
  newAdminClients,
  newNamespace,
  newWorkload,
  type AdminClients,
} from '../integration/cluster-agent/fixtures.ts';
import { newChartIdentity, type ChartIdentity } from '../integration/cluster-agent/chart-identity.ts';
import {
  ENROLLMENT_TOKEN,
  newAgentProcess,
  newTestBundle,
  stopAgents,
  type AgentProcess,
  type TestBundle,
} from '../integration/vm-bridge/vm-fleet-support.ts';
import { hashToken } from '@meshwave/vm-bridge';
import { registerAgentWebhook, type AgentWebhook } from './chart-webhook.ts';
import { loadTestEnv, type ClusterEnv, type TestEnv } from './env.ts';
import { eventually } from './eventually.ts';
import { freePort } from './ports.ts';
import { newSigningFleet, type SigningFleet } from './signing-fleet.ts';
import { ServiceBin, ServiceProcess, repoRoot } from './service-process.ts';

export { NEW, OLD };
/** The label every pod of a fleet's workloads carries: `<RUN_LABEL>=<fleet id>`. */
export const RUN_LABEL = 'meshwave.test/drill';
export const API_TOKEN = 'fleet-drill-admin-token-0123456789';

export interface FleetOptions {
  /** test apiservers used, one cluster-agent each (default: all of the environment's) */
  readonly clusters?: number;
  /** namespaces per cluster, each holding `deploymentsPerNamespace` Deployments (default 2 × 2) */
  readonly namespacesPerCluster?: number;
  readonly deploymentsPerNamespace?: number;
  /** vm-agent processes in the one VM group (default 8) */
  readonly vmHosts?: number;
  readonly plannerReplicas?: number;
  /** documented variables set on every service (e.g. OTEL_EXPORTER_OTLP_*); default telemetry off */
  readonly env?: Readonly<Record<string, string>>;
  /** extra pod-template labels of a Deployment, by cluster (1-based), namespace and Deployment index */
  readonly templateLabels?: (cluster: number, namespace: number, deployment: number) => Record<string, string>;
  /** the agents' --progress-deadline (default 120 s) */
  readonly progressDeadlineSeconds?: number;
  /**
   * label each namespace `istio.io/rev=OLD` instead of each workload's pod template (Istio's docs' way; the agent
   * hands the namespace's label over to its workloads before moving them one by one)
   */
  readonly namespaceLabelled?: boolean;
  /** more versions the vm-bridge has a (healthy) bundle for, besides OLD and NEW */
  readonly extraVersions?: readonly string[];
  /** each agent's admission webhook registered as its chart does (`webhook.enabled`); default true, false: none */
  readonly webhooks?: boolean;
}

export interface FleetCluster {
  /** the name the agent reports (MESHWAVE_CLUSTER): unique per fleet */
  readonly name: string;
  readonly env: ClusterEnv;
  readonly admin: AdminClients;
  readonly identity: ChartIdentity;
  readonly namespaces: readonly string[];
  /** `namespace/name` of every Deployment of the fleet in this cluster */
  readonly deployments: readonly string[];
  /** the agent's admission webhook, with `webhooks` */
  readonly webhook?: AgentWebhook;
}

export interface Fleet {
  readonly id: string;
  readonly dir: string;
  readonly env: TestEnv;
  readonly topics: { readonly commands: string; readonly events: string; readonly dlq: string };
  readonly keyPrefix: string;
  /** each process's own Ed25519 keys (ADR 0038), laid out as README's "Run it for real" says */
  readonly signing: SigningFleet;
  readonly vmGroup: string;
  readonly clusters: readonly FleetCluster[];
  readonly planners: ServiceProcess[];
  readonly agents: Map<string, ServiceProcess>;
  readonly bridge: ServiceProcess;
  readonly vmAgents: readonly AgentProcess[];
  readonly bundles: { readonly from: TestBundle; readonly to: TestBundle };
  /** the environment service `who` ('planner', 'vm-bridge' or a cluster name) runs with, plus its own variables */
  serviceEnv(who: string, own: Readonly<Record<string, string>>): Record<string, string>;
  /** starts one more planner replica (a Deployment replacing a killed pod) */
  startPlanner(name: string): ServiceProcess;
  /** starts another cluster-agent process for `cluster` (same chart identity and lease) under `name` */
  startAgent(cluster: FleetCluster, name: string): ServiceProcess;
  stop(): Promise<void>;
}

/** Planner lease (MESHWAVE_LEASE_TTL_MS) in the drills: the chart's is 10 s; short so a takeover fits a test. */
export const PLANNER_LEASE_TTL_MS = 3000;

/** How often the cluster-agents and the bridge re-send their whole progress in the drills (README: default 30 s). */
export const REPORT_RESEND_MS = 5000;

/** Watches a state that must stay as it is for two report/resync intervals: anything re-sent or resumed shows by then. */
export const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 2 * REPORT_RESEND_MS));

let built = false;
/** The bins import dist/: build once per test run. */
export function buildServices(): void {
  if (built) return;
  execFileSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-b'], {
    cwd: repoRoot,
    stdio: 'pipe',
  });
  built = true;
}

const clusterName = (fleetId: string, index: number): string => `dr-${fleetId}-${index}`;

async function newClusterWorkloads(
  fleet: { id: string; dir: string },
  index: number,
  cluster: ClusterEnv,
  options: Required<Pick<FleetOptions, 'namespacesPerCluster' | 'deploymentsPerNamespace'>> &
    Pick<FleetOptions, 'templateLabels' | 'namespaceLabelled' | 'webhooks'>,
): Promise<FleetCluster> {
  const admin = newAdminClients(cluster.kubeconfig);
  await ensureDefaultIstiods(admin);
  const identity = await newChartIdentity(cluster, admin, `mw-${fleet.id}-${index}`);
  const namespaces: string[] = [];
  const deployments: string[] = [];
  for (let n = 0; n < options.namespacesPerCluster; n++) {
    // By default no revision label on the namespace: each workload's pod template says its revision (Istio's
    // object selector); `namespaceLabelled` labels the namespace instead.
    const ns = `dr-${fleet.id}-${index}-${n}`;
    const onOld = { 'istio.io/rev': OLD };
    await newNamespace(admin, ns, { [RUN_LABEL]: fleet.id, ...(options.namespaceLabelled ? onOld : {}) });
    namespaces.push(ns);
    for (let d = 0; d < options.deploymentsPerNamespace; d++) {
      const name = `app${d}`;
      await newWorkload(admin, {
        namespace: ns,
        kind: 'Deployment',
        name,
        replicas: 1,
        templateLabels: {
          ...options.templateLabels?.(index, n, d),
          ...(options.namespaceLabelled ? {} : onOld),
          [RUN_LABEL]: fleet.id,
        },
      });
      deployments.push(`${ns}/${name}`);
    }
  }
  const name = clusterName(fleet.id, index);
  const webhook = options.webhooks
    ? await registerAgentWebhook(cluster, admin.admission, name, namespaces, fleet.dir)
    : undefined;
  return { name, env: cluster, admin, identity, namespaces, deployments, ...(webhook ? { webhook } : {}) };
}

/** What every launcher of one fleet shares: its names, topics, keys and the processes it started. */
interface FleetContext {
  readonly id: string;
  readonly dir: string;
  readonly env: TestEnv;
  readonly topics: Fleet['topics'];
  readonly keyPrefix: string;
  readonly signing: Fleet['signing'];
  readonly vmGroup: string;
  readonly options: FleetOptions;
  readonly processes: ServiceProcess[];
}

function newFleetContext(options: FleetOptions): FleetContext {
  const env = loadTestEnv({ needClusters: options.clusters ?? 1 });
  const id = randomBytes(3).toString('hex');
  const clusters = Math.min(options.clusters ?? env.clusters.length, env.clusters.length);
  return {
    id,
    dir: fs.mkdtempSync(path.join(os.tmpdir(), `meshwave-fleet-${id}-`)),
    env,
    topics: { commands: `fleet-${id}.commands`, events: `fleet-${id}.events`, dlq: `fleet-${id}.dlq` },
    keyPrefix: `fleet-${id}`,
    signing: newSigningFleet(Array.from({ length: clusters }, (_, i) => clusterName(id, i + 1))),
    vmGroup: `dr-${id}-vms`,
    options,
    processes: [],
  };
}

/** The services of README's "Run it for real", each started with the variables it documents. */
function serviceLaunchers(ctx: FleetContext) {
  const serviceEnv = (who: string, own: Readonly<Record<string, string>>): Record<string, string> => ({
    MESHWAVE_KAFKA_BROKERS: ctx.env.kafka.brokers.join(','),
    MESHWAVE_REDIS_URL: ctx.env.redis.url,
    MESHWAVE_REDIS_KEY_PREFIX: ctx.keyPrefix,
    MESHWAVE_TOPIC_COMMANDS: ctx.topics.commands,
    MESHWAVE_TOPIC_EVENTS: ctx.topics.events,
    MESHWAVE_TOPIC_DLQ: ctx.topics.dlq,
    MESHWAVE_HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    OTEL_SDK_DISABLED: 'true',
    ...ctx.signing.envFor(who),
    ...ctx.options.env,
    ...own,
  });
  const start = (name: string, bin: ServiceBin, env: Record<string, string>, args: string[] = []): ServiceProcess => {
    const p = new ServiceProcess({ name, bin, args, env, logFile: path.join(ctx.dir, `${name}.log`) });
    ctx.processes.push(p);
    return p;
  };
  return {
    serviceEnv,
    startPlanner: (name: string): ServiceProcess =>
      start(
        name,
        ServiceBin.planner,
        serviceEnv('planner', {
          MESHWAVE_PORT: '0',
          MESHWAVE_INSTANCE_ID: name,
          MESHWAVE_TOKENS: JSON.stringify([{ name: 'drill', role: 'admin', token: API_TOKEN }]),
          MESHWAVE_LEASE_TTL_MS: String(PLANNER_LEASE_TTL_MS),
          MESHWAVE_KAFKA_SESSION_TIMEOUT_MS: '6000',
          MESHWAVE_EVENTS_GROUP_ID: `fleet-${ctx.id}-planner`,
        }),
      ),
    startAgent: (cluster: FleetCluster, name: string): ServiceProcess =>
      start(
        name,
        ServiceBin.clusterAgent,
        serviceEnv(cluster.name, {
          KUBECONFIG: cluster.identity.kubeconfig,
          MESHWAVE_METRICS_PORT: '0',
          MESHWAVE_LEASE_NAMESPACE: cluster.identity.namespace,
          MESHWAVE_LEASE_NAME: cluster.identity.fullname,
          MESHWAVE_INSTANCE_ID: name,
          MESHWAVE_PROGRESS_DEADLINE_SECONDS: String(ctx.options.progressDeadlineSeconds ?? 120),
          MESHWAVE_REPORT_RESEND_MS: String(REPORT_RESEND_MS),
          ...cluster.webhook?.env,
        }),
        ['--cluster', cluster.name],
      ),
    startBridge: (configFile: string): ServiceProcess =>
      start('vm-bridge', ServiceBin.vmBridge, serviceEnv('vm-bridge', { MESHWAVE_INSTANCE_ID: 'vm-bridge-0' }), [
        '--config',
        configFile,
      ]),
  };
}

/** The bridge's config file and the two bundles it serves; returns the file and the bridge's URL. */
async function newBridgeConfig(ctx: FleetContext): Promise<{ file: string; url: string; bundles: Fleet['bundles'] }> {
  const bundleDir = path.join(ctx.dir, 'bundles');
  fs.mkdirSync(bundleDir);
  const bundles = {
    from: await newTestBundle(bundleDir, OLD, { ready: true }),
    to: await newTestBundle(bundleDir, NEW, { ready: true }),
  };
  for (const v of ctx.options.extraVersions ?? []) await newTestBundle(bundleDir, v, { ready: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const file = path.join(ctx.dir, 'vm-bridge.yaml');
  fs.writeFileSync(
    file,
    JSON.stringify({
      listen: { host: '127.0.0.1', port },
      groups: [{ name: ctx.vmGroup, enrollmentTokenSha256: hashToken(ENROLLMENT_TOKEN) }],
      bundleDir,
      bundleBaseUrl: `${url}/v1/bundles`,
      settings: {
        leaseTtlSeconds: 3,
        tickMs: 250,
        reportResendSeconds: REPORT_RESEND_MS / 1000,
        batchTimeoutSeconds: 120,
      },
    }),
  );
  return { file, url, bundles };
}

/** Starts a fleet; `stop()` ends every process and removes what it created on the apiservers. */
export async function startFleet(options: FleetOptions = {}): Promise<Fleet> {
  buildServices();
  const ctx = newFleetContext(options);
  const launch = serviceLaunchers(ctx);
  const clusters: FleetCluster[] = [];
  const vmAgents: AgentProcess[] = [];
  const stop = async (): Promise<void> => {
    await stopAgents(vmAgents);
    await Promise.all(ctx.processes.map((p) => p.close()));
    for (const c of clusters) {
      await c.webhook?.remove();
      for (const ns of c.namespaces) await c.admin.core.deleteNamespace({ name: ns }).catch(() => undefined);
      await c.identity.cleanup();
    }
    if (process.env['KEEP_FLEET_LOGS'] === undefined) {
      fs.rmSync(ctx.dir, { recursive: true, force: true });
      ctx.signing.cleanup();
    }
  };
  try {
    const shape = {
      namespacesPerCluster: options.namespacesPerCluster ?? 2,
      deploymentsPerNamespace: options.deploymentsPerNamespace ?? 2,
      ...(options.templateLabels ? { templateLabels: options.templateLabels } : {}),
      ...(options.namespaceLabelled ? { namespaceLabelled: true } : {}),
      ...(options.webhooks !== false ? { webhooks: true } : {}),
    };
    const used = ctx.env.clusters.slice(0, options.clusters ?? ctx.env.clusters.length);
    for (const [i, c] of used.entries()) clusters.push(await newClusterWorkloads(ctx, i + 1, c, shape));
    const bridgeConfig = await newBridgeConfig(ctx);
    const planners = Array.from({ length: options.plannerReplicas ?? 2 }, (_, i) =>
      launch.startPlanner(`planner-${i}`),
    );
    const agents = new Map(clusters.map((c) => [c.name, launch.startAgent(c, `agent-${c.name}-a`)]));
    const bridge = launch.startBridge(bridgeConfig.file);
    await bridge.waitForLine(/vm-bridge listening/);
    for (let h = 0; h < (options.vmHosts ?? 8); h++)
      vmAgents.push(
        await newAgentProcess({
          host: `vm-${h}`,
          group: ctx.vmGroup,
          bridgeUrl: bridgeConfig.url,
          workDir: path.join(ctx.dir, 'hosts'),
          initial: bridgeConfig.bundles.from,
          logFile: path.join(ctx.dir, 'vm-agents.log'),
          ...(options.env !== undefined ? { env: { ...options.env } } : {}),
        }),
      );
    for (const p of planners) await p.waitForLine(/planner listening/);
    const { id, dir, env, topics, keyPrefix, signing, vmGroup } = ctx;
    return {
      ...{ id, dir, env, topics, keyPrefix, signing, vmGroup },
      ...{ clusters, planners, agents, bridge, vmAgents, bundles: bridgeConfig.bundles, stop },
      ...launch,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The planner's API address, from its own "planner listening" log line. */
export function plannerUrl(p: ServiceProcess): string {
  const line = p.messages('planner listening').at(-1);
  const address = line?.['address'];
  if (typeof address !== 'string') throw new Error(`${p.name} has not said where it listens`);
  return address;
}

/**
 * Registers the VM group and its hosts with the planner (`PUT /v1/inventory`: VM groups are the operator's
 * inventory; the bridge reports only their versions), then waits until every cluster agent's inventory arrived.
 */
export async function registerInventory(fleet: Fleet, call: FleetApi): Promise<void> {
  const inventory = {
    clusters: [],
    vmGroups: [
      {
        name: fleet.vmGroup,
        labels: {},
        hosts: fleet.vmAgents.map((a) => ({ name: a.host, version: OLD })),
      },
    ],
  };
  await eventually(
    'the VM group registered',
    async () => (await call('PUT', '/v1/inventory', JSON.stringify(inventory), 'application/json')).status === 204,
    60_000,
  );
  await eventually(
    'every cluster and the VM group in the planner inventory',
    async () => {
      const r = await call<{ clusters: { name: string }[]; vmGroups: { name: string; hosts: number }[] }>(
        'GET',
        '/v1/fleet',
      );
      const names = new Set(r.body.clusters.map((c) => c.name));
      const group = r.body.vmGroups.find((g) => g.name === fleet.vmGroup);
      return fleet.clusters.every((c) => names.has(c.name)) && group?.hosts === fleet.vmAgents.length;
    },
    180_000,
  );
}

export type FleetApi = <T = unknown>(
  method: string,
  route: string,
  body?: string,
  contentType?: string,
) => Promise<{ status: number; body: T }>;

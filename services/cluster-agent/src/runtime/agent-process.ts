import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { clusterKey } from '@meshwave/contracts';
import { createBusFor, type EventBus } from '@meshwave/bus';
import { createStoreFor, type StateStore } from '@meshwave/store';
import { createLogger, startTelemetry, type Logger } from '@meshwave/telemetry';
import type { AgentConfig } from '../config/agent-config.js';
import { AgentMetrics } from '../metrics/agent-metrics.js';
import { startWebhookServer, type WebhookServer } from '../http/admission-webhook.js';
import {
  AGENT_VERSION,
  createClusterAgent,
  type AssignmentSource,
  type ClusterAgent,
  type ClusterAgentOptions,
} from './cluster-agent.js';
import { createKubernetesClient, type KubernetesClient } from '../adapters/kubernetes-client.js';
import { createApiserverCondition, type ApiserverCondition } from './apiserver-condition.js';
import { startLeaderElection, type LeaderElection } from './leader-election.js';
import { followLedger, watchHandoffs } from './ledger-follower.js';
import { startProbeServer } from '../http/probe-server.js';

export interface AgentProcess {
  /** graceful: releases the lease, closes the bus, store, servers */
  stop(): Promise<void>;
  readonly metricsPort: number;
  readonly webhookPort: number | undefined;
  /** this replica runs the converge loop (holds the lease, or runs without election) */
  isLeader(): boolean;
}

const processLogger = (config: AgentConfig): Logger =>
  createLogger({
    service: 'cluster-agent',
    level: config.logLevel,
    base: { cluster: config.cluster, instance: config.identity },
  });

/** The Kubernetes client (and the apiserver's reachability its calls show), bus and store the config names. */
function connect(
  config: AgentConfig,
  log: Logger,
  metrics: AgentMetrics,
): { kube: KubernetesClient; apiserver: ApiserverCondition; bus: EventBus; store: StateStore } {
  const apiserver = createApiserverCondition();
  const kube: KubernetesClient = createKubernetesClient({
    ...(config.kubeconfig ? { kubeconfig: config.kubeconfig } : {}),
    qps: config.qps,
    burst: config.burst,
    logger: log,
    onResponse: (verb, status) => {
      metrics.recordApiResponse(verb, status);
      apiserver.record(status);
    },
  });
  const source = clusterKey(config.cluster);
  if (config.backing.mode === 'in-memory')
    log.warn('in-memory bus and store (--in-memory): no planner outside this process reaches this agent');
  const bus: EventBus = createBusFor(config.backing, {
    source,
    // In memory nothing leaves the process, so a key of its own is enough when none is configured.
    signing: config.signing ?? { keys: [{ id: 'in-memory', secret: randomBytes(32) }], activeKeyId: 'in-memory' },
    logger: log,
  });
  const store: StateStore = createStoreFor(config.backing);
  return { kube, apiserver, bus, store };
}

/** The admission webhook, when the config gives it a certificate. */
async function startWebhook(
  config: AgentConfig,
  assignments: AssignmentSource,
  log: Logger,
): Promise<WebhookServer | undefined> {
  if (!config.webhookCertFile || !config.webhookKeyFile) return undefined;
  const [cert, key] = await Promise.all([readFile(config.webhookCertFile), readFile(config.webhookKeyFile)]);
  const clientCa = config.webhookClientCaFile === undefined ? undefined : await readFile(config.webhookClientCaFile);
  const webhook = await startWebhookServer({
    assignments,
    cert,
    key,
    ...(clientCa !== undefined ? { clientCa } : {}),
    port: config.webhookPort,
    host: config.bindHost,
    logger: log,
  });
  log.info({ port: webhook.port }, 'admission webhook listening');
  return webhook;
}

/** Wires the agent from its config: Kubernetes client, bus, store, leader election, webhook, /metrics. */
/** The converge loop of the replica that leads, on the process's connections. */
function leaderOptions(
  config: AgentConfig,
  { kube, apiserver, bus, store }: ReturnType<typeof connect>,
  { log, metrics, epoch }: { log: Logger; metrics: AgentMetrics; epoch: number },
): ClusterAgentOptions {
  return {
    cluster: config.cluster,
    kubernetes: kube,
    // the chart grants these writes with `gatewayCanary`; without it a gateway step fails on the refusal
    gateways: kube,
    meshConfig: kube,
    ambient: kube,
    bus,
    store,
    logger: log,
    metrics,
    epoch,
    clusterLabels: config.clusterLabels,
    version: AGENT_VERSION,
    progressDeadlineSeconds: config.progressDeadlineSeconds,
    eventLoopDelayThresholdMs: config.eventLoopDelayThresholdMs,
    intervals: { reportResendMs: config.reportResendMs },
    apiserver,
  };
}

export async function startAgentProcess(
  config: AgentConfig,
  options: {
    readonly logger?: Logger;
    /** what to do when the replica must not go on (lost lease, failed start); default: exit 1 so the pod restarts */
    readonly onFatal?: (reason: string) => void;
  } = {},
): Promise<AgentProcess> {
  const log = options.logger ?? processLogger(config);
  const telemetry = startTelemetry({ serviceName: 'meshwave-cluster-agent' });
  const metrics = new AgentMetrics(config.cluster);
  const connection = connect(config, log, metrics);
  const { kube, apiserver, bus, store } = connection;
  const follower = followLedger(store, config.cluster, log);
  let agent: ClusterAgent | undefined;
  /** the converge loop of this replica has started: it takes commands (a halt included) */
  let started = false;
  let election: LeaderElection | undefined;
  let stopping = false;
  const fatal =
    options.onFatal ??
    ((reason: string): void => {
      log.error({ reason }, 'exiting so the pod restarts');
      process.exit(1);
    });

  const handoffs = watchHandoffs(kube);
  const assignmentsNow: AssignmentSource = {
    revisionFor: (ns, w) => (agent ?? follower).revisionFor(ns, w),
    handoffRevisionOf: (ns) => handoffs.revisionOf(ns),
  };

  const webhook = await startWebhook(config, assignmentsNow, log);

  const probes = await startProbeServer({
    metrics,
    port: config.metricsPort,
    host: config.bindHost,
    role: () => (agent === undefined ? 'standby' : started ? 'leader' : 'starting'),
  });
  log.info({ port: probes.port }, 'probes listening');

  const lead = async (epoch: number): Promise<void> => {
    log.info({ epoch }, 'leading: starting the converge loop');
    agent = createClusterAgent(leaderOptions(config, connection, { log, metrics, epoch }));
    try {
      await agent.start();
      started = true;
    } catch (err) {
      log.error({ err }, 'the agent failed to start');
      fatal('agent start failed');
    }
  };

  if (config.leaderElect) {
    election = startLeaderElection({
      port: kube,
      namespace: config.leaseNamespace,
      name: config.leaseName,
      identity: config.identity,
      onStartedLeading: (epoch) => void lead(epoch),
      onStoppedLeading: () => {
        // As controller-runtime does: a replica that lost its lease exits and comes back as a standby, rather
        // than risk two leaders acting at once.
        if (!stopping) fatal('lost the leader lease');
      },
    });
  } else {
    await lead(1);
  }

  return {
    metricsPort: probes.port,
    webhookPort: webhook?.port,
    isLeader: () => agent !== undefined,
    async stop() {
      stopping = true;
      await agent?.stop();
      await election?.stop().catch(() => {});
      follower.stop();
      handoffs.stop();
      await webhook?.close();
      await probes.close();
      kube.close();
      apiserver.stop();
      await bus.close();
      await store.close();
      await telemetry.shutdown();
    },
  };
}

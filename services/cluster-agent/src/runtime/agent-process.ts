import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { clusterKey, unitKey } from '@meshwave/contracts';
import { createBusFor, type EventBus } from '@meshwave/bus';
import { createStoreFor, type StateStore } from '@meshwave/store';
import { createLogger, startTelemetry, type Logger } from '@meshwave/telemetry';
import type { AgentConfig } from '../config/agent-config.js';
import { AgentMetrics } from '../metrics/agent-metrics.js';
import { startWebhookServer, type WebhookServer } from '../http/admission-webhook.js';
import { AGENT_VERSION, createClusterAgent, type AssignmentSource, type ClusterAgent } from './cluster-agent.js';
import { assignments, emptyLedger, type CommandLedger } from '../core/command-ledger.js';
import { createKubernetesClient, type KubernetesClient } from '../adapters/kubernetes-client.js';
import { startLeaderElection, type LeaderElection } from './leader-election.js';
import { MeshwaveLabel } from '@meshwave/istio';

export interface AgentProcess {
  /** graceful: releases the lease, closes the bus, store, servers */
  stop(): Promise<void>;
  readonly metricsPort: number;
  readonly webhookPort: number | undefined;
  /** this replica runs the converge loop (holds the lease, or runs without election) */
  isLeader(): boolean;
}

/**
 * What a replica that is not the leader answers the webhook with: the ledger the leader persisted, re-read
 * every few seconds. Every replica serves the webhook; only the leader converges.
 */
function followLedger(store: StateStore, cluster: string, log: Logger): AssignmentSource & { stop(): void } {
  let units = new Map<string, string>();
  const refresh = async (): Promise<void> => {
    try {
      const doc = await store.read(`cluster-agent/${cluster}`, 'ledger');
      const ledger = (doc?.value as CommandLedger | undefined) ?? emptyLedger();
      units = new Map(assignments(ledger).units.map((u) => [unitKey(u.target), u.target.revision]));
    } catch (err) {
      log.warn({ err }, 'reading the ledger for the webhook failed; keeping the last one');
    }
  };
  void refresh();
  const timer = setInterval(() => void refresh(), 5_000);
  timer.unref();
  return {
    revisionFor: (namespace, workload) =>
      units.get(workload ? unitKey({ namespace, kind: workload.kind, name: workload.name }) : namespace),
    stop: () => clearInterval(timer),
  };
}

/** Wires the agent from its config: Kubernetes client, bus, store, leader election, webhook, /metrics. */
export async function startAgentProcess(
  config: AgentConfig,
  options: {
    readonly logger?: Logger;
    /** what to do when the replica must not go on (lost lease, failed start); default: exit 1 so the pod restarts */
    readonly onFatal?: (reason: string) => void;
  } = {},
): Promise<AgentProcess> {
  const log =
    options.logger ??
    createLogger({
      service: 'cluster-agent',
      level: config.logLevel,
      base: { cluster: config.cluster, instance: config.identity },
    });
  const telemetry = startTelemetry({ serviceName: 'meshwave-cluster-agent' });
  const metrics = new AgentMetrics(config.cluster);
  const kube: KubernetesClient = createKubernetesClient({
    ...(config.kubeconfig ? { kubeconfig: config.kubeconfig } : {}),
    qps: config.qps,
    burst: config.burst,
    logger: log,
    onResponse: (verb, status) => metrics.recordApiResponse(verb, status),
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
  const follower = followLedger(store, config.cluster, log);
  let agent: ClusterAgent | undefined;
  let election: LeaderElection | undefined;
  let stopping = false;
  const fatal =
    options.onFatal ??
    ((reason: string): void => {
      log.error({ reason }, 'exiting so the pod restarts');
      process.exit(1);
    });

  // Every replica serves the webhook, leader or not: it watches the namespaces' handoff labels itself (ADR 0011).
  const handoffs = new Map<string, string>();
  const namespaceWatch = kube.watch('namespaces', (event) => {
    const objects = event.type === 'resync' ? event.objects : [event.object];
    if (event.type === 'resync') handoffs.clear();
    for (const ns of objects) {
      const revision = event.type === 'delete' ? undefined : ns.labels[MeshwaveLabel.HandoffOf];
      if (revision === undefined) handoffs.delete(ns.name);
      else handoffs.set(ns.name, revision);
    }
  });
  const assignmentsNow: AssignmentSource = {
    revisionFor: (ns, w) => (agent ?? follower).revisionFor(ns, w),
    handoffRevisionOf: (ns) => handoffs.get(ns),
  };

  let webhook: WebhookServer | undefined;
  if (config.webhookCertFile && config.webhookKeyFile) {
    const [cert, key] = await Promise.all([readFile(config.webhookCertFile), readFile(config.webhookKeyFile)]);
    webhook = await startWebhookServer({
      assignments: assignmentsNow,
      cert,
      key,
      port: config.webhookPort,
      host: config.bindHost,
      logger: log,
    });
    log.info({ port: webhook.port }, 'admission webhook listening');
  }

  const httpServer: Server = createServer((req, res) => {
    if (req.url === '/metrics') {
      void metrics
        .render()
        .then(({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body));
    } else if (req.url === '/healthz') {
      res.writeHead(200).end('ok');
    } else if (req.url === '/readyz') {
      res.writeHead(200).end(agent ? 'leader' : 'standby');
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => httpServer.listen(config.metricsPort, config.bindHost, resolve));
  const address = httpServer.address();
  const metricsPort = typeof address === 'object' && address ? address.port : config.metricsPort;

  const lead = async (epoch: number): Promise<void> => {
    log.info({ epoch }, 'leading: starting the converge loop');
    agent = createClusterAgent({
      cluster: config.cluster,
      kubernetes: kube,
      bus,
      store,
      logger: log,
      metrics,
      epoch,
      clusterLabels: config.clusterLabels,
      version: AGENT_VERSION,
      progressDeadlineSeconds: config.progressDeadlineSeconds,
    });
    try {
      await agent.start();
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
    metricsPort,
    webhookPort: webhook?.port,
    isLeader: () => agent !== undefined,
    async stop() {
      stopping = true;
      await agent?.stop();
      await election?.stop().catch(() => {});
      follower.stop();
      namespaceWatch.stop();
      await webhook?.close();
      await new Promise<void>((r) => httpServer.close(() => r()));
      kube.close();
      await bus.close();
      await store.close();
      await telemetry.shutdown();
    },
  };
}

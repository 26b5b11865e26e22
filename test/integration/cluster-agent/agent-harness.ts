// An agent on a real apiserver, as it runs in a cluster: the chart's RBAC identity, real Kafka topics (unique
// per test file) and real Redis (its own key prefix), plus a planner-side bus to send commands and read events.
import { randomUUID } from 'node:crypto';
import { createKafkaBus, type EventBus, type IncomingMessage } from '@meshwave/bus';
import { createRedisStore, type StateStore } from '@meshwave/store';
import {
  MessageType,
  clusterKey,
  type ClusterDesiredState,
  type HaltCommand,
  type InventoryDelta,
  type InventoryReport,
  type UnitProgress,
} from '@meshwave/contracts';
import { applyInventoryDelta } from '@meshwave/planner';
import {
  createClusterAgent,
  createKubernetesClient,
  type ClusterAgent,
  type KubernetesClient,
  type WorkloadView,
  type PodView,
} from '@meshwave/cluster-agent';
import { suppressKafkaJsTimeoutNegativeWarning, type ClusterEnv, type TestEnv } from '../../support/env.ts';
import { newChartIdentity, type ChartIdentity } from './chart-identity.ts';
import { NEW, OLD, ensureDefaultIstiods, newAdminClients, uniqueName, type AdminClients } from './fixtures.ts';
import { heldProgress } from '../../support/report-messages.js';

const SIGNING = { keys: [{ id: 'it', secret: 'integration-test-signing-key-0123456789' }], activeKeyId: 'it' };

export interface AgentHarness {
  readonly admin: AdminClients;
  readonly identity: ChartIdentity;
  readonly store: StateStore;
  readonly events: IncomingMessage[];
  /** the topics of this harness (a planner under test publishes its commands there) */
  readonly topicNames: { readonly commands: string; readonly events: string; readonly dlq: string };
  agent: ClusterAgent | undefined;
  /** starts an agent (a fresh process would: new client, new bus, same store) */
  startAgent(): Promise<ClusterAgent>;
  /** stops the agent the way a killed process stops: nothing flushed, nothing released */
  killAgent(): Promise<void>;
  send(partial: Partial<ClusterDesiredState> & Pick<ClusterDesiredState, 'units'>): Promise<number>;
  halt(generation: number): Promise<void>;
  sendRaw(data: unknown, audience: string): Promise<void>;
  lastProgress(): UnitProgress | undefined;
  rejections(): string[];
  close(): Promise<void>;
}

export async function newAgentHarness(
  env: TestEnv,
  cluster: ClusterEnv,
  /** progressDeadlineSeconds: the agent's own (commands sent here state none, as the planner's do) */
  /** chartValues: `--set` values of the chart the agent's RBAC is rendered with */
  /** resyncMs: the agent's resync interval, which is also how long it trusts a control plane it found ready */
  options: {
    maxUnavailable?: number;
    progressDeadlineSeconds?: number;
    chartValues?: readonly string[];
    resyncMs?: number;
  } = {},
): Promise<AgentHarness> {
  suppressKafkaJsTimeoutNegativeWarning();
  const id = randomUUID().slice(0, 8);
  const admin = newAdminClients(cluster.kubeconfig);
  // the agent restarts nothing onto a revision whose istiod it does not see ready (ADR 0028)
  await ensureDefaultIstiods(admin);
  const identity = await newChartIdentity(cluster, admin, `meshwave-it-${id}`, options.chartValues);
  const topicNames = { commands: `it.${id}.commands`, events: `it.${id}.events`, dlq: `it.${id}.dlq` };
  const planner = createKafkaBus({
    brokers: env.kafka.brokers,
    source: 'planner',
    signing: SIGNING,
    topicNames,
    clientId: `planner-${id}`,
  });
  const store = createRedisStore({ url: env.redis.url, keyPrefix: `mw-it-${id}` });
  const events: IncomingMessage[] = [];
  await planner.subscribe({
    topic: 'events',
    groupId: `observer-${id}`,
    fromBeginning: true,
    handler: async (m) => void events.push(m),
  });
  let generation = 0;
  let agentBus: EventBus | undefined;
  let kube: KubernetesClient | undefined;
  const h: AgentHarness = {
    admin,
    identity,
    store,
    events,
    topicNames,
    agent: undefined,
    async startAgent() {
      kube = createKubernetesClient({ kubeconfig: identity.kubeconfig });
      agentBus = createKafkaBus({
        brokers: env.kafka.brokers,
        source: clusterKey(cluster.name),
        signing: SIGNING,
        topicNames,
        clientId: `agent-${id}`,
        shutdownGraceMs: 1_000,
      });
      h.agent = createClusterAgent({
        cluster: cluster.name,
        kubernetes: kube,
        gateways: kube,
        meshConfig: kube,
        ambient: kube,
        bus: agentBus,
        // its own consumer group: test files running side by side share a cluster, and one group across them
        // made each new agent wait for the group to rebalance around the others' (54-56 s in CI)
        groupId: `cluster-agent.${cluster.name}.${id}`,
        store,
        intervals: {
          resyncMs: options.resyncMs ?? 10_000,
          heartbeatMs: 5_000,
          inventoryDebounceMs: 500,
          progressDebounceMs: 200,
        },
        ...(options.progressDeadlineSeconds !== undefined
          ? { progressDeadlineSeconds: options.progressDeadlineSeconds }
          : {}),
      });
      await h.agent.start();
      return h.agent;
    },
    async killAgent() {
      await h.agent?.stop();
      kube?.close();
      await agentBus?.close();
      h.agent = undefined;
    },
    async send(partial) {
      generation = Math.max(generation + 1, partial.generation ?? 0);
      const data: ClusterDesiredState = {
        rolloutId: `rollout-${id}`,
        wave: 0,
        generation,
        epoch: 1,
        cluster: cluster.name,
        from: OLD,
        to: NEW,
        granularity: 'namespace',
        maxUnavailable: options.maxUnavailable ?? 1,
        halted: false,
        ...partial,
      };
      await planner.publish([
        {
          topic: 'commands',
          key: clusterKey(cluster.name),
          type: MessageType.ClusterDesiredState,
          data,
          audience: clusterKey(cluster.name),
        },
      ]);
      return data.generation;
    },
    async halt(gen) {
      const data: HaltCommand = {
        rolloutId: `rollout-${id}`,
        wave: 0,
        generation: gen,
        epoch: 1,
        target: clusterKey(cluster.name),
        reason: 'gate failed',
      };
      await planner.publish([
        {
          topic: 'commands',
          key: clusterKey(cluster.name),
          type: MessageType.Halt,
          data,
          audience: clusterKey(cluster.name),
        },
      ]);
    },
    async sendRaw(data, audience) {
      await planner.publish([
        {
          topic: 'commands',
          key: clusterKey(cluster.name),
          type: MessageType.ClusterDesiredState,
          data: data as ClusterDesiredState,
          audience,
        },
      ]);
    },
    lastProgress: () => heldProgress(events),
    rejections: () =>
      events.filter((e) => e.type === MessageType.CommandRejected).map((e) => (e.data as { reason: string }).reason),
    async close() {
      await h.killAgent();
      await planner.close();
      await store.close();
      await identity.cleanup();
    },
  };
  return h;
}

/**
 * Watches workloads and pods with its own (admin) client and records the most namespaces seen rolling at
 * once: a namespace rolls while one of its workloads has a newer generation than observed, fewer updated or
 * available replicas than desired, or more live pods than desired (old ones not yet gone).
 */
export function watchConcurrentRestarts(
  cluster: ClusterEnv,
  namespaces: readonly string[],
): { max(): number; stop(): void } {
  const client = createKubernetesClient({ kubeconfig: cluster.kubeconfig });
  const watched = new Set(namespaces);
  const workloads = new Map<string, WorkloadView>();
  const pods = new Map<string, PodView>();
  let max = 0;
  const evaluate = (): void => {
    const rolling = new Set<string>();
    for (const w of workloads.values()) {
      const live = [...pods.values()].filter(
        (p) =>
          p.namespace === w.namespace &&
          !p.terminating &&
          Object.entries(w.selector).every(([k, v]) => p.labels[k] === v),
      );
      if (
        w.observedGeneration < w.generation ||
        w.updatedReplicas < w.replicas ||
        w.availableReplicas < w.replicas ||
        live.length > w.replicas
      )
        rolling.add(w.namespace);
    }
    max = Math.max(max, rolling.size);
  };
  const handles = [
    client.watch('workloads', (e) => {
      const objs = e.type === 'resync' ? e.objects : [e.object];
      if (e.type === 'resync') workloads.clear();
      for (const w of objs) {
        if (!watched.has(w.namespace)) continue;
        if (e.type === 'delete') workloads.delete(`${w.namespace}/${w.name}`);
        else workloads.set(`${w.namespace}/${w.name}`, w);
      }
      evaluate();
    }),
    client.watch('pods', (e) => {
      const objs = e.type === 'resync' ? e.objects : [e.object];
      if (e.type === 'resync') pods.clear();
      for (const p of objs) {
        if (!watched.has(p.namespace)) continue;
        if (e.type === 'delete') pods.delete(`${p.namespace}/${p.name}`);
        else pods.set(`${p.namespace}/${p.name}`, p);
      }
      evaluate();
    }),
  ];
  return {
    max: () => max,
    stop: () => {
      for (const h of handles) h.stop();
      client.close();
    },
  };
}

export { uniqueName };

/** The cluster's inventory as the planner holds it: the last whole report with the deltas after it applied. */
export function heldInventory(h: Pick<AgentHarness, 'events'>): InventoryReport | undefined {
  let held: InventoryReport | undefined;
  for (const e of h.events) {
    if (e.type === MessageType.Inventory) held = e.data as InventoryReport;
    else if (e.type === MessageType.InventoryDelta) {
      const outcome = applyInventoryDelta(held, e.data as InventoryDelta);
      if (outcome.kind === 'applied') held = outcome.report;
    }
  }
  return held;
}

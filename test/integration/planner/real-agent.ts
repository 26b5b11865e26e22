// A real cluster-agent for the planner process tests (gateway-rollout, ambient-rollout): in this process, on the
// run's Kafka topics, under a chart identity's RBAC, signing as `it-1`.
import { randomUUID } from 'node:crypto';
import { createKafkaBus, type EventBus } from '@meshwave/bus';
import { createClusterAgent, createKubernetesClient, type ClusterAgent } from '@meshwave/cluster-agent';
import { clusterKey, type TransitionPage } from '@meshwave/contracts';
import { createRedisStore, type StateStore } from '@meshwave/store';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { ClusterEnv, TestEnv } from '../../support/env.js';
import { newChartIdentity, type ChartIdentity } from '../cluster-agent/chart-identity.js';
import { ensureDefaultIstiods, newAdminClients, type AdminClients } from '../cluster-agent/fixtures.js';
import { buildPlanner, keys, stopAll } from './planner-processes.js';

/** The planner trusts the keys of it-1..3 (planner-processes.ts): the agent on the first apiserver is `it-1`. */
export const AGENT = 'it-1';

/** What a planner process test with a real agent shares: admin clients, its cleanups, and a way to start the agent. */
export interface AgentSuite {
  readonly admin: AdminClients;
  /** run after each test, newest first; then every planner is stopped */
  readonly cleanups: (() => Promise<unknown> | void)[];
  /** starts the real agent on the run's topics (under the suite's chart identity) */
  startAgent(topics: Record<string, string>): Promise<ClusterAgent>;
}

/**
 * Registers the suite's hooks: the planner built, the default istiods ensured and a chart identity made with the
 * chart's `values` (`ambient=true`, `gatewayCanary=true`) before all; cleanups and planners stopped after each test;
 * the identity removed after all.
 */
export function useAgentSuite(env: TestEnv, cluster: ClusterEnv, name: string, values: readonly string[]): AgentSuite {
  const admin = newAdminClients(cluster.kubeconfig);
  const cleanups: (() => Promise<unknown> | void)[] = [];
  let identity: ChartIdentity | undefined;
  beforeAll(async () => {
    buildPlanner();
    await ensureDefaultIstiods(admin);
    identity = await newChartIdentity(cluster, admin, `${name}-${randomUUID().slice(0, 8)}`, values);
  }, 300_000);
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await stopAll();
  });
  afterAll(async () => {
    await identity?.cleanup();
  });
  return { admin, cleanups, startAgent: (topics) => startRealAgent(env, identity!, topics, cleanups) };
}

/**
 * Starts a real agent named `it-1` on `topics` (its gateway and ambient ports on the apiserver: what it may do is
 * the identity's RBAC); `cleanups` gets what stops it.
 */
export async function startRealAgent(
  env: TestEnv,
  identity: ChartIdentity,
  topics: Record<string, string>,
  cleanups: (() => Promise<unknown> | void)[],
): Promise<ClusterAgent> {
  const kube = createKubernetesClient({ kubeconfig: identity.kubeconfig });
  const run = randomUUID().slice(0, 8);
  const bus: EventBus = createKafkaBus({
    brokers: env.kafka.brokers,
    source: clusterKey(AGENT),
    signing: keys.signingFor(AGENT),
    topicNames: topics,
    clientId: `real-agent-${run}`,
    shutdownGraceMs: 1_000,
  });
  const store: StateStore = createRedisStore({ url: env.redis.url, keyPrefix: `mw-real-${run}` });
  const agent = createClusterAgent({
    cluster: AGENT,
    kubernetes: kube,
    gateways: kube,
    ambient: kube,
    bus,
    // its own consumer group, as in agent-harness.ts: side-by-side test files must not share one
    groupId: `cluster-agent.${AGENT}.${run}`,
    store,
    intervals: { resyncMs: 5_000, heartbeatMs: 2_000, inventoryDebounceMs: 300, progressDebounceMs: 100 },
  });
  await agent.start();
  cleanups.push(async () => {
    await agent.stop();
    kube.close();
    await bus.close();
    await store.close();
  });
  return agent;
}

/** Per wave from `first` on, from its dispatch to its convergence, as the planner recorded them (for the note). */
export function stepTimes(page: TransitionPage, first = 1): string[] {
  const ts = [...page.transitions].sort((a, b) => a.seq - b.seq);
  const out: string[] = [];
  for (const d of ts.filter((t) => t.trigger === 'dispatched' && t.wave >= first)) {
    const c = ts.find((t) => t.trigger === 'converged' && t.wave === d.wave && t.seq > d.seq);
    if (c !== undefined) out.push(`wave ${d.wave}: ${Date.parse(c.at) - Date.parse(d.at)} ms`);
  }
  return out;
}

// Inventory deltas on the wire (ADR 0031): a real cluster-agent (on a simulated cluster) and the planner, on the
// test env's Kafka and Redis. The agent's whole inventory, then a delta of one new workload, reach the planner's
// fleet; a delta that does not follow what the planner holds makes it ask the agent, which answers whole.
import { randomBytes } from 'node:crypto';
import { createKafkaBus, type EventBus, type IncomingMessage } from '@meshwave/bus';
import { createClusterAgent, createSimulatedCluster, type ClusterAgent } from '@meshwave/cluster-agent';
import { MessageType, clusterKey, type InventoryReport } from '@meshwave/contracts';
import { createPlanner, type Planner } from '@meshwave/planner';
import { createRedisStore, type StateStore } from '@meshwave/store';
import { afterEach, describe, expect, it } from 'vitest';
import { loadTestEnv } from '../../support/env.js';
import { eventually } from '../../support/eventually.js';

const env = loadTestEnv();
const signing = { keys: [{ id: 'it', secret: 'meshwave-integration-signing-key-0123456789' }], activeKeyId: 'it' };
const CLUSTER = 'it-delta';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

function newWorld(): { bus: (source: string) => EventBus; store: StateStore; run: string } {
  const run = randomBytes(4).toString('hex');
  const topicNames = { commands: `it-${run}.commands`, events: `it-${run}.events`, dlq: `it-${run}.dlq` };
  const store = createRedisStore({ url: env.redis.url, keyPrefix: `it-${run}` });
  cleanups.push(() => store.close());
  const bus = (source: string): EventBus => {
    const b = createKafkaBus({
      brokers: env.kafka.brokers,
      source,
      signing,
      topicNames,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 1000,
    });
    cleanups.push(() => b.close());
    return b;
  };
  return { bus, store, run };
}

describe('inventory deltas on Kafka and Redis', () => {
  it('Given an agent and a planner, When a workload appears and later a delta misses its base, Then the planner applies the delta and asks for the whole inventory on the gap', async () => {
    const { bus, store, run } = newWorld();
    const sim = createSimulatedCluster({
      name: CLUSTER,
      revisions: ['1-24-5'],
      namespaces: [{ name: 'shop', labels: { 'istio.io/rev': '1-24-5' }, workloads: [{ name: 'web' }] }],
    });
    cleanups.push(async () => sim.close());
    // what the agent sends, as seen on the events topic by a reader of its own
    const sent: IncomingMessage[] = [];
    await bus('observer').subscribe({
      topic: 'events',
      groupId: `it-${run}-observer`,
      fromBeginning: true,
      types: [MessageType.Inventory, MessageType.InventoryDelta],
      handler: async (m) => void sent.push(m),
    });
    const planner: Planner = createPlanner({
      bus: bus('planner'),
      store,
      config: { instanceId: 'it', leaseTtlMs: 3000, leaseRenewMs: 500, eventsGroupId: `it-${run}-planner` },
    });
    cleanups.push(() => planner.stop());
    await planner.start();
    const agent: ClusterAgent = createClusterAgent({
      cluster: CLUSTER,
      kubernetes: sim,
      bus: bus(clusterKey(CLUSTER)),
      groupId: `it-${run}-agent`,
      intervals: { resyncMs: 3_600_000, inventoryDebounceMs: 100 },
    });
    cleanups.push(() => agent.stop());
    await agent.start();
    const workloadsAtPlanner = async (): Promise<string[]> =>
      (await planner.cluster(CLUSTER)).workloadList.map((w) => `${w.namespace}/${w.name}`).sort();

    // Given the agent's whole inventory at the planner
    await eventually('the whole inventory at the planner', async () =>
      (await workloadsAtPlanner()).length === 1 ? true : undefined,
    );

    // When a workload appears, Then it reaches the planner as a delta
    sim.createWorkload({ namespace: 'shop', name: 'cart' });
    await eventually('the new workload at the planner', async () =>
      (await workloadsAtPlanner()).includes('shop/cart') ? true : undefined,
    );
    expect(sent.map((m) => m.type)).toEqual([MessageType.Inventory, MessageType.InventoryDelta]);

    // When a delta on a generation the planner never got arrives, Then it asks and the agent answers whole
    const last = sent.at(-1)!.data as { generation: number };
    await bus(clusterKey(CLUSTER)).publish([
      {
        topic: 'events',
        key: clusterKey(CLUSTER),
        type: MessageType.InventoryDelta,
        data: {
          cluster: CLUSTER,
          labels: {},
          base: last.generation + 1,
          generation: last.generation + 2,
          upserted: [],
          removed: [{ namespace: 'shop', kind: 'Deployment', name: 'web' }],
        },
      },
    ]);
    const again = await eventually('a second whole inventory', async () => {
      const wholes = sent.filter((m) => m.type === MessageType.Inventory);
      return wholes.length > 1 ? (wholes.at(-1)!.data as InventoryReport) : undefined;
    });
    expect(again.workloads.map((w) => `${w.namespace}/${w.name}`).sort()).toEqual(['shop/cart', 'shop/web']);
    // the delta that did not follow was not applied
    expect(await workloadsAtPlanner()).toEqual(['shop/cart', 'shop/web']);
  });
});

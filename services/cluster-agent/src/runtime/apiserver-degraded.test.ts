import { afterEach, describe, expect, it } from 'vitest';
import { createInMemoryBroker, createInMemoryBus, type IncomingMessage } from '@meshwave/bus';
import { DegradedReason, clusterKey, type HealthReport } from '@meshwave/contracts';
import { createManualClock } from '@meshwave/reconcile';
import { createInMemoryStore } from '@meshwave/store';
import { createSimulatedCluster } from '../adapters/simulated-cluster.js';
import { createApiserverCondition } from './apiserver-condition.js';
import { createClusterAgent } from './cluster-agent.js';
import { healthOf, isHealth } from '../../../../test/support/report-messages.js';

const SIGNING = { keys: [{ id: 'k1', secret: 'x'.repeat(32) }], activeKeyId: 'k1' };
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function within(what: string, check: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never happened: ${what}`);
}

describe('cluster-agent: its apiserver unreachable', () => {
  it('Given the agent running, When its apiserver answers only network errors past the threshold, Then a health report says Degraded (apiserver-unreachable) at once, and the next after it answers again says nothing of it', async () => {
    const sim = createSimulatedCluster({ name: 'c1', revisions: ['1-24-5'], namespaces: [] });
    const broker = createInMemoryBroker();
    const planner = createInMemoryBus({ source: 'planner', signing: SIGNING, broker });
    const agentBus = createInMemoryBus({ source: clusterKey('c1'), signing: SIGNING, broker });
    const health: HealthReport[] = [];
    await planner.subscribe({
      topic: 'events',
      groupId: 'observer',
      fromBeginning: true,
      handler: async (m: IncomingMessage) => void (isHealth(m) && health.push(healthOf(m)!)),
    });
    const clock = createManualClock(Date.now());
    const apiserver = createApiserverCondition({ clock, afterMs: 3000 });
    const agent = createClusterAgent({
      cluster: 'c1',
      kubernetes: sim,
      bus: agentBus,
      store: createInMemoryStore(),
      intervals: { healthMs: 3_600_000 },
      apiserver,
    });
    closers.push(async () => {
      await agent.stop();
      sim.close();
      await Promise.all([planner.close(), agentBus.close()]);
    });
    await agent.start();
    const before = health.length;
    apiserver.record(0);
    await clock.advance(3000);
    await within('a Degraded health report', () => health.slice(before).some((h) => h.degraded !== undefined));
    expect(health.find((h) => h.degraded)?.degraded).toEqual({
      reason: DegradedReason.ApiserverUnreachable,
      unreachableMs: 3000,
    });
    const degradedAt = health.length;
    apiserver.record(200);
    await within('a health report after it answers again', () => health.length > degradedAt);
    expect(health.at(-1)?.degraded).toBeUndefined();
  });
});

import { createInMemoryBroker, createInMemoryBus, type EventBus } from '@meshwave/bus';
import { CommandRejectionReason, MessageType, Topic } from '@meshwave/contracts';
import { createInMemoryStore } from '@meshwave/store';
import { afterEach, describe, expect, it } from 'vitest';
import { PlannerMetrics } from '../metrics/planner-metrics.js';
import { createPlanner, type Planner } from './planner.js';

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function rejectedBy(metrics: PlannerMetrics): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const v of (await metrics.commandsRejected.get()).values) counts[String(v.labels.reason)] = v.value;
  return counts;
}

async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never saw: ${what}`);
}

describe('command rejections at the planner', () => {
  it("Given a VM bridge of the old spelling and a cluster agent, When both refuse a deposed leader's command, Then the planner counts one reason", async () => {
    const broker = createInMemoryBroker();
    const busFor = (source: string): EventBus => createInMemoryBus({ broker, source, signing });
    const metrics = new PlannerMetrics();
    const planner: Planner = createPlanner({
      bus: busFor('planner'),
      store: createInMemoryStore(),
      metrics,
      config: { instanceId: 'p1', leaseRenewMs: 50, leaseTtlMs: 500, timerTickMs: 20 },
    });
    const agents = busFor('agents');
    stops.push(
      () => planner.stop(),
      () => agents.close(),
    );
    await planner.start();
    await until('the planner leads', async () => (await planner.readiness()).leader);

    const refusal = (source: string, reason: string) => ({
      topic: Topic.Events,
      key: source,
      type: MessageType.CommandRejected,
      // An old bridge's free string: the type of today's producers does not allow it.
      data: { source, reason: reason as CommandRejectionReason, detail: 'epoch 1 < 2' },
    });
    await agents.publish([refusal('vm-bridge/web', 'StaleEpoch'), refusal('cluster-agent/c1', 'stale-epoch')]);
    await agents.publish([refusal('vm-bridge/db', 'quota-exceeded')]);

    await until('three refusals counted', async () =>
      Object.values(await rejectedBy(metrics)).reduce((a, b) => a + b, 0) === 3 ? true : false,
    );
    expect(await rejectedBy(metrics)).toEqual({
      [CommandRejectionReason.StaleEpoch]: 2,
      [CommandRejectionReason.Unknown]: 1,
    });
  });
});

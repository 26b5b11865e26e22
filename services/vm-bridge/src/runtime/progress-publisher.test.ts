import { createInMemoryBroker, createInMemoryBus, type EventBus, type IncomingMessage } from '@meshwave/bus';
import { MessageType, type VmProgress } from '@meshwave/contracts';
import { systemClock } from '@meshwave/reconcile';
import { silentLogger } from '@meshwave/telemetry';
import { trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_BRIDGE_SETTINGS } from '../config/bridge-settings.js';
import type { Decision, GroupRecord, HostRecord } from '../core/batch-decision.js';
import { createBridgeMetrics } from '../metrics/bridge-metrics.js';
import type { BridgeContext } from './bridge-context.js';
import { ProgressPublisher } from './progress-publisher.js';

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };

const closes: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closes.splice(0)) await close();
});

/** The bridge's bus, whose first `drops` publishes fail (a broker that is down), and the planner's view of it. */
async function newLink(
  drops: number,
): Promise<{ bus: EventBus; received: () => VmProgress[]; messages: () => IncomingMessage[] }> {
  const broker = createInMemoryBroker();
  const inner = createInMemoryBus({ broker, source: 'vm-bridge', signing });
  const planner = createInMemoryBus({ broker, source: 'planner', signing });
  closes.push(
    () => inner.close(),
    () => planner.close(),
  );
  const seen: IncomingMessage[] = [];
  await planner.subscribe({
    topic: 'events',
    groupId: 'planner',
    fromBeginning: true,
    handler: async (m) => void seen.push(m),
  });
  let dropped = 0;
  const bus: EventBus = Object.assign(Object.create(inner) as EventBus, {
    publish: async (messages: Parameters<EventBus['publish']>[0]) => {
      if (dropped < drops) {
        dropped++;
        throw new Error('broker unreachable');
      }
      await inner.publish(messages);
    },
  });
  const received = (): VmProgress[] =>
    seen.filter((m) => m.type === MessageType.VmProgress).map((m) => m.data as VmProgress);
  // the progress stream: the group's membership reports (membership-publisher.ts) go beside it
  return { bus, received, messages: () => seen.filter((m) => m.type !== MessageType.VmInventory) };
}

function newPublisher(bus: EventBus): ProgressPublisher {
  const ctx = {
    bus,
    clock: systemClock,
    log: silentLogger(),
    tracer: trace.getTracer('test'),
    metrics: createBridgeMetrics(),
    settings: DEFAULT_BRIDGE_SETTINGS,
    groups: new Map(),
    loopDelayMs: () => 0,
  } as unknown as BridgeContext;
  return new ProgressPublisher(ctx);
}

const group: GroupRecord = {
  halted: false,
  batchesStarted: 1,
  command: { rolloutId: 'r1', wave: 0, generation: 3, epoch: 1, from: 'v1', to: 'v2', maxUnavailable: 1, targets: {} },
};
const converged: Decision = { group, hosts: [], events: [], unavailable: 0, waiting: 0 };

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`never saw: ${what}`);
}

describe('vm-bridge progress: level-triggered', () => {
  it('Given a progress publish that fails once, When nothing changes and the next ticks come, Then the progress still reaches the planner before the resend interval', async () => {
    const link = await newLink(1);
    const publisher = newPublisher(link.bus);
    // the group converged: its progress is published at t=0 and that publish fails
    await publisher.afterCommit('web', group, converged, 0);
    // ticks after the backoff, well before progressIntervalMs, with the same progress
    for (const now of [1_000, 2_000, 3_000]) await publisher.afterCommit('web', group, converged, now);
    await until('the progress arrives', () => link.received().length > 0);
    expect(link.received()).toHaveLength(1);
    expect(link.received()[0]).toMatchObject({ group: 'web', rolloutId: 'r1', generation: 3 });
  });

  it('Given a delivered progress, When nothing changes for progressIntervalMs, Then it is published again', async () => {
    const link = await newLink(0);
    const publisher = newPublisher(link.bus);
    await publisher.afterCommit('web', group, converged, 0);
    await publisher.afterCommit('web', group, converged, 1_000);
    await until('the first progress', () => link.received().length === 1);
    await publisher.afterCommit('web', group, converged, DEFAULT_BRIDGE_SETTINGS.progressIntervalMs);
    await until('the progress again', () => link.received().length === 2);
  });
});

describe('vm-bridge progress as deltas (ADR 0048)', () => {
  const host = (name: string, state: HostRecord['state']): HostRecord => ({
    name,
    desiredVersion: 'v2',
    assignment: 1,
    previousVersion: 'v1',
    state,
  });
  const hosts = (states: HostRecord['state'][]): Decision => ({
    ...converged,
    hosts: states.map((s, i) => host(`h${i}`, s)),
  });

  it('Given a delivered whole progress, When one host changes, Then only that host goes, on the report before it; nothing goes when nothing changed', async () => {
    const link = await newLink(0);
    const publisher = newPublisher(link.bus);
    await publisher.afterCommit('web', group, hosts(['pending', 'pending', 'pending']), 0);
    await until('the whole progress', () => link.messages().length === 1);
    await publisher.afterCommit('web', group, hosts(['upgrading', 'pending', 'pending']), 1_000);
    await publisher.afterCommit('web', group, hosts(['upgrading', 'pending', 'pending']), 2_000);
    await until('the delta', () => link.messages().length === 2);
    const [whole, delta] = link.messages();
    expect(whole?.type).toBe(MessageType.VmProgress);
    expect(delta?.type).toBe(MessageType.VmProgressDelta);
    expect(delta?.data).toMatchObject({
      base: (whole?.data as { seq: number }).seq,
      upserted: [{ name: 'h0', state: 'upgrading' }],
      removed: [],
    });
    expect((delta?.data as { upserted: unknown[] }).upserted).toHaveLength(1);
    // a third commit with nothing new sent nothing
    await new Promise((r) => setTimeout(r, 20));
    expect(link.messages()).toHaveLength(2);
  });
});

import { MessageType, Topic, vmGroupKey, type VmGroupDesiredState } from '@meshwave/contracts';
import { createInMemoryBroker, createInMemoryBus, type EventBus } from '@meshwave/bus';
import { createInMemoryStore } from '@meshwave/store';
import { afterEach, describe, expect, it } from 'vitest';
import { staticBundleCatalog } from '../adapters/bundle-catalog.js';
import { commandsConsumerGroup } from '../config/bridge-settings.js';
import { VmBridge } from './vm-bridge.js';

const SIGNING = { keys: [{ id: 'k1', secret: 'x'.repeat(32) }], activeKeyId: 'k1' };
// enough groups that their keys land on more than one of the broker's partitions
const GROUPS = ['web', 'db', 'cache', 'batch', 'edge', 'jobs'];

function command(group: string): VmGroupDesiredState {
  return {
    rolloutId: 'r1',
    wave: 0,
    generation: 1,
    epoch: 1,
    group,
    from: 'v1',
    to: 'v2',
    maxUnavailable: 1,
    halted: false,
    hosts: [],
  };
}

async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 4_000;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});

describe('vm-bridge: the commands consumer group', () => {
  it('Given two bridges serving different VM groups on one commands topic, When the planner sends every group its command, Then each bridge applies the commands of all of its own groups', async () => {
    const broker = createInMemoryBroker({ partitions: 4 });
    const bridges: VmBridge[] = [];
    for (const groups of [GROUPS.slice(0, 3), GROUPS.slice(3)]) {
      const bus: EventBus = createInMemoryBus({ broker, source: 'vm-bridge', signing: SIGNING });
      const bridge = new VmBridge({
        store: createInMemoryStore(),
        bus,
        catalog: staticBundleCatalog({}),
        groups: groups.map((name) => ({ name })),
        settings: { tickMs: 20, leaseTtlMs: 2000 },
      });
      await bridge.start();
      bridges.push(bridge);
      closing.push(async () => {
        await bridge.stop();
        await bus.close();
      });
    }
    const planner = createInMemoryBus({ broker, source: 'planner', signing: SIGNING });
    closing.push(() => planner.close());

    await planner.publish(
      GROUPS.map((group) => ({
        topic: Topic.Commands,
        key: vmGroupKey(group),
        type: MessageType.VmGroupDesiredState,
        data: command(group),
        audience: vmGroupKey(group),
      })),
    );

    for (const bridge of bridges)
      for (const group of bridge.groupNames)
        await until(`${group} applied`, async () => (await bridge.snapshot(group)).group.command?.generation === 1);
  });

  it('names one consumer group per set of groups served, whatever their order, and digests a long list', () => {
    expect(commandsConsumerGroup(['web', 'db'])).toBe('vm-bridge.db+web');
    expect(commandsConsumerGroup(['db', 'web'])).toBe(commandsConsumerGroup(['web', 'db']));
    expect(commandsConsumerGroup(['web'])).not.toBe(commandsConsumerGroup(['db']));
    expect(commandsConsumerGroup(Array.from({ length: 40 }, (_, i) => `group-number-${i}`))).toMatch(
      /^vm-bridge\.[0-9a-f]{16}$/,
    );
  });
});

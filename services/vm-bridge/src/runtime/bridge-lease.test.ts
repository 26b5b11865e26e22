import { createInMemoryBroker, createInMemoryBus, type IncomingMessage } from '@meshwave/bus';
import { MessageType, Topic, vmGroupKey } from '@meshwave/contracts';
import { createInMemoryStore } from '@meshwave/store';
import { afterEach, describe, expect, it } from 'vitest';
import { staticBundleCatalog } from '../adapters/bundle-catalog.js';
import { VmBridge } from './vm-bridge.js';

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };

const closes: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closes.splice(0)) await close();
});

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never saw: ${what}`);
}

describe('vm-bridge lease and the commands consumer group', () => {
  it('Given a bridge that lost its lease, When commands arrive, Then it has left the consumer group and the bridge that took over gets them', async () => {
    const broker = createInMemoryBroker({ partitions: 3 });
    const store = createInMemoryStore();
    const deposed = new VmBridge({
      store,
      bus: createInMemoryBus({ broker, source: 'vm-bridge/a', signing }),
      catalog: staticBundleCatalog({}),
      groups: [{ name: 'web' }, { name: 'db' }, { name: 'batch' }],
      instance: 'a',
      settings: { tickMs: 20, leaseTtlMs: 60_000, consumerGroup: 'vm-bridges' },
    });
    closes.push(() => deposed.stop());
    await deposed.start();
    // Given another bridge takes the lease (the deposed one was partitioned past it) and joins the same group
    const lease = await store.leaseHolder('vm-bridge');
    await store.releaseLease(lease!);
    expect(await store.acquireLease('vm-bridge', 'b', 60_000)).toBeDefined();
    await until('the deposed bridge sees it lost the lease', () => !deposed.active);
    const successor = createInMemoryBus({ broker, source: 'vm-bridge/b', signing });
    closes.push(() => successor.close());
    const received: IncomingMessage[] = [];
    await successor.subscribe({
      topic: Topic.Commands,
      groupId: 'vm-bridges',
      fromBeginning: true,
      handler: async (m) => void received.push(m),
    });
    // When the planner sends a command to each group (spread over the partitions)
    const planner = createInMemoryBus({ broker, source: 'planner', signing });
    closes.push(() => planner.close());
    await planner.publish(
      ['web', 'db', 'batch'].map((group) => ({
        topic: Topic.Commands,
        key: vmGroupKey(group),
        audience: vmGroupKey(group),
        type: MessageType.VmGroupDesiredState,
        data: {
          rolloutId: 'r1',
          wave: 0,
          generation: 1,
          epoch: 1,
          group,
          from: '1-24-5',
          to: '1-25-2',
          maxUnavailable: 1,
          hosts: [],
          halted: false,
        },
      })),
    );
    // Then the successor gets every one of them: none is held by the deposed bridge
    await until('the successor has the three commands', () => received.length === 3);
  });
});

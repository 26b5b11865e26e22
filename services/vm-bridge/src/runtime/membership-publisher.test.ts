import { MessageType, VmInventoryReport } from '@meshwave/contracts';
import { createInMemoryBroker, createInMemoryBus, type IncomingMessage } from '@meshwave/bus';
import { createInMemoryStore } from '@meshwave/store';
import { afterEach, describe, expect, it } from 'vitest';
import { staticBundleCatalog } from '../adapters/bundle-catalog.js';
import type { VmGroupConfig } from '../config/bridge-settings.js';
import { hashToken } from './host-token.js';
import { VmBridge } from './vm-bridge.js';

const SIGNING = { keys: [{ id: 'k1', secret: 'x'.repeat(32) }], activeKeyId: 'k1' };
const ENROLL = 'enroll-secret-for-tests';
const AUTH = `Bearer ${ENROLL}`;

const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  const end = Date.now() + 4_000;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A bridge serving group `web` (no rollout anywhere) and what the planner hears of it on the events topic. */
async function newBridgeAndPlanner(
  groups: readonly VmGroupConfig[] = [{ name: 'web', enrollmentTokenSha256: hashToken(ENROLL) }],
): Promise<{ bridge: VmBridge; inventories: () => VmInventoryReport[] }> {
  const broker = createInMemoryBroker();
  const bus = createInMemoryBus({ broker, source: 'vm-bridge', signing: SIGNING });
  const planner = createInMemoryBus({ broker, source: 'planner', signing: SIGNING });
  const seen: IncomingMessage[] = [];
  await planner.subscribe({
    topic: 'events',
    groupId: 'planner',
    fromBeginning: true,
    handler: async (m) => void seen.push(m),
  });
  const bridge = new VmBridge({
    store: createInMemoryStore(),
    bus,
    catalog: staticBundleCatalog({}),
    groups,
    settings: { tickMs: 20, leaseTtlMs: 2000 },
  });
  await bridge.start();
  closing.push(async () => {
    await bridge.stop();
    await bus.close();
    await planner.close();
  });
  const inventories = (): VmInventoryReport[] =>
    seen.filter((m) => m.type === MessageType.VmInventory).map((m) => m.data as VmInventoryReport);
  return { bridge, inventories };
}

describe('vm-bridge: a VM group membership on the bus', () => {
  it('Given a bridge with no rollout, When hosts enroll and one is removed, Then the planner hears the group with exactly its hosts and their versions each time', async () => {
    const { bridge, inventories } = await newBridgeAndPlanner();
    const names = (r: VmInventoryReport | undefined): string[] | undefined => r?.hosts.map((h) => h.name);

    for (const [host, version] of [
      ['h1', 'v1'],
      ['h2', 'v2'],
    ] as const)
      await bridge.registerHost('web', AUTH, { host, tokenSha256: hashToken(`t-${host}`), runningVersion: version });
    const enrolled = await until('both hosts reported', () => inventories().find((r) => names(r)?.join() === 'h1,h2'));
    expect(enrolled).toMatchObject({
      group: 'web',
      hosts: [
        { name: 'h1', version: 'v1' },
        { name: 'h2', version: 'v2' },
      ],
    });

    await bridge.removeHost('web', 'h1', AUTH);
    const after = await until('the removal reported', () =>
      inventories().find((r) => r.generation > enrolled.generation && names(r)?.join() === 'h2'),
    );
    expect(after.hosts).toEqual([{ name: 'h2', version: 'v2' }]);
    // newer reports carry newer generations: the planner keeps the newest
    const generations = inventories().map((r) => r.generation);
    expect(generations).toEqual([...generations].sort((a, b) => a - b));
  });

  it('Given groups configured with and without a mesh (ADR 0058), When hosts enroll, Then the report of the group with a mesh carries it and the other carries none', async () => {
    const token = hashToken(ENROLL);
    const { bridge, inventories } = await newBridgeAndPlanner([
      { name: 'web', enrollmentTokenSha256: token, mesh: 'payments' },
      { name: 'batch', enrollmentTokenSha256: token },
    ]);
    await bridge.registerHost('web', AUTH, { host: 'h1', tokenSha256: hashToken('t-h1'), runningVersion: 'v1' });
    await bridge.registerHost('batch', AUTH, { host: 'h2', tokenSha256: hashToken('t-h2'), runningVersion: 'v1' });
    const web = await until('web reported', () => inventories().find((r) => r.group === 'web' && r.hosts.length > 0));
    const batch = await until('batch reported', () =>
      inventories().find((r) => r.group === 'batch' && r.hosts.length > 0),
    );
    expect(web).toMatchObject({ group: 'web', mesh: 'payments', hosts: [{ name: 'h1', version: 'v1' }] });
    expect(batch.hosts).toEqual([{ name: 'h2', version: 'v1' }]);
    expect(batch).not.toHaveProperty('mesh');
    // what the bridge sends is what the contract reads
    expect(VmInventoryReport.parse(web).mesh).toBe('payments');
  });
});

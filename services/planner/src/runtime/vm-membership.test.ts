import { createInMemoryBroker, createInMemoryBus, type EventBus } from '@meshwave/bus';
import { MessageType, Topic, vmGroupKey, type FleetView, type VmInventoryReport } from '@meshwave/contracts';
import { createInMemoryStore } from '@meshwave/store';
import { afterEach, describe, expect, it } from 'vitest';
import { createPlanner, type Planner } from './planner.js';

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

/** A leading planner and the vm-bridge's bus, on one in-memory broker. */
async function newWorld(): Promise<{ planner: Planner; bridge: EventBus }> {
  const broker = createInMemoryBroker();
  const busFor = (source: string): EventBus => createInMemoryBus({ broker, source, signing });
  const planner = createPlanner({
    bus: busFor('planner'),
    store: createInMemoryStore(),
    config: { instanceId: 'p1', leaseRenewMs: 50, leaseTtlMs: 500, timerTickMs: 20 },
  });
  const bridge = busFor('vm-bridge');
  await planner.start();
  stops.push(
    () => planner.stop(),
    () => bridge.close(),
  );
  return { planner, bridge };
}

const membership = (generation: number, hosts: VmInventoryReport['hosts']): VmInventoryReport => ({
  group: 'web',
  generation,
  hosts,
});

function report(bridge: EventBus, data: VmInventoryReport): Promise<void> {
  return bridge.publish([{ topic: Topic.Events, key: vmGroupKey(data.group), type: MessageType.VmInventory, data }]);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + 4_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const groupIn = (fleet: FleetView, name: string): FleetView['vmGroups'][number] | undefined =>
  fleet.vmGroups.find((g) => g.name === name);

describe('planner: VM group membership from the vm-bridge', () => {
  it('Given no inventory put by an operator, When the bridge reports a group’s hosts on the events topic, Then the fleet has the group with those hosts and versions, and the newest report wins', async () => {
    const { planner, bridge } = await newWorld();
    await until('leadership', async () => (planner.isLeader() ? true : undefined));

    await report(
      bridge,
      membership(10, [
        { name: 'h1', version: '1-24-5' },
        { name: 'h2', version: '1-24-5' },
        { name: 'h3', version: null },
      ]),
    );
    const first = await until('the group in the fleet', async () => groupIn(await planner.fleet(), 'web'));
    expect(first).toMatchObject({ hosts: 3, versions: { '1-24-5': 2 } });

    // a host left; then a report older than the one held arrives late: it changes nothing
    await report(bridge, membership(20, [{ name: 'h2', version: '1-25-2' }]));
    await until('the departure', async () => (groupIn(await planner.fleet(), 'web')?.hosts === 1 ? true : undefined));
    await report(bridge, membership(15, [{ name: 'h9', version: '1-24-5' }]));
    await report(bridge, membership(21, [{ name: 'h2', version: '1-25-2' }]));
    await planner.idle();
    expect(groupIn(await planner.fleet(), 'web')).toMatchObject({ hosts: 1, versions: { '1-25-2': 1 } });
  });

  it('Given an operator’s inventory naming the group with other hosts, When the bridge reports its members, Then the reported hosts replace the listed ones and the operator’s labels stay', async () => {
    const { planner, bridge } = await newWorld();
    await until('leadership', async () => (planner.isLeader() ? true : undefined));
    await planner.putInventory(
      { clusters: [], vmGroups: [{ name: 'web', labels: { tier: 'front' }, hosts: [{ name: 'old', version: null }] }] },
      'alice',
    );

    await report(bridge, membership(1, [{ name: 'h1', version: '1-24-5' }]));
    const hosts = await until('the reported hosts planned', async () => {
      const p = await planner.plan({ spec: vmRolloutYaml });
      const planned = p.waves.flatMap((w) => w.vmHosts.map((h) => `${h.group}/${h.name}`));
      return planned.includes('web/h1') ? planned : undefined;
    });
    expect(hosts).toEqual(['web/h1']);
  });
});

describe('planner: the mesh of a VM group from its vm-bridge (ADR 0058)', () => {
  it('Given groups whose bridge reports a mesh, one reported without (an older bridge) whose operator inventory names one, and one of another mesh, When a mesh rollout is planned, Then it moves the hosts of exactly the groups of its mesh', async () => {
    const { planner, bridge } = await newWorld();
    await until('leadership', async () => (planner.isLeader() ? true : undefined));
    await planner.putInventory(
      {
        clusters: [],
        vmGroups: [
          { name: 'web', labels: {}, hosts: [] },
          { name: 'ads', labels: {}, mesh: 'shop', hosts: [] },
        ],
      },
      'alice',
    );
    await report(bridge, { ...membership(1, [{ name: 'h1', version: '1-24-5' }]), mesh: 'shop' });
    await report(bridge, { group: 'ads', generation: 1, hosts: [{ name: 'h2', version: '1-24-5' }] });
    await report(bridge, { group: 'batch', generation: 1, mesh: 'other', hosts: [{ name: 'h3', version: '1-24-5' }] });
    const planned = (p: Awaited<ReturnType<Planner['plan']>>): string[] =>
      p.waves.flatMap((w) => w.vmHosts.map((h) => `${h.group}/${h.name}`)).sort();
    const fleet = await until('every reported host planned', async () => {
      const hosts = planned(await planner.plan({ spec: vmRolloutYaml.replace('{ tier: front }', '{}') }));
      return hosts.length === 3 ? hosts : undefined;
    });
    expect(fleet).toEqual(['ads/h2', 'batch/h3', 'web/h1']);
    const shop = await planner.plan({ spec: meshRolloutYaml('shop') });
    expect(planned(shop)).toEqual(['ads/h2', 'web/h1']);
    expect(planned(await planner.plan({ spec: meshRolloutYaml('other') }))).toEqual(['batch/h3']);
  });
});

const meshRolloutYaml = (mesh: string): string =>
  vmRolloutYaml.replace('spec:\n', `spec:\n  mesh: ${mesh}\n`).replace('{ tier: front }', '{}');

const vmRolloutYaml = `apiVersion: meshwave.io/v1alpha1
kind: Rollout
metadata:
  name: vms
spec:
  from: 1-24-5
  to: 1-25-2
  deadline: "2030-01-01T00:00:00Z"
  waves:
    - { name: wave-0, percent: 100 }
  vms:
    - { select: { groupLabels: { tier: front } }, wave: wave-0 }
`;

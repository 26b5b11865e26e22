import { afterEach, describe, expect, it } from 'vitest';
import { createInMemoryBroker, createInMemoryBus, type EventBus, type IncomingMessage } from '@meshwave/bus';
import { MESH_LABEL, MessageType, clusterKey, type InventoryDelta, type InventoryReport } from '@meshwave/contracts';
import { createClusterAgent, type ClusterAgent } from './cluster-agent.js';
import { createManualClock, type ManualClock } from '@meshwave/reconcile';
import { createSimulatedCluster, type SimulatedCluster } from '../adapters/simulated-cluster.js';
import { IstioLabel } from '@meshwave/istio';
import type { KubernetesPort } from '../ports/kubernetes-port.js';

const SIGNING = { keys: [{ id: 'k1', secret: 'x'.repeat(32) }], activeKeyId: 'k1' };
const OLD = '1-24-5';
const DEBOUNCE_MS = 100;

interface World {
  readonly clock: ManualClock;
  readonly sim: SimulatedCluster;
  readonly agent: ClusterAgent;
  /** the whole inventories sent */
  readonly inventories: () => InventoryReport[];
  /** every inventory report sent, whole or delta, in order */
  readonly reports: () => ({ type: 'whole'; data: InventoryReport } | { type: 'delta'; data: InventoryDelta })[];
  /** the planner's bus (to send the agent a command) */
  readonly planner: EventBus;
  /** advances the manual clock in debounce steps until `check` holds (a bounded number of steps, no wall time) */
  until(what: string, check: () => boolean): Promise<void>;
  close(): Promise<void>;
}

const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.close();
});

/** A simulated cluster with two meshes' namespaces, one unlabelled namespace and the protected ones. */
async function newWorld(istio?: KubernetesPort['readIstioInstallation']): Promise<World> {
  const clock = createManualClock();
  const now = (): number => clock.now();
  const sim = createSimulatedCluster({
    name: 'c1',
    clock,
    revisions: [OLD],
    namespaces: [
      { name: 'pay', labels: { [MESH_LABEL]: 'mesh-a', [IstioLabel.Revision]: OLD }, workloads: [{ name: 'api' }] },
      { name: 'shop', labels: { [MESH_LABEL]: 'mesh-b', team: 'shop' }, workloads: [{ name: 'web' }] },
      { name: 'plain' },
      { name: 'istio-system', labels: { [MESH_LABEL]: 'mesh-a' } },
      { name: 'kube-system' },
    ],
  });
  const broker = createInMemoryBroker();
  const planner: EventBus = createInMemoryBus({ source: 'planner', signing: SIGNING, broker, now });
  const agentBus = createInMemoryBus({ source: clusterKey('c1'), signing: SIGNING, broker, now });
  const events: IncomingMessage[] = [];
  await planner.subscribe({
    topic: 'events',
    groupId: 'test',
    fromBeginning: true,
    types: [MessageType.Inventory, MessageType.InventoryDelta],
    handler: async (m) => void events.push(m),
  });
  const agent = createClusterAgent({
    cluster: 'c1',
    kubernetes: istio ? { ...sim, readIstioInstallation: istio } : sim,
    bus: agentBus,
    clock,
    // resync far away: a later inventory can only come from the change itself
    intervals: { resyncMs: 86_400_000, inventoryDebounceMs: DEBOUNCE_MS, progressDebounceMs: 50 },
  });
  await agent.start();
  const world: World = {
    clock,
    sim,
    agent,
    inventories: () => events.filter((e) => e.type === MessageType.Inventory).map((e) => e.data as InventoryReport),
    reports: () =>
      events.map((e) =>
        e.type === MessageType.Inventory
          ? { type: 'whole' as const, data: e.data as InventoryReport }
          : { type: 'delta' as const, data: e.data as InventoryDelta },
      ),
    planner,
    async until(what, check) {
      for (let step = 0; step < 200; step++) {
        if (check()) return;
        await clock.advance(DEBOUNCE_MS / 2);
        await new Promise((r) => setTimeout(r, 1));
      }
      throw new Error(`never happened: ${what}`);
    },
    async close() {
      await agent.stop();
      sim.close();
      await Promise.all([planner.close(), agentBus.close()]);
    },
  };
  worlds.push(world);
  return world;
}

const meshes = (r: Pick<InventoryReport, 'namespaces'> | undefined): Record<string, string | undefined> =>
  Object.fromEntries((r?.namespaces ?? []).map((n) => [n.name, n.labels[MESH_LABEL]]));

describe('cluster agent inventory: namespaces', () => {
  it('Given namespaces labelled with meshes, When the agent starts, Then its inventory lists them with their labels, without the protected ones', async () => {
    const w = await newWorld();
    await w.until('a first inventory', () => w.inventories().length > 0);

    const first = w.inventories()[0]!;
    // (like a real apiserver, the simulated one labels every namespace with its own name)
    const name = (ns: string): Record<string, string> => ({ 'kubernetes.io/metadata.name': ns });
    expect(first.namespaces).toEqual([
      { name: 'pay', labels: { ...name('pay'), [MESH_LABEL]: 'mesh-a', [IstioLabel.Revision]: OLD } },
      { name: 'plain', labels: name('plain') },
      { name: 'shop', labels: { ...name('shop'), [MESH_LABEL]: 'mesh-b', team: 'shop' } },
    ]);
    expect(first.workloads.map((x) => `${x.namespace}/${x.name}`).sort()).toEqual(['pay/api', 'shop/web']);
  });

  it('Given a running agent, When a namespace is relabelled into another mesh, Then the next (debounced) inventory carries the new mesh', async () => {
    const w = await newWorld();
    await w.until('a first inventory', () => w.inventories().length > 0);
    const before = w.reports().length;

    await w.sim.patchNamespace('shop', { labels: { [MESH_LABEL]: 'mesh-a' } });
    await w.sim.patchNamespace('plain', { labels: { [MESH_LABEL]: 'mesh-c' } });
    await w.until('an inventory with the new meshes', () => meshes(w.reports().at(-1)?.data).plain === 'mesh-c');

    const last = w.reports().at(-1)!;
    expect(meshes(last.data)).toEqual({ pay: 'mesh-a', plain: 'mesh-c', shop: 'mesh-a' });
    // a delta on the report before it (ADR 0031)
    expect(last.type).toBe('delta');
    expect(last.type === 'delta' && last.data.base).toBe(w.reports()[before - 1]!.data.generation);
    expect(last.data.generation).toBeGreaterThan(w.reports()[before - 1]!.data.generation);
    // the two changes inside one debounce window make one report, not two
    expect(w.reports().length).toBe(before + 1);
  });
});

describe('cluster agent inventory: deltas (ADR 0031)', () => {
  it('Given a running agent, When one workload changes, Then the next report is a delta with that workload alone', async () => {
    const w = await newWorld();
    await w.until('a first inventory', () => w.reports().length > 0);
    const first = w.reports()[0]!;
    expect(first.type).toBe('whole');

    w.sim.createWorkload({ namespace: 'shop', name: 'cart' });
    await w.until('a delta', () => w.reports().length > 1);

    const next = w.reports()[1]!;
    expect(next.type).toBe('delta');
    if (next.type !== 'delta') return;
    expect(next.data.base).toBe(first.data.generation);
    expect(next.data.upserted.map((x) => `${x.namespace}/${x.name}`)).toEqual(['shop/cart']);
    expect(next.data.removed).toEqual([]);
  });

  it('Given a running agent, When the planner asks for its inventory, Then it sends the whole one', async () => {
    const w = await newWorld();
    await w.until('a first inventory', () => w.reports().length > 0);

    await w.planner.publish([
      {
        topic: 'commands',
        key: clusterKey('c1'),
        audience: clusterKey('c1'),
        type: MessageType.InventoryResync,
        data: { cluster: 'c1', reason: 'test: a delta was missed' },
      },
    ]);
    await w.until('a second whole inventory', () => w.inventories().length > 1);

    const again = w.inventories()[1]!;
    expect(again.workloads.map((x) => `${x.namespace}/${x.name}`).sort()).toEqual(['pay/api', 'shop/web']);
    expect(w.reports().map((r) => r.type)).toEqual(['whole', 'whole']);
  });
});

describe('cluster agent inventory: control planes and revision tags', () => {
  it('Given a cluster with revision 1-24-5 installed, When the agent reports, Then its inventory lists the control plane with its version', async () => {
    const w = await newWorld();
    await w.until('a first inventory', () => w.inventories().length > 0);
    expect(w.inventories()[0]).toMatchObject({
      controlPlanes: [{ revision: OLD, version: '1.24.5', ready: true }],
      tags: {},
    });
  });

  it('Given tags the contract cannot carry, When the agent reports, Then it leaves out only those', async () => {
    const w = await newWorld(async () => ({
      controlPlanes: [{ revision: 'canary', version: null, ready: false }],
      tags: { 'prod-stable': 'canary', 'Not.A.Tag': 'canary' },
      injectors: [],
    }));
    await w.until('a first inventory', () => w.inventories().length > 0);
    expect(w.inventories()[0]).toMatchObject({
      controlPlanes: [{ revision: 'canary', version: null, ready: false }],
      tags: { 'prod-stable': 'canary' },
    });
  });

  it('Given the control planes cannot be read, When the agent reports, Then its inventory goes without them, not with none', async () => {
    const w = await newWorld(() => Promise.reject(new Error('forbidden')));
    await w.until('a first inventory', () => w.inventories().length > 0);
    const first = w.inventories()[0]!;
    expect(first.workloads.length).toBe(2);
    expect(first.controlPlanes).toBeUndefined();
    expect(first.tags).toBeUndefined();
  });
});

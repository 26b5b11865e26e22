import { describe, expect, it } from 'vitest';
import { MESH_LABEL } from '@meshwave/contracts';
import { T0, newHarness, newInventory } from './engine-harness.js';
import { listen } from './membership-harness.js';

const at = (ms: number): Date => new Date(T0.getTime() + ms);
const WAVES = [
  { name: 'canary', percent: 50 },
  { name: 'final', percent: 100, forced: true, approval: true },
];

/** The fleet later: prod-1 has a workload created during the rollout and an inactive one (no replicas). */
function laterFleet(): ReturnType<typeof newInventory> {
  const fleet = newInventory(2);
  const model = fleet.clusters[0]!.workloads[0]!;
  fleet.clusters[0]!.workloads.push({ ...model, name: 'app-new' }, { ...model, name: 'app-idle', replicas: 0 });
  return fleet;
}

describe('engine: the forced wave forces', () => {
  it('Given workloads created during the rollout and inactive ones still on `from`, When the forced wave starts, Then it re-reads the fleet and takes them too, without waiting for its approval', () => {
    const h = newHarness({ waves: WAVES, defaults: { soak: '10m', maxUnavailable: '50%', batchEstimate: '1m' } });
    let later = false;
    listen(h, () => (later ? laterFleet() : newInventory(2)));
    h.settle();
    expect(h.state.wavePhase).toBe('Soaking');
    later = true;
    h.now = at(11 * 60_000);
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
    expect(h.state.membership?.added['1']).toEqual([
      'prod-1/ns-0/Deployment/app-idle',
      'prod-1/ns-0/Deployment/app-new',
    ]);
    expect(h.fleet.revisions.get('prod-1/ns-0/Deployment/app-new')).toBe('1-25-2');
    expect(h.fleet.revisions.get('prod-1/ns-0/Deployment/app-idle')).toBe('1-25-2');
    const dispatched = h.state.history.filter((t) => t.trigger === 'dispatched').at(-1)!;
    expect(dispatched.reason).toContain('2 units still on 1-24-5 outside the plan');
  });

  it('Given a wave that is not forced, When it starts, Then it takes only its plan (and joined clusters), not the stragglers', () => {
    const h = newHarness({
      waves: [WAVES[0]!, { name: 'final', percent: 100 }],
      defaults: { soak: '10m', maxUnavailable: '50%', batchEstimate: '1m' },
    });
    let later = false;
    listen(h, () => (later ? laterFleet() : newInventory(2)));
    h.settle();
    later = true;
    h.now = at(11 * 60_000);
    h.runUntil(['Completed']);
    expect(h.fleet.revisions.get('prod-1/ns-0/Deployment/app-new')).toBeUndefined();
  });
});

describe('engine: the forced wave of one mesh', () => {
  /** ns-0 and ns-1 are mesh-a's, ns-2 mesh-b's; later, a workload on `from` appears in ns-0 and one in ns-2 */
  function meshFleet(later: boolean): ReturnType<typeof newInventory> {
    const fleet = newInventory(2);
    for (const c of fleet.clusters)
      c.namespaces = ['ns-0', 'ns-1', 'ns-2'].map((name) => ({
        name,
        labels: { [MESH_LABEL]: name === 'ns-2' ? 'mesh-b' : 'mesh-a' },
      }));
    if (later) {
      const model = fleet.clusters[0]!.workloads[0]!;
      fleet.clusters[0]!.workloads.push({ ...model, name: 'app-new' }, { ...model, namespace: 'ns-2', name: 'app-b' });
    }
    return fleet;
  }

  it("Given a rollout of mesh-a whose last wave is forced, When it starts, Then it takes mesh-a's stragglers on `from` and none of mesh-b's", () => {
    const h = newHarness(
      { mesh: 'mesh-a', waves: WAVES, defaults: { soak: '10m', maxUnavailable: '50%', batchEstimate: '1m' } },
      meshFleet(false),
    );
    let later = false;
    listen(h, () => meshFleet(later));
    h.settle();
    later = true;
    h.now = at(11 * 60_000);
    h.runUntil(['Completed']);
    expect(h.state.membership?.added['1']).toEqual(['prod-1/ns-0/Deployment/app-new']);
    expect(h.fleet.revisions.get('prod-1/ns-2/Deployment/app-b')).toBeUndefined();
    expect([...h.fleet.revisions.keys()].some((u) => u.includes('/ns-2/'))).toBe(false);
  });
});

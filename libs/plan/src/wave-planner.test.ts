import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Inventory,
  MESH_LABEL,
  RolloutSpec,
  type InventoryInput,
  type Plan,
  type RolloutSpecInput,
  type WorkloadSelector,
} from '@meshwave/contracts';
import { IMPLICIT_FORCED_WAVE, planRollout } from './wave-planner.js';
import { inventoryMeshOf } from './mesh-of.js';
import { ChangeWindows } from './change-windows.js';

const FROM = '1-24-5';
const TO = '1-25-2';
const NOW = new Date('2026-11-23T08:00:00Z');

function newSpec(spec: Partial<RolloutSpecInput['spec']> = {}, name = 'istio-1-25-2'): RolloutSpec {
  return RolloutSpec.parse({
    apiVersion: 'meshwave.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name },
    spec: { from: FROM, to: TO, deadline: '2027-03-01T00:00:00Z', waves: [{ name: 'all', percent: 100 }], ...spec },
  });
}

function newInventory(input: InventoryInput): Inventory {
  return Inventory.parse(input);
}

const revisionArb = fc.constantFrom<string | null>(FROM, FROM, FROM, TO, '1-23-0', null);
const workloadArb = fc.record({
  namespace: fc.constantFrom('payments', 'search', 'catalog', 'kube-system', 'web'),
  kind: fc.constantFrom('Deployment' as const, 'StatefulSet' as const, 'DaemonSet' as const),
  name: fc.constantFrom('api', 'web', 'worker', 'index', 'cache', 'db', 'agent'),
  labels: fc.record({ tier: fc.constantFrom('low', 'high') }),
  revision: revisionArb,
  replicas: fc.integer({ min: 1, max: 5 }),
});
const inventoryArb = fc
  .uniqueArray(
    fc.record({
      name: fc.constantFrom('staging-eu-1', 'staging-us-1', 'prod-eu-1', 'prod-us-1', 'prod-ap-1', 'dev-1'),
      env: fc.constantFrom('prod', 'staging', 'dev'),
      workloads: fc.uniqueArray(workloadArb, { selector: (w) => `${w.namespace}/${w.kind}/${w.name}`, maxLength: 25 }),
    }),
    { selector: (c) => c.name, minLength: 1, maxLength: 5 },
  )
  .map((clusters) =>
    newInventory({
      clusters: clusters.map((c) => ({ name: c.name, labels: { env: c.env }, workloads: c.workloads })),
      vmGroups: [
        {
          name: 'edge',
          labels: { role: 'edge' },
          hosts: Array.from({ length: 17 }, (_, i) => ({ name: `edge-${i}`, version: i % 5 === 0 ? TO : FROM })),
        },
        { name: 'batch', labels: { role: 'batch' }, hosts: [{ name: 'b-1', version: FROM }] },
      ],
    }),
  );
const wavesArb = fc.array(
  fc.record({
    select: fc.constantFrom<WorkloadSelector>(
      {},
      { clusters: ['staging-*'] },
      { clusterLabels: { env: 'prod' } },
      { clusterLabels: { env: 'prod' }, workloadLabels: { tier: 'low' } },
      { namespaces: ['pay*', 'web'] },
    ),
    percent: fc.constantFrom(0, 1, 10, 50, 100),
  }),
  { minLength: 1, maxLength: 4 },
);
const granularityArb = fc.constantFrom('workload' as const, 'namespace' as const);

const unitKeyOfWorkload = (w: { cluster: string; namespace: string; kind: string; name: string }): string =>
  `${w.cluster}/${w.namespace}/${w.kind}/${w.name}`;
const movedKeys = (plan: Plan): string[] => plan.waves.flatMap((w) => w.workloads.map(unitKeyOfWorkload));
const shuffled = <T>(xs: readonly T[], seed: number): T[] => {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
};

describe('planRollout: membership', () => {
  it('with a forced last wave, moves every eligible workload exactly once and no excluded or non-`from` one', () => {
    fc.assert(
      fc.property(inventoryArb, wavesArb, granularityArb, (inventory, waves, granularity) => {
        const spec = newSpec({
          granularity,
          waves: [...waves.map((w, i) => ({ name: `w${i}`, ...w })), { name: 'final', percent: 100, forced: true }],
          exclude: [{ namespaces: ['kube-system'] }],
        });
        const plan = planRollout(spec, inventory, { now: NOW });
        const moved = movedKeys(plan);
        expect(new Set(moved).size).toBe(moved.length);
        const eligible = inventory.clusters.flatMap((c) =>
          c.workloads
            .filter((w) => w.namespace !== 'kube-system' && w.revision === FROM)
            .map((w) => unitKeyOfWorkload({ cluster: c.name, ...w })),
        );
        expect(new Set(moved)).toEqual(new Set(eligible));
        for (const s of plan.skipped) {
          expect(s.reason === 'excluded' ? s.namespace === 'kube-system' : s.revision !== FROM).toBe(true);
        }
        expect(plan.skipped.length + moved.length).toBe(inventory.clusters.reduce((n, c) => n + c.workloads.length, 0));
      }),
      { numRuns: 200 },
    );
  });

  it('without a forced wave, reports eligible workloads no wave selects as not-selected', () => {
    const inventory = newInventory({
      clusters: [
        {
          name: 'prod-1',
          labels: { env: 'prod' },
          workloads: [{ namespace: 'a', kind: 'Deployment', name: 'x', revision: FROM }],
        },
        {
          name: 'dev-1',
          labels: { env: 'dev' },
          workloads: [{ namespace: 'a', kind: 'Deployment', name: 'x', revision: FROM }],
        },
      ],
    });
    const plan = planRollout(
      newSpec({ waves: [{ name: 'prod', select: { clusterLabels: { env: 'prod' } } }] }),
      inventory,
      { now: NOW },
    );
    expect(movedKeys(plan)).toEqual(['prod-1/a/Deployment/x']);
    expect(plan.skipped).toEqual([
      { cluster: 'dev-1', namespace: 'a', kind: 'Deployment', name: 'x', reason: 'not-selected', revision: FROM },
    ]);
  });

  it('moves a namespace as one unit under namespace granularity', () => {
    const inventory = newInventory({
      clusters: [
        {
          name: 'c',
          workloads: [
            { namespace: 'a', kind: 'Deployment', name: 'x', revision: FROM },
            { namespace: 'a', kind: 'StatefulSet', name: 'y', revision: FROM },
            { namespace: 'b', kind: 'Deployment', name: 'z', revision: FROM },
          ],
        },
      ],
    });
    const plan = planRollout(
      newSpec({
        granularity: 'namespace',
        waves: [
          { name: 'one', percent: 1 },
          { name: 'rest', percent: 100 },
        ],
      }),
      inventory,
      { now: NOW },
    );
    expect(plan.waves.map((w) => w.units.length)).toEqual([1, 1]);
    const firstNamespace = plan.waves[0]!.units[0]!.split('/')[1];
    expect(plan.waves[0]!.workloads.every((w) => w.namespace === firstNamespace)).toBe(true);
    expect(plan.waves[0]!.workloads.length).toBe(firstNamespace === 'a' ? 2 : 1);
  });
});

describe('planRollout: cohorts', () => {
  it('grows monotonically with percent, and does not depend on inventory order', () => {
    fc.assert(
      fc.property(
        inventoryArb,
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        fc.nat(),
        (inventory, p1, p2, seed) => {
          const [lo, hi] = p1 <= p2 ? [p1, p2] : [p2, p1];
          const cohort = (p: number, inv: Inventory): Set<string> =>
            new Set(movedKeys(planRollout(newSpec({ waves: [{ name: 'w', percent: p }] }), inv, { now: NOW })));
          const small = cohort(lo, inventory);
          const large = cohort(hi, inventory);
          for (const k of small) expect(large.has(k)).toBe(true);
          const reordered = newInventory({
            clusters: shuffled(inventory.clusters, seed).map((c) => ({
              ...c,
              workloads: shuffled(c.workloads, seed + 1),
            })),
            vmGroups: shuffled(inventory.vmGroups, seed),
          });
          expect(cohort(hi, reordered)).toEqual(large);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('picks ceil(p% of the selector), at least one, counting units that already moved in the selector', () => {
    const workloads = Array.from({ length: 200 }, (_, i) => ({
      namespace: 'ns',
      kind: 'Deployment' as const,
      name: `w${i}`,
      revision: i < 50 ? TO : FROM,
    }));
    const inventory = newInventory({ clusters: [{ name: 'c', workloads }] });
    const plan = planRollout(
      newSpec({
        waves: [
          { name: 'one', percent: 1 },
          { name: 'ten', percent: 10 },
          { name: 'all', percent: 100 },
        ],
      }),
      inventory,
      { now: NOW },
    );
    // cohorts are 2, 20 and 200 of the 200 selected; units on `to` are in the cohort but do not move again
    const sizes = plan.waves.map((w) => w.workloads.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(150);
    expect(sizes[0]).toBeLessThanOrEqual(2);
    expect(sizes[0]! + sizes[1]!).toBeLessThanOrEqual(20);
  });

  it('is deterministic, and the same salt picks the same canaries while another salt picks others', () => {
    const workloads = Array.from({ length: 500 }, (_, i) => ({
      namespace: `ns${i % 7}`,
      kind: 'Deployment' as const,
      name: `w${i}`,
      revision: FROM,
    }));
    const inventory = newInventory({ clusters: [{ name: 'c', workloads }] });
    const canaries = (salt: string): string[] =>
      planRollout(newSpec({ salt, waves: [{ name: 'canary', percent: 2 }] }), inventory, { now: NOW }).waves[0]!.units;
    expect(canaries('q1')).toEqual(canaries('q1'));
    expect(canaries('q1')).toHaveLength(10);
    expect(canaries('q2')).not.toEqual(canaries('q1'));
    expect(JSON.stringify(planRollout(newSpec(), inventory, { now: NOW }))).toBe(
      JSON.stringify(planRollout(newSpec(), inventory, { now: NOW })),
    );
  });
});

describe('planRollout: schedule', () => {
  const inventory = newInventory({
    clusters: [
      {
        name: 'c',
        workloads: Array.from({ length: 40 }, (_, i) => ({
          namespace: 'ns',
          kind: 'Deployment' as const,
          name: `w${i}`,
          revision: FROM,
        })),
      },
    ],
  });

  it('spaces waves by estimated convergence plus soak', () => {
    const plan = planRollout(
      newSpec({
        defaults: { batchEstimate: '5m', maxUnavailable: '10%' },
        waves: [
          { name: 'a', percent: 50, soak: '2h' },
          { name: 'b', percent: 100, soak: '30m' },
        ],
      }),
      inventory,
      { now: NOW },
    );
    const [a, b] = plan.waves;
    // 20 units, 2 at a time → 10 batches of 5 minutes
    expect(Date.parse(a!.estimatedConverged) - Date.parse(a!.earliestStart)).toBe(50 * 60_000);
    expect(Date.parse(b!.earliestStart)).toBe(Date.parse(a!.estimatedConverged) + 2 * 3_600_000);
    expect(plan.estimatedCompletion).toBe(b!.estimatedConverged);
  });

  it('starts waves only inside allowed windows (in the spec time zone) and outside blackouts', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata'),
        fc.integer({ min: 0, max: 60 * 24 * 14 }),
        fc.integer({ min: 1, max: 12 }),
        (timezone, offsetMinutes, soakHours) => {
          const windows = {
            timezone,
            allow: [
              { days: ['Mon', 'Tue', 'Wed', 'Thu'] as const, from: '08:00', to: '17:00' },
              { days: ['Sat'] as const, from: '22:00', to: '02:00' },
            ],
            blackouts: [{ from: '2026-11-25T00:00:00Z', to: '2026-11-27T00:00:00Z', reason: 'freeze' }],
          };
          const now = new Date(NOW.getTime() + offsetMinutes * 60_000);
          const spec = newSpec({
            windows: { ...windows, allow: windows.allow.map((w) => ({ ...w, days: [...w.days] })) },
            waves: [1, 2, 3].map((i) => ({ name: `w${i}`, percent: i * 30, soak: `${soakHours}h` })),
          });
          const plan = planRollout(spec, inventory, { now });
          const checker = new ChangeWindows(spec.spec.windows);
          for (const w of plan.waves) {
            const start = Date.parse(w.earliestStart);
            expect(start).toBeGreaterThanOrEqual(now.getTime());
            expect(checker.earliestStart(start, start + 86_400_000 * 30)?.start).toBe(start);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('moves a start out of a blackout and says so', () => {
    const plan = planRollout(
      newSpec({
        windows: { blackouts: [{ from: '2026-11-23T00:00:00Z', to: '2026-11-24T06:00:00Z', reason: 'sales event' }] },
      }),
      inventory,
      { now: NOW },
    );
    expect(plan.waves[0]!.earliestStart).toBe('2026-11-24T06:00:00.000Z');
    expect(plan.waves[0]!.delays.join()).toMatch(/sales event/);
  });

  it('keeps pinned units out of every wave that starts before the pin, and still moves them by the deadline', () => {
    const pinned = newInventory({
      clusters: [
        {
          name: 'c',
          workloads: [
            { namespace: 'payments', kind: 'Deployment', name: 'api', revision: FROM },
            { namespace: 'shop', kind: 'Deployment', name: 'web', revision: FROM },
          ],
        },
      ],
    });
    const plan = planRollout(
      newSpec({ pins: [{ select: { namespaces: ['payments'] }, until: '2026-12-15T00:00:00Z' }] }),
      pinned,
      { now: NOW },
    );
    expect(plan.waves.map((w) => w.name)).toEqual(['all', IMPLICIT_FORCED_WAVE]);
    expect(plan.waves[0]!.workloads.map((w) => w.namespace)).toEqual(['shop']);
    expect(plan.waves[1]!.workloads.map((w) => w.namespace)).toEqual(['payments']);
    expect(Date.parse(plan.waves[1]!.earliestStart)).toBeGreaterThanOrEqual(Date.parse('2026-12-15T00:00:00Z'));
    expect(plan.feasible).toBe(true);
  });

  it('says the plan misses the deadline, and why, instead of pretending', () => {
    const plan = planRollout(
      newSpec({
        deadline: '2026-11-24T00:00:00Z',
        defaults: { batchEstimate: '1h', maxUnavailable: 1 },
        waves: [{ name: 'slow', percent: 100 }],
      }),
      inventory,
      { now: NOW },
    );
    expect(plan.feasible).toBe(false);
    expect(plan.problems).toContainEqual(
      expect.objectContaining({ code: 'DEADLINE_MISSED', wave: 'slow', blocking: true }),
    );
    expect(plan.estimatedCompletion).toBe('2026-11-24T24:00:00.000Z'.replace('24T24', '25T00'));
  });

  it('flags a pin that holds units past the deadline', () => {
    const plan = planRollout(
      newSpec({
        deadline: '2026-12-01T00:00:00Z',
        pins: [{ select: { namespaces: ['ns'] }, until: '2026-12-10T00:00:00Z' }],
      }),
      inventory,
      { now: NOW },
    );
    expect(plan.feasible).toBe(false);
    expect(plan.problems.map((p) => p.code)).toEqual(expect.arrayContaining(['PIN_AFTER_DEADLINE', 'DEADLINE_MISSED']));
  });
});

describe('planRollout: VM hosts', () => {
  it('batches hosts on `from` by their entry maxUnavailable, in the named wave, and leaves unselected groups alone', () => {
    fc.assert(
      fc.property(inventoryArb, fc.integer({ min: 1, max: 60 }), (inventory, percent) => {
        const spec = newSpec({
          waves: [
            { name: 'a', percent: 50 },
            { name: 'b', percent: 100 },
          ],
          vms: [{ select: { groupLabels: { role: 'edge' } }, wave: 'b', maxUnavailable: `${percent}%` }],
        });
        const plan = planRollout(spec, inventory, { now: NOW });
        const hosts = plan.waves.find((w) => w.name === 'b')!.vmHosts;
        const onFrom = inventory.vmGroups[0]!.hosts.filter((h) => h.version === FROM).map((h) => h.name);
        expect(hosts.map((h) => h.name).sort()).toEqual([...onFrom].sort());
        const perBatch = Math.max(1, Math.ceil((percent / 100) * 17 - 1e-9));
        const counts = new Map<number, number>();
        for (const h of hosts) counts.set(h.batch, (counts.get(h.batch) ?? 0) + 1);
        for (const n of counts.values()) expect(n).toBeLessThanOrEqual(perBatch);
        expect(plan.waves.find((w) => w.name === 'a')!.vmHosts).toEqual([]);
        expect(plan.untouchedVmHosts).toBe(1);
      }),
      { numRuns: 50 },
    );
  });
});

describe('planRollout: meshes', () => {
  it('expands each wave per mesh so one mesh changes at a time', () => {
    const inventory = newInventory({
      clusters: [
        {
          name: 'c',
          workloads: ['a', 'b', 'c', 'd'].map((ns) => ({
            namespace: ns,
            kind: 'Deployment' as const,
            name: 'x',
            revision: FROM,
          })),
        },
      ],
    });
    const plan = planRollout(
      newSpec({ sequenceByMesh: true, waves: [{ name: 'all', percent: 100, soak: '1h' }] }),
      inventory,
      {
        now: NOW,
        meshOf: (_c, ns) => (ns < 'c' ? 'mesh-a' : 'mesh-b'),
      },
    );
    expect(plan.waves.map((w) => [w.name, w.mesh, w.workloads.map((x) => x.namespace).sort()])).toEqual([
      ['all-mesh-a', 'mesh-a', ['a', 'b']],
      ['all-mesh-b', 'mesh-b', ['c', 'd']],
    ]);
    expect(Date.parse(plan.waves[1]!.earliestStart)).toBeGreaterThanOrEqual(
      Date.parse(plan.waves[0]!.estimatedConverged) + 3_600_000,
    );
  });

  it('sequences by the inventory cluster mesh when no mesh assignment is given', () => {
    const inventory = newInventory({
      clusters: ['a', 'b'].map((name) => ({
        name,
        mesh: `mesh-${name}`,
        workloads: [{ namespace: 'ns', kind: 'Deployment' as const, name: 'x', revision: FROM }],
      })),
    });
    const plan = planRollout(newSpec({ sequenceByMesh: true }), inventory, { now: NOW });
    expect(plan.waves.map((w) => [w.name, w.workloads.map((x) => x.cluster)])).toEqual([
      ['all-mesh-a', ['a']],
      ['all-mesh-b', ['b']],
    ]);
  });

  /**
   * Two clusters whose namespaces are split over two meshes by their `meshwave.io/mesh` label, as agents
   * report them: the names are chosen so that namespace order and mesh order disagree.
   */
  const meshOfNamespace: Readonly<Record<string, string>> = {
    alpha: 'mesh-b',
    bravo: 'mesh-b',
    xray: 'mesh-a',
    zulu: 'mesh-a',
  };
  function newLabelledInventory(): Inventory {
    return newInventory({
      clusters: ['prod-1', 'prod-2'].map((name) => ({
        name,
        mesh: 'cluster-mesh',
        namespaces: [
          ...Object.entries(meshOfNamespace).map(([ns, mesh]) => ({
            name: ns,
            labels: { [MESH_LABEL]: mesh, team: ns },
          })),
          { name: 'kilo', labels: { team: 'kilo' } },
        ],
        workloads: [...Object.keys(meshOfNamespace), 'kilo'].flatMap((ns) =>
          ['api', 'web', 'worker'].map((w) => ({
            namespace: ns,
            kind: 'Deployment' as const,
            name: w,
            revision: FROM,
          })),
        ),
      })),
    });
  }
  const expectedMesh = (ns: string): string => meshOfNamespace[ns] ?? 'cluster-mesh';

  for (const granularity of ['workload', 'namespace'] as const) {
    it(`sequences a ${granularity}-granularity rollout by the namespaces' mesh labels: one mesh per wave, in mesh order`, () => {
      const plan = planRollout(
        newSpec({
          granularity,
          sequenceByMesh: true,
          waves: [
            { name: 'canary', percent: 50, soak: '1h' },
            { name: 'rest', percent: 100, soak: '1h' },
          ],
        }),
        newLabelledInventory(),
        { now: NOW },
      );

      expect(plan.feasible).toBe(true);
      // Within each rollout wave the meshes go one after the other, in name order; unlabelled namespaces fall
      // back to the cluster's mesh.
      const names = plan.waves.map((w) => w.name);
      expect(names.filter((n) => n.startsWith('canary-'))).toEqual([
        'canary-cluster-mesh',
        'canary-mesh-a',
        'canary-mesh-b',
      ]);
      expect(names.filter((n) => n.startsWith('rest-'))).toEqual(['rest-cluster-mesh', 'rest-mesh-a', 'rest-mesh-b']);
      for (const wave of plan.waves) {
        expect(wave.workloads.length).toBeGreaterThan(0);
        expect(new Set(wave.workloads.map((w) => expectedMesh(w.namespace)))).toEqual(new Set([wave.mesh]));
      }
      // One mesh at a time: a wave starts only after the previous one converged and soaked.
      plan.waves.slice(1).forEach((wave, i) => {
        const previous = plan.waves[i]!;
        expect(Date.parse(wave.earliestStart)).toBeGreaterThanOrEqual(
          Date.parse(previous.estimatedConverged) + previous.soakSeconds * 1000,
        );
      });
      // Every workload moves exactly once, and a namespace unit keeps its workloads together.
      expect(movedKeys(plan).sort()).toEqual(
        newLabelledInventory()
          .clusters.flatMap((c) => c.workloads.map((w) => unitKeyOfWorkload({ cluster: c.name, ...w })))
          .sort(),
      );
      if (granularity === 'namespace') {
        for (const wave of plan.waves) {
          for (const unit of wave.units) expect(unit.split('/')).toHaveLength(2);
        }
      }
    });
  }

  it('lets an explicit mesh assignment win over the labels, and the labels fill in where it answers nothing', () => {
    const plan = planRollout(newSpec({ sequenceByMesh: true }), newLabelledInventory(), {
      now: NOW,
      meshOf: (_cluster, ns) => (ns === 'alpha' ? 'mesh-a' : undefined),
    });
    const meshOfWorkload = new Map(
      plan.waves.flatMap((w) => w.workloads.map((x) => [`${x.cluster}/${x.namespace}/${x.name}`, w.mesh])),
    );
    expect(meshOfWorkload.get('prod-1/alpha/api')).toBe('mesh-a');
    expect(meshOfWorkload.get('prod-2/bravo/api')).toBe('mesh-b');
    expect(meshOfWorkload.get('prod-1/zulu/web')).toBe('mesh-a');
    expect(meshOfWorkload.get('prod-2/kilo/web')).toBe('cluster-mesh');
  });

  it('ignores the mesh labels when the rollout does not sequence by mesh', () => {
    const plan = planRollout(newSpec(), newLabelledInventory(), { now: NOW });
    expect(plan.waves.map((w) => [w.name, w.mesh])).toEqual([['all', undefined]]);
  });

  it('inventoryMeshOf answers per cluster and namespace, nothing for an unlabelled or unknown one', () => {
    const meshOf = inventoryMeshOf(newLabelledInventory());
    expect(meshOf('prod-1', 'zulu')).toBe('mesh-a');
    expect(meshOf('prod-2', 'alpha')).toBe('mesh-b');
    expect(meshOf('prod-1', 'kilo')).toBeUndefined();
    expect(meshOf('prod-9', 'zulu')).toBeUndefined();
  });
});

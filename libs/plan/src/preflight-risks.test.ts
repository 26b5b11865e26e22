import { describe, expect, it } from 'vitest';
import {
  Inventory,
  RiskCode,
  RolloutSpec,
  SkipReason,
  type InventoryInput,
  type RolloutSpecInput,
} from '@meshwave/contracts';
import { formatPlanTable } from './format-table.js';
import { planRollout } from './wave-planner.js';

const NOW = new Date('2026-11-23T08:00:00Z');
const SAFE = {
  readinessProbe: true,
  holdUntilProxyStarts: true,
};

const spec = (over: Partial<RolloutSpecInput['spec']> = {}): RolloutSpec =>
  RolloutSpec.parse({
    apiVersion: 'meshwave.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'preflight' },
    spec: { from: '1-24-5', to: '1-25-2', deadline: '2027-03-01T00:00:00Z', waves: [{ name: 'all' }], ...over },
  });

type WorkloadInput = NonNullable<NonNullable<InventoryInput['clusters']>[number]['workloads']>[number];
const w = (name: string, preflight: WorkloadInput['preflight'], over: Partial<WorkloadInput> = {}): WorkloadInput => ({
  namespace: 'shop',
  kind: 'Deployment',
  name,
  revision: '1-24-5',
  replicas: 3,
  preflight,
  ...over,
});

const inventory = (workloads: WorkloadInput[], hub = 'docker.io/istio', toVersion = '1.25.2'): Inventory =>
  Inventory.parse({
    clusters: [
      {
        name: 'c1',
        controlPlanes: [
          { revision: '1-24-5', version: '1.24.5', ready: true, hub },
          { revision: '1-25-2', version: toVersion, ready: true, hub },
        ],
        workloads,
      },
    ],
  });

describe('preflight risks', () => {
  it('finds every code on the workloads that move, and none on a safe one', () => {
    const p = planRollout(
      spec(),
      inventory([
        w('safe', SAFE),
        w('single', SAFE, { replicas: 1 }),
        w('noprobe', { ...SAFE, readinessProbe: false }),
        w('pdb', { ...SAFE, noDisruptionAllowed: true }),
        w('ondelete', { ...SAFE, onDelete: true }, { kind: 'StatefulSet' }),
        w('partition', { ...SAFE, partition: 2 }, { kind: 'StatefulSet' }),
        w('paused', { ...SAFE, paused: true }),
        w('optout', { ...SAFE, injectionDisabled: true }),
        w('nohold', { readinessProbe: true }),
        w('drain', { ...SAFE, appShutdownSeconds: 45, proxyDrainSeconds: 5 }),
        w('longdrain', { ...SAFE, appShutdownSeconds: 45, proxyDrainSeconds: 60 }),
        w('unread', undefined),
      ]),
      { now: NOW },
    );
    expect(p.risks.map((r) => [r.unit.split('/').pop(), r.code, r.blocking]).sort()).toEqual(
      [
        ['single', RiskCode.SingleReplica, false],
        ['noprobe', RiskCode.NoReadinessProbe, false],
        ['pdb', RiskCode.PdbAllowsNoDisruption, false],
        ['ondelete', RiskCode.StatefulSetOnDelete, false],
        ['partition', RiskCode.StatefulSetPartition, false],
        ['paused', RiskCode.DeploymentPaused, false],
        ['optout', RiskCode.InjectionDisabled, false],
        ['nohold', RiskCode.NoHoldUntilProxyStarts, false],
        ['drain', RiskCode.ProxyDrainShorter, false],
      ].sort(),
    );
    expect(p.waves[0]!.units).toHaveLength(12);
    expect(formatPlanTable(p)).toMatch(/preflight risks \(9\):\nunit\s+risk\s+action\s+detail/);
  });

  it('skips a unit whose risk the rollout blocks on, saying so, and only warns on the others', () => {
    const p = planRollout(
      spec({ preflight: { block: ['SINGLE_REPLICA'], warn: ['NO_READINESS_PROBE'] } }),
      inventory([w('single', SAFE, { replicas: 1 }), w('noprobe', { ...SAFE, readinessProbe: false })]),
      { now: NOW },
    );
    expect(p.waves[0]!.units).toEqual(['c1/shop/Deployment/noprobe']);
    expect(p.skipped.map((s) => [s.name, s.reason])).toEqual([['single', SkipReason.Preflight]]);
    expect(p.risks.find((r) => r.code === RiskCode.SingleReplica)?.blocking).toBe(true);
  });

  it('flags a target whose proxy comes from gcr.io/istio-release at 1.31 or later, cluster-wide', () => {
    const at = (version: string) =>
      planRollout(spec(), inventory([w('a', SAFE)], 'gcr.io/istio-release', version), { now: NOW }).risks;
    expect(at('1.31.0')).toEqual([expect.objectContaining({ unit: 'c1', code: RiskCode.RetiredProxyRegistry })]);
    expect(at('1.30.2')).toEqual([]);
  });

  it('refuses a code named both to block and to warn', () => {
    expect(() => spec({ preflight: { block: ['SINGLE_REPLICA'], warn: ['SINGLE_REPLICA'] } })).toThrow(
      /both block and warn/,
    );
  });
});

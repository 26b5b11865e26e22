import { describe, expect, it } from 'vitest';
import { UnitWaitReason } from '@meshwave/contracts';
import { newHarness } from '../core/engine-harness.js';
import { buildRolloutStatus } from './rollout-status.js';

describe('rollout status: a held wave', () => {
  it('says why the wave is held when its agents start nothing (ControlPlaneNotReady), with the clusters, and stops saying it once they start', () => {
    const h = newHarness();
    const message = 'no istiod of revision 1-25-2 in istio-system';
    h.fleet.waiting.set('prod-1', { reason: UnitWaitReason.ControlPlaneNotReady, message });
    h.settle();
    const held = buildRolloutStatus(h.record, h.state, h.fleet.observations(), h.now).waveStatuses[0]?.held;
    const unitsInProd1 = h.record.plan.waves[0]!.units.filter((u) => u.startsWith('prod-1/')).length;
    expect(unitsInProd1).toBeGreaterThan(0);
    expect(held).toEqual({
      reason: UnitWaitReason.ControlPlaneNotReady,
      message,
      clusters: ['prod-1'],
      units: unitsInProd1,
    });

    h.fleet.waiting.clear();
    h.reconcile();
    for (const d of h.fleet.desired.values())
      h.fleet.apply([
        { kind: 'cluster', target: `cluster/${d.cluster}`, data: { ...d, generation: d.generation + 1 } },
      ]);
    expect(buildRolloutStatus(h.record, h.state, h.fleet.observations(), h.now).waveStatuses[0]).not.toHaveProperty(
      'held',
    );
  });
});

import { createInMemoryStore } from '@meshwave/store';
import { describe, expect, it } from 'vitest';
import { RolloutAdmission } from './rollout-admission.js';
import { RolloutDoc } from './store-layout.js';

describe('rollout admission across leaders', () => {
  it('Given a leader paused after admitting a rollout, When a newer leader admits one over the same units, Then the paused leader can no longer write its rollout', async () => {
    const store = createInMemoryStore();
    const paused = new RolloutAdmission(store);
    const newer = new RolloutAdmission(store);
    await paused.admit({ id: 'x-1', name: 'x', units: ['c1/payments'], epoch: 1 });

    // the registration of x-1 has no state yet and an older epoch: void for the newer leader
    await newer.admit({ id: 'y-1', name: 'y', units: ['c1/payments'], epoch: 2 });

    // the paused leader wakes up and writes the rollout it admitted: refused, so one workload has one driver
    const late = await store.transition({
      scope: 'x-1',
      epoch: 1,
      writes: [{ name: RolloutDoc.State, value: { phase: 'Running' }, expectedVersion: 0 }],
    });
    expect(late).toMatchObject({ ok: false, reason: 'stale-epoch' });
    expect(await store.read('x-1', RolloutDoc.State)).toBeUndefined();
  });
});

import { MAX_EXCLUSIONS_PER_ROLLOUT } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { checkExclusions } from './exclusions.js';
import { newRolloutState, type RolloutRecord } from './rollout-state.js';

function newRecord(units: readonly string[], granularity = 'workload'): RolloutRecord {
  return { id: 'r-1', plan: { granularity, waves: [{ units }] } } as unknown as RolloutRecord;
}

describe('checkExclusions', () => {
  it('accepts units and namespaces of the plan, and names each exclusion that covers nothing', () => {
    const record = newRecord(['c1/team-a/Deployment/web', 'c1/team-b/Deployment/api']);
    const state = { ...newRolloutState(new Date(0)), excluded: ['c1/team-b'] };
    expect(
      checkExclusions(record, state, [
        { cluster: 'c1', namespace: 'team-a' },
        { cluster: 'c1', namespace: 'team-b' },
        { cluster: 'c1', namespace: 'team-a', kind: 'Deployment', name: 'web' },
      ]),
    ).toEqual({ ok: true, added: ['c1/team-a', 'c1/team-a/Deployment/web'] });
    const refused = checkExclusions(record, state, [
      { cluster: 'c1', namespace: 'team-a' },
      { cluster: 'c1', namespace: 'team-z' },
      { cluster: 'c1', namespace: 'team-a', kind: 'Deployment', name: 'gone' },
    ]);
    expect(refused).toMatchObject({ ok: false, problems: [{ path: 'units[1]' }, { path: 'units[2]' }] });
  });

  it('refuses a workload exclusion when the rollout moves whole namespaces', () => {
    const record = newRecord(['c1/team-a'], 'namespace');
    const refused = checkExclusions(record, newRolloutState(new Date(0)), [
      { cluster: 'c1', namespace: 'team-a', kind: 'Deployment', name: 'web' },
    ]);
    expect(refused).toMatchObject({ ok: false, problems: [{ path: 'units[0]' }] });
  });

  it(`refuses exclusions beyond ${MAX_EXCLUSIONS_PER_ROLLOUT} per rollout`, () => {
    const units = Array.from({ length: MAX_EXCLUSIONS_PER_ROLLOUT + 1 }, (_, i) => `c1/ns/Deployment/w-${i}`);
    const state = { ...newRolloutState(new Date(0)), excluded: units.slice(0, MAX_EXCLUSIONS_PER_ROLLOUT - 1) };
    const last = (i: number) => ({ cluster: 'c1', namespace: 'ns', kind: 'Deployment' as const, name: `w-${i}` });
    expect(checkExclusions(newRecord(units), state, [last(MAX_EXCLUSIONS_PER_ROLLOUT - 1)])).toMatchObject({
      ok: true,
    });
    const over = checkExclusions(newRecord(units), state, [
      last(MAX_EXCLUSIONS_PER_ROLLOUT - 1),
      last(MAX_EXCLUSIONS_PER_ROLLOUT),
    ]);
    expect(over).toMatchObject({ ok: false, why: expect.stringContaining(`at most ${MAX_EXCLUSIONS_PER_ROLLOUT}`) });
  });
});

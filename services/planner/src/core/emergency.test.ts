import { describe, expect, it } from 'vitest';
import { planRollout } from '@meshwave/plan';
import { Harness, T0, newHarness, newInventory, newSpec } from './engine-harness.js';
import { planningSpecOf } from './emergency.js';
import { newRolloutRecord } from './rollout-record.js';

const MIN = 60_000;
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const BLACKOUT = { from: at(10 * MIN).toISOString(), to: at(120 * MIN).toISOString(), reason: 'sales event' };
const ALLOWED = { allowInBlackouts: true };
const SPEC = {
  defaults: { soak: '30m', maxUnavailable: '50%', batchEstimate: '1m' },
  windows: { blackouts: [BLACKOUT] },
  priority: 'emergency' as const,
};

describe('engine: priority emergency', () => {
  it("Given priority: emergency and a planner policy allowing emergencies, When a blackout begins mid-rollout, Then it goes on restarting inside the blackout, saying so once in a condition (audited) with the blackout's reason", () => {
    const spec = newSpec(SPEC);
    const plan = planRollout(planningSpecOf(spec, ALLOWED), newInventory(), { now: T0 });
    const h = new Harness(
      newRolloutRecord({ id: 'r1', spec, plan, inventory: newInventory(), createdBy: 'a', now: T0 }),
    );
    h.extra = { emergencies: ALLOWED };
    h.settle();
    h.now = at(10 * MIN);
    h.runUntil(['Completed'], at(120 * MIN - 1));
    expect(h.state.phase).toBe('Completed');
    const conditions = h.decisions.flatMap((d) => d.conditions ?? []);
    expect(conditions).toEqual([
      {
        type: 'EmergencyInBlackout',
        status: true,
        message:
          'priority: emergency restarts inside the blackout (blackout "sales event" until 2026-11-02T11:00:00.000Z) as the planner\'s policy allows (emergencies.allowInBlackouts)',
      },
      { type: 'EmergencyInBlackout', status: false, message: 'the emergency is out of the blackout' },
    ]);
  });

  it('Given priority: emergency but a planner policy that does not allow emergencies, Then the blackout holds it like any rollout', () => {
    const h = newHarness(SPEC);
    h.settle();
    h.now = at(10 * MIN);
    h.runUntil(['Completed'], at(120 * MIN - 1));
    expect(h.state.phase).toBe('Running');
    expect(h.state.dispatchedWaves).toBe(1);
    expect(h.state.reason).toMatch(/^waiting for window until /);
    expect(h.decisions.some((d) => d.conditions !== undefined)).toBe(false);
  });
});

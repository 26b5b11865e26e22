import { InvalidInputError, parseRolloutSpec } from '@meshwave/contracts';
import { planRollout } from '@meshwave/plan';
import { describe, expect, it } from 'vitest';
import { T0, newInventory, newSpec } from './engine-harness.js';
import { PlanRefusal, checkPlanAcceptance } from './plan-acceptance.js';

const HOUR = 3_600_000;

/** A spec whose plan, with 1 h batches, cannot converge its three waves of two clusters within two hours. */
const tooTight = {
  deadline: new Date(T0.getTime() + 2 * HOUR).toISOString(),
  defaults: { soak: '0s', maxUnavailable: 1, batchEstimate: '1h' },
} as const;

function acceptanceOf(overrides: Parameters<typeof newSpec>[0], now = T0): ReturnType<typeof checkPlanAcceptance> {
  const spec = newSpec(overrides);
  return checkPlanAcceptance(spec, planRollout(spec, newInventory(), { now }), now);
}

describe('creating a rollout: the plan must be able to keep its deadline', () => {
  it('accepts a feasible plan as it is', () => {
    expect(acceptanceOf({})).toEqual({ ok: true });
  });

  it('refuses an infeasible plan with each of its problems at the field it comes from', () => {
    const result = acceptanceOf(tooTight);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.refusal).toBe(PlanRefusal.Infeasible);
    expect(result.message).toContain('acceptInfeasible');
    expect(result.problems.length).toBeGreaterThan(0);
    for (const p of result.problems) {
      expect(p.path).toMatch(/^spec\.waves\[\d\]$/);
      expect(p.message).toMatch(/^DEADLINE_MISSED: /);
    }
  });

  it('accepts an infeasible plan when the file says acceptInfeasible, keeping the reason and the problems for the audit', () => {
    const result = acceptanceOf({ ...tooTight, acceptInfeasible: { reason: 'CVE fix, late is better than never' } });
    expect(result).toEqual({
      ok: true,
      acceptedInfeasible: {
        reason: 'CVE fix, late is better than never',
        problems: expect.arrayContaining(['DEADLINE_MISSED']) as unknown as string[],
      },
    });
  });

  it('refuses a deadline already past, even with acceptInfeasible, naming spec.deadline', () => {
    const now = new Date(T0.getTime() + 30 * 86_400_000);
    const spec = newSpec({ deadline: T0.toISOString(), acceptInfeasible: { reason: 'whatever' } });
    const result = checkPlanAcceptance(spec, planRollout(spec, newInventory(), { now }), now);
    expect(result).toMatchObject({
      ok: false,
      refusal: PlanRefusal.DeadlinePassed,
      problems: [{ path: 'spec.deadline' }],
    });
  });

  it('refuses a deadline equal to now (nothing could still be done by then)', () => {
    const spec = newSpec({ deadline: T0.toISOString() });
    const result = checkPlanAcceptance(spec, planRollout(spec, newInventory(), { now: T0 }), T0);
    expect(result).toMatchObject({ ok: false, refusal: PlanRefusal.DeadlinePassed });
  });
});

describe('the rollout file: gates.compare alone', () => {
  it('is an error at gates.compare, with its line and column', () => {
    const text = [
      'apiVersion: meshwave.io/v1alpha1',
      'kind: Rollout',
      'metadata: { name: upgrade }',
      'spec:',
      '  from: 1-24-5',
      '  to: 1-25-2',
      '  deadline: "2026-12-20T00:00:00Z"',
      '  waves: [{ name: all }]',
      '  gates:',
      '    errorRate: { max: 0.01 }',
      '    compare: { test: mann-whitney, alpha: 0.05 }',
    ].join('\n');
    let problems: InvalidInputError['problems'] = [];
    try {
      parseRolloutSpec(text, 'rollouts.yml');
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      problems = error.problems;
    }
    expect(problems).toEqual([
      expect.objectContaining({ path: 'spec.gates.compare', line: 11, column: 5 }) as unknown as never,
    ]);
    expect(problems[0]!.message).toContain('latencyP99');
  });

  it('is accepted with latencyP99 beside it', () => {
    expect(() =>
      newSpec({
        gates: { latencyP99: { maxIncrease: '10%' }, compare: { test: 'mann-whitney', alpha: 0.05 } },
      }),
    ).not.toThrow();
  });
});

import { describe, expect, it } from 'vitest';
import { newDisruptionBudget as budget } from './disruption-budget-fixtures.js';
import { budgetAllowsNoDisruption, labelSelectorSelects, workloadAllowsNoDisruption } from './disruption-budgets.js';

const workload = (app: string, replicas: number, namespace = 'shop') => ({
  namespace,
  templateLabels: { app },
  replicas,
});

describe('labelSelectorSelects', () => {
  it.each([
    [{ matchLabels: { app: 'web' } }, { app: 'web', v: '1' }, true],
    [{ matchLabels: { app: 'web' } }, { app: 'api' }, false],
    [{ matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] }, { app: 'api' }, true],
    [{ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, { app: 'web' }, false],
    [{ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, {}, true],
    [{ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, { app: 'x' }, true],
    [{ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, { app: 'x' }, false],
    [{ matchExpressions: [{ key: 'app', operator: 'Bogus' }] }, { app: 'x' }, false],
    // policy/v1: an empty selector selects every pod of the namespace, a missing one none
    [{}, { app: 'x' }, true],
    [null, { app: 'x' }, false],
  ])('%j selects %j: %s', (selector, labels, selects) => {
    expect(labelSelectorSelects(selector, labels)).toBe(selects);
  });
});

describe('budgetAllowsNoDisruption (from the spec, as the disruption controller scales it)', () => {
  it.each([
    [{ maxUnavailable: 0 }, 3, true],
    [{ maxUnavailable: '0%' }, 3, true],
    [{ maxUnavailable: 1 }, 3, false],
    [{ maxUnavailable: '10%' }, 3, false], // rounded up: 1
    [{ minAvailable: 3 }, 3, true],
    [{ minAvailable: 5 }, 3, true],
    [{ minAvailable: 2 }, 3, false],
    [{ minAvailable: '100%' }, 3, true],
    [{ minAvailable: '90%' }, 3, true], // rounded up: 3 of 3
    [{ minAvailable: '50%' }, 3, false],
    [{}, 3, false],
  ])('%j over %i pods: %s', (spec, pods, none) => {
    expect(budgetAllowsNoDisruption(budget(spec), pods)).toBe(none);
  });
});

describe('workloadAllowsNoDisruption', () => {
  const web = workload('web', 2);
  const api = workload('api', 2);

  it('holds for a workload a blocking budget selects, not for its neighbour or another namespace', () => {
    const budgets = [budget({ maxUnavailable: 0 })];
    expect(workloadAllowsNoDisruption(web, budgets, [web, api])).toBe(true);
    expect(workloadAllowsNoDisruption(api, budgets, [web, api])).toBe(false);
    const elsewhere = workload('web', 2, 'other');
    expect(workloadAllowsNoDisruption(elsewhere, budgets, [elsewhere])).toBe(false);
  });

  it('counts the replicas of every workload the budget selects, as the disruption controller does', () => {
    const both = budget({ selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] } });
    // minAvailable 3 of 4 pods: one may go
    expect(workloadAllowsNoDisruption(web, [{ ...both, minAvailable: 3 }], [web, api])).toBe(false);
    // minAvailable 4 of 4 pods: none may
    expect(workloadAllowsNoDisruption(web, [{ ...both, minAvailable: 4 }], [web, api])).toBe(true);
  });
});

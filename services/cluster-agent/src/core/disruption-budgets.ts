import type { DisruptionBudgetView, LabelSelectorView, Labels } from '../ports/kubernetes-port.js';

/** The workload fields a budget is judged against: its namespace, its pods' labels and how many pods it wants. */
export interface BudgetedWorkload {
  readonly namespace: string;
  readonly templateLabels: Labels;
  readonly replicas: number;
}

/**
 * Whether a label selector (`matchLabels` and `matchExpressions`, as Kubernetes evaluates them) selects these
 * labels. policy/v1 reads an empty selector as every pod of the namespace, and a missing one (null) as none.
 */
export function labelSelectorSelects(selector: LabelSelectorView | null, labels: Labels): boolean {
  if (selector === null) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const value = labels[e.key];
    const has = value !== undefined;
    const ok =
      e.operator === 'In'
        ? has && (e.values ?? []).includes(value)
        : e.operator === 'NotIn'
          ? !has || !(e.values ?? []).includes(value)
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : false; // an operator the apiserver would not have accepted selects nothing
    if (!ok) return false;
  }
  return true;
}

/**
 * An int-or-percent of `total` as the disruption controller scales it (`GetScaledValueFromIntOrPercent` with
 * rounding up); undefined when the value is neither.
 */
function scaled(value: number | string, total: number): number | undefined {
  if (typeof value === 'number') return value;
  const m = /^(\d+)%$/.exec(value);
  return m ? Math.ceil((Number(m[1]) * total) / 100) : undefined;
}

/**
 * True when the budget can never allow an eviction of the pods it selects, whatever their health: its
 * `maxUnavailable` scales to 0, or its `minAvailable` to at least `expectedPods` (the replicas its workloads
 * want, as the disruption controller counts them). Judged from the spec, not from `status.disruptionsAllowed`,
 * which is also 0 for a moment whenever a pod is not ready (every rollout): the risk is the budget, not a
 * passing state.
 */
export function budgetAllowsNoDisruption(budget: DisruptionBudgetView, expectedPods: number): boolean {
  if (budget.maxUnavailable !== undefined) return scaled(budget.maxUnavailable, expectedPods) === 0;
  if (budget.minAvailable !== undefined) {
    const min = scaled(budget.minAvailable, expectedPods);
    return min !== undefined && min >= expectedPods;
  }
  return false;
}

/**
 * Whether a PodDisruptionBudget selecting the workload's pods allows no disruption (the preflight's
 * `noDisruptionAllowed`, ADR 0042). A budget's expected pods are the replicas of every workload of the namespace
 * whose pods it selects, as the disruption controller sums the scale of the pods' controllers.
 */
export function workloadAllowsNoDisruption(
  workload: BudgetedWorkload,
  budgets: Iterable<DisruptionBudgetView>,
  namespaceWorkloads: readonly BudgetedWorkload[],
): boolean {
  for (const b of budgets) {
    if (b.namespace !== workload.namespace || !labelSelectorSelects(b.selector, workload.templateLabels)) continue;
    const expected = namespaceWorkloads
      .filter((w) => w.namespace === b.namespace && labelSelectorSelects(b.selector, w.templateLabels))
      .reduce((sum, w) => sum + w.replicas, 0);
    if (budgetAllowsNoDisruption(b, expected)) return true;
  }
  return false;
}

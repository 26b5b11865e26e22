import type { DisruptionBudgetView } from '../ports/kubernetes-port.js';

/** A PodDisruptionBudget of namespace `shop` selecting `app: web`, for tests; bounds and the rest as given. */
export function newDisruptionBudget(over: Partial<DisruptionBudgetView> = {}): DisruptionBudgetView {
  return {
    namespace: 'shop',
    name: 'web-pdb',
    selector: { matchLabels: { app: 'web' } },
    resourceVersion: '1',
    ...over,
  };
}

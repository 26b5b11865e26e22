import type { ClusterDesiredState } from '@meshwave/contracts';

/** A desired state for cluster `c1` as the planner sends it (rollout r1, generation 1, epoch 1), for tests. */
export const newDesiredState = (over: Partial<ClusterDesiredState> = {}): ClusterDesiredState => ({
  rolloutId: 'r1',
  wave: 0,
  generation: 1,
  epoch: 1,
  cluster: 'c1',
  from: '1-24-5',
  to: '1-25-2',
  granularity: 'namespace',
  maxUnavailable: 1,
  units: [{ namespace: 'a', revision: '1-25-2' }],
  halted: false,
  progressDeadlineSeconds: 600,
  ...over,
});

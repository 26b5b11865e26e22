import type { ClusterDesiredState } from '@meshwave/contracts';
import type { WorkloadView } from '../ports/kubernetes-port.js';

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

/** A Deployment as the port shows it, settled with every replica available, for tests. */
export const newDeploymentView = (over: Partial<WorkloadView> = {}): WorkloadView => ({
  namespace: 'istio-ingress',
  kind: 'Deployment',
  name: 'ingress',
  labels: {},
  templateLabels: { istio: 'ingressgateway' },
  templateAnnotations: {},
  selector: { istio: 'ingressgateway' },
  replicas: 2,
  generation: 1,
  observedGeneration: 1,
  updatedReplicas: over.replicas ?? 2,
  availableReplicas: over.replicas ?? 2,
  progressDeadlineExceeded: false,
  resourceVersion: '1',
  ...over,
});

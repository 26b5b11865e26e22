import { z } from 'zod';
import { Labels, ObjectName, ResourceName, RevisionName } from '@meshwave/contracts';

const RevisionLabelPlacement = z.enum(['workload', 'namespace']);

const FaultTarget = z.strictObject({ cluster: ResourceName, namespace: ObjectName, name: ObjectName.optional() });

/** The embedded default's simulated fleet: sizes, timing and faults. `examples/demo-fleet.yml` is the default. */
export const DemoFleetConfig = z.strictObject({
  /** the revision every workload and host runs at start */
  installed: RevisionName.default('1-24-5'),
  /**
   * Where the starting revision is set: on each workload's pod template (`workload`) or on each namespace
   * (`namespace`: a workload-granularity rollout then hands each namespace's label over to its templates
   * first, ADR 0011). A cluster may say otherwise.
   */
  revisionLabel: RevisionLabelPlacement.default('workload'),
  /** control-plane revisions installed in every cluster */
  revisions: z.array(RevisionName).default(['1-24-5', '1-25-2']),
  clusters: z
    .array(
      z.strictObject({
        name: ResourceName,
        labels: Labels.default({}),
        /** namespace names */
        namespaces: z.array(ObjectName).min(1),
        workloadsPerNamespace: z.number().int().min(1).max(500),
        /** overrides the fleet's `revisionLabel` for this cluster */
        revisionLabel: RevisionLabelPlacement.optional(),
      }),
    )
    .min(1),
  vmGroups: z
    .array(z.strictObject({ name: ObjectName, labels: Labels.default({}), hosts: z.number().int().min(1).max(10_000) }))
    .default([]),
  /**
   * ingress gateways (Deployments injected with Istio's `gateway` template, labelled `istio: ingressgateway`), each
   * on `installed`, its revision on its pod template; a rollout's `gateways:` section moves them by canary (ADR 0050)
   */
  gateways: z
    .array(
      z.strictObject({
        cluster: ResourceName,
        namespace: ObjectName,
        name: ObjectName,
        replicas: z.number().int().min(1).max(50).default(4),
      }),
    )
    .default([]),
  /**
   * ambient mode in a cluster (ADR 0051): nodes in pools, the istio-cni and ztunnel DaemonSets (`OnDelete`) whose
   * templates the operator already updated to `nodeAgentRevision`'s version while their pods still run `installed`'s,
   * namespaces labelled `istio.io/dataplane-mode=ambient` with sidecarless workloads, and a waypoint per namespace
   * on `installed`; a rollout's `ambient:` section moves them node by node
   */
  ambient: z
    .array(
      z.strictObject({
        cluster: ResourceName,
        /** nodes, spread over the pools in turn (`meshwave.io/node-pool`) */
        nodes: z.number().int().min(1).max(1000),
        pools: z.array(ObjectName).min(1).default(['ambient']),
        namespaces: z.array(ObjectName).min(1),
        workloadsPerNamespace: z.number().int().min(1).max(100).default(3),
        waypoints: z.boolean().default(true),
        /** the revision whose version the node agents' templates run; default the last of `revisions` */
        nodeAgentRevision: RevisionName.optional(),
      }),
    )
    .default([]),
  timing: z
    .strictObject({
      /** ms for a simulated pod to become Ready */
      podStartMs: z.number().int().min(0).default(600),
      /** ms for a simulated VM proxy to restart and pass its health check */
      vmRestartMs: z.number().int().min(0).default(400),
      /** soak of every wave in the demo, seconds */
      soakSeconds: z.number().min(0).default(3),
      /** a unit that does not converge in this time fails */
      progressDeadlineSeconds: z.number().int().positive().default(20),
    })
    .default({ podStartMs: 600, vmRestartMs: 400, soakSeconds: 3, progressDeadlineSeconds: 20 }),
  faults: z
    .strictObject({
      crashLoop: z.array(FaultTarget.extend({ revision: RevisionName })).default([]),
      slowRollout: z.array(FaultTarget.extend({ factor: z.number().positive() })).default([]),
      sidecarMismatch: z.array(FaultTarget.extend({ revision: RevisionName })).default([]),
    })
    .default({ crashLoop: [], slowRollout: [], sidecarMismatch: [] }),
});
export type DemoFleetConfig = z.infer<typeof DemoFleetConfig>;

const WORKLOAD_NAMES = [
  'api',
  'web',
  'worker',
  'cache',
  'gateway',
  'indexer',
  'scheduler',
  'reporter',
  'db',
  'queue',
  'auth',
  'search',
];

/** Workload names of a namespace, stable for a given size: the demo's faults and the plan can name them. */
export function demoWorkloadNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const base = WORKLOAD_NAMES[i % WORKLOAD_NAMES.length]!;
    const round = Math.floor(i / WORKLOAD_NAMES.length);
    return round === 0 ? base : `${base}-${round + 1}`;
  });
}

/** Replicas of the i-th workload of a namespace (the fleet benchmark's bound counts its pod starts). */
export function demoWorkloadReplicas(i: number): number {
  return demoWorkloadKind(i) === 'DaemonSet' ? 3 : 1 + (i % 3);
}

/** Kind of the i-th workload of a namespace: mostly Deployments, some StatefulSets and DaemonSets. */
export function demoWorkloadKind(i: number): 'Deployment' | 'StatefulSet' | 'DaemonSet' {
  if (i % 9 === 4) return 'StatefulSet';
  if (i % 13 === 7) return 'DaemonSet';
  return 'Deployment';
}

import { z } from 'zod';

/**
 * What the agent reads of a workload for the preflight (ADR 0035), from its spec and pod template only: no extra
 * API call per workload. Optional in the inventory: agents before it report none, and then nothing is checked.
 */
export const WorkloadPreflight = z.strictObject({
  /** every app container (not istio-proxy) has a readiness probe */
  readinessProbe: z.boolean(),
  /** a Deployment's `spec.paused` */
  paused: z.boolean().default(false),
  /** a StatefulSet's `updateStrategy.type: OnDelete` */
  onDelete: z.boolean().default(false),
  /** a StatefulSet's `rollingUpdate.partition` (0: none) */
  partition: z.number().int().nonnegative().default(0),
  /** the pod template opts out of injection (`sidecar.istio.io/inject: "false"`) */
  injectionDisabled: z.boolean().default(false),
  /** `holdApplicationUntilProxyStarts: true` in the template's `proxy.istio.io/config` */
  holdUntilProxyStarts: z.boolean().default(false),
  /** the template's own `terminationGracePeriodSeconds`, when it sets one (the app's shutdown budget) */
  appShutdownSeconds: z.number().int().nonnegative().optional(),
  /** the proxy's `terminationDrainDuration` from `proxy.istio.io/config`, in seconds; absent: Istio's 5 s */
  proxyDrainSeconds: z.number().nonnegative().optional(),
  /**
   * a PodDisruptionBudget selecting its pods can never allow one (its `maxUnavailable` scales to 0, or its
   * `minAvailable` to all the pods it counts: ADR 0042); absent: not read (an older agent or inventory file)
   */
  noDisruptionAllowed: z.boolean().optional(),
});
export type WorkloadPreflight = z.infer<typeof WorkloadPreflight>;

/** What could go wrong when a unit restarts; stable codes, shown to operators. */
export const RiskCode = {
  SingleReplica: 'SINGLE_REPLICA',
  NoReadinessProbe: 'NO_READINESS_PROBE',
  PdbAllowsNoDisruption: 'PDB_ALLOWS_NO_DISRUPTION',
  StatefulSetOnDelete: 'STATEFULSET_ON_DELETE',
  StatefulSetPartition: 'STATEFULSET_PARTITION',
  DeploymentPaused: 'DEPLOYMENT_PAUSED',
  InjectionDisabled: 'INJECTION_DISABLED',
  NoHoldUntilProxyStarts: 'NO_HOLD_UNTIL_PROXY_STARTS',
  ProxyDrainShorter: 'PROXY_DRAIN_SHORTER_THAN_APP_SHUTDOWN',
  RetiredProxyRegistry: 'RETIRED_PROXY_REGISTRY',
} as const;
export type RiskCode = (typeof RiskCode)[keyof typeof RiskCode];
const RiskCodeSchema = z.enum(Object.values(RiskCode) as [RiskCode, ...RiskCode[]]);

/** One risk of one unit (a cluster-wide one names the cluster as its unit). */
export const PlanRisk = z.object({
  unit: z.string(),
  code: RiskCodeSchema,
  detail: z.string(),
  /** the rollout's `preflight.block` names the code: the unit is skipped */
  blocking: z.boolean(),
});
export type PlanRisk = z.infer<typeof PlanRisk>;

/** The rollout file's `preflight:` section: codes that skip a unit, codes that only warn (the default). */
export const PreflightPolicy = z
  .strictObject({
    block: z.array(RiskCodeSchema).default([]),
    warn: z.array(RiskCodeSchema).default([]),
  })
  .superRefine((p, ctx) => {
    p.warn.forEach((code, i) => {
      if (p.block.includes(code))
        ctx.addIssue({ code: 'custom', path: ['warn', i], message: `${code} is in both block and warn` });
    });
  });
export type PreflightPolicy = z.infer<typeof PreflightPolicy>;

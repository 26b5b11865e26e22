import { z } from 'zod';
import { Labels, MaxUnavailable, ObjectName, durationUpTo } from './primitives.js';

/**
 * What a rollout touching the clusters a rule selects must do. Every requirement given must hold (AND); a
 * requirement left out is not checked.
 */
export const PolicyRequirements = z.strictObject({
  /** the first wave that moves units in a selected cluster needs an operator's approval */
  firstWaveApproval: z.boolean().optional(),
  /** every wave moving units in a selected cluster soaks at least this long */
  minSoak: durationUpTo('365d').optional(),
  /** in a selected cluster no wave restarts more at once than this (resolved against its units there) */
  maxUnavailable: MaxUnavailable.optional(),
  /** the rollout has a metric gate (gates.errorRate or gates.latencyP99) */
  metricGates: z.boolean().optional(),
});
export type PolicyRequirements = z.infer<typeof PolicyRequirements>;

export const PolicyRule = z.strictObject({
  /** named in every refusal it causes */
  name: ObjectName,
  /** the rule applies to a rollout moving units in a cluster carrying all these labels */
  clusterLabels: Labels,
  require: PolicyRequirements,
});
export type PolicyRule = z.infer<typeof PolicyRule>;

/** At most this many rules per policy file: a policy is read on every creation. */
export const MAX_POLICY_RULES = 200;

/**
 * The planner's policy per environment (`MESHWAVE_POLICY`, a YAML or JSON file): rules by cluster labels that a
 * rollout must keep to be created (422 POLICY_VIOLATION naming the rule and the field), and whether a rollout of
 * `priority: emergency` may restart inside blackouts.
 */
export const Policy = z.strictObject({
  apiVersion: z.literal('meshwave.io/v1alpha1'),
  kind: z.literal('Policy'),
  rules: z.array(PolicyRule).max(MAX_POLICY_RULES).default([]),
  emergencies: z
    .strictObject({
      /** `priority: emergency` rollouts may restart inside blackouts (each such decision is audited); default false */
      allowInBlackouts: z.boolean().default(false),
    })
    .default({ allowInBlackouts: false }),
});
export type Policy = z.infer<typeof Policy>;

import { z } from 'zod';
import { Labels, NameGlob, ObjectName, RevisionName, durationUpTo } from './primitives.js';

/**
 * How a gateway is deployed (ADR 0047): `injected` is a Deployment injected with Istio's `gateway` template
 * (Istio's gateway charts, `istio: ingressgateway`), moved by meshwave's canary copy beside it; `gateway-api` is
 * the Deployment istiod runs for a Gateway API `Gateway`, restarted by istiod when its revision or tag moves.
 */
export const GatewayKind = { Injected: 'injected', GatewayApi: 'gateway-api' } as const;
export type GatewayKind = (typeof GatewayKind)[keyof typeof GatewayKind];

/** At most this many gateways per cluster (a cluster runs a handful of ingress and egress gateways). */
export const MAX_GATEWAYS = 500;

/** The canary copy meshwave created beside a gateway for `to` (ADR 0047), as its agent sees it. */
export const GatewayCanary = z.strictObject({
  name: ObjectName,
  revision: RevisionName,
  replicas: z.number().int().nonnegative(),
  readyReplicas: z.number().int().nonnegative(),
});
export type GatewayCanary = z.infer<typeof GatewayCanary>;

/** A gateway Deployment of a cluster, as its agent reports it; never also one of the cluster's `workloads`. */
export const InventoryGateway = z.strictObject({
  namespace: ObjectName,
  /** the Deployment's name */
  name: ObjectName,
  kind: z.enum([GatewayKind.Injected, GatewayKind.GatewayApi]),
  /** the Gateway API `Gateway` it serves (`gateway.networking.k8s.io/gateway-name`), for `gateway-api` */
  gatewayName: z.string().min(1).max(253).optional(),
  labels: Labels.default({}),
  /** the revision it is assigned to (pod-template or namespace `istio.io/rev`; may be a tag) */
  revision: RevisionName.nullable(),
  /** the revision injected into its running pods, when the agent has seen them */
  injectedRevision: RevisionName.nullable().optional(),
  replicas: z.number().int().nonnegative().default(1),
  readyReplicas: z.number().int().nonnegative().optional(),
  /** the copy on another revision meshwave runs beside it during a canary */
  canary: GatewayCanary.optional(),
});
export type InventoryGateway = z.infer<typeof InventoryGateway>;

/** Selects gateways: every field given must match (AND); within a list any entry may match. */
export const GatewaySelector = z.strictObject({
  clusters: z.array(NameGlob).optional(),
  clusterLabels: Labels.optional(),
  namespaces: z.array(NameGlob).optional(),
  /** labels every selected gateway Deployment carries (`istio: ingressgateway`) */
  gatewayLabels: Labels.optional(),
});
export type GatewaySelector = z.infer<typeof GatewaySelector>;

/** At most this many canary steps: each is held for its soak, so more would only stretch the rollout. */
export const MAX_GATEWAY_STEPS = 10;
export const DEFAULT_GATEWAY_STEPS = [10, 50, 100] as const;

/**
 * The rollout file's `gateways:` section (ADR 0047). Absent: the rollout leaves gateways on their revision.
 * `steps` is the share (percent) of each gateway's replicas on `to` once each step has converged.
 */
export const GatewayRollout = z
  .strictObject({
    select: GatewaySelector.default({}),
    steps: z
      .array(z.number().int('a whole percent').min(1, 'at least 1%').max(100, 'at most 100%'))
      .min(1, 'at least one step')
      .max(MAX_GATEWAY_STEPS, `at most ${MAX_GATEWAY_STEPS} steps`)
      .default([...DEFAULT_GATEWAY_STEPS]),
    /** held after each step converges before its gate is final; default `defaults.soak` */
    soak: durationUpTo('365d').optional(),
  })
  .superRefine((g, ctx) => {
    g.steps.forEach((p, i) => {
      if (i > 0 && p <= g.steps[i - 1]!)
        ctx.addIssue({
          code: 'custom',
          path: ['steps', i],
          message: `steps must increase: ${p}% is not above the step before it (${g.steps[i - 1]}%)`,
        });
    });
    if (g.steps.at(-1) !== 100)
      ctx.addIssue({
        code: 'custom',
        path: ['steps', g.steps.length - 1],
        message: 'the last step must be 100 (every replica of each gateway on `to`)',
      });
  });
export type GatewayRollout = z.infer<typeof GatewayRollout>;

/** A gateway as a plan lists it. */
export const PlannedGateway = z.object({
  cluster: z.string(),
  namespace: z.string(),
  name: z.string(),
  kind: z.enum([GatewayKind.Injected, GatewayKind.GatewayApi]),
  /** the Gateway API `Gateway` istiod runs it for (`gateway-api` gateways of agents that report it) */
  gatewayName: z.string().min(1).max(253).optional(),
});
export type PlannedGateway = z.infer<typeof PlannedGateway>;

/** One gateway step of a plan: after every workload wave, each held for its soak. */
export const PlannedGatewayStep = z.object({
  index: z.number().int().nonnegative(),
  /** `gateways-10%` … `gateways-100%`, then `gateway-api` */
  name: z.string(),
  kind: z.enum([GatewayKind.Injected, GatewayKind.GatewayApi]),
  /** share of each gateway's replicas on `to` once the step converged */
  percent: z.number().int().min(1).max(100),
  earliestStart: z.string(),
  estimatedConverged: z.string(),
  soakSeconds: z.number().nonnegative(),
  gateways: z.array(PlannedGateway),
  delays: z.array(z.string()),
});
export type PlannedGatewayStep = z.infer<typeof PlannedGatewayStep>;

/**
 * A gateway step in a cluster's desired state (ADR 0047): gateway `name` with `percent` of its replicas on
 * `revision` (the copy beside it); 0 takes every replica back to the old Deployment and removes the copy.
 */
export const GatewayStepCommand = z.strictObject({
  namespace: ObjectName,
  name: ObjectName,
  revision: RevisionName,
  percent: z.number().int().min(0).max(100),
  /** at 100%: the old Deployment is deleted once it has no pod (the rollout will not fail back past this) */
  removeOld: z.boolean().default(false),
  /**
   * absent: an injected gateway, moved by the canary copy; `gateway-api`: the `Gateway` istiod runs this
   * Deployment for gets `istio.io/rev: <revision>` at 100% (back to `from` at 0%) and istiod restarts it (ADR 0050)
   */
  kind: z.enum([GatewayKind.Injected, GatewayKind.GatewayApi]).optional(),
  /**
   * the rollout's revision tag (`spec.tag`), for a `gateway-api` step: a `Gateway` meshwave pinned to the concrete
   * old revision before the tag moved (ADR 0056) is labelled with the tag again at 100%, the tag then naming `revision`
   */
  tag: RevisionName.optional(),
});
export type GatewayStepCommand = z.infer<typeof GatewayStepCommand>;

/**
 * A Gateway API `Gateway` a tag move must not restart (ADR 0056): labelled with the rollout's tag and moved by its
 * `gateway-api` step, it is pinned to the revision the tag names before the agent moves the tag.
 */
export const GatewayPin = z.strictObject({ namespace: ObjectName, gatewayName: z.string().min(1).max(253) });
export type GatewayPin = z.infer<typeof GatewayPin>;

/** The annotation a pinned `Gateway` carries: the tag it followed (ADR 0056). */
export const PINNED_TAG_ANNOTATION = 'meshwave.io/pinned-tag';

/** How far a cluster's agent got with a gateway step (`UnitProgress.gateways`). */
export const GatewayStepProgress = z.object({
  namespace: z.string(),
  name: z.string(),
  /** the share this report is about */
  percent: z.number().int().min(0).max(100),
  state: z.enum(['pending', 'restarting', 'converged', 'failed']),
  /** what the step waits for, or why it failed */
  reason: z.string().max(1024).optional(),
});
export type GatewayStepProgress = z.infer<typeof GatewayStepProgress>;

/** A rollout's gateway steps and gateways as its status shows them (ADR 0050); absent when it plans none. */
export const GatewayRolloutStatus = z.object({
  steps: z.array(
    z.object({
      /** the engine's wave index of the step (after the workload waves) */
      wave: z.number().int().nonnegative(),
      name: z.string(),
      percent: z.number().int().min(1).max(100),
      state: z.enum(['pending', 'active', 'done', 'rolled-back']),
    }),
  ),
  gateways: z.array(
    PlannedGateway.extend({
      /** the share of its replicas it should have on `to` now */
      percent: z.number().int().min(0).max(100),
      /** what its agent last reported of that share */
      state: z.enum(['pending', 'moving', 'converged', 'failed']),
      reason: z.string().optional(),
    }),
  ),
});
export type GatewayRolloutStatus = z.infer<typeof GatewayRolloutStatus>;

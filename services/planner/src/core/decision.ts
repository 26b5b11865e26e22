import type { GateVerdict, TransitionRecord } from '@meshwave/contracts';
import type { EngineCommand } from './desired-state.js';
import type { Freeze } from './fleet-freeze.js';
import type { PlannerLoad } from './judgement-hold.js';
import { agentReportHealthSource, type HealthSource } from './health-source.js';
import { metricHealthSources } from './metric-gates.js';
import type { MetricObservation } from './metric-samples.js';
import type { Observations, RolloutRecord, RolloutState } from './rollout-state.js';
import type { Membership } from './wave-membership.js';

export interface EngineConfig {
  /** a target whose reports lag behind what was sent gets it again after this long */
  readonly resyncAfterMs: number;
  /** an Inconclusive or Error final gate is evaluated again after this long */
  readonly gateRetryMs: number;
  /** verdicts kept per rollout (the newest) */
  readonly maxVerdicts: number;
}

export const DEFAULT_ENGINE_CONFIG: EngineConfig = { resyncAfterMs: 30_000, gateRetryMs: 15_000, maxVerdicts: 500 };

export interface DecisionInput {
  readonly record: RolloutRecord;
  readonly state: RolloutState;
  readonly observations: Observations;
  readonly now: Date;
  /** the leader's fencing epoch, stamped on every command */
  readonly epoch: number;
  /** re-send every target's desired state (a new leader taking over) */
  readonly resendAll?: boolean;
  readonly config?: EngineConfig;
  /** default: agent reports and the metric gates (which pass silently unless the rollout asks for them) */
  readonly healthSources?: readonly HealthSource[];
  /** what the metrics adapter fetched for the current wave; undefined: no metrics backend configured */
  readonly metrics?: MetricObservation;
  /**
   * The adapter is fetching a sample of the current window (`metrics`, if any, is an older one): watches judge on
   * `metrics`, a final verdict waits for the fetch (no verdict; the rollout is reconciled when the sample arrives).
   */
  readonly metricsPending?: boolean;
  /** the planner's own event-loop delay now; past its threshold no failure is judged (see judgement-hold.ts) */
  readonly plannerLoad?: PlannerLoad;
  /** the fleet-wide freeze in force, if any: no wave starts and every target is told to start no restart */
  readonly freeze?: Freeze;
  /** what the planner hears of each cluster's agent (absent: every cluster reachable, the plan's clusters only) */
  readonly membership?: Membership;
  /** the planner's policy on emergencies: may a `priority: emergency` rollout restart inside blackouts */
  readonly emergencies?: { readonly allowInBlackouts: boolean };
}

/** Agent reports, then the metric gates with their default thresholds. */
export const DEFAULT_HEALTH_SOURCES: readonly HealthSource[] = [agentReportHealthSource, ...metricHealthSources()];

/** A condition of the rollout that changed in this decision (set or cleared), with why: published as an event. */
export interface RolloutCondition {
  readonly type: 'DeadlineAtRisk' | 'EmergencyInBlackout';
  readonly status: boolean;
  readonly message: string;
}

/** What to do: the next state (to store with the epoch), why, what to publish, and when to look again. */
export interface Decision {
  readonly state: RolloutState;
  readonly transitions: readonly TransitionRecord[];
  readonly verdicts: readonly GateVerdict[];
  /** conditions set or cleared (DeadlineAtRisk) */
  readonly conditions?: readonly RolloutCondition[];
  /** halt commands first, then desired states: one target's commands stay in this order on its partition */
  readonly commands: readonly EngineCommand[];
  /** the next instant this rollout needs a look even if no report arrives; undefined: only events move it */
  readonly wakeAt?: Date;
  /** the state differs from the input (something to store) */
  readonly changed: boolean;
}

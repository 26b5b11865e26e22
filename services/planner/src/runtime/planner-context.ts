import type { HealthReport } from '@meshwave/contracts';
import type { EventBus } from '@meshwave/bus';
import type { Clock } from '@meshwave/reconcile';
import type { StateStore } from '@meshwave/store';
import type { Logger } from '@meshwave/telemetry';
import type { ResolvedPlannerConfig } from '../config/config.js';
import type { Received } from '../core/rollout-state.js';
import type { LoopDelaySource } from '../metrics/event-loop-delay.js';
import type { PlannerMetrics } from '../metrics/planner-metrics.js';

/** What every part of the planner runtime shares: its ports, settings, clock and metrics. */
export interface PlannerContext {
  readonly bus: EventBus;
  readonly store: StateStore;
  readonly config: ResolvedPlannerConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly metrics: PlannerMetrics;
  /** latest health report per cluster: observations without generation, kept in memory (report intake writes) */
  readonly health: Map<string, Received<HealthReport>>;
  /** per cluster, when (clock ms) this process last heard its agent: a heartbeat or any report (report intake writes) */
  readonly heard: Map<string, number>;
  /** the process's own event-loop delay, read when deciding (a starved planner holds judgement) */
  readonly loopDelay: LoopDelaySource;
}

/** The adapter loop's time as a date; the engine itself takes `now` as a parameter. */
export function nowOf(context: Pick<PlannerContext, 'clock'>): Date {
  return new Date(context.clock.now());
}

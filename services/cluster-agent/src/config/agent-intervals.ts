/** How often the agent re-reconciles and reports, and how long it lets reports gather before sending them. */
export interface AgentIntervals {
  /** full re-reconcile of every unit (catches what watches and the webhook missed) */
  readonly resyncMs: number;
  readonly heartbeatMs: number;
  /** the health report is sent on change and again every `healthMs` */
  readonly healthMs: number;
  /**
   * the progress of every rollout whose units the agent holds is re-sent this often even when nothing changed:
   * a report lost on the way (or that the planner could not take) is made up for
   */
  readonly reportResendMs: number;
  readonly inventoryDebounceMs: number;
  readonly progressDebounceMs: number;
}

/** default of `reportResendMs` (`MESHWAVE_REPORT_RESEND_MS`) */
export const DEFAULT_REPORT_RESEND_MS = 30_000;

export const DEFAULT_INTERVALS: AgentIntervals = {
  resyncMs: 60_000,
  heartbeatMs: 10_000,
  healthMs: 15_000,
  reportResendMs: DEFAULT_REPORT_RESEND_MS,
  inventoryDebounceMs: 2_000,
  progressDebounceMs: 500,
};

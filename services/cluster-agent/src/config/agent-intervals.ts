/** How often the agent re-reconciles and reports, and how long it lets reports gather before sending them. */
export interface AgentIntervals {
  /** full re-reconcile of every unit (catches what watches and the webhook missed) */
  readonly resyncMs: number;
  readonly heartbeatMs: number;
  readonly healthMs: number;
  readonly inventoryDebounceMs: number;
  readonly progressDebounceMs: number;
}

export const DEFAULT_INTERVALS: AgentIntervals = {
  resyncMs: 60_000,
  heartbeatMs: 10_000,
  healthMs: 15_000,
  inventoryDebounceMs: 2_000,
  progressDebounceMs: 500,
};

import { RolloutPhase, WavePhase } from '@meshwave/contracts';
import type { RolloutState } from '../core/rollout-state.js';
import type { Inventory } from '@meshwave/contracts';
import type { Membership } from '../core/wave-membership.js';
import type { PlannerContext } from './planner-context.js';

/**
 * What the engine needs to judge membership: when each agent was last heard, and — only when a wave may start
 * (Pending, Dispatching, or Gating, which starts the next wave in the same decision),
 * as reading and planning the fleet costs its size — the fleet as it is now (a cluster may have joined), read by
 * `fleet`: the planner's fleet inventory, whose documents are validated once per version (reading and validating
 * 100,000 workloads afresh blocked the loop for 1.5-2.7 s each time at fleet scale, issue 15).
 */
export async function membershipOf(
  context: Pick<PlannerContext, 'heard'> & { readonly config: Pick<PlannerContext['config'], 'heartbeatTimeoutMs'> },
  state: RolloutState,
  since: number,
  fleet: () => Promise<Inventory>,
): Promise<Membership> {
  const starting =
    state.phase === RolloutPhase.Pending ||
    (state.phase === RolloutPhase.Running &&
      (state.wavePhase === WavePhase.Dispatching || state.wavePhase === WavePhase.Gating));
  const base = { lastSeen: context.heard, since, timeoutMs: context.config.heartbeatTimeoutMs };
  if (!starting) return base;
  return { ...base, inventory: await fleet() };
}

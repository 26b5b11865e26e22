import { RolloutPhase, WavePhase } from '@meshwave/contracts';
import type { RolloutState } from '../core/rollout-state.js';
import type { Membership } from '../core/wave-membership.js';
import type { PlannerContext } from './planner-context.js';
import { FLEET_SCOPE, mergeInventory } from './store-layout.js';

/**
 * What the engine needs to judge membership: when each agent was last heard, and — only when a wave may start
 * (Pending, Dispatching, or Gating, which starts the next wave in the same decision),
 * as reading and planning the fleet costs its size — the fleet as it is now (a cluster may have joined).
 */
export async function membershipOf(
  context: Pick<PlannerContext, 'heard' | 'config' | 'store'>,
  state: RolloutState,
  since: number,
): Promise<Membership> {
  const starting =
    state.phase === RolloutPhase.Pending ||
    (state.phase === RolloutPhase.Running &&
      (state.wavePhase === WavePhase.Dispatching || state.wavePhase === WavePhase.Gating));
  const base = { lastSeen: context.heard, since, timeoutMs: context.config.heartbeatTimeoutMs };
  if (!starting) return base;
  const { inventory } = mergeInventory(await context.store.readScope(FLEET_SCOPE));
  return { ...base, inventory };
}

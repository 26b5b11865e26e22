import type { TransitionPage, TransitionPageQuery } from '@meshwave/contracts';
import type { RolloutState } from '../core/rollout-state.js';
import { transitionCount } from '../core/transition-history.js';

/**
 * One page of a rollout's transitions, newest page first: the `limit` transitions before `cursor` (a seq; none:
 * the newest), oldest first. The cursor is a seq, so pages stay stable while the rollout keeps moving.
 */
export function transitionPage(state: RolloutState, query: TransitionPageQuery): TransitionPage {
  const dropped = state.historyDropped ?? 0;
  const total = transitionCount(state);
  const end = Math.min(total, query.cursor === undefined ? total : Number(query.cursor));
  const start = Math.max(dropped, end - query.limit);
  const transitions = state.history
    .slice(Math.max(0, start - dropped), Math.max(0, end - dropped))
    .map((t, i) => ({ ...t, seq: start + i }));
  return {
    transitions,
    total,
    oldestKept: dropped,
    ...(start > dropped ? { nextCursor: String(start) } : {}),
  };
}

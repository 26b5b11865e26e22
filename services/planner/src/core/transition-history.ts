import type { TransitionRecord } from '@meshwave/contracts';
import type { RolloutState } from './rollout-state.js';

/**
 * Transitions a rollout's state keeps (ADR 0015). The state document is rewritten by every reconcile, so it must
 * not grow with every pause and resume an operator (or a script) repeats; older transitions stay in the audit,
 * which is kept by age.
 */
export const MAX_KEPT_TRANSITIONS = 500;

/** `history` with `record` appended and the oldest beyond the bound dropped, and the count of those dropped. */
export function appendTransition(
  state: Pick<RolloutState, 'history' | 'historyDropped'>,
  record: TransitionRecord,
): Pick<RolloutState, 'history' | 'historyDropped'> {
  const history = [...state.history, record];
  const drop = Math.max(0, history.length - MAX_KEPT_TRANSITIONS);
  const dropped = (state.historyDropped ?? 0) + drop;
  return { history: drop > 0 ? history.slice(drop) : history, ...(dropped > 0 ? { historyDropped: dropped } : {}) };
}

/** How many transitions the rollout made in all: the seq the next one gets. */
export function transitionCount(state: Pick<RolloutState, 'history' | 'historyDropped'>): number {
  return (state.historyDropped ?? 0) + state.history.length;
}

/** The kept transitions with seq `seen` and later (a follower's event stream catching up). */
export function transitionsSince(
  state: Pick<RolloutState, 'history' | 'historyDropped'>,
  seen: number,
): readonly TransitionRecord[] {
  return state.history.slice(Math.max(0, seen - (state.historyDropped ?? 0)));
}

import type { TransitionRecord } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { transitionPage } from '../views/transition-page.js';
import { newRolloutState, type RolloutState } from './rollout-state.js';
import { MAX_KEPT_TRANSITIONS, appendTransition, transitionCount, transitionsSince } from './transition-history.js';
import { transition } from './transition-table.js';

const newTransition = (i: number): TransitionRecord => ({
  at: new Date(Date.UTC(2026, 10, 22, 0, 0, i)).toISOString(),
  from: 'Paused',
  to: 'Pending',
  trigger: 'resume',
  reason: `step ${i}`,
  wave: 0,
  actor: 'olga',
});

function stateWith(transitions: number): RolloutState {
  let state = newRolloutState(new Date('2026-11-22T00:00:00Z'));
  for (let i = 0; i < transitions; i++) state = { ...state, ...appendTransition(state, newTransition(i)) };
  return state;
}

describe('transition history', () => {
  it('Given an operator repeating pause and resume, When the rollout transitions past the bound, Then the state keeps the newest ones and counts the others', () => {
    let state = newRolloutState(new Date('2026-11-22T00:00:00Z'));
    const at = new Date('2026-11-22T01:00:00Z');
    for (let i = 0; i < MAX_KEPT_TRANSITIONS + 10; i++)
      state =
        i % 2 === 0
          ? transition(state, 'Paused', 'pause', 'pause', at, 'olga').state
          : transition(state, 'Pending', 'resume', 'resume', at, 'olga').state;
    expect(state.history).toHaveLength(MAX_KEPT_TRANSITIONS);
    expect(state.historyDropped).toBe(10);
    expect(transitionCount(state)).toBe(MAX_KEPT_TRANSITIONS + 10);
    expect(transitionsSince(state, MAX_KEPT_TRANSITIONS + 8)).toHaveLength(2);
    expect(transitionsSince(state, 0)).toHaveLength(MAX_KEPT_TRANSITIONS);
  });

  it('Given kept and dropped transitions, When paged, Then seq numbers are absolute and the last page ends at the oldest kept', () => {
    const state = stateWith(MAX_KEPT_TRANSITIONS + 5);
    const newest = transitionPage(state, { limit: 3 });
    expect(newest.transitions.map((t) => t.seq)).toEqual([502, 503, 504]);
    expect(newest.transitions.map((t) => t.reason)).toEqual(['step 502', 'step 503', 'step 504']);
    expect(newest).toMatchObject({ total: 505, oldestKept: 5, nextCursor: '502' });
    const oldest = transitionPage(state, { limit: 3, cursor: '7' });
    expect(oldest.transitions.map((t) => t.seq)).toEqual([5, 6]);
    expect(oldest.nextCursor).toBeUndefined();
    expect(transitionPage(state, { limit: 3, cursor: '2' }).transitions).toEqual([]);
    expect(transitionPage(stateWith(0), { limit: 3 })).toEqual({ transitions: [], total: 0, oldestKept: 0 });
  });
});

import { RolloutPhase, TransitionTrigger, WavePhase, type TransitionRecord } from '@meshwave/contracts';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import type { RolloutState } from './rollout-state.js';
import { appendTransition } from './transition-history.js';

/** A rollout's position in the state machine: a phase, or `Running/<wave phase>`. */
export type StateKey = Exclude<RolloutPhase, 'Running'> | `Running/${WavePhase}`;

const R = (w: WavePhase): StateKey => `Running/${w}`;
const { Pending, Paused, Halted, RollingBack, RolledBack, Completed, Failed } = RolloutPhase;
const { Dispatching, Converging, Soaking, Gating } = WavePhase;
const T = TransitionTrigger;
const running: readonly StateKey[] = [R(Dispatching), R(Converging), R(Soaking), R(Gating)];
const watching: readonly StateKey[] = [R(Converging), R(Soaking), R(Gating)];

interface Edge {
  readonly from: readonly StateKey[];
  readonly trigger: TransitionTrigger;
  readonly to: readonly StateKey[];
}

/**
 * Every transition the engine may make, and nothing else. The decision function and operator actions
 * go through `transition()`, which refuses any pair not listed here.
 */
export const TRANSITIONS: readonly Edge[] = [
  { from: [Pending], trigger: T.Start, to: [R(Dispatching)] },
  { from: [R(Dispatching)], trigger: T.Dispatched, to: [R(Converging)] },
  { from: [R(Converging)], trigger: T.Converged, to: [R(Soaking)] },
  { from: [R(Soaking)], trigger: T.SoakElapsed, to: [R(Gating)] },
  { from: [R(Gating)], trigger: T.GatePassed, to: [R(Dispatching)] },
  { from: [R(Gating)], trigger: T.LastGatePassed, to: [Completed] },
  { from: [R(Gating)], trigger: T.InconclusiveLimit, to: [Paused] },
  { from: watching, trigger: T.GateFailed, to: [Halted] },
  { from: [Halted], trigger: T.RollbackStarted, to: [RollingBack] },
  { from: [RollingBack], trigger: T.WaveRolledBack, to: [Halted] },
  { from: [RollingBack], trigger: T.RolledBack, to: [RolledBack] },
  { from: [RollingBack], trigger: T.RollbackFailed, to: [Failed] },
  // operator actions
  { from: [Pending, ...running], trigger: T.Pause, to: [Paused] },
  { from: [Paused], trigger: T.Resume, to: [Pending, ...running] },
  { from: [Halted], trigger: T.Resume, to: [R(Dispatching)] },
  { from: [Halted], trigger: T.Retry, to: [R(Dispatching)] },
  { from: [Pending], trigger: T.Rollback, to: [RolledBack] },
  { from: [...running, Paused, Halted, Completed], trigger: T.Rollback, to: [RollingBack] },
  { from: [Pending, ...running, Paused, Halted, RollingBack], trigger: T.Abort, to: [Failed] },
];

/** Phases nothing leaves. */
export const TERMINAL_PHASES: ReadonlySet<RolloutPhase> = new Set([Completed, RolledBack, Failed]);

export function stateKeyOf(state: Pick<RolloutState, 'phase' | 'wavePhase'>): StateKey {
  return state.phase === RolloutPhase.Running ? R(state.wavePhase ?? Dispatching) : (state.phase as StateKey);
}

function parseKey(key: StateKey): { phase: RolloutPhase; wavePhase?: WavePhase } {
  if (key.startsWith('Running/'))
    return { phase: RolloutPhase.Running, wavePhase: key.slice('Running/'.length) as WavePhase };
  return { phase: key as RolloutPhase };
}

export function isAllowed(from: StateKey, trigger: TransitionTrigger, to: StateKey): boolean {
  return TRANSITIONS.some((e) => e.trigger === trigger && e.from.includes(from) && e.to.includes(to));
}

/** Whether any transition with `trigger` leaves `from` (for "409: not applicable because ..."). */
export function canTrigger(from: StateKey, trigger: TransitionTrigger): boolean {
  return TRANSITIONS.some((e) => e.trigger === trigger && e.from.includes(from));
}

/** One transition: the new state (phase fields only) and its record. Throws on a pair the table does not list. */
export function transition(
  state: RolloutState,
  to: StateKey,
  trigger: TransitionTrigger,
  reason: string,
  at: Date,
  actor = 'engine',
): { state: RolloutState; record: TransitionRecord } {
  const from = stateKeyOf(state);
  if (!isAllowed(from, trigger, to)) {
    throw new PlannerError(PlannerErrorCode.InvalidTransition, `no transition ${from} -(${trigger})-> ${to}`, {
      context: { from, to, trigger },
    });
  }
  const target = parseKey(to);
  const record: TransitionRecord = { at: at.toISOString(), from, to, trigger, reason, wave: state.wave, actor };
  const next: RolloutState = {
    ...state,
    phase: target.phase,
    reason,
    ...appendTransition(state, record),
    updatedAt: record.at,
  };
  if (target.wavePhase === undefined) delete (next as { wavePhase?: WavePhase }).wavePhase;
  else (next as { wavePhase?: WavePhase }).wavePhase = target.wavePhase;
  return { state: next, record };
}

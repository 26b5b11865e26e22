import {
  OperatorAction,
  RolloutPhase,
  TransitionTrigger,
  WavePhase,
  type ExcludedUnit,
  type TransitionRecord,
} from '@meshwave/contracts';
import type { RolloutRecord, RolloutState } from './rollout-state.js';
import { checkExclusions, excludedUnitKey } from './exclusions.js';
import { includeBack } from './inclusions.js';
import { TERMINAL_PHASES, canTrigger, stateKeyOf, transition, type StateKey } from './transition-table.js';

export interface OperatorRequest {
  readonly action: OperatorAction;
  /** who (token name), for the transition record and the audit stream */
  readonly actor: string;
  readonly reason?: string;
  readonly now: Date;
  /** for `exclude` and `include` */
  readonly units?: readonly ExcludedUnit[];
}

export type OperatorResult =
  | {
      readonly ok: true;
      readonly state: RolloutState;
      readonly transitions: readonly TransitionRecord[];
      readonly message: string;
    }
  /** the action does not apply now; `why` is for the 409 body, `problems` (bad request fields) make it a 422 */
  | { readonly ok: false; readonly why: string; readonly problems?: readonly { path: string; message: string }[] };

const refuse = (why: string): OperatorResult => ({ ok: false, why });

function withReason(what: string, reason: string | undefined): string {
  return reason ? `${what}: ${reason}` : what;
}

/** What an action handler gets: the rollout, its state and the request, plus a transition helper. */
interface ActionContext {
  readonly record: RolloutRecord;
  readonly state: RolloutState;
  readonly request: OperatorRequest;
  readonly from: StateKey;
  go(to: StateKey, trigger: TransitionTrigger, reason: string, patch?: Partial<RolloutState>): OperatorResult;
}

function pause({ state, request, from, go }: ActionContext): OperatorResult {
  if (!canTrigger(from, TransitionTrigger.Pause))
    return refuse(`cannot pause a rollout that is ${from}: only Pending or Running rollouts pause`);
  return go('Paused', TransitionTrigger.Pause, withReason(`paused by ${request.actor}`, request.reason), {
    pausedFrom: { phase: state.phase, ...(state.wavePhase !== undefined ? { wavePhase: state.wavePhase } : {}) },
  });
}

function resume({ state, request, from, go }: ActionContext): OperatorResult {
  const { actor, now } = request;
  if (state.phase === RolloutPhase.Paused) {
    const back = state.pausedFrom ?? { phase: RolloutPhase.Pending };
    const to: StateKey =
      back.phase === RolloutPhase.Running ? `Running/${back.wavePhase ?? WavePhase.Dispatching}` : RolloutPhase.Pending;
    // A soak interrupted by a pause starts over: the wave must be watched for the whole soak uninterrupted.
    const patch: Partial<RolloutState> = {
      pausedFrom: undefined,
      ...(back.wavePhase === WavePhase.Soaking ? { soakStartedAt: now.toISOString() } : {}),
    };
    return go(to, TransitionTrigger.Resume, withReason(`resumed by ${actor}`, request.reason), patch);
  }
  if (state.phase === RolloutPhase.Halted) {
    return go(
      'Running/Dispatching',
      TransitionTrigger.Resume,
      withReason(`resumed by ${actor}: wave ${state.wave} is dispatched again`, request.reason),
      {
        gateRetryAt: undefined,
        soakStartedAt: undefined,
      },
    );
  }
  return refuse(`cannot resume a rollout that is ${from}: only Paused or Halted rollouts resume`);
}

function approve({ record, state, request }: ActionContext): OperatorResult {
  const first =
    state.phase === RolloutPhase.Pending || state.wavePhase === WavePhase.Dispatching ? state.wave : state.wave + 1;
  const waiting = record.plan.waves.findIndex((w, i) => i >= first && w.approval && !state.approvedWaves.includes(i));
  if (waiting < 0) return refuse(`no wave of rollout ${record.id} awaits approval`);
  const name = record.plan.waves[waiting]?.name ?? String(waiting);
  return {
    ok: true,
    state: { ...state, approvedWaves: [...state.approvedWaves, waiting], updatedAt: request.now.toISOString() },
    transitions: [],
    message: withReason(`wave "${name}" approved by ${request.actor}`, request.reason),
  };
}

function rollback({ record, state, request, from, go }: ActionContext): OperatorResult {
  const { actor } = request;
  if (!canTrigger(from, TransitionTrigger.Rollback)) return refuse(`cannot roll back a rollout that is ${from}`);
  if (state.phase === RolloutPhase.Pending)
    return go(
      'RolledBack',
      TransitionTrigger.Rollback,
      withReason(`rolled back by ${actor} before anything moved`, request.reason),
      { rollbackAll: true },
    );
  return go(
    'RollingBack',
    TransitionTrigger.Rollback,
    withReason(`rollback of every dispatched unit to ${record.spec.spec.from} requested by ${actor}`, request.reason),
    {
      rollbackAll: true,
      rollbackScope: 'all',
      pausedFrom: undefined,
    },
  );
}

function abort({ request, from, go }: ActionContext): OperatorResult {
  if (!canTrigger(from, TransitionTrigger.Abort)) return refuse(`cannot abort a rollout that is ${from}`);
  return go(
    'Failed',
    TransitionTrigger.Abort,
    withReason(`aborted by ${request.actor}; units stay where they are`, request.reason),
    { pausedFrom: undefined },
  );
}

function exclude({ record, state, request }: ActionContext): OperatorResult {
  const units = request.units ?? [];
  if (units.length === 0) return refuse('exclude needs at least one unit');
  const checked = checkExclusions(record, state, units);
  if (!checked.ok) return checked;
  const added = checked.added;
  if (added.length === 0) return refuse(`already excluded: ${units.map(excludedUnitKey).join(', ')}`);
  return {
    ok: true,
    state: { ...state, excluded: [...state.excluded, ...added], updatedAt: request.now.toISOString() },
    transitions: [],
    message: withReason(`excluded by ${request.actor}: ${added.join(', ')}`, request.reason),
  };
}

function include({ record, state, request }: ActionContext): OperatorResult {
  const units = request.units ?? [];
  if (units.length === 0) return refuse('include needs at least one unit');
  const back = includeBack(record, state, units);
  if (!back.ok) return back;
  return {
    ok: true,
    state: { ...state, excluded: back.excluded, membership: back.membership, updatedAt: request.now.toISOString() },
    transitions: [],
    message: withReason(`included back by ${request.actor}: ${back.note}`, request.reason),
  };
}

const ACTIONS: Record<OperatorAction, (context: ActionContext) => OperatorResult> = {
  [OperatorAction.Pause]: pause,
  [OperatorAction.Resume]: resume,
  [OperatorAction.Approve]: approve,
  [OperatorAction.Rollback]: rollback,
  [OperatorAction.Abort]: abort,
  [OperatorAction.Exclude]: exclude,
  [OperatorAction.Include]: include,
};

/**
 * An operator's action on a rollout, pure: the new state, or why the action does not apply in the current
 * phase. Commands follow from the next reconcile (pause → halted desired state, rollback → failback, ...).
 */
export function applyOperatorAction(
  record: RolloutRecord,
  state: RolloutState,
  request: OperatorRequest,
): OperatorResult {
  const phase = state.phase;
  if (TERMINAL_PHASES.has(phase) && !(request.action === OperatorAction.Rollback && phase === RolloutPhase.Completed)) {
    return refuse(`rollout ${record.id} is ${phase}: nothing can change it any more`);
  }
  const go = (
    to: StateKey,
    trigger: TransitionTrigger,
    reason: string,
    patch: Partial<RolloutState> = {},
  ): OperatorResult => {
    const t = transition(state, to, trigger, reason, request.now, request.actor);
    return { ok: true, state: { ...t.state, ...patch }, transitions: [t.record], message: reason };
  };
  return ACTIONS[request.action]({ record, state, request, from: stateKeyOf(state), go });
}

import { RolloutPhase, TransitionTrigger, type GateVerdict, type TransitionRecord } from '@meshwave/contracts';
import { DEFAULT_ENGINE_CONFIG, DEFAULT_HEALTH_SOURCES, type DecisionInput } from './decision.js';
import { evaluateGate } from './health-source.js';
import { holdUnits, holdVerdict, holdVmHosts } from './judgement-hold.js';
import { metricWindowStartOf } from './metric-query.js';
import type { RolloutCondition } from './decision.js';
import type { RolloutState } from './rollout-state.js';
import { transition, type StateKey } from './transition-table.js';
import { observeUnits, observeVmHosts } from './unit-observations.js';
import { ownUnitsOf, stepWaveGates } from './step-wave-units.js';

/** The state one decision builds up while it chains transitions, with what it must publish and when to look again. */
export class Stepper {
  state: RolloutState;
  readonly transitions: TransitionRecord[] = [];
  readonly verdicts: GateVerdict[] = [];
  readonly halts: { target: string; reason: string }[] = [];
  readonly conditions: RolloutCondition[] = [];
  wakeAt: number | undefined;
  /** stop chaining: commands must go out before the next observation means anything */
  settled = false;

  constructor(
    private readonly input: DecisionInput,
    private readonly now: Date,
  ) {
    this.state = input.state;
  }

  wake(at: number): void {
    this.wakeAt = this.wakeAt === undefined ? at : Math.min(this.wakeAt, at);
  }

  go(
    to: StateKey,
    trigger: (typeof TransitionTrigger)[keyof typeof TransitionTrigger],
    reason: string,
    patch: Partial<RolloutState> = {},
  ): void {
    const { state, record } = transition(this.state, to, trigger, reason, this.now);
    this.state = { ...state, ...patch };
    this.transitions.push(record);
  }

  /** while set, what a running rollout waits for above all (outside its change windows), instead of the step's reason */
  holdReason: string | undefined;

  /** while set, what the running wave also waits for (an Unreachable cluster), said after the step's reason */
  waitingFor: { readonly wave: number; readonly reason: string } | undefined;

  setReason(stepReason: string): void {
    const running = this.state.phase === RolloutPhase.Running;
    const waiting = running && this.waitingFor?.wave === this.state.wave ? `; ${this.waitingFor.reason}` : '';
    const reason = this.holdReason !== undefined && running ? this.holdReason : `${stepReason}${waiting}`;
    if (this.state.reason !== reason) this.state = { ...this.state, reason, updatedAt: this.now.toISOString() };
  }

  recordVerdict(v: GateVerdict): void {
    const last = [...this.state.verdicts].reverse().find((x) => x.wave === v.wave);
    // Watches repeat every reconcile: keep one entry per change of outcome or reason, and every final verdict.
    if (
      !v.final &&
      last !== undefined &&
      last.outcome === v.outcome &&
      last.reason === v.reason &&
      last.message === v.message
    )
      return;
    const max = this.input.config?.maxVerdicts ?? DEFAULT_ENGINE_CONFIG.maxVerdicts;
    this.state = { ...this.state, verdicts: [...this.state.verdicts, v].slice(-max) };
    this.verdicts.push(v);
  }
}

/** The current wave's gate verdict (a watch, or the final evaluation), stamped with wave, time and source. */
export function gate(input: DecisionInput, state: RolloutState, final: boolean, now: Date): GateVerdict {
  const { record, observations } = input;
  const w = state.wave;
  // a gateway step's own units are its gateways; the workload waves before it stay watched
  const earlier = Array.from({ length: Math.min(w, state.dispatchedWaves, record.plan.waves.length) }, (_, i) => i);
  const own = ownUnitsOf(record, state, observations, w);
  const windowStart = metricWindowStartOf(state);
  const evaluated = evaluateGate(input.healthSources ?? DEFAULT_HEALTH_SOURCES, {
    rolloutId: record.id,
    wave: w,
    final,
    gates: stepWaveGates(record, w),
    units: holdUnits(own, observations, now),
    watched: holdUnits(observeUnits(record, state, observations, earlier), observations, now),
    vmHosts: holdVmHosts(observeVmHosts(record, state, observations, [w]), observations, now),
    ...(input.metrics !== undefined ? { metrics: input.metrics } : {}),
    ...(windowStart !== undefined ? { metricWindowStart: windowStart } : {}),
  });
  const verdict = holdVerdict(evaluated, input.plannerLoad);
  return {
    wave: w,
    outcome: verdict.outcome,
    reason: verdict.reason,
    message: verdict.message,
    source: verdict.source,
    at: now.toISOString(),
    failed: [...verdict.failed],
    final,
    ...(evaluated.advisories !== undefined ? { advisory: evaluated.advisories.map((a) => ({ ...a })) } : {}),
  };
}

/** A failed gate halts the wave, then fails back per `onGateFailure`. */
export function failWave(s: Stepper, input: DecisionInput, verdict: GateVerdict): void {
  s.go('Halted', TransitionTrigger.GateFailed, `gate failed in wave ${s.state.wave}: ${verdict.message}`, {
    gateRetryAt: undefined,
  });
  for (const target of Object.keys(s.state.targets)) s.halts.push({ target, reason: verdict.message });
  const policy = input.record.spec.spec.onGateFailure;
  if (policy === 'rollback-wave') {
    s.go(
      'RollingBack',
      TransitionTrigger.RollbackStarted,
      `onGateFailure=rollback-wave: failing back wave ${s.state.wave} to ${input.record.spec.spec.from}`,
      {
        rolledBackWaves: [...new Set([...s.state.rolledBackWaves, s.state.wave])],
        rollbackScope: 'wave',
      },
    );
  } else if (policy === 'rollback-all') {
    s.go(
      'RollingBack',
      TransitionTrigger.RollbackStarted,
      `onGateFailure=rollback-all: failing back every dispatched unit to ${input.record.spec.spec.from}`,
      {
        rollbackAll: true,
        rollbackScope: 'all',
      },
    );
  }
  s.settled = true;
}

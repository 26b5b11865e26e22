import { GateOutcome, RolloutPhase, TransitionTrigger, WavePhase } from '@meshwave/contracts';
import { DEFAULT_ENGINE_CONFIG, type DecisionInput } from './decision.js';
import { metricGatePaths } from './metric-query.js';
import { freezeBlock } from './fleet-freeze.js';
import { judgeInconclusive } from './gate-policy.js';
import { blackoutsWaived } from './emergency.js';
import { membershipAtStart } from './membership-step.js';
import { startBlockOf, type StartBlock } from './start-block.js';
import { failWave, gate, type Stepper } from './stepper.js';
import { stateKeyOf, type StateKey } from './transition-table.js';
import { holdUnits, holdVmHosts, isStarved } from './judgement-hold.js';
import { observeUnits, observeVmHosts } from './unit-observations.js';
import { waveUnitsOf } from './wave-units.js';
import { firstGatewayWave, gatewayStepAt, stepWaveAt, waveCountOf, waveInfoOf } from './step-waves.js';
import { gatewayFailback } from './gateway-failback.js';

/** Something blocks the wave's start: say what, and look again when it lifts (if it says when). */
function waitFor(s: Stepper, block: StartBlock): false {
  s.setReason(block.reason);
  if (block.until !== undefined) s.wake(block.until);
  return false;
}

/** Pending: the first wave starts once nothing blocks it. */
function stepPending(s: Stepper, input: DecisionInput): boolean {
  const now = input.now.getTime();
  const { record } = input;
  const st = s.state;
  const waves = record.plan.waves;
  const block =
    freezeBlock(input.freeze) ??
    (waves.length > 0 ? startBlockOf(record, st, 0, now, blackoutsWaived(input)) : undefined);
  if (block) return waitFor(s, block);
  s.go('Running/Dispatching', TransitionTrigger.Start, 'start conditions of the first wave met', { wave: 0 });
  return true;
}

/** Dispatching: the wave goes out once nothing blocks it; its commands must leave before anything else. */
function stepDispatching(s: Stepper, input: DecisionInput): boolean {
  const now = input.now.getTime();
  const { record } = input;
  const st = s.state;
  if (st.wave >= waveCountOf(record)) {
    // A plan without waves: nothing to move.
    s.go('Running/Converging', TransitionTrigger.Dispatched, 'no wave to dispatch');
    return true;
  }
  const block = freezeBlock(input.freeze) ?? startBlockOf(record, st, st.wave, now, blackoutsWaived(input));
  if (block) return waitFor(s, block);
  const step = stepWaveAt(record, st.wave);
  const note = step === undefined ? membershipAtStart(s, input) : '';
  if (note === false) return false;
  let what: string;
  if (step !== undefined) {
    what = `${step.kind} "${step.name}" dispatched: ${step.moves}`;
  } else {
    const planned = record.plan.waves[st.wave]!;
    const forced = planned.forced ? ' (forced by the deadline)' : '';
    const units = waveUnitsOf(record, s.state, st.wave).length;
    what = `wave "${planned.name}" dispatched: ${units} units, ${planned.vmHosts.length} VM hosts${forced}${note}`;
  }
  s.go('Running/Converging', TransitionTrigger.Dispatched, what, {
    dispatchedWaves: Math.max(st.dispatchedWaves, st.wave + 1),
    rolledBackWaves: st.rolledBackWaves.filter((w) => w !== st.wave),
    waveDispatchedAt: input.now.toISOString(),
    soakStartedAt: undefined,
  });
  s.settled = true;
  s.wake(now); // look again at once: a wave nobody reports on (empty) must not wait for an event
  return false;
}

/** Converging: a watch verdict each pass; converged starts the soak, failed halts. */
function stepConverging(s: Stepper, input: DecisionInput): boolean {
  const st = s.state;
  const v = gate(input, st, false, input.now);
  s.recordVerdict(v);
  if (v.outcome === GateOutcome.Failed) {
    failWave(s, input, v);
    return false;
  }
  if (v.outcome === GateOutcome.Successful) {
    s.go('Running/Soaking', TransitionTrigger.Converged, v.message, { soakStartedAt: input.now.toISOString() });
    return true;
  }
  s.setReason(v.message);
  return false;
}

/** Soaking: the soak runs out unless a watch fails the wave meanwhile. */
function stepSoaking(s: Stepper, input: DecisionInput): boolean {
  const now = input.now.getTime();
  const { record } = input;
  const st = s.state;
  const v = gate(input, st, false, input.now);
  if (v.outcome === GateOutcome.Failed) {
    s.recordVerdict(v);
    failWave(s, input, v);
    return false;
  }
  const soakMs = (waveInfoOf(record, st.wave)?.soakSeconds ?? 0) * 1000;
  const until = Date.parse(st.soakStartedAt ?? input.now.toISOString()) + soakMs;
  if (now < until) {
    s.setReason(`soaking until ${new Date(until).toISOString()}`);
    s.wake(until);
    // Metrics change without any report arriving: look again every gate retry so a bad canary halts mid-soak.
    if (metricGatePaths(record.spec.spec.gates).length > 0)
      s.wake(now + (input.config?.gateRetryMs ?? DEFAULT_ENGINE_CONFIG.gateRetryMs));
    return false;
  }
  s.go('Running/Gating', TransitionTrigger.SoakElapsed, `soaked ${soakMs / 1000}s`);
  return true;
}

/**
 * Gating while the metric sample of the window is still being fetched: a final verdict on a missing or stale
 * sample would be wrong (an Inconclusive "not configured", or a pass on old traffic), so it waits; a failure seen
 * meanwhile (an agent's report, or the last sample, as during the soak) fails the wave now, as a watch does.
 */
function awaitSample(s: Stepper, input: DecisionInput): false {
  const v = gate(input, s.state, false, input.now);
  if (v.outcome === GateOutcome.Failed) {
    s.recordVerdict(v);
    failWave(s, input, v);
    return false;
  }
  s.setReason(`the final gate of wave ${s.state.wave} waits for its metric samples (being fetched)`);
  return false;
}

/** Gating: the final verdict moves on to the next wave, completes, halts, or retries later. */
function stepGating(s: Stepper, input: DecisionInput): boolean {
  const now = input.now.getTime();
  const st = s.state;
  if (st.gateRetryAt !== undefined && Date.parse(st.gateRetryAt) > now) {
    s.wake(Date.parse(st.gateRetryAt));
    return false;
  }
  if (input.metricsPending === true) return awaitSample(s, input);
  const v = gate(input, st, true, input.now);
  s.recordVerdict(v);
  // A verdict that judged ends the run of those that could not.
  if (v.outcome === GateOutcome.Failed || v.outcome === GateOutcome.Successful)
    s.state = { ...s.state, inconclusive: undefined };
  if (v.outcome === GateOutcome.Failed) {
    failWave(s, input, v);
    return false;
  }
  if (v.outcome === GateOutcome.Successful) {
    const name = waveInfoOf(input.record, st.wave)?.name ?? String(st.wave);
    if (st.wave + 1 >= waveCountOf(input.record)) {
      s.go('Completed', TransitionTrigger.LastGatePassed, `wave "${name}" passed its gate; every wave done`, {
        gateRetryAt: undefined,
      });
      return false;
    }
    s.go('Running/Dispatching', TransitionTrigger.GatePassed, `wave "${name}" passed its gate: ${v.message}`, {
      wave: st.wave + 1,
      gateRetryAt: undefined,
      soakStartedAt: undefined,
    });
    return true;
  }
  // Inconclusive or Error: bounded by the rollout's policy, then a person decides (never a silent wait).
  const judged = judgeInconclusive(v, st.inconclusive, input.record.spec.spec.gates.inconclusive, input.now);
  if (judged.pause) {
    s.go('Paused', TransitionTrigger.InconclusiveLimit, judged.reason, {
      pausedFrom: { phase: RolloutPhase.Running, wavePhase: WavePhase.Gating },
      gateRetryAt: undefined,
      inconclusive: undefined,
    });
    return false;
  }
  const retry = now + (input.config?.gateRetryMs ?? DEFAULT_ENGINE_CONFIG.gateRetryMs);
  s.state = { ...s.state, gateRetryAt: new Date(retry).toISOString(), inconclusive: judged.run };
  s.setReason(`${judged.reason}; evaluated again at ${new Date(retry).toISOString()}`);
  s.wake(Math.min(retry, judged.deadline));
  return false;
}

/** RollingBack: done when every failed-back unit reports `from` again; failed when one cannot. */
function stepRollingBack(s: Stepper, input: DecisionInput): boolean {
  const { record } = input;
  const st = s.state;
  const waveList = st.rollbackAll
    ? Array.from({ length: st.dispatchedWaves }, (_, i) => i)
    : st.rolledBackWaves.filter((w) => w < st.dispatchedWaves);
  const units = holdUnits(observeUnits(record, st, input.observations, waveList), input.observations, input.now);
  const hosts = holdVmHosts(observeVmHosts(record, st, input.observations, waveList), input.observations, input.now);
  const gateways = gatewayFailback(s, input);
  const failed = [
    ...units.filter((u) => u.fresh && u.status === 'failed').map((u) => u.unit),
    ...hosts.filter((h) => h.fresh && h.status === 'failed').map((h) => `vmgroup/${h.host}`),
    ...gateways.failed,
  ];
  if (failed.length > 0 && isStarved(input.plannerLoad)) {
    s.setReason(`failback failure held: the planner's event loop lags; judged again when it is back under`);
    return false;
  }
  if (failed.length > 0) {
    s.go(
      'Failed',
      TransitionTrigger.RollbackFailed,
      `failback failed for ${failed.slice(0, 5).join(', ')}${failed.length > 5 ? ` and ${failed.length - 5} more` : ''}`,
    );
    for (const target of Object.keys(s.state.targets)) s.halts.push({ target, reason: 'failback failed' });
    return false;
  }
  const pending =
    units.filter((u) => !(u.fresh && u.status === 'converged')).length +
    hosts.filter((h) => !(h.fresh && h.status === 'converged')).length +
    gateways.pending;
  if (pending > 0) {
    const total = units.length + hosts.length + gateways.total;
    const what = gateways.total > 0 ? 'units, VM hosts and gateways' : 'units and VM hosts';
    s.setReason(`failing back to ${record.spec.spec.from}: ${pending} of ${total} ${what} still to go`);
    return false;
  }
  if (st.rollbackScope === 'wave') {
    s.go(
      'Halted',
      TransitionTrigger.WaveRolledBack,
      `wave ${st.wave} is back on ${record.spec.spec.from}; resume to retry it (exclude what failed first)`,
      // a gateway step's failback took every gateway step back: a retry starts again from the first one
      { rollbackScope: undefined, ...(gatewayStepAt(record, st.wave) ? { wave: firstGatewayWave(record) } : {}) },
    );
  } else {
    s.go('RolledBack', TransitionTrigger.RolledBack, `every dispatched unit is back on ${record.spec.spec.from}`, {
      rollbackScope: undefined,
    });
  }
  return false;
}

const STEPS: Partial<Record<StateKey, (s: Stepper, input: DecisionInput) => boolean>> = {
  Pending: stepPending,
  'Running/Dispatching': stepDispatching,
  'Running/Converging': stepConverging,
  'Running/Soaking': stepSoaking,
  'Running/Gating': stepGating,
  RollingBack: stepRollingBack,
};

/** One step of the state machine from the current state; false when nothing more can happen now. */
export function step(s: Stepper, input: DecisionInput): boolean {
  // Paused, Halted and terminal phases wait for an operator.
  return STEPS[stateKeyOf(s.state)]?.(s, input) ?? false;
}

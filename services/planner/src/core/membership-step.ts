import { RolloutPhase, WavePhase } from '@meshwave/contracts';
import type { DecisionInput } from './decision.js';
import type { Stepper } from './stepper.js';
import { observeUnits, UnitStatus } from './unit-observations.js';
import { reviewWave, startWave } from './wave-membership.js';

const RUNNING_WAVE: ReadonlySet<string> = new Set([WavePhase.Converging, WavePhase.Soaking, WavePhase.Gating]);

/**
 * Before the state machine steps: the running wave's clusters that fell silent are Unreachable (stored in the
 * state for the status). Under `skip` their units still moving leave the wave; under `wait` this returns what the
 * wave waits for, to be said once the step is done.
 */
export function reviewMembership(s: Stepper, input: DecisionInput): string | undefined {
  const m = input.membership;
  const st = s.state;
  if (m === undefined || st.phase !== RolloutPhase.Running || !RUNNING_WAVE.has(st.wavePhase ?? '')) return undefined;
  const moving = observeUnits(input.record, st, input.observations, [st.wave]).filter(
    (u) => !(u.fresh && u.status === UnitStatus.Converged),
  );
  const review = reviewWave(input.record, st, m, input.now, moving);
  if (review.membership !== st.membership) s.state = { ...s.state, membership: review.membership };
  if (review.wakeAt !== undefined) s.wake(review.wakeAt);
  return review.waiting;
}

/**
 * A wave's start: it snapshots its clusters, takes skipped units back and a joined cluster's units. False (and
 * the reason set) when `onUnreachable: wait` holds it for a silent cluster; otherwise the note for its reason.
 */
export function membershipAtStart(s: Stepper, input: DecisionInput): string | false {
  const m = input.membership;
  if (m === undefined) return '';
  const start = startWave(input.record, s.state, s.state.wave, m, input.now);
  if (!start.ok) {
    s.setReason(start.reason);
    // The wave waits for a heartbeat (it reconciles every driven rollout); look again in one timeout meanwhile.
    s.wake(input.now.getTime() + m.timeoutMs);
    return false;
  }
  s.state = { ...s.state, membership: start.membership };
  return start.note;
}

import { RolloutPhase, WavePhase } from '@meshwave/contracts';
import type { DecisionInput } from './decision.js';
import { isStarved, type PlannerLoad } from './judgement-hold.js';
import type { Stepper } from './stepper.js';
import { observeUnits, UnitStatus } from './unit-observations.js';
import { reviewWave, startWave, type Membership, type MovingUnits } from './wave-membership.js';
import { waveTallies } from './unit-tallies.js';
import type { RolloutState } from './rollout-state.js';

const RUNNING_WAVE: ReadonlySet<string> = new Set([WavePhase.Converging, WavePhase.Soaking, WavePhase.Gating]);

/**
 * What the planner heard, as far as it could hear: while its own loop lags past its threshold (or until it last
 * did) it took its agents' heartbeats late, so their silence counts from the end of that lag, as from a takeover
 * (ADR 0036). Under a starved loop a whole fleet of live agents looked silent for a minute, and `skip` left their
 * units out of the wave (issue 15, fleet (b): 36 of 45 clusters).
 */
function audible(m: Membership, load: PlannerLoad | undefined, now: Date): Membership {
  const until = isStarved(load) ? now.getTime() : (load?.starvedAt ?? -Infinity);
  return until > m.since ? { ...m, since: until } : m;
}

/**
 * The running wave's units still moving, from its per-cluster tallies: a decision costs the wave's clusters and
 * those that reported since, not every unit of the wave (issue 15). The units themselves are observed only when a
 * cluster fell silent and they leave the wave.
 */
function movingUnitsOf(input: DecisionInput, st: RolloutState): MovingUnits {
  const clusters = waveTallies(input.record, st, input.observations, st.wave)
    .filter((t) => t.moving > 0)
    .map((t) => t.cluster);
  return {
    clusters,
    unitsIn: (silent) =>
      observeUnits(input.record, st, input.observations, [st.wave])
        .filter((u) => !(u.fresh && u.status === UnitStatus.Converged) && silent.includes(u.cluster))
        .map((u) => u.unit),
  };
}

/**
 * Before the state machine steps: the running wave's clusters that fell silent are Unreachable (stored in the
 * state for the status). Under `skip` their units still moving leave the wave; under `wait` this returns what the
 * wave waits for, to be said once the step is done.
 */
export function reviewMembership(s: Stepper, input: DecisionInput): string | undefined {
  const st = s.state;
  if (input.membership === undefined) return undefined;
  const m = audible(input.membership, input.plannerLoad, input.now);
  if (st.phase !== RolloutPhase.Running || !RUNNING_WAVE.has(st.wavePhase ?? '')) return undefined;
  const review = reviewWave(input.record, st, m, input.now, movingUnitsOf(input, st));
  if (review.membership !== st.membership) s.state = { ...s.state, membership: review.membership };
  if (review.wakeAt !== undefined) s.wake(review.wakeAt);
  return review.waiting;
}

/**
 * A wave's start: it snapshots its clusters, takes skipped units back and a joined cluster's units. False (and
 * the reason set) when `onUnreachable: wait` holds it for a silent cluster; otherwise the note for its reason.
 */
export function membershipAtStart(s: Stepper, input: DecisionInput): string | false {
  if (input.membership === undefined) return '';
  const m = audible(input.membership, input.plannerLoad, input.now);
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

import type { DecisionInput } from './decision.js';
import { gatewayWavesToTakeBack, observeGateways } from './gateway-waves.js';
import { firstGatewayWave, gatewayStepAt, waveCountOf } from './step-waves.js';
import { holdUnits } from './judgement-hold.js';
import type { Stepper } from './stepper.js';
import { UnitStatus } from './unit-observations.js';

/** Where a failback of the gateways stands: gateways that could not go back, and how many are still going. */
export interface GatewayFailback {
  readonly failed: readonly string[];
  readonly pending: number;
  readonly total: number;
}

const NONE: GatewayFailback = { failed: [], pending: 0, total: 0 };

/**
 * The gateways' part of a failback (ADR 0050): the dispatched gateway steps are taken back one by one, newest
 * first, each only once every gateway reports the share the step before it left (so 100% → 50% → 10% → 0%, no
 * step skipped: the old Deployment is back to full before the copy goes). A rollback of every unit takes them all
 * back; a rollback of the wave does when that wave is a gateway step (a gateway's steps are one canary). The first
 * step goes back at once, unjudged: its own failure is what the failback answers.
 */
export function gatewayFailback(s: Stepper, input: DecisionInput): GatewayFailback {
  const { record, observations, now } = input;
  const st = s.state;
  const first = firstGatewayWave(record);
  const last = Math.min(st.dispatchedWaves, waveCountOf(record)) - 1;
  const involved = st.rollbackAll || (st.rollbackScope === 'wave' && gatewayStepAt(record, st.wave) !== undefined);
  if (!involved || last < first) return NONE;
  const left = gatewayWavesToTakeBack(record, st);
  const takeBack = (w: number): void => {
    s.state = { ...s.state, rolledBackWaves: [...s.state.rolledBackWaves, w] };
  };
  const dispatched = Array.from({ length: last - first + 1 }, (_, i) => first + i);
  if (left[0] === last) {
    takeBack(last);
    const total = observeGateways(record, s.state, observations, dispatched).length;
    return { failed: [], pending: total, total };
  }
  const gateways = holdUnits(observeGateways(record, st, observations, dispatched), observations, now);
  const failed = gateways.filter((g) => g.fresh && g.status === UnitStatus.Failed).map((g) => g.unit);
  const pending = gateways.filter((g) => !(g.fresh && g.status === UnitStatus.Converged)).length;
  if (failed.length === 0 && pending === 0 && left[0] !== undefined) {
    takeBack(left[0]);
    return { failed: [], pending: gateways.length, total: gateways.length };
  }
  return { failed, pending, total: gateways.length };
}

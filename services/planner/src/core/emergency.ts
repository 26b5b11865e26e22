import { RolloutPhase, type RolloutSpec } from '@meshwave/contracts';
import type { DecisionInput } from './decision.js';
import { outsideWindows } from './start-block.js';
import type { Stepper } from './stepper.js';
import { TERMINAL_PHASES } from './transition-table.js';

/** A `priority: emergency` rollout restarts inside blackouts only where the planner's policy allows emergencies. */
export function blackoutsWaived(input: Pick<DecisionInput, 'record' | 'emergencies'>): boolean {
  return input.record.spec.spec.priority === 'emergency' && input.emergencies?.allowInBlackouts === true;
}

/** The spec as planning sees it: an allowed emergency's waves are not scheduled after its blackouts. */
export function planningSpecOf(spec: RolloutSpec, emergencies: DecisionInput['emergencies']): RolloutSpec {
  const windows = spec.spec.windows;
  if (windows === undefined || spec.spec.priority !== 'emergency' || emergencies?.allowInBlackouts !== true)
    return spec;
  return { ...spec, spec: { ...spec.spec, windows: { ...windows, blackouts: [] } } };
}

/**
 * Each time an emergency goes on inside a blackout (one that would hold any other rollout), a condition event with
 * the reason, which the planner audits; once more when it no longer does.
 */
export function noteEmergency(s: Stepper, input: DecisionInput): void {
  const now = input.now.getTime();
  const active = !TERMINAL_PHASES.has(s.state.phase) && s.state.phase !== RolloutPhase.Pending;
  const blackout =
    active && blackoutsWaived(input) && outsideWindows(input.record, now, true) === undefined
      ? outsideWindows(input.record, now)?.why
      : undefined;
  const before = s.state.emergencyInBlackout;
  if (blackout === before) return;
  if (blackout !== undefined)
    s.conditions.push({
      type: 'EmergencyInBlackout',
      status: true,
      message: `priority: emergency restarts inside the blackout (${blackout}) as the planner's policy allows (emergencies.allowInBlackouts)`,
    });
  else
    s.conditions.push({ type: 'EmergencyInBlackout', status: false, message: 'the emergency is out of the blackout' });
  s.state = { ...s.state, emergencyInBlackout: blackout };
}

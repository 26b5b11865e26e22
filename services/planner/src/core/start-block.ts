import { ChangeWindows } from '@meshwave/plan';
import type { RolloutRecord, RolloutState } from './rollout-state.js';

const HORIZON_MS = 366 * 86_400_000;

/** Why a wave may not start yet, and until when (absent: until something else changes). */
export interface StartBlock {
  readonly reason: string;
  readonly until?: number;
}

/** Why wave `w` may not start at `now` (start time, pin, window, blackout, approval), or undefined. */
export function startBlockOf(
  record: RolloutRecord,
  state: RolloutState,
  w: number,
  now: number,
): StartBlock | undefined {
  const planned = record.plan.waves[w];
  if (planned === undefined) return undefined;
  const notBefore = record.notBefore[w];
  if (notBefore !== null && notBefore !== undefined && Date.parse(notBefore) > now) {
    const why = planned.delays.length > 0 ? planned.delays.join('; ') : 'planned start';
    return { reason: `wave "${planned.name}" waits until ${notBefore} (${why})`, until: Date.parse(notBefore) };
  }
  const window = new ChangeWindows(record.spec.spec.windows).earliestStart(now, now + HORIZON_MS);
  if (window === undefined) return { reason: `wave "${planned.name}": no change window opens within a year` };
  if (window.start > now) {
    const why = window.delays.map((d) => d.reason).join('; ') || 'outside the change windows';
    return {
      reason: `wave "${planned.name}" waits until ${new Date(window.start).toISOString()} (${why})`,
      until: window.start,
    };
  }
  // A forced wave exists to hold the deadline: it does not wait for a person.
  if (planned.approval && !planned.forced && !state.approvedWaves.includes(w))
    return { reason: `wave "${planned.name}" awaits approval` };
  return undefined;
}

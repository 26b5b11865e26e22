import { ChangeWindows } from '@meshwave/plan';
import type { RolloutRecord, RolloutState } from './rollout-state.js';
import { stepWaveAt } from './step-waves.js';

const HORIZON_MS = 366 * 86_400_000;

/** Why a wave may not start yet, and until when (absent: until something else changes). */
export interface StartBlock {
  readonly reason: string;
  readonly until?: number;
}

/**
 * Whether `now` lies outside the rollout's change windows or inside a blackout: what it waits for and until when
 * (absent: no window opens within a year). Undefined inside a window, and always for a rollout without windows.
 */
export function outsideWindows(
  record: RolloutRecord,
  now: number,
  waiveBlackouts = false,
): (StartBlock & { why: string }) | undefined {
  const declared = record.spec.spec.windows;
  if (declared === undefined) return undefined;
  // An emergency the planner's policy allows restarts inside blackouts (emergency.ts); its allow windows still hold.
  const windows = waiveBlackouts ? { ...declared, blackouts: [] } : declared;
  const window = new ChangeWindows(windows).earliestStart(now, now + HORIZON_MS);
  if (window === undefined)
    return { reason: 'waits: no change window opens within a year', why: 'no change window opens within a year' };
  if (window.start <= now) return undefined;
  const why = window.delays.map((d) => d.reason).join('; ') || 'outside the change windows';
  return { reason: `waits until ${new Date(window.start).toISOString()} (${why})`, until: window.start, why };
}

/** Why wave `w` may not start at `now` (start time, pin, window, blackout, approval), or undefined. */
export function startBlockOf(
  record: RolloutRecord,
  state: RolloutState,
  w: number,
  now: number,
  waiveBlackouts = false,
): StartBlock | undefined {
  const planned = record.plan.waves[w];
  if (planned === undefined) return stepWaveBlock(record, w, now, waiveBlackouts);
  const notBefore = record.notBefore[w];
  if (notBefore !== null && notBefore !== undefined && Date.parse(notBefore) > now) {
    const why = planned.delays.length > 0 ? planned.delays.join('; ') : 'planned start';
    return { reason: `wave "${planned.name}" waits until ${notBefore} (${why})`, until: Date.parse(notBefore) };
  }
  const window = outsideWindows(record, now, waiveBlackouts);
  if (window !== undefined)
    return {
      reason: `wave "${planned.name}" ${window.reason}`,
      ...(window.until !== undefined ? { until: window.until } : {}),
    };
  // A forced wave exists to hold the deadline: it does not wait for a person.
  if (planned.approval && !planned.forced && !state.approvedWaves.includes(w))
    return { reason: `wave "${planned.name}" awaits approval` };
  return undefined;
}

/** An ambient or gateway step (ADR 0050, 0051) waits for the windows and blackouts as a wave does; no approval. */
function stepWaveBlock(record: RolloutRecord, w: number, now: number, waiveBlackouts: boolean): StartBlock | undefined {
  const step = stepWaveAt(record, w);
  if (step === undefined) return undefined;
  const window = outsideWindows(record, now, waiveBlackouts);
  if (window === undefined) return undefined;
  return {
    reason: `${step.kind} "${step.name}" ${window.reason}`,
    ...(window.until !== undefined ? { until: window.until } : {}),
  };
}

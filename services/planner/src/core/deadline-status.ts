import type { Burndown } from '@meshwave/contracts';
import type { DeadlineTrack } from './deadline-pace.js';

/** The burn-down as the status shows it (the engine's bookkeeping left out). */
export function burndownOf(track: DeadlineTrack): Burndown {
  const { checkedAt: _checkedAt, ...burndown } = track;
  return burndown;
}

import { z } from 'zod';
import { NAME_MAX_LENGTH } from './primitives.js';

/** base-36 milliseconds since the epoch: 8 digits until 2059, 9 until the year 5188 */
const ROLLOUT_ID_TIME_DIGITS = 9;
/** A rollout id is longest for a name of `NAME_MAX_LENGTH`: name, `-`, time, 4 hex digits of entropy. */
export const ROLLOUT_ID_MAX_LENGTH = NAME_MAX_LENGTH + 1 + ROLLOUT_ID_TIME_DIGITS + 4;

/**
 * A rollout's id: its name, a dash, its creation time in base-36 milliseconds and 4 hex digits of entropy
 * (`entropyHex`), so ids sort by name, then roughly by time. Its limit follows from the name's, so every
 * rollout that can be created can be read, paused and aborted by its id.
 */
export function rolloutIdOf(name: string, createdAtMs: number, entropyHex: string): string {
  return `${name}-${createdAtMs.toString(36)}${entropyHex}`;
}

export const RolloutId = z
  .string()
  .min(1)
  .max(ROLLOUT_ID_MAX_LENGTH, `a rollout id has at most ${ROLLOUT_ID_MAX_LENGTH} characters`)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a rollout id: lowercase alphanumerics, "-" and "."');

export const RolloutIdParams = z.strictObject({ id: RolloutId });

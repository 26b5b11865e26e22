import type { FreezeStatus } from '@meshwave/contracts';
import type { StartBlock } from './start-block.js';

/** A freeze in force: every active rollout starts nothing (no wave, no restart) until it is lifted. */
export interface Freeze {
  readonly reason: string;
  /** when it began (ISO) */
  readonly since: string;
  /** who froze (token name) */
  readonly by: string;
}

export interface FreezeChange {
  /** true: freeze; false: lift */
  readonly frozen: boolean;
  readonly reason: string;
  readonly actor: string;
  readonly now: Date;
}

export type FreezeResult =
  | { readonly ok: true; readonly status: FreezeStatus; readonly message: string }
  /** freezing a frozen fleet, or lifting a freeze there is not: `why` is for the 409 body */
  | { readonly ok: false; readonly why: string };

/** The freeze in force in `status`, or undefined. */
export function freezeOf(status: FreezeStatus | undefined): Freeze | undefined {
  if (status?.frozen !== true) return undefined;
  return { reason: status.reason ?? '', since: status.since ?? '', by: status.by ?? '' };
}

/**
 * Freezing or lifting, pure: the status to store, or why it does not apply. A second freeze is refused rather
 * than overwriting who froze and why (the first reason is the one the lift answers).
 */
export function changeFreeze(current: FreezeStatus | undefined, change: FreezeChange): FreezeResult {
  const inForce = freezeOf(current);
  if (change.frozen && inForce !== undefined)
    return { ok: false, why: `the fleet is already frozen since ${inForce.since} by ${inForce.by}: ${inForce.reason}` };
  if (!change.frozen && inForce === undefined) return { ok: false, why: 'the fleet is not frozen' };
  const status: FreezeStatus = {
    frozen: change.frozen,
    reason: change.reason,
    since: change.now.toISOString(),
    by: change.actor,
  };
  const message = change.frozen
    ? `fleet frozen by ${change.actor}: ${change.reason}`
    : `freeze lifted by ${change.actor} (frozen since ${inForce?.since ?? '?'}): ${change.reason}`;
  return { ok: true, status, message };
}

/** While frozen no wave starts: what the rollout waits for, until someone lifts the freeze. */
export function freezeBlock(freeze: Freeze | undefined): StartBlock | undefined {
  if (freeze === undefined) return undefined;
  return {
    reason: `frozen since ${freeze.since} by ${freeze.by} (${freeze.reason}): nothing starts until the freeze is lifted`,
  };
}

import { HandlerRejectedError, HandlerRetryableError } from '@meshwave/bus';
import { StoreError, StoreErrorCode } from '@meshwave/store';
import { PlannerError } from '../errors.js';

/** Errors of the code itself: retrying does not fix them, and they are no sign of a passing condition. */
const PROGRAMMING_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError] as const;

/**
 * What the bus should do with a report the planner failed to take, by the failure's cause (delivery.ts):
 * - a report the intake refused (`HandlerRejectedError`) is final: the DLQ, with the intake's reason;
 * - the planner's own errors carry `retryable` already: not leader, stale epoch, a concurrent write are
 *   transient (retried, never dead-lettered); a stored document that fails its schema is final;
 * - a request the store refuses (an id it cannot key) is final: the report goes to the DLQ, `handler-rejected`;
 * - any other failure of the store (connection closed, retries exhausted, `LOADING` after a restart) is
 *   transient: the report waits for the store instead of being lost to the DLQ;
 * - a programming error stays unmarked: retried a few times, then dead-lettered so it cannot block a partition.
 */
export function reportFailure(error: unknown): unknown {
  if (error instanceof PlannerError) return error;
  // The intake's own verdict that a report must never be taken (a replayed or stale health report): final as given.
  if (error instanceof HandlerRejectedError) return error;
  if (error instanceof StoreError && error.code === StoreErrorCode.InvalidRequest)
    return new HandlerRejectedError(`the store refuses this report: ${error.message}`, { cause: error });
  if (PROGRAMMING_ERRORS.some((type) => error instanceof type)) return error;
  const text = error instanceof Error ? error.message : String(error);
  return new HandlerRetryableError(`the store failed: ${text}`, { cause: error });
}

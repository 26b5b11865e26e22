import { z } from 'zod';

// The fleet-wide freeze: `POST /v1/freeze` stops every active rollout at once (agents start no new restart, no
// wave starts) until `DELETE /v1/freeze`. The planner stores it, so it outlives any one leader.

/** Body of `POST /v1/freeze` and `DELETE /v1/freeze`: why (required, for the audit and for whoever reads status). */
export const FreezeRequest = z.strictObject({ reason: z.string().trim().min(1).max(1000) });
export type FreezeRequest = z.infer<typeof FreezeRequest>;

/**
 * Whether the fleet is frozen, and since when, by whom and why. After a lift it says when, by whom and why it
 * was lifted (`frozen: false`); a fleet never frozen has `frozen: false` alone.
 */
export const FreezeStatus = z.object({
  frozen: z.boolean(),
  reason: z.string().optional(),
  since: z.string().optional(),
  by: z.string().optional(),
});
export type FreezeStatus = z.infer<typeof FreezeStatus>;

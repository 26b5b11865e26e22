import { z } from 'zod';

/** Failed units one retry may name (a retry without `units` takes every failed unit of the rollout). */
export const MAX_RETRY_UNITS = 1000;

/**
 * Body of `POST /v1/rollouts/:id/retry`: restart failed units again towards the same revision. `units` are unit
 * keys as status shows them (`cluster/namespace` or `cluster/namespace/kind/name`); absent: every failed unit.
 */
export const RetryRequest = z.strictObject({
  units: z.array(z.string().min(1).max(600)).min(1).max(MAX_RETRY_UNITS).optional(),
  reason: z.string().trim().min(1).max(1000),
});
export type RetryRequest = z.infer<typeof RetryRequest>;

import { z } from 'zod';

/**
 * The verdict of an advisory gate (`enforce: false`), shown beside the verdict that decides: how a team tries a
 * new gate on real waves before it may halt one.
 */
export const AdvisoryVerdict = z.object({
  /** health source, e.g. `prometheus-error-rate` */
  source: z.string(),
  outcome: z.string(),
  reason: z.string(),
  message: z.string(),
});
export type AdvisoryVerdict = z.infer<typeof AdvisoryVerdict>;

import { z } from 'zod';
import { TransitionRecord } from './api.js';

// Schemas of the planner's history routes: a rollout's transitions and the audit, both paged with stated limits
// (ADR 0015).

/** Items a page may hold (`?limit=`); default 100. */
export const MAX_PAGE_LIMIT = 500;
export const DEFAULT_PAGE_LIMIT = 100;
const PageLimit = z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).default(DEFAULT_PAGE_LIMIT);

/**
 * `GET /v1/rollouts/{id}/transitions?limit=&cursor=`: the newest `limit` transitions before `cursor` (a `seq`,
 * from the previous page's `nextCursor`), oldest first. A rollout keeps its newest 500 transitions; the audit keeps
 * every one for its retention.
 */
export const TransitionPageQuery = z.strictObject({
  limit: PageLimit,
  cursor: z
    .string()
    .regex(/^\d{1,15}$/, 'a cursor from a previous page (a transition seq)')
    .optional(),
});
export type TransitionPageQuery = z.infer<typeof TransitionPageQuery>;

export const TransitionPage = z.object({
  /** `seq` numbers a rollout's transitions from 0, the first it ever made */
  transitions: z.array(TransitionRecord.extend({ seq: z.number().int().nonnegative() })),
  /** transitions the rollout made in all */
  total: z.number().int().nonnegative(),
  /** seq of the oldest transition still kept; older ones are in the audit only */
  oldestKept: z.number().int().nonnegative(),
  /** cursor of the next (older) page; absent on the last one */
  nextCursor: z.string().optional(),
});
export type TransitionPage = z.infer<typeof TransitionPage>;

/**
 * `GET /v1/audit?limit=&cursor=&scope=`: the fleet-wide audit (every rollout's entries, inventory replacements,
 * VM host changes), or one scope's, newest page first, entries oldest first within a page. Entries are kept by
 * age (`MESHWAVE_AUDIT_RETENTION`, default 90 days), never by count.
 */
export const AuditPageQuery = z.strictObject({
  limit: PageLimit,
  cursor: z
    .string()
    .regex(/^\d{1,15}-\d{1,15}$/, 'a cursor from a previous page (an audit entry id)')
    .optional(),
  /** one rollout id, or `fleet` for inventory changes */
  scope: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^{}]+$/, 'a scope: "fleet", a rollout id or a VM group, without braces')
    .optional(),
});
export type AuditPageQuery = z.infer<typeof AuditPageQuery>;

export const AuditEntryView = z.object({
  /** stream id, ordered by time; a page's cursor */
  id: z.string(),
  actor: z.string(),
  action: z.string(),
  scope: z.string(),
  reason: z.string().optional(),
  at: z.string(),
  detail: z.record(z.string(), z.unknown()).optional(),
});
export type AuditEntryView = z.infer<typeof AuditEntryView>;

export const AuditPage = z.object({
  entries: z.array(AuditEntryView),
  /** cursor of the next (older) page; absent when no older entry is kept */
  nextCursor: z.string().optional(),
});
export type AuditPage = z.infer<typeof AuditPage>;

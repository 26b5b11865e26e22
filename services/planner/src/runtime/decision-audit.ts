import type { AuditEntry } from '@meshwave/store';
import type { Decision } from '../core/decision.js';

/**
 * What a decision leaves in the audit: its transitions (the last one's reason), and the conditions it set or
 * cleared (DeadlineAtRisk, an emergency restarting inside a blackout), each with its reason; nothing otherwise.
 */
export function auditOf(id: string, decision: Decision, now: Date): AuditEntry | undefined {
  const last = decision.transitions.at(-1);
  const conditions = (decision.conditions ?? []).map((c) => ({ type: c.type, status: c.status, reason: c.message }));
  if (last === undefined && conditions.length === 0) return undefined;
  return {
    actor: 'engine',
    action: last !== undefined ? 'transition' : 'condition',
    scope: id,
    // a condition set in the same decision as a transition is said in the reason too, not only in the detail
    reason: [...(last !== undefined ? [last.reason] : []), ...conditions.map((c) => c.reason)].join('; '),
    at: now.toISOString(),
    detail: {
      ...(last !== undefined
        ? {
            transitions: decision.transitions.map((t) => ({
              from: t.from,
              to: t.to,
              trigger: t.trigger,
              wave: t.wave,
            })),
          }
        : {}),
      ...(conditions.length > 0 ? { conditions } : {}),
    },
  };
}

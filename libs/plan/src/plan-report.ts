import {
  PlanProblemCode,
  SkipReason,
  resolveRevision,
  type Inventory,
  type InventoryWorkload,
  type PlannedWorkload,
  type PlanProblem,
  type RolloutSpec,
  type SkippedWorkload,
} from '@meshwave/contracts';
import type { UnitTable } from './unit-table.js';
import { iso, type ScheduledWave } from './wave-schedule.js';

/** Marks a unit that no wave took. */
export const UNASSIGNED = -1;

export function skippedOf(cluster: string, w: InventoryWorkload, reason: SkipReason): SkippedWorkload {
  return { cluster, namespace: w.namespace, kind: w.kind, name: w.name, reason, revision: w.revision };
}

/**
 * Every workload of a unit in no wave, with why: already on `to`, not on `from`, or never selected. A workload
 * labelled with a revision tag is on the revision the tag points to in its cluster.
 */
export function reportUnmoved(
  units: UnitTable,
  clusters: Inventory['clusters'],
  assigned: Int32Array,
  body: RolloutSpec['spec'],
  skipped: SkippedWorkload[],
  /** units a blocking preflight risk skips */
  blocked?: Uint8Array,
): void {
  for (let u = 0; u < units.size; u++) {
    const tags = clusters[units.cluster[u]!]!.tags;
    for (let k = units.memberStart[u]!; k < units.memberStart[u + 1]!; k++) {
      const w = units.members[k]!;
      const revision = resolveRevision(tags, w.revision);
      const reason =
        revision === body.to
          ? SkipReason.AlreadyOnTarget
          : revision !== body.from
            ? SkipReason.NotOnFrom
            : body.tag !== undefined && w.revision !== body.tag
              ? SkipReason.NotTagged
              : blocked?.[u] === 1
                ? SkipReason.Preflight
                : assigned[u] === UNASSIGNED
                  ? SkipReason.NotSelected
                  : undefined;
      if (reason !== undefined) skipped.push(skippedOf(clusters[units.cluster[u]!]!.name, w, reason));
    }
  }
}

export function compareWorkloads(a: PlannedWorkload, b: PlannedWorkload): number {
  return (
    a.cluster.localeCompare(b.cluster) ||
    a.namespace.localeCompare(b.namespace) ||
    a.kind.localeCompare(b.kind) ||
    a.name.localeCompare(b.name)
  );
}

/** The deadline's problems: a pin past it, a deadline already passed, a wave converging after it. */
export function deadlineProblems(
  body: RolloutSpec['spec'],
  now: number,
  scheduled: readonly ScheduledWave[],
): PlanProblem[] {
  const deadline = Date.parse(body.deadline);
  const problems: PlanProblem[] = [];
  for (const p of body.pins) {
    const until = Date.parse(p.until);
    if (until > deadline) {
      problems.push({
        code: PlanProblemCode.PinAfterDeadline,
        message: `a pin holds units until ${p.until}, after the deadline ${body.deadline}`,
        blocking: true,
      });
    }
  }
  if (now >= deadline) {
    problems.push({
      code: PlanProblemCode.DeadlinePassed,
      message: `the deadline ${body.deadline} is not after now (${iso(now)})`,
      blocking: true,
    });
  }
  for (const s of scheduled) {
    if (s.converged > deadline) {
      const why = s.delays.length > 0 ? `; delayed by: ${s.delays.join('; ')}` : '';
      const approval = s.approval ? '; its start also waits for an approval' : '';
      problems.push({
        code: PlanProblemCode.DeadlineMissed,
        message: `wave "${s.name}" starts ${iso(s.start)} and is estimated to converge ${iso(s.converged)}, after the deadline ${body.deadline}${why}${approval}`,
        wave: s.name,
        blocking: true,
      });
    }
  }
  return problems;
}

import { VmHostState } from '@meshwave/contracts';
import type { ActiveBatch, DecisionSettings, GroupRecord, HostRecord } from './batch-decision.js';
import { isWaiting } from './batch-decision.js';
import { failureOf, isAvailable, targetOf } from './host-rules.js';

// The decision for a write that changes only some hosts' records (their reports, a registration, a tick), in the
// work of those hosts and the batch in flight, never the group's (issue 15). It answers only when the whole
// decision (`decideGroup`) would change nothing but those hosts' states; otherwise it says so, and the caller
// decides the whole group: once per batch judged, command or deadline, not once per report.

export interface ReportDecisionInput {
  readonly group: GroupRecord;
  /** a host's record before this write (undefined: not enrolled) */
  readonly recordOf: (name: string) => HostRecord | undefined;
  /** the records this write changes, as changed */
  readonly changed: readonly HostRecord[];
  readonly now: number;
  readonly settings: DecisionSettings;
  readonly holdTimeouts?: boolean;
  readonly starvedAt?: number;
  /** from the last whole decision: hosts waiting for a batch, and when to decide the whole group again */
  readonly waiting: number;
  readonly recheckAt: number | undefined;
}

export interface ReportDecision {
  readonly group: GroupRecord;
  /** the changed hosts only, each with its state settled (the same object when nothing changed) */
  readonly hosts: readonly HostRecord[];
  readonly starvedAt?: number;
}

/**
 * The changed hosts settled as `decideGroup` would settle them, or undefined when the whole group must be decided:
 * a deadline passed (a batch's timeout, a report going stale), the batch in flight is done or failed, a batch could
 * start (hosts wait and none is in flight), or a host the command names enrolled.
 */
export function decideReports(input: ReportDecisionInput): ReportDecision | undefined {
  const { group, now, settings } = input;
  if (input.recheckAt === undefined || now >= input.recheckAt) return undefined;
  const changed = new Map(input.changed.map((h) => [h.name, h] as const));
  for (const h of input.changed) if (input.recordOf(h.name) === undefined && isWaiting(group, h)) return undefined;
  const batch = group.batch;
  const inBatch = batch === undefined ? undefined : membersOf(batch);
  if (batch === undefined) {
    if (group.command !== undefined && !group.halted && input.waiting > 0) return undefined;
  } else if (input.changed.some((h) => inBatch?.has(h.name))) {
    // only a member's report changes the batch's outcome (its deadline and stale reports are `recheckAt`'s)
    const holdTimeouts = input.holdTimeouts === true;
    let allAvailable = true;
    for (const name of batch.hosts) {
      const h = changed.get(name) ?? input.recordOf(name);
      if (h === undefined) continue;
      if (failureOf(h, batch, now, settings, holdTimeouts, input.starvedAt) !== undefined) return undefined;
      if (!isAvailable(h, now, settings)) allAvailable = false;
    }
    if (allAvailable) return undefined;
  }
  const hosts = input.changed.map((h) =>
    inBatch?.has(h.name) === true ? h : settled(group, h, now, settings, input.starvedAt),
  );
  return { group, hosts, ...(input.starvedAt !== undefined ? { starvedAt: input.starvedAt } : {}) };
}

/** A batch's hosts as a set, made once per batch (a batch record is never changed, only replaced). */
const memberSets = new WeakMap<ActiveBatch, ReadonlySet<string>>();
function membersOf(batch: ActiveBatch): ReadonlySet<string> {
  let set = memberSets.get(batch);
  if (set === undefined) memberSets.set(batch, (set = new Set(batch.hosts)));
  return set;
}

/** A host outside any batch: its state follows what it reports (the rule of `decideGroup`). */
export function settled(
  group: GroupRecord,
  h: HostRecord,
  now: number,
  settings: DecisionSettings,
  starvedAt: number | undefined,
): HostRecord {
  if (h.state === VmHostState.Failed || h.state === VmHostState.Reverted) return h;
  const target = targetOf(group, h);
  const state =
    target !== undefined && target !== h.desiredVersion
      ? VmHostState.Pending
      : isAvailable(h, now, settings, starvedAt)
        ? VmHostState.Converged
        : h.state === VmHostState.Upgrading
          ? VmHostState.Upgrading
          : VmHostState.Pending;
  return state === h.state ? h : { ...h, state };
}

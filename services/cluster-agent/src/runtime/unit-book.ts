import { UnitState, unitKey } from '@meshwave/contracts';
import { assignments, type CommandLedger, type RolloutSettings } from '../core/command-ledger.js';
import type { UnitAssessment, UnitAssignment } from '../core/converge-decisions.js';
import { PendingUnits } from './pending-units.js';

/** A unit's state as the agent last assessed it. */
export interface UnitStatus extends UnitAssessment {
  readonly assignment: UnitAssignment;
  /** the revision the assignment's tag points at, which the pods were judged on (ADR 0046); absent for a revision */
  readonly injects?: string;
}

/** What the book tells the rest of the agent when its records change. */
export interface UnitBookHooks {
  /**
   * a unit's reported state changed: its rollout is marked dirty, the progress report is due; `urgent` when the
   * unit just failed (the planner halts on it: no debounce); `status` is the unit's new status
   */
  readonly onProgress: (urgent: boolean, status: UnitStatus) => void;
  /** a pending unit may start now (a slot freed up) */
  readonly wake: (key: string) => void;
}

/**
 * The units the ledger assigns to this cluster and the state each was last assessed in, with the in-flight
 * count kept incrementally: with hundreds of units, recounting on every reconcile would dominate the loop.
 */
export class UnitBook {
  units = new Map<string, UnitAssignment>();
  rolloutSettings = new Map<string, RolloutSettings>();
  readonly statuses = new Map<string, UnitStatus>();
  /** rollouts whose units changed since the last progress report */
  readonly dirtyRollouts = new Set<string>();
  /** per rollout, the units whose reported state changed since the last progress report */
  private changedUnits = new Map<string, Set<string>>();
  /** the ledger was read again since the last progress report: units may have gone or changed rollout */
  private regrouped = true;
  /** the units whose health (replicas, restarts, crash loops, a mismatch verdict) changed since the last health report */
  private healthChanged = new Set<string>();
  /** the ledger was read again since the last health report: units may have gone */
  private healthRegrouped = true;
  private readonly unitsByNamespace = new Map<string, Set<string>>();
  private readonly inFlight = new Set<string>();
  /**
   * In-flight units waiting for their namespace's label handoff (ADR 0011): not restarting themselves, they are
   * counted through their namespace's handoff restarts instead.
   */
  private readonly inHandoff = new Set<string>();
  /** per namespace in a label handoff, its templates' handoff restarts under way (as its units last assessed it) */
  private readonly handoffRestarts = new Map<string, number>();
  /** handoff restarts being written now, before the cache shows them: concurrent reconciles must not reuse them */
  private handoffWriting = 0;
  /** units whose start (relabel + restart patches) is under way: in flight even before the cache shows it */
  private readonly starting = new Set<string>();
  /** the pending units in the planner's order: a freed slot wakes the first without walking the rest */
  private readonly pending = new PendingUnits();
  private readonly isPending = (key: string): boolean => this.statuses.get(key)?.state === UnitState.Pending;

  constructor(private readonly hooks: UnitBookHooks) {}

  /** Re-derives the assignments from the ledger; statuses of units no longer assigned are dropped. */
  rebuild(ledger: CommandLedger, progressDeadlineSeconds: number | undefined): void {
    const a = assignments(ledger, progressDeadlineSeconds);
    this.units = new Map(a.units.map((u) => [unitKey(u.target), u]));
    this.rolloutSettings = new Map(a.rollouts.map((r) => [r.rolloutId, r]));
    this.unitsByNamespace.clear();
    for (const [key, u] of this.units) {
      let s = this.unitsByNamespace.get(u.target.namespace);
      if (!s) this.unitsByNamespace.set(u.target.namespace, (s = new Set()));
      s.add(key);
    }
    for (const key of this.statuses.keys()) if (!this.units.has(key)) this.statuses.delete(key);
    // a unit no longer assigned is never recorded again: it would hold its slot for good
    for (const set of [this.inFlight, this.inHandoff]) for (const key of set) if (!this.units.has(key)) set.delete(key);
    for (const ns of this.handoffRestarts.keys()) if (!this.unitsByNamespace.has(ns)) this.handoffRestarts.delete(ns);
    this.pending.reorder(this.units.keys(), this.isPending);
    this.regrouped = true;
    this.healthRegrouped = true;
  }

  /** what waking pending units cost so far: queue entries looked at */
  get wakeStats(): Readonly<PendingUnits['stats']> {
    return this.pending.stats;
  }

  /** the keys of the units in one namespace */
  keysIn(namespace: string): ReadonlySet<string> | undefined {
    return this.unitsByNamespace.get(namespace);
  }

  /**
   * Workloads restarting at once, as maxUnavailable counts them: the units in flight, with those waiting for their
   * namespace's label handoff counted as the handoff restarts under way there.
   */
  get inFlightCount(): number {
    let n = this.inFlight.size - this.inHandoff.size + this.handoffWriting;
    for (const restarts of this.handoffRestarts.values()) n += restarts;
    return n;
  }

  /** `n` handoff restarts are being written (a negative `n` when done): counted until the cache shows them */
  writingHandoff(n: number): void {
    this.handoffWriting += n;
  }

  /** the namespace's handoff restarts under way, as its units last assessed them */
  handoffRestartsIn(namespace: string): number {
    return this.handoffRestarts.get(namespace) ?? 0;
  }

  markStarting(key: string): void {
    this.starting.add(key);
  }

  doneStarting(key: string): void {
    this.starting.delete(key);
  }

  record(observed: UnitStatus): void {
    // A unit being started holds its slot whatever a concurrent re-assessment (a new command, a resync) reads
    // from a cache that does not show the restart yet.
    const status: UnitStatus = this.starting.has(observed.key)
      ? { ...observed, inFlight: true, state: UnitState.Restarting }
      : observed;
    const before = this.statuses.get(status.key);
    this.statuses.set(status.key, status);
    if (status.state === UnitState.Pending) this.pending.add(status.key);
    if (status.inFlight) this.inFlight.add(status.key);
    else this.inFlight.delete(status.key);
    const ns = status.assignment.target.namespace;
    if (status.handoff !== undefined) this.handoffRestarts.set(ns, status.handoff.waitingFor.length);
    else if (status.assignment.granularity === 'workload') this.handoffRestarts.delete(ns);
    if (status.inFlight && status.handoff !== undefined) this.inHandoff.add(status.key);
    else this.inHandoff.delete(status.key);
    const changed =
      !before ||
      before.state !== status.state ||
      before.reason !== status.reason ||
      before.injectedRevision !== status.injectedRevision ||
      before.injects !== status.injects;
    // a new message alone is no news worth a report, but goes with the next one, as any field of the unit's entry
    if (changed || before.message !== status.message) {
      const rolloutId = status.assignment.rolloutId;
      let units = this.changedUnits.get(rolloutId);
      if (!units) this.changedUnits.set(rolloutId, (units = new Set()));
      units.add(status.key);
    }
    if (!before || healthDiffers(before, status)) this.healthChanged.add(status.key);
    if (changed) {
      this.dirtyRollouts.add(status.assignment.rolloutId);
      this.hooks.onProgress(status.state === UnitState.Failed && before?.state !== UnitState.Failed, status);
    }
    if (before?.inFlight && !status.inFlight) this.wakePending();
  }

  /** Takes the dirty rollouts, leaving none. */
  takeDirtyRollouts(): string[] {
    const ids = [...this.dirtyRollouts];
    this.dirtyRollouts.clear();
    return ids;
  }

  /**
   * Takes the units whose reported state changed, per rollout, leaving none; `regrouped` when the ledger was read
   * again meanwhile (units may have gone: only a comparison of whole lists finds them).
   */
  takeChangedUnits(): { readonly byRollout: ReadonlyMap<string, ReadonlySet<string>>; readonly regrouped: boolean } {
    const taken = { byRollout: this.changedUnits, regrouped: this.regrouped };
    this.changedUnits = new Map();
    this.regrouped = false;
    return taken;
  }

  /**
   * Takes the units whose health changed, leaving none; `regrouped` when the ledger was read again meanwhile (units
   * may have gone: only a comparison of whole lists finds them).
   */
  takeHealthChanges(): { readonly keys: ReadonlySet<string>; readonly regrouped: boolean } {
    const taken = { keys: this.healthChanged, regrouped: this.healthRegrouped };
    this.healthChanged = new Set();
    this.healthRegrouped = false;
    return taken;
  }

  /** a health report was not sent: the next one compares every unit (what changed meanwhile is not all it misses) */
  healthUnsent(): void {
    this.healthRegrouped = true;
  }

  /** Unit counts per state, for the metrics. */
  counts(): { counts: Record<string, number>; inFlight: number } {
    const counts: Record<string, number> = {};
    for (const s of this.statuses.values()) counts[s.state] = (counts[s.state] ?? 0) + 1;
    return { counts, inFlight: this.inFlight.size };
  }

  /**
   * Wakes as many pending units as there are free slots, first in the planner's order, not all: on a freed slot,
   * and after a command's assessment of every unit (the other pending units wait for their turn here).
   */
  wakePending(): void {
    let maxUnavailable = 0;
    for (const r of this.rolloutSettings.values())
      if (!r.halted) maxUnavailable = Math.max(maxUnavailable, r.maxUnavailable);
    const room = maxUnavailable - this.inFlightCount;
    if (room <= 0) return;
    // a unit of a halted rollout is dropped from the queue: the command that lifts the halt queues it again
    const wakeable = (key: string): boolean =>
      this.isPending(key) && this.rolloutSettings.get(this.units.get(key)?.rolloutId ?? '')?.halted === false;
    for (const key of this.pending.take(room, wakeable)) this.hooks.wake(key);
  }
}

/** whether a unit's health entry may differ: its replicas, restarts, crash loop, or the verdict that says mismatch */
function healthDiffers(a: UnitStatus, b: UnitStatus): boolean {
  return (
    a.unavailableReplicas !== b.unavailableReplicas ||
    a.restarts !== b.restarts ||
    a.crashLooping !== b.crashLooping ||
    a.state !== b.state ||
    a.reason !== b.reason
  );
}

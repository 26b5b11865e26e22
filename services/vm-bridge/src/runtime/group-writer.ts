import type { AuditEntry } from '@meshwave/store';
import {
  commitGroupWrites,
  groupWrites,
  loadGroup,
  saveGroup,
  HOST_DOC,
  type GroupChanges,
  type GroupWrite,
  type StoredGroup,
} from '../adapters/group-store.js';
import { decideGroup, type HostRecord } from '../core/batch-decision.js';
import { decideReports } from '../core/report-decision.js';
import { VmBridgeError, VmBridgeErrorCode } from '../errors.js';
import { degradedOf, unknownGroup, type BridgeContext } from './bridge-context.js';
import { GroupLanes } from './group-lanes.js';
import type { ProgressPublisher } from './progress-publisher.js';

const MAX_WRITE_ATTEMPTS = 8;

/** A group as this epoch last wrote it, and what its last whole decision said (absent: decide it whole next). */
interface KeptView {
  readonly epoch: number;
  readonly view: StoredGroup;
  judged?: { readonly waiting: number; readonly recheckAt: number | undefined };
}

/** An edit of a group as read: what to answer, what to change, and the audit entry of the change. */
export type GroupChange<T> = (loaded: StoredGroup) => {
  outcome: T;
  changes?: GroupChanges;
  audit?: AuditEntry;
};

/**
 * Read-decide-write for one group, one at a time per group: `change` edits the group, `decideReports` (the changed
 * hosts only) or `decideGroup` (the whole group, ADR 0063) takes it from there, and what changed is written in one
 * fenced transition (retried on version conflicts).
 * The group is read from the store once per lease epoch and then kept here, brought up to date by every
 * committed write: only this leader writes the group (every write is fenced by its epoch), so a write reads
 * nothing and writes only the documents that changed (ADR 0024). Any doubt — a conflict, a failed or fenced
 * write, a new epoch — drops the copy and the next write reads the group again.
 */
export class GroupWriter {
  private readonly lanes = new GroupLanes();
  private readonly views = new Map<string, KeptView>();
  /** the last instant a decision saw this bridge's loop lag: batch timeouts count only the time after it */
  private starvedAt: number | undefined;

  constructor(
    private readonly ctx: BridgeContext,
    private readonly publisher: ProgressPublisher,
  ) {}

  /** `urgent` (a halt): before the group's routine writes still waiting (see `GroupLanes`) */
  mutate<T>(group: string, change: GroupChange<T>, urgent = false): Promise<T> {
    if (!this.ctx.groups.has(group)) return Promise.reject(unknownGroup(group));
    return this.lanes.run(group, () => this.write(group, change), urgent);
  }

  /** Waits for every write under way. */
  settle(): Promise<void> {
    return this.lanes.settle();
  }

  private async write<T>(group: string, change: GroupChange<T>): Promise<T> {
    const { ctx } = this;
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const lease = ctx.election.current;
      if (lease === undefined || ctx.lifecycle.stopped) {
        throw new VmBridgeError(VmBridgeErrorCode.Fenced, 'this bridge does not hold the lease', { retryable: true });
      }
      const kept = await this.view(group, lease.epoch);
      const loaded = kept.view;
      const { outcome, changes, audit } = change(loaded);
      const removed = new Set(changes?.removedHosts ?? []);
      const now = ctx.clock.now();
      const degraded = degradedOf(ctx) !== undefined;
      if (degraded) this.starvedAt = now;
      const timing = {
        now,
        settings: ctx.settings,
        holdTimeouts: degraded,
        ...(this.starvedAt !== undefined ? { starvedAt: this.starvedAt } : {}),
      };
      // A write of some hosts' records costs those hosts (and the batch in flight) when the whole decision would
      // change nothing else; the whole group is decided on a command, a removal, a batch judged or a deadline.
      const few =
        changes?.group === undefined && removed.size === 0 && kept.judged !== undefined
          ? decideReports({
              ...timing,
              group: loaded.group,
              recordOf: (name) => loaded.hosts.get(name)?.record,
              changed: changes?.hosts ?? [],
              ...kept.judged,
            })
          : undefined;
      const whole =
        few === undefined
          ? decideGroup({
              ...timing,
              group: changes?.group ?? loaded.group,
              hosts: mergeHosts(loaded, changes?.hosts ?? [], removed),
            })
          : undefined;
      const decision = few ?? whole!;
      const writes = groupWrites(loaded, {
        group: decision.group,
        hosts: decision.hosts,
        ...(changes?.credentials !== undefined ? { credentials: changes.credentials } : {}),
        ...(removed.size > 0 ? { removedHosts: [...removed] } : {}),
      });
      let result: Awaited<ReturnType<typeof saveGroup>>;
      try {
        result = await saveGroup(ctx.store, lease.epoch, group, writes, audit);
      } catch (error) {
        // The transition may or may not have applied: read the group again next time.
        this.views.delete(group);
        throw error;
      }
      if (result !== 'unchanged' && !result.ok) {
        this.views.delete(group);
        if (result.reason === 'version-conflict') continue;
        ctx.log.error(
          { group, currentEpoch: result.currentEpoch, epoch: lease.epoch },
          'fenced by a newer bridge; stopping',
        );
        await ctx.election.lost('fenced by a newer bridge');
        throw new VmBridgeError(VmBridgeErrorCode.Fenced, 'a newer bridge has taken over', { context: { group } });
      }
      const previous = loaded.group;
      const before = new Map(few?.hosts.map((h) => [h.name, loaded.hosts.get(h.name)?.record] as const));
      if (result !== 'unchanged') commitGroupWrites(loaded, writes, result.versions);
      this.indexCommitted(group, loaded, writes, changes, removed);
      if (whole === undefined) {
        const all = (): HostRecord[] => [...loaded.hosts.values()].map((h) => h.record);
        await this.publisher.afterReports(group, decision, before, now, all);
        return outcome;
      }
      kept.judged = { waiting: whole.waiting, recheckAt: whole.recheckAt };
      await this.publisher.afterCommit(group, previous, whole, now);
      return outcome;
    }
    throw new VmBridgeError(VmBridgeErrorCode.StoreConflict, `group ${group}: writes kept conflicting`, {
      context: { group },
      retryable: true,
    });
  }

  /** The group as this epoch last wrote it, read from the store the first time. */
  private async view(group: string, epoch: number): Promise<KeptView> {
    const kept = this.views.get(group);
    if (kept !== undefined && kept.epoch === epoch) return kept;
    const view = await loadGroup(this.ctx.store, group);
    const fresh: KeptView = { epoch, view };
    this.views.set(group, fresh);
    // What was read is the truth the hosts are answered from, indexed here in the group's write order: a host
    // the store lost (its data flushed) is forgotten and enrolls again, never answered from a record left in memory.
    const forgotten = this.ctx.hosts.refresh(view);
    if (forgotten.length > 0)
      this.ctx.log.warn({ group, hosts: forgotten }, 'hosts no longer in the store: they must enroll again');
    return fresh;
  }

  /**
   * Brings the host index up to what was written (only the hosts written: the others are unchanged), and wakes
   * the long polls of hosts whose desired state changed.
   */
  private indexCommitted(
    group: string,
    view: StoredGroup,
    writes: readonly GroupWrite[],
    changes: GroupChanges | undefined,
    removed: ReadonlySet<string>,
  ): void {
    const { hosts } = this.ctx;
    for (const [host, c] of changes?.credentials ?? []) {
      const stored = view.hosts.get(host);
      if (stored !== undefined) hosts.set(host, { group, tokenSha256: c.tokenSha256, record: stored.record });
    }
    for (const host of removed) hosts.remove(host);
    for (const w of writes) {
      if (!w.name.startsWith(HOST_DOC) || w.value === null) continue;
      const h = w.value as HostRecord;
      const entry = hosts.get(h.name);
      if (entry === undefined) continue;
      const changed = entry.record.assignment !== h.assignment || entry.record.desiredVersion !== h.desiredVersion;
      entry.record = h;
      if (changed) hosts.wake(h.name);
    }
  }
}

/** The group's hosts after `changed` and `removed` are applied to what was read. */
function mergeHosts(loaded: StoredGroup, changed: readonly HostRecord[], removed: ReadonlySet<string>): HostRecord[] {
  const byName = new Map(changed.map((h) => [h.name, h] as const));
  const hosts = [...loaded.hosts.values()]
    .filter((h) => !removed.has(h.record.name))
    .map((h) => byName.get(h.record.name) ?? h.record);
  for (const h of byName.values()) if (!loaded.hosts.has(h.name)) hosts.push(h);
  return hosts;
}

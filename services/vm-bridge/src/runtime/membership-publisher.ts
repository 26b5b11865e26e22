import { MessageType, Topic, vmGroupKey, type VmInventoryReport } from '@meshwave/contracts';
import type { OutgoingMessage } from '@meshwave/bus';
import { newSeq } from '@meshwave/reconcile';
import type { HostRecord } from '../core/batch-decision.js';
import type { BridgeContext } from './bridge-context.js';

type Members = VmInventoryReport['hosts'];

/** least time between two memberships sent for reports while a batch is in flight */
const MEMBERSHIP_SPACING_MS = 1_000;

/**
 * The group's hosts as the planner's inventory holds them, by name: each with the version its last report says it
 * runs, or (no report yet) the one it enrolled with.
 */
export function membersOf(hosts: readonly HostRecord[]): Members {
  return hosts.map(memberOf).sort(byName);
}

const memberOf = (h: HostRecord): Members[number] => ({
  name: h.name,
  version: h.report !== undefined ? h.report.runningVersion : h.previousVersion,
});
const byName = (a: { readonly name: string }, b: { readonly name: string }): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/**
 * Each group's membership on the events topic (`VmInventory`), whether or not a rollout runs: the planner learns a
 * group's hosts from the bridge that enrolls them, as it learns a cluster's workloads from its agent, not only from
 * an operator's `PUT /v1/inventory`. Sent when a host enrolls, leaves or reports another version, and again every
 * `progressIntervalMs` (level-triggered: a report the planner lost is made up for). It carries the group's `mesh` when
 * the bridge's config gives one (ADR 0058), so a mesh rollout selects the group without an operator's inventory. It is not awaited by the group's
 * write (a halt never waits for it, ADR 0049); a publish that failed goes again at the group's next write (the
 * ticker writes every group each `tickMs`).
 */
export class MembershipPublisher {
  private readonly sent = new Map<string, { readonly json: string; readonly at: number }>();
  /** each group's members as last made, by name, and whether they changed since the last publish that went */
  private readonly members = new Map<string, { readonly byName: Map<string, Members[number]>; dirty: boolean }>();
  private readonly inFlight = new Set<string>();
  private readonly seq: () => number;

  constructor(
    private readonly ctx: Pick<BridgeContext, 'clock' | 'settings' | 'groups'>,
    /** true once the bus has the messages; never throws */
    private readonly publish: (messages: readonly OutgoingMessage[]) => Promise<boolean>,
  ) {
    this.seq = newSeq(ctx.clock);
  }

  /** After a committed write of `group` whose hosts are now `hosts`. */
  afterCommit(group: string, hosts: readonly HostRecord[], now: number): void {
    const kept = { byName: new Map(hosts.map((h) => [h.name, memberOf(h)] as const)), dirty: true };
    this.members.set(group, kept);
    if (this.inFlight.has(group)) return;
    const members = membersOf(hosts);
    const json = JSON.stringify(members);
    const last = this.sent.get(group);
    kept.dirty = false;
    if (last !== undefined && last.json === json && now - last.at < this.ctx.settings.progressIntervalMs) return;
    this.send(group, members, json, now, () => (kept.dirty = true));
  }

  /**
   * After a committed write that changed only `changed` (a report, a registration): their entries are compared, and
   * the whole membership is made only when one of them changed, its last publish failed or the interval passed.
   */
  afterChanges(
    group: string,
    changed: readonly HostRecord[],
    now: number,
    all: () => readonly HostRecord[],
    /** a batch is in flight: its judgement sends the membership whole anyway, so reports' changes are spaced */
    spaced: boolean,
  ): void {
    const kept = this.members.get(group);
    if (kept === undefined) return this.afterCommit(group, all(), now);
    for (const h of changed) {
      const m = memberOf(h);
      const before = kept.byName.get(h.name);
      if (before !== undefined && before.version === m.version) continue;
      kept.byName.set(h.name, m);
      kept.dirty = true;
    }
    if (this.inFlight.has(group)) return;
    const last = this.sent.get(group);
    const since = last === undefined ? Infinity : now - last.at;
    // while a batch moves, a report's new version goes with the next write a second after the last membership went
    // (the ticker writes every group each `tickMs`), not one list per report; otherwise at once
    if (since < (kept.dirty ? (spaced ? MEMBERSHIP_SPACING_MS : 0) : this.ctx.settings.progressIntervalMs)) return;
    const members = [...kept.byName.values()].sort(byName);
    kept.dirty = false;
    this.send(group, members, JSON.stringify(members), now, () => (kept.dirty = true));
  }

  private send(group: string, members: Members, json: string, now: number, failed?: () => void): void {
    // the group's mesh from the bridge's config (ADR 0058): a configured group's mesh never changes while it runs
    const mesh = this.ctx.groups.get(group)?.mesh;
    const data: VmInventoryReport = {
      group,
      generation: this.seq(),
      hosts: members,
      ...(mesh !== undefined ? { mesh } : {}),
    };
    this.inFlight.add(group);
    void this.publish([{ topic: Topic.Events, key: vmGroupKey(group), type: MessageType.VmInventory, data }])
      .then((ok) => {
        if (ok) this.sent.set(group, { json, at: now });
        else failed?.();
      })
      .finally(() => this.inFlight.delete(group));
  }
}

import {
  Inventory,
  parseInventory,
  validate,
  type ClusterDetail,
  type FleetView,
  type RevisionsView,
  type InventoryDelta,
  type InventoryReport,
  type VmInventoryReport,
  type VmProgress,
} from '@meshwave/contracts';
import type { DocWrite, Lease } from '@meshwave/store';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import { buildClusterDetail, buildFleetView } from '../views/fleet-view.js';
import { buildRevisionsView } from '../views/revisions-view.js';
import type { Leadership } from './leadership.js';
import { nowOf, type PlannerContext } from './planner-context.js';
import { UnitGauge } from '../metrics/unit-gauge.js';
import { planJournalWrite, snapshotHead, type InventoryHead } from '../core/inventory-journal.js';
import { InventoryFolds, readInventory, type HeldInventory } from './inventory-journal.js';
import { InventoryResyncs } from './inventory-resync.js';
import { FLEET_SCOPE, FleetDoc, ValidatedDocs, mergeInventory, readCachedScope } from './store-layout.js';
import {
  StoredInventoryHead,
  StoredVmMembership,
  parseStored,
  type StoredInventoryCluster,
  type StoredInventoryDelta,
  type StoredVmGroup,
} from './stored-documents.js';

/** The fleet scope: the operator's base inventory and what agents report of their clusters and VM groups. */
export class FleetInventory {
  private readonly unitGauge: UnitGauge;
  /** the fleet scope's documents validated once per version: a read parses only the inventories that changed */
  private readonly validated = new ValidatedDocs();
  /** the clusters' inventories (snapshot and journal, ADR 0079) as last folded */
  private readonly folds = new InventoryFolds();
  /** asks an agent for its whole inventory when a delta does not follow what is held */
  readonly resyncs: InventoryResyncs;

  constructor(
    private readonly context: PlannerContext,
    private readonly leadership: Pick<Leadership, 'requireLeader'>,
  ) {
    this.unitGauge = new UnitGauge(context.metrics.unitsByRevision);
    this.resyncs = new InventoryResyncs(context.bus, () => context.clock.now(), context.logger);
  }

  /** The fleet as planning sees it (base inventory merged with the agents' reports). */
  async stored(): Promise<ReturnType<typeof mergeInventory>> {
    const docs = await readCachedScope(this.context.store, FLEET_SCOPE, this.validated);
    return mergeInventory(docs, this.validated, this.folds);
  }

  async fleet(): Promise<FleetView> {
    const { inventory, reported, vmReported } = await this.stored();
    return buildFleetView(inventory, reported, vmReported);
  }

  async revisions(): Promise<RevisionsView> {
    return buildRevisionsView((await this.stored()).inventory);
  }

  async cluster(name: string): Promise<ClusterDetail> {
    const { inventory, reported } = await this.stored();
    const detail = buildClusterDetail(inventory, reported, name);
    if (!detail)
      throw new PlannerError(PlannerErrorCode.ClusterNotFound, `no cluster ${name} in the inventory`, {
        context: { name },
      });
    return detail;
  }

  /** An operator's base inventory (text or object), audited; the leader only. */
  async put(inventory: unknown, actor: string): Promise<void> {
    const lease = this.leadership.requireLeader();
    const value = typeof inventory === 'string' ? parseInventory(inventory) : validate(Inventory, inventory);
    const now = nowOf(this.context);
    const r = await this.context.store.transition({
      scope: FLEET_SCOPE,
      epoch: lease.epoch,
      writes: [{ name: FleetDoc.BaseInventory, value }],
      audit: {
        actor,
        action: 'put-inventory',
        scope: FLEET_SCOPE,
        at: now.toISOString(),
        detail: { clusters: value.clusters.length, vmGroups: value.vmGroups.length },
      },
    });
    if (!r.ok)
      throw new PlannerError(PlannerErrorCode.Conflict, `inventory not stored: ${r.reason}`, { retryable: true });
    // An operator's put is rare: the whole fleet is counted again here, never per agent report.
    const { inventory: merged } = await this.stored();
    this.unitGauge.countFleet(merged.clusters);
  }

  /** An agent's inventory report; an older generation (redelivery, reordering) never replaces a newer one. */
  async storeReport(lease: Lease, report: InventoryReport): Promise<void> {
    const held = await this.heldInventory(report.cluster);
    if (held && held.value.report.generation > report.generation) return;
    // Nothing held: a head may still be stored without its snapshot (a partial loss). The write checks that head's
    // version and deletes the journal it names; expecting no head would conflict for ever.
    const orphan = held === undefined ? await this.storedHead(report.cluster) : undefined;
    const receivedAt = nowOf(this.context).toISOString();
    const value: StoredInventoryCluster = { report, receivedAt };
    const head = snapshotHead(report, receivedAt);
    const journal = [...(held?.head.journal ?? []), ...(held?.staleJournal ?? []), ...(orphan?.journal ?? [])];
    // the whole report is the new snapshot: the journal before it goes in the same transition (ADR 0079)
    const written = await this.writeInventory(
      lease,
      report.cluster,
      held?.headVersion ?? orphan?.version ?? 0,
      [
        { name: FleetDoc.cluster(report.cluster), value, expectedVersion: held?.snapshotVersion ?? 0 },
        ...journal.map((g) => ({ name: FleetDoc.inventoryDelta(report.cluster, g), value: null })),
      ],
      head,
    );
    if (written === undefined) return;
    // A report replaces its cluster's workloads in the merged inventory, so only that cluster's series change.
    this.unitGauge.countCluster(report.cluster, report);
    // the deltas that follow apply to this report (ADR 0031)
    const snapshotVersion = written[FleetDoc.cluster(report.cluster)] ?? 0;
    this.validated.prime(FLEET_SCOPE, FleetDoc.cluster(report.cluster), snapshotVersion, value);
    this.folds.set(report.cluster, {
      snapshotVersion,
      headVersion: written[FleetDoc.inventoryHead(report.cluster)] ?? 0,
      head,
      value,
      complete: true,
    });
    this.resyncs.received(report.cluster);
  }

  /**
   * An agent of `cluster` spoke (its health report). A planner that holds no inventory of it (a new store era after
   * a data loss, a report lost on the way) asks for the whole one: otherwise only a delta would ask, and a cluster
   * where nothing changes sends none, so its inventory would never come back. One read until it is held.
   */
  async heardFrom(cluster: string): Promise<void> {
    // an incomplete journal (an entry lost) is asked for too: a cluster where nothing changes sends no delta to find it
    if ((await this.heldInventory(cluster))?.complete === true) return;
    await this.resyncs.request(cluster, 'the planner holds no inventory of this cluster');
  }

  /**
   * An agent's delta (ADR 0031), applied to the cluster's inventory held since this process last wrote or read
   * it: no read in the steady state; the write is the delta and the cluster's small head, the snapshot only when
   * the journal is compacted (ADR 0079). A write that finds the head changed meanwhile drops what is held and is
   * retried. A delta that does not follow the held report asks the agent for its whole inventory.
   */
  async storeDelta(lease: Lease, delta: InventoryDelta): Promise<void> {
    const held = await this.heldInventory(delta.cluster);
    const receivedAt = nowOf(this.context).toISOString();
    const plan = planJournalWrite(
      held?.complete ? { head: held.head, report: held.value.report } : undefined,
      delta,
      receivedAt,
    );
    if (plan.kind === 'stale') return;
    if (plan.kind === 'gap') {
      await this.resyncs.request(delta.cluster, plan.reason);
      return;
    }
    const { report } = plan;
    const value: StoredInventoryCluster = { report, receivedAt };
    const snapshotName = FleetDoc.cluster(delta.cluster);
    const deltaName = FleetDoc.inventoryDelta(delta.cluster, delta.generation);
    const entry: StoredInventoryDelta = { delta, receivedAt };
    const written = await this.writeInventory(
      lease,
      delta.cluster,
      held?.headVersion ?? 0,
      plan.kind === 'compact'
        ? [
            { name: snapshotName, value, expectedVersion: held!.snapshotVersion },
            ...[...plan.dropped, ...(held!.staleJournal ?? [])].map((g) => ({
              name: FleetDoc.inventoryDelta(delta.cluster, g),
              value: null,
            })),
          ]
        : [{ name: deltaName, value: entry }],
      plan.head,
    );
    if (written === undefined) return;
    if (plan.kind === 'compact') this.validated.prime(FLEET_SCOPE, snapshotName, written[snapshotName] ?? 0, value);
    else this.validated.prime(FLEET_SCOPE, deltaName, written[deltaName] ?? 0, entry);
    this.folds.set(delta.cluster, {
      snapshotVersion: plan.kind === 'compact' ? (written[snapshotName] ?? 0) : held!.snapshotVersion,
      headVersion: written[FleetDoc.inventoryHead(delta.cluster)] ?? 0,
      head: plan.head,
      value,
      complete: true,
    });
    // new revision tags move every workload labelled with a tag, a namespace labelled ambient (or no longer) every
    // workload in it: that cluster is counted again; so is one whose counts this process does not hold yet
    if (
      JSON.stringify(report.tags) !== JSON.stringify(held?.value.report.tags) ||
      !this.unitGauge.adjustable(report.cluster, delta.namespaces)
    )
      this.unitGauge.countCluster(report.cluster, report);
    else this.unitGauge.adjust(report.cluster, plan.changes, report.tags);
  }

  /** the cluster's inventory this process holds, else as stored (undefined: none is) */
  /** The head stored of `cluster`'s inventory, read whatever its snapshot: its version and the journal it names. */
  private async storedHead(cluster: string): Promise<{ version: number; journal: readonly number[] } | undefined> {
    const name = FleetDoc.inventoryHead(cluster);
    const doc = await this.context.store.read(FLEET_SCOPE, name);
    if (doc === undefined) return undefined;
    return { version: doc.version, journal: this.validated.parse(StoredInventoryHead, FLEET_SCOPE, name, doc).journal };
  }

  private async heldInventory(cluster: string): Promise<HeldInventory | undefined> {
    return (
      this.folds.get(cluster) ?? readInventory(this.context.store, FLEET_SCOPE, cluster, this.validated, this.folds)
    );
  }

  /**
   * `writes` of the cluster's inventory with its new `head`, in one transition checked against the head's version
   * held (every write of the inventory rewrites the head): the versions written, or undefined when refused. A
   * conflict drops what is held and is retried (with a read); a newer leader's epoch is its to handle.
   */
  private async writeInventory(
    lease: Lease,
    cluster: string,
    headVersion: number,
    writes: DocWrite[],
    head: InventoryHead,
  ): Promise<Readonly<Record<string, number>> | undefined> {
    const headName = FleetDoc.inventoryHead(cluster);
    const r = await this.context.store.transition({
      scope: FLEET_SCOPE,
      epoch: lease.epoch,
      writes: [{ name: headName, value: head, expectedVersion: headVersion }, ...writes],
    });
    if (!r.ok) {
      this.folds.forget(cluster);
      this.validated.forget(FLEET_SCOPE, headName);
      if (r.reason === 'version-conflict')
        throw new PlannerError(PlannerErrorCode.Conflict, `inventory of ${cluster} changed concurrently`, {
          retryable: true,
        });
      return undefined;
    }
    this.validated.prime(FLEET_SCOPE, headName, r.versions[headName] ?? 0, head);
    for (const w of writes) if (w.value === null) this.validated.forget(FLEET_SCOPE, w.name);
    return r.versions;
  }

  /** The versions a VM group's hosts run, from its progress report. */
  async storeVmGroup(lease: Lease, progress: VmProgress): Promise<void> {
    const vm: StoredVmGroup = {
      group: progress.group,
      hosts: progress.hosts.map((h) => ({ name: h.name, version: h.version })),
      receivedAt: nowOf(this.context).toISOString(),
    };
    await this.context.store.transition({
      scope: FLEET_SCOPE,
      epoch: lease.epoch,
      writes: [{ name: FleetDoc.vmGroup(progress.group), value: vm }],
    });
  }

  /**
   * A VM group's hosts as its vm-bridge reports them (whole each time); an older generation (redelivery, reordering)
   * never replaces a newer one. They replace the base inventory's hosts of the group, or add the group.
   */
  async storeVmMembership(lease: Lease, report: VmInventoryReport): Promise<void> {
    const { store } = this.context;
    const name = FleetDoc.vmMembers(report.group);
    const existing = await store.read(FLEET_SCOPE, name);
    if (existing && parseStored(StoredVmMembership, existing, name).report.generation >= report.generation) return;
    const value: StoredVmMembership = { report, receivedAt: nowOf(this.context).toISOString() };
    const r = await store.transition({
      scope: FLEET_SCOPE,
      epoch: lease.epoch,
      writes: [{ name, value, expectedVersion: existing?.version ?? 0 }],
    });
    if (!r.ok && r.reason === 'version-conflict')
      throw new PlannerError(PlannerErrorCode.Conflict, `membership of ${report.group} changed concurrently`, {
        retryable: true,
      });
  }
}

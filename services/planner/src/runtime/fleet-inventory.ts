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
import type { Lease } from '@meshwave/store';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import { buildClusterDetail, buildFleetView } from '../views/fleet-view.js';
import { buildRevisionsView } from '../views/revisions-view.js';
import type { Leadership } from './leadership.js';
import { nowOf, type PlannerContext } from './planner-context.js';
import { UnitGauge } from '../metrics/unit-gauge.js';
import { applyInventoryDelta } from '../core/inventory-delta.js';
import { InventoryResyncs } from './inventory-resync.js';
import { FLEET_SCOPE, FleetDoc, ValidatedDocs, mergeInventory, readCachedScope } from './store-layout.js';
import { StoredInventoryCluster, StoredVmMembership, parseStored, type StoredVmGroup } from './stored-documents.js';

/** The fleet scope: the operator's base inventory and what agents report of their clusters and VM groups. */
export class FleetInventory {
  private readonly unitGauge: UnitGauge;
  /** the fleet scope's documents validated once per version: a read parses only the inventories that changed */
  private readonly validated = new ValidatedDocs();
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
    return mergeInventory(docs, this.validated);
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
    const { store } = this.context;
    const name = FleetDoc.cluster(report.cluster);
    const existing = await store.read(FLEET_SCOPE, name);
    if (existing && parseStored(StoredInventoryCluster, existing, name).report.generation > report.generation) return;
    const value: StoredInventoryCluster = { report, receivedAt: nowOf(this.context).toISOString() };
    const r = await store.transition({
      scope: FLEET_SCOPE,
      epoch: lease.epoch,
      writes: [{ name, value, expectedVersion: existing?.version ?? 0 }],
    });
    if (!r.ok && r.reason === 'version-conflict')
      throw new PlannerError(PlannerErrorCode.Conflict, 'inventory changed concurrently', { retryable: true });
    if (!r.ok) return;
    // A report replaces its cluster's workloads in the merged inventory, so only that cluster's series change.
    this.unitGauge.countCluster(report.cluster, report);
    // the deltas that follow apply to this report (ADR 0031)
    this.validated.prime(FLEET_SCOPE, name, r.versions[name] ?? 0, value);
    this.resyncs.received(report.cluster);
  }

  /**
   * An agent of `cluster` spoke (its health report). A planner that holds no inventory of it (a new store era after
   * a data loss, a report lost on the way) asks for the whole one: otherwise only a delta would ask, and a cluster
   * where nothing changes sends none, so its inventory would never come back. One read until it is held.
   */
  async heardFrom(cluster: string): Promise<void> {
    const name = FleetDoc.cluster(cluster);
    if (this.validated.held(FLEET_SCOPE, name) !== undefined) return;
    const doc = await this.context.store.read(FLEET_SCOPE, name);
    if (doc) {
      this.validated.parse(StoredInventoryCluster, FLEET_SCOPE, name, doc);
      return;
    }
    await this.resyncs.request(cluster, 'the planner holds no inventory of this cluster');
  }

  /**
   * An agent's delta (ADR 0031), applied to the cluster's inventory held since this process last wrote or read
   * it: no read in the steady state, one write; a write that finds the document changed meanwhile drops what is
   * held and is retried. A delta that does not follow the held report asks the agent for its whole inventory.
   */
  async storeDelta(lease: Lease, delta: InventoryDelta): Promise<void> {
    const { store } = this.context;
    const name = FleetDoc.cluster(delta.cluster);
    let held = this.validated.held<StoredInventoryCluster>(FLEET_SCOPE, name);
    if (held === undefined) {
      const doc = await store.read(FLEET_SCOPE, name);
      if (doc)
        held = { version: doc.version, value: this.validated.parse(StoredInventoryCluster, FLEET_SCOPE, name, doc) };
    }
    const outcome = applyInventoryDelta(held?.value.report, delta);
    if (outcome.kind === 'stale') return;
    if (outcome.kind === 'gap') {
      await this.resyncs.request(delta.cluster, outcome.reason);
      return;
    }
    const value: StoredInventoryCluster = { report: outcome.report, receivedAt: nowOf(this.context).toISOString() };
    const r = await store.transition({
      scope: FLEET_SCOPE,
      epoch: lease.epoch,
      writes: [{ name, value, expectedVersion: held?.version ?? 0 }],
    });
    if (!r.ok) {
      this.validated.forget(FLEET_SCOPE, name);
      // as for a whole report: a conflict is retried (with a read), a newer leader's epoch is its to handle
      if (r.reason === 'version-conflict')
        throw new PlannerError(PlannerErrorCode.Conflict, `inventory of ${delta.cluster} changed concurrently`, {
          retryable: true,
        });
      return;
    }
    this.validated.prime(FLEET_SCOPE, name, r.versions[name] ?? 0, value);
    const { report } = outcome;
    // new revision tags move every workload labelled with a tag, a namespace labelled ambient (or no longer) every
    // workload in it: that cluster is counted again; so is one whose counts this process does not hold yet
    if (
      JSON.stringify(report.tags) !== JSON.stringify(held?.value.report.tags) ||
      !this.unitGauge.adjustable(report.cluster, delta.namespaces)
    )
      this.unitGauge.countCluster(report.cluster, report);
    else this.unitGauge.adjust(report.cluster, outcome.changes, report.tags);
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

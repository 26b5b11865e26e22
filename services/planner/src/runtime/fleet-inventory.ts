import {
  Inventory,
  parseInventory,
  validate,
  type ClusterDetail,
  type FleetView,
  type InventoryReport,
  type VmProgress,
} from '@meshwave/contracts';
import type { Lease } from '@meshwave/store';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import { buildClusterDetail, buildFleetView } from '../views/fleet-view.js';
import type { Leadership } from './leadership.js';
import { nowOf, type PlannerContext } from './planner-context.js';
import { FLEET_SCOPE, FleetDoc, mergeInventory } from './store-layout.js';
import { StoredInventoryCluster, parseStored, type StoredVmGroup } from './stored-documents.js';

/** The fleet scope: the operator's base inventory and what agents report of their clusters and VM groups. */
export class FleetInventory {
  constructor(
    private readonly context: PlannerContext,
    private readonly leadership: Pick<Leadership, 'requireLeader'>,
  ) {}

  /** The fleet as planning sees it (base inventory merged with the agents' reports). */
  async stored(): Promise<ReturnType<typeof mergeInventory>> {
    return mergeInventory(await this.context.store.readScope(FLEET_SCOPE));
  }

  async fleet(): Promise<FleetView> {
    const { inventory, reported, vmReported } = await this.stored();
    return buildFleetView(inventory, reported, vmReported);
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
    await this.refreshUnitGauge();
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
    await this.refreshUnitGauge();
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

  private async refreshUnitGauge(): Promise<void> {
    const { inventory } = await this.stored();
    const gauge = this.context.metrics.unitsByRevision;
    gauge.reset();
    for (const c of inventory.clusters) {
      const counts = new Map<string, number>();
      for (const w of c.workloads) counts.set(w.revision ?? 'none', (counts.get(w.revision ?? 'none') ?? 0) + 1);
      for (const [revision, n] of counts) gauge.set({ cluster: c.name, revision }, n);
    }
  }
}

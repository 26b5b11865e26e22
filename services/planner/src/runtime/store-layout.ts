import type { HealthReport, Inventory, UnitProgress, VmProgress } from '@meshwave/contracts';
import type { VersionedDoc } from '@meshwave/store';
import type { Observations, Received, RolloutRecord, RolloutState } from '../core/rollout-state.js';
import {
  StoredBaseInventory,
  StoredClusterReport,
  StoredInventoryCluster,
  StoredRolloutRecord,
  StoredRolloutState,
  StoredVmGroup,
  StoredVmGroupReport,
  parseStored,
  parseStoredIfAny,
} from './stored-documents.js';

export type { StoredInventoryCluster, StoredVmGroup } from './stored-documents.js';

// Where the planner keeps things. One scope per rollout (its id): the record, the engine state and the
// latest report per target, so one `readScope` round trip gives a reconcile everything. The fleet scope holds
// inventory, written by the leader from agents' reports or by an operator.

export const RolloutDoc = {
  Record: 'rollout',
  State: 'state',
  clusterReport: (cluster: string): string => `report/cluster/${cluster}`,
  vmGroupReport: (group: string): string => `report/vmgroup/${group}`,
} as const;

/** the kind `listScopes` finds rollouts by */
export const ROLLOUT_KIND = 'rollout';
export const FLEET_SCOPE = 'fleet';

export const FleetDoc = {
  BaseInventory: 'inventory/base',
  /** the fleet-wide freeze (fleet-freeze.ts) */
  Freeze: 'freeze',
  cluster: (name: string): string => `inventory/cluster/${name}`,
  vmGroup: (name: string): string => `vmgroup/${name}`,
} as const;

/** Timer set of "look at rollout X again at T". */
export const WAKE_TIMERS = 'planner/wake';

export interface LoadedRollout {
  readonly record: RolloutRecord;
  readonly state: RolloutState;
  readonly stateVersion: number;
  readonly observations: Observations;
}

/** A rollout scope as read in one round trip; undefined when it does not exist. */
export function loadRollout(
  docs: ReadonlyMap<string, VersionedDoc>,
  health: ReadonlyMap<string, Received<HealthReport>>,
): LoadedRollout | undefined {
  const recordDoc = docs.get(RolloutDoc.Record);
  const stateDoc = docs.get(RolloutDoc.State);
  if (recordDoc === undefined || stateDoc === undefined) return undefined;
  const record: RolloutRecord = parseStored(StoredRolloutRecord, recordDoc, RolloutDoc.Record);
  const state: RolloutState = parseStored(StoredRolloutState, stateDoc, RolloutDoc.State);
  const clusters = new Map<string, UnitProgress>();
  const vmGroups = new Map<string, VmProgress>();
  for (const [name, doc] of docs) {
    if (name.startsWith('report/cluster/'))
      clusters.set(name.slice('report/cluster/'.length), parseStored(StoredClusterReport, doc, name));
    else if (name.startsWith('report/vmgroup/'))
      vmGroups.set(name.slice('report/vmgroup/'.length), parseStored(StoredVmGroupReport, doc, name));
  }
  return {
    record,
    state,
    stateVersion: stateDoc.version,
    observations: { clusters, vmGroups, health },
  };
}

/**
 * The fleet as planning sees it: the operator's base inventory, each cluster replaced by its agent's latest report.
 * A report's namespaces (with their `meshwave.io/mesh` labels) replace the base's; an agent that reports none
 * leaves the base's in place.
 */
export function mergeInventory(docs: ReadonlyMap<string, VersionedDoc>): {
  inventory: Inventory;
  reported: Map<string, StoredInventoryCluster>;
  vmReported: Map<string, StoredVmGroup>;
} {
  const baseDoc = docs.get(FleetDoc.BaseInventory);
  const base: Inventory = parseStoredIfAny(StoredBaseInventory, baseDoc, FleetDoc.BaseInventory) ?? {
    clusters: [],
    vmGroups: [],
  };
  const reported = new Map<string, StoredInventoryCluster>();
  const vmReported = new Map<string, StoredVmGroup>();
  for (const [name, doc] of docs) {
    if (name.startsWith('inventory/cluster/'))
      reported.set(name.slice('inventory/cluster/'.length), parseStored(StoredInventoryCluster, doc, name));
    else if (name.startsWith('vmgroup/'))
      vmReported.set(name.slice('vmgroup/'.length), parseStored(StoredVmGroup, doc, name));
  }
  const clusters = base.clusters.map((c) => {
    const r = reported.get(c.name);
    if (!r) return c;
    const namespaces = r.report.namespaces ?? c.namespaces;
    return {
      ...c,
      labels: { ...c.labels, ...r.report.labels },
      ...(namespaces === undefined ? {} : { namespaces }),
      workloads: r.report.workloads,
    };
  });
  for (const [name, r] of reported) {
    if (!base.clusters.some((c) => c.name === name)) {
      const namespaces = r.report.namespaces;
      clusters.push({
        name,
        labels: r.report.labels,
        ...(namespaces === undefined ? {} : { namespaces }),
        workloads: r.report.workloads,
      });
    }
  }
  const vmGroups = base.vmGroups.map((g) => {
    const r = vmReported.get(g.name);
    if (!r) return g;
    const versions = new Map(r.hosts.map((h) => [h.name, h.version]));
    return {
      ...g,
      hosts: g.hosts.map((h) => (versions.has(h.name) ? { ...h, version: versions.get(h.name) ?? null } : h)),
    };
  });
  clusters.sort((a, b) => a.name.localeCompare(b.name));
  return { inventory: { clusters, vmGroups }, reported, vmReported };
}

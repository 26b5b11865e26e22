import type { HealthReport, Inventory, UnitProgress, VmGroup, VmProgress } from '@meshwave/contracts';
import type { DocWrite, StateStore, VersionedDoc } from '@meshwave/store';
import type { z } from 'zod';
import type { Observations, Received, RolloutRecord, RolloutState } from '../core/rollout-state.js';
import {
  StoredBaseInventory,
  StoredClusterReport,
  StoredRolloutRecord,
  StoredRolloutState,
  StoredVmGroup,
  StoredVmGroupReport,
  StoredVmMembership,
  parseStored,
  type StoredInventoryCluster,
} from './stored-documents.js';
import { processValues, type SharedValues } from '../core/shared-values.js';
import { InventoryDoc, InventoryFolds, reportedInventory } from './inventory-journal.js';

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

/**
 * The write of a rollout's engine state, stamped with the leader epoch it is written under: what the rollout's
 * view shows as `leaderEpoch`, the same from whichever replica answers.
 */
export function stateWrite(state: RolloutState, epoch: number, expectedVersion: number): DocWrite {
  return { name: RolloutDoc.State, value: { ...state, epoch }, expectedVersion };
}

/** the kind `listScopes` finds rollouts by */
export const ROLLOUT_KIND = 'rollout';
export const FLEET_SCOPE = 'fleet';

export const FleetDoc = {
  BaseInventory: 'inventory/base',
  /** the fleet-wide freeze (fleet-freeze.ts) */
  Freeze: 'freeze',
  /** a cluster's inventory: its snapshot, head and journal (ADR 0079, inventory-journal.ts) */
  cluster: InventoryDoc.snapshot,
  inventoryHead: InventoryDoc.head,
  inventoryDelta: InventoryDoc.delta,
  vmGroup: (name: string): string => `vmgroup/${name}`,
  /** a VM group's hosts as its vm-bridge reports them (`VmInventory`) */
  vmMembers: (name: string): string => `vmmembers/${name}`,
} as const;

/** Timer set of "look at rollout X again at T". */
export const WAKE_TIMERS = 'planner/wake';

export interface LoadedRollout {
  readonly record: RolloutRecord;
  readonly state: RolloutState;
  readonly stateVersion: number;
  readonly observations: Observations;
}

/**
 * A rollout's documents validated once per version. A reconcile re-reads its whole scope, but the record (the
 * plan: every unit of the rollout) never changes and each report changes with its own target only, so
 * validating all of them on every reconcile would cost the rollout's size per agent report (issue 15).
 */
export class ValidatedDocs {
  private readonly scopes = new Map<string, Map<string, { readonly version: number; readonly value: unknown }>>();

  constructor(private readonly values: Pick<SharedValues, 'share'> = processValues) {}

  /** `doc` of `scope` as `schema` says, validated only when its version is new to this cache */
  parse<S extends z.ZodType>(schema: S, scope: string, name: string, doc: VersionedDoc): z.infer<S> {
    let docs = this.scopes.get(scope);
    if (docs === undefined) this.scopes.set(scope, (docs = new Map()));
    const known = docs.get(name);
    if (known !== undefined && known.version === doc.version) return known.value as z.infer<S>;
    // kept until its next version: its repeated values shared with every other document and report held
    const value: z.infer<S> = this.values.share(parseStored(schema, doc, name));
    docs.set(name, { version: doc.version, value });
    return value;
  }

  /** the versions held of `scope`'s documents: what a read may leave out (`readScopeChanges`) */
  versions(scope: string): Map<string, number> {
    return new Map([...(this.scopes.get(scope) ?? [])].map(([name, known]) => [name, known.version]));
  }

  holds(scope: string, name: string, version: number): boolean {
    return this.scopes.get(scope)?.get(name)?.version === version;
  }

  /** the value held of `name`, with its version, if any */
  held<T>(scope: string, name: string): { readonly version: number; readonly value: T } | undefined {
    return this.scopes.get(scope)?.get(name) as { version: number; value: T } | undefined;
  }

  /** holds a value this process wrote itself (valid by construction) at the version the store gave it */
  prime(scope: string, name: string, version: number, value: unknown): void {
    let docs = this.scopes.get(scope);
    if (docs === undefined) this.scopes.set(scope, (docs = new Map()));
    docs.set(name, { version, value });
  }

  forget(scope: string, name: string): void {
    this.scopes.get(scope)?.delete(name);
  }

  /** drops what is cached of `scope` except `keep` (a rollout that ended, or documents that are gone) */
  retain(scope: string, keep?: ReadonlySet<string>): void {
    const docs = this.scopes.get(scope);
    if (docs === undefined) return;
    if (keep === undefined) this.scopes.delete(scope);
    else for (const name of docs.keys()) if (!keep.has(name)) docs.delete(name);
  }
}

/**
 * A scope, the documents `validated` holds (the fleet's inventories) fetched only when they changed
 * (`readScopeChanges`): a read costs what changed, not the fleet's size. Should the cache have dropped one of
 * them meanwhile (a concurrent `retain`), the scope is read whole.
 */
export async function readCachedScope(
  store: Pick<StateStore, 'readScope' | 'readScopeChanges'>,
  scope: string,
  validated: ValidatedDocs,
): Promise<ReadonlyMap<string, VersionedDoc>> {
  const { versions, changed } = await store.readScopeChanges(scope, validated.versions(scope));
  const docs = new Map<string, VersionedDoc>();
  for (const [name, version] of versions) {
    const doc = changed.get(name) ?? validated.held(scope, name);
    if (doc === undefined || doc.version !== version) return store.readScope(scope);
    docs.set(name, doc);
  }
  return docs;
}

/** A rollout scope as read in one round trip; undefined when it does not exist. */
export function loadRollout(
  docs: ReadonlyMap<string, VersionedDoc>,
  health: ReadonlyMap<string, Received<HealthReport>>,
  validated: Pick<ValidatedDocs, 'parse' | 'retain'> = new ValidatedDocs(),
  scope = '',
): LoadedRollout | undefined {
  const recordDoc = docs.get(RolloutDoc.Record);
  const stateDoc = docs.get(RolloutDoc.State);
  if (recordDoc === undefined || stateDoc === undefined) return undefined;
  const parse = <S extends z.ZodType>(schema: S, name: string, doc: VersionedDoc): z.infer<S> =>
    validated.parse(schema, scope, name, doc);
  validated.retain(scope, new Set(docs.keys()));
  const record: RolloutRecord = parse(StoredRolloutRecord, RolloutDoc.Record, recordDoc);
  // the state is small and the engine's own: validated afresh on every read, never shared between reconciles
  const state: RolloutState = parseStored(StoredRolloutState, stateDoc, RolloutDoc.State);
  const clusters = new Map<string, UnitProgress>();
  const vmGroups = new Map<string, VmProgress>();
  for (const [name, doc] of docs) {
    if (name.startsWith('report/cluster/'))
      clusters.set(name.slice('report/cluster/'.length), parse(StoredClusterReport, name, doc));
    else if (name.startsWith('report/vmgroup/'))
      vmGroups.set(name.slice('report/vmgroup/'.length), parse(StoredVmGroupReport, name, doc));
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
/**
 * What an agent's report says of its cluster besides workloads: namespaces, control planes and revision tags;
 * a field the report leaves out (an agent from before it) keeps the base inventory's value.
 */
function reportedIstio(
  report: StoredInventoryCluster['report'],
  base?: Inventory['clusters'][number],
): Pick<
  Inventory['clusters'][number],
  'namespaces' | 'controlPlanes' | 'tags' | 'revisionPods' | 'revisionPodsTruncated' | 'gateways' | 'ambient'
> {
  const namespaces = report.namespaces ?? base?.namespaces;
  const controlPlanes = report.controlPlanes ?? base?.controlPlanes;
  const tags = report.tags ?? base?.tags;
  const gateways = report.gateways ?? base?.gateways;
  const ambient = report.ambient ?? base?.ambient;
  // the truncation mark goes with the list it describes
  const { revisionPods, revisionPodsTruncated } = report.revisionPods === undefined ? (base ?? {}) : report;
  return {
    ...(namespaces === undefined ? {} : { namespaces }),
    ...(controlPlanes === undefined ? {} : { controlPlanes }),
    ...(tags === undefined ? {} : { tags }),
    ...(revisionPods === undefined ? {} : { revisionPods }),
    ...(revisionPodsTruncated === undefined ? {} : { revisionPodsTruncated }),
    ...(gateways === undefined ? {} : { gateways }),
    ...(ambient === undefined ? {} : { ambient }),
  };
}

export function mergeInventory(
  docs: ReadonlyMap<string, VersionedDoc>,
  validated: Pick<ValidatedDocs, 'parse' | 'retain'> = new ValidatedDocs(),
  /** the clusters' inventories folded before: a read applies only the journal entries that are new to it */
  folds: InventoryFolds = new InventoryFolds(),
): {
  inventory: Inventory;
  reported: Map<string, StoredInventoryCluster>;
  vmReported: Map<string, StoredVmGroup>;
} {
  const baseDoc = docs.get(FleetDoc.BaseInventory);
  validated.retain(FLEET_SCOPE, new Set(docs.keys()));
  const parse = <S extends z.ZodType>(schema: S, name: string, doc: VersionedDoc): z.infer<S> =>
    validated.parse(schema, FLEET_SCOPE, name, doc);
  const base: Inventory = baseDoc
    ? parse(StoredBaseInventory, FleetDoc.BaseInventory, baseDoc)
    : { clusters: [], vmGroups: [] };
  const reported = new Map<string, StoredInventoryCluster>();
  const vmReported = new Map<string, StoredVmGroup>();
  const vmMembers = new Map<string, StoredVmMembership>();
  for (const [name, doc] of docs) {
    if (name.startsWith('inventory/cluster/')) {
      const cluster = name.slice('inventory/cluster/'.length);
      const held = reportedInventory(docs, FLEET_SCOPE, cluster, validated, folds);
      if (held !== undefined) reported.set(cluster, held.value);
    } else if (name.startsWith('vmgroup/'))
      vmReported.set(name.slice('vmgroup/'.length), parse(StoredVmGroup, name, doc));
    else if (name.startsWith('vmmembers/'))
      vmMembers.set(name.slice('vmmembers/'.length), parse(StoredVmMembership, name, doc));
  }
  const clusters = base.clusters.map((c) => {
    const r = reported.get(c.name);
    if (!r) return c;
    return {
      ...c,
      labels: { ...c.labels, ...r.report.labels },
      ...reportedIstio(r.report, c),
      workloads: r.report.workloads,
    };
  });
  for (const [name, r] of reported) {
    if (!base.clusters.some((c) => c.name === name)) {
      clusters.push({ name, labels: r.report.labels, ...reportedIstio(r.report), workloads: r.report.workloads });
    }
  }
  const vmGroups = base.vmGroups.map((g) => reportedVmGroup(g, vmReported.get(g.name), vmMembers.get(g.name)));
  // a group its bridge reports that the base inventory lacks is in the fleet, as a reported cluster is
  for (const [name, members] of vmMembers)
    if (!base.vmGroups.some((g) => g.name === name))
      vmGroups.push(reportedVmGroup({ name, labels: {}, hosts: [] }, vmReported.get(name), members));
  clusters.sort((a, b) => a.name.localeCompare(b.name));
  folds.retain(new Set(reported.keys()));
  return { inventory: { clusters, vmGroups }, reported, vmReported };
}

/**
 * A VM group as reported: its hosts are the ones its bridge reports (`members`), else the base inventory's; each
 * runs the version of the newer of the two reports (the membership report or the rollout's progress). Its mesh is
 * the one its bridge's config gives (ADR 0058), else the base inventory's: a bridge before ADR 0058, or a group
 * configured without one, reports none and leaves the operator's.
 */
function reportedVmGroup(g: VmGroup, progress?: StoredVmGroup, members?: StoredVmMembership): VmGroup {
  const hosts = members !== undefined ? members.report.hosts : g.hosts;
  const mesh = members?.report.mesh ?? g.mesh;
  const group: VmGroup = { ...g, ...(mesh !== undefined ? { mesh } : {}) };
  if (progress === undefined || (members !== undefined && members.receivedAt >= progress.receivedAt))
    return { ...group, hosts };
  const versions = new Map(progress.hosts.map((h) => [h.name, h.version]));
  return {
    ...group,
    hosts: hosts.map((h) => (versions.has(h.name) ? { ...h, version: versions.get(h.name) ?? null } : h)),
  };
}

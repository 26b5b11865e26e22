import {
  Granularity,
  PlanProblemCode,
  SkipReason,
  meshOfNamespaceLabels,
  resolvePercentOrCount,
  type Inventory,
  type InventoryWorkload,
  type PercentOrCount,
  type Plan,
  type PlanProblem,
  type PlannedVmHost,
  type PlannedWave,
  type PlannedWorkload,
  type RolloutSpec,
  type SkippedWorkload,
  type Wave,
} from '@meshwave/contracts';
import { ChangeWindows, type StartDelay } from './change-windows.js';
import { CompiledSelector, matchesVmGroup } from './selection.js';
import { hashParts, hashWithSeed, saltSeed } from './stable-hash.js';

export interface PlanOptions {
  /** the instant planning happens; the plan never reads a clock */
  readonly now: Date;
  /**
   * The mesh a namespace belongs to, when the fleet is split into meshes; with `spec.sequenceByMesh` each
   * wave is expanded into one wave per mesh so only one mesh's control plane changes at a time. Without it
   * (or where it answers undefined) the inventory answers: the namespace's `meshwave.io/mesh` label as the
   * agents report it (see `inventoryMeshOf`), else the cluster's `mesh`.
   */
  readonly meshOf?: (cluster: string, namespace: string) => string | undefined;
}

/**
 * The mesh of a namespace as the inventory records it: its `meshwave.io/mesh` label, for the clusters that
 * list their namespaces (agents do); undefined for a namespace without the label or not listed.
 */
export function inventoryMeshOf(inventory: Inventory): (cluster: string, namespace: string) => string | undefined {
  const meshes = new Map<string, Map<string, string>>();
  for (const c of inventory.clusters) {
    const byNamespace = new Map<string, string>();
    for (const ns of c.namespaces ?? []) {
      const mesh = meshOfNamespaceLabels(ns.labels);
      if (mesh !== undefined) byNamespace.set(ns.name, mesh);
    }
    if (byNamespace.size > 0) meshes.set(c.name, byNamespace);
  }
  return (cluster, namespace) => meshes.get(cluster)?.get(namespace);
}

/** The name of the wave the planner appends when pinned units would otherwise miss the deadline. */
export const IMPLICIT_FORCED_WAVE = 'deadline-forced';

const UNASSIGNED = -1;
const DEFAULT_MESH = 'default';

/**
 * Units as parallel arrays (no object per unit: planning 100,000 of them is dominated by allocation otherwise).
 * A unit is a workload, or a namespace with its workloads under namespace granularity: unit u ranks by
 * `hashes[u]` (the stable hash of its key) and lives in cluster `cluster[u]`, namespace `namespace[u]`, with workloads `members[memberStart[u] .. memberStart[u + 1])`.
 */
interface UnitTable {
  readonly granularity: string;
  readonly size: number;
  readonly hashes: Uint32Array;
  /** built in inventory order: reading them in hash order later touches only this array, not the workloads */
  readonly keys: readonly string[];
  readonly cluster: Int32Array;
  readonly namespace: readonly string[];
  readonly memberStart: Int32Array;
  readonly members: readonly InventoryWorkload[];
}

/** The workloads each unit moves, flattened: unit u moves flat[start[u]] up to flat[start[u + 1]]. */
interface Movers {
  readonly flat: PlannedWorkload[];
  readonly start: Int32Array;
}

interface ScheduledWave {
  readonly spec: Wave;
  readonly name: string;
  readonly mesh?: string;
  readonly forced: boolean;
  readonly approval: boolean;
  readonly units: number[];
  start: number;
  converged: number;
  readonly soakSeconds: number;
  readonly delays: string[];
  readonly vmHosts: PlannedVmHost[];
}

/**
 * Turns a rollout spec and an inventory into waves with start times. Pure and deterministic: the same
 * inputs give the same plan whatever the inventory order.
 */
export function planRollout(spec: RolloutSpec, inventory: Inventory, options: PlanOptions): Plan {
  const body = spec.spec;
  const now = options.now.getTime();
  const deadline = Date.parse(body.deadline);
  const salt = body.salt ?? spec.metadata.name;
  const seed = saltSeed(salt);
  const clusters = inventory.clusters;
  const windows = new ChangeWindows(body.windows);
  const problems: PlanProblem[] = [];
  const skipped: SkippedWorkload[] = [];

  // 1. Units, without the excluded workloads (reported) — they count in no selector.
  const excludes = body.exclude.map((s) => new CompiledSelector(s, clusters));
  const units = buildUnits(clusters, body.granularity, seed, (ci, w) => {
    if (!excludes.some((x) => x.matches(ci, w))) return true;
    skipped.push(skippedOf(clusters[ci]!.name, w, SkipReason.Excluded));
    return false;
  });

  // 2. The stable-hash order, computed once: every wave's cohort is a prefix of its selector in this order.
  const order = rankUnits(units);
  const rankIndex = new Int32Array(units.size);
  order.forEach((u, r) => (rankIndex[u] = r));
  const rankOf = (u: number): number => rankIndex[u]!;
  /** large selections are put in rank order by one pass over `order`; small ones by a comparator sort */
  const sortByRank = (ids: readonly number[]): number[] => {
    if (ids.length < 2048) return [...ids].sort((a, b) => rankOf(a) - rankOf(b));
    const mark = new Uint8Array(units.size);
    for (const u of ids) mark[u] = 1;
    const out: number[] = [];
    for (let r = 0; r < order.length; r++) if (mark[order[r]!] === 1) out.push(order[r]!);
    return out;
  };

  // 3. Which units can move (a member on `from`), and what each one holds back.
  // Hot loops walk units in hash order, i.e. at random through memory: they read only typed arrays and
  // arrays of references built here in inventory order (object fields read at random cost a cache miss each).
  const movers: Movers = { flat: [], start: new Int32Array(units.size + 1) };
  const movable = new Uint8Array(units.size);
  for (let u = 0; u < units.size; u++) {
    const cluster = clusters[units.cluster[u]!]!.name;
    for (let k = units.memberStart[u]!; k < units.memberStart[u + 1]!; k++) {
      const w = units.members[k]!;
      if (w.revision !== body.from) continue;
      movers.flat.push({ cluster, namespace: w.namespace, kind: w.kind, name: w.name });
      movable[u] = 1;
    }
    movers.start[u + 1] = movers.flat.length;
  }
  const unitCluster = units.cluster;
  const unitKeys = units.keys;
  const pinnedUntil = new Float64Array(units.size);
  for (const pin of body.pins) {
    const until = Date.parse(pin.until);
    const held = matchUnits(new CompiledSelector(pin.select, clusters), units);
    for (let u = 0; u < units.size; u++) if (held[u] === 1 && pinnedUntil[u]! < until) pinnedUntil[u] = until;
  }

  const assigned = new Int32Array(units.size).fill(UNASSIGNED);
  const scheduled: ScheduledWave[] = [];
  const horizon = Math.max(deadline, now) + 366 * 86_400_000;
  let nextStart = now;
  let blocked = false;

  const schedule = (
    wave: Wave,
    name: string,
    unitIds: number[],
    forced: boolean,
    mesh: string | undefined,
    extraDelays: StartDelay[],
  ): ScheduledWave | undefined => {
    const at = windows.earliestStart(nextStart, horizon);
    if (at === undefined) {
      problems.push({
        code: PlanProblemCode.NoWindowBeforeDeadline,
        message: `wave "${name}": no allowed window opens after ${iso(nextStart)}`,
        wave: name,
        blocking: true,
      });
      blocked = true;
      return undefined;
    }
    const soakSeconds = wave.soak ?? body.defaults.soak;
    const s: ScheduledWave = {
      spec: wave,
      name,
      ...(mesh === undefined ? {} : { mesh }),
      forced,
      approval: wave.approval,
      units: unitIds,
      start: at.start,
      converged: at.start,
      soakSeconds,
      delays: [...extraDelays, ...at.delays].map((d) => d.reason),
      vmHosts: [],
    };
    scheduled.push(s);
    return s;
  };

  const finishSchedule = (s: ScheduledWave): void => {
    s.converged =
      s.start +
      estimateConvergenceSeconds(
        s,
        unitCluster,
        body.defaults.maxUnavailable,
        body.defaults.batchEstimate,
        clusters.length,
      ) *
        1000;
    nextStart = s.converged + s.soakSeconds * 1000;
  };

  // Built once per plan, and only when the rollout goes mesh by mesh.
  const meshOf = body.sequenceByMesh ? meshResolver(options.meshOf, inventory) : undefined;
  const expand = (wave: Wave, unitIds: number[], forced: boolean, extraDelays: StartDelay[]): ScheduledWave[] => {
    const byMesh =
      meshOf === undefined ? [[undefined, unitIds] as const] : splitByMesh(unitIds, units, clusters, meshOf);
    const out: ScheduledWave[] = [];
    for (const [mesh, ids] of byMesh) {
      if (blocked) break;
      const name = mesh === undefined ? wave.name : `${wave.name}-${mesh}`;
      const s = schedule(
        out.length === 0 ? wave : { ...wave, approval: false },
        name,
        ids,
        forced,
        mesh,
        out.length === 0 ? extraDelays : [],
      );
      if (s === undefined) break;
      out.push(s);
      // VM hosts are attached before the convergence estimate, which includes their batches.
      if (out.length === 1) s.vmHosts.push(...vmHostsFor(wave.name));
      finishSchedule(s);
    }
    return out;
  };

  // VM hosts per wave name, computed up front: groups are claimed by the first `vms` entry selecting them.
  const vmByWave = planVmHosts(spec, inventory, seed);
  const vmHostsFor = (waveName: string): PlannedVmHost[] => vmByWave.hostsByWave.get(waveName) ?? [];

  const isDeferred = new Uint8Array(units.size);
  let deferredList: number[] = [];
  body.waves.forEach((wave, wi) => {
    if (blocked) return;
    const inSelector = matchUnits(new CompiledSelector(wave.select, clusters), units);
    const tentative = windows.earliestStart(nextStart, horizon)?.start ?? nextStart;
    const picked: number[] = [];

    // Pinned units deferred by earlier waves join the first later wave whose selector holds them.
    deferredList = deferredList.filter((u) => {
      if (pinnedUntil[u]! <= tentative && inSelector[u] === 1) {
        isDeferred[u] = 0;
        picked.push(u);
        return false;
      }
      return true;
    });
    let selected = 0;
    for (let u = 0; u < units.size; u++) selected += inSelector[u]!;
    let cohort = cohortSize(wave.percent, selected);
    for (let r = 0; r < order.length && cohort > 0; r++) {
      const u = order[r]!;
      if (inSelector[u] === 0) continue;
      cohort--;
      if (assigned[u] !== UNASSIGNED || isDeferred[u] === 1 || movable[u] === 0) continue;
      if (pinnedUntil[u]! > tentative) {
        isDeferred[u] = 1;
        deferredList.push(u);
        continue;
      }
      picked.push(u);
    }

    const isLast = wi === body.waves.length - 1;
    const extraDelays: StartDelay[] = [];
    if (wave.forced && isLast) {
      // The forced wave collects every eligible unit still on `from`: never selected, or pinned.
      const already = new Set(picked);
      for (let u = 0; u < units.size; u++) {
        if (assigned[u] === UNASSIGNED && movable[u] === 1 && !already.has(u)) picked.push(u);
      }
      isDeferred.fill(0);
      deferredList = [];
      const latestPin = picked.reduce((max, u) => Math.max(max, pinnedUntil[u]!), 0);
      if (latestPin > nextStart) {
        extraDelays.push({ until: latestPin, reason: `pins hold units until ${iso(latestPin)}` });
        nextStart = latestPin;
      }
    }
    const inRankOrder = sortByRank(picked);
    for (const u of inRankOrder) assigned[u] = wi;
    const out = expand(wave, inRankOrder, wave.forced, extraDelays);
    if (out.length > 0 && out.every((s) => s.units.length === 0 && s.vmHosts.length === 0)) {
      problems.push({
        code: PlanProblemCode.EmptyWave,
        message: `wave "${wave.name}" moves nothing`,
        wave: wave.name,
        blocking: false,
      });
    }
  });

  // Pinned units that no later wave took still move by the deadline, in a wave of their own.
  if (!blocked && deferredList.length > 0) {
    const ids = sortByRank(deferredList);
    const latestPin = ids.reduce((max, u) => Math.max(max, pinnedUntil[u]!), 0);
    const extraDelays: StartDelay[] = [];
    if (latestPin > nextStart) {
      extraDelays.push({ until: latestPin, reason: `pins hold units until ${iso(latestPin)}` });
      nextStart = latestPin;
    }
    const forcedWave: Wave = { name: IMPLICIT_FORCED_WAVE, select: {}, percent: 100, approval: false, forced: true };
    for (const u of ids) assigned[u] = body.waves.length;
    expand(forcedWave, ids, true, extraDelays);
  }

  // Report every workload in no wave, with why.
  for (let u = 0; u < units.size; u++) {
    for (let k = units.memberStart[u]!; k < units.memberStart[u + 1]!; k++) {
      const w = units.members[k]!;
      const reason =
        w.revision === body.to
          ? SkipReason.AlreadyOnTarget
          : w.revision !== body.from
            ? SkipReason.NotOnFrom
            : assigned[u] === UNASSIGNED
              ? SkipReason.NotSelected
              : undefined;
      if (reason !== undefined) skipped.push(skippedOf(clusters[units.cluster[u]!]!.name, w, reason));
    }
  }

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
  const completion = scheduled.reduce((max, s) => Math.max(max, s.converged), now);
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

  return {
    rollout: spec.metadata.name,
    from: body.from,
    to: body.to,
    now: iso(now),
    deadline: body.deadline,
    feasible: !problems.some((p) => p.blocking),
    problems,
    estimatedCompletion: iso(completion),
    granularity: body.granularity,
    waves: scheduled.map((s, index) =>
      toPlannedWave(s, index, { movers, unitCluster, unitKeys }, clusters, body.defaults.maxUnavailable),
    ),
    skipped: skipped.sort(compareWorkloads),
    untouchedVmHosts: vmByWave.untouched,
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function skippedOf(cluster: string, w: InventoryWorkload, reason: SkipReason): SkippedWorkload {
  return { cluster, namespace: w.namespace, kind: w.kind, name: w.name, reason, revision: w.revision };
}

function compareWorkloads(a: PlannedWorkload, b: PlannedWorkload): number {
  return (
    a.cluster.localeCompare(b.cluster) ||
    a.namespace.localeCompare(b.namespace) ||
    a.kind.localeCompare(b.kind) ||
    a.name.localeCompare(b.name)
  );
}

/** 1 for every unit the selector holds: a unit matches when any of its workloads does. */
function matchUnits(selector: CompiledSelector, units: UnitTable): Uint8Array {
  const out = new Uint8Array(units.size);
  const checksWorkloads = selector.checksWorkloads;
  for (let u = 0; u < units.size; u++) {
    if (!selector.matchesCluster(units.cluster[u]!) || !selector.matchesNamespace(units.namespace[u]!)) continue;
    if (!checksWorkloads) {
      out[u] = 1;
      continue;
    }
    for (let k = units.memberStart[u]!; k < units.memberStart[u + 1]!; k++) {
      if (selector.matchesWorkload(units.members[k]!)) {
        out[u] = 1;
        break;
      }
    }
  }
  return out;
}

/** ceil(p% × n), at least one when p > 0 and n > 0. */
export function cohortSize(percent: number, n: number): number {
  if (n === 0 || percent <= 0) return 0;
  return Math.min(n, Math.max(1, Math.ceil((percent / 100) * n - 1e-9)));
}

function buildUnits(
  clusters: Inventory['clusters'],
  granularity: string,
  seed: number,
  keep: (cluster: number, workload: InventoryWorkload) => boolean,
): UnitTable {
  const hashes: number[] = [];
  const keys: string[] = [];
  const cluster: number[] = [];
  const namespace: string[] = [];
  const starts: number[] = [0];
  const members: InventoryWorkload[] = [];
  clusters.forEach((c, ci) => {
    if (granularity === Granularity.Workload) {
      for (const w of c.workloads) {
        if (!keep(ci, w)) continue;
        hashes.push(hashParts(seed, c.name, w.namespace, w.kind, w.name));
        keys.push(`${c.name}/${w.namespace}/${w.kind}/${w.name}`);
        cluster.push(ci);
        namespace.push(w.namespace);
        members.push(w);
        starts.push(members.length);
      }
      return;
    }
    const byNamespace = new Map<string, InventoryWorkload[]>();
    for (const w of c.workloads) {
      if (!keep(ci, w)) continue;
      const list = byNamespace.get(w.namespace);
      if (list === undefined) byNamespace.set(w.namespace, [w]);
      else list.push(w);
    }
    for (const [ns, list] of byNamespace) {
      hashes.push(hashParts(seed, c.name, ns));
      keys.push(`${c.name}/${ns}`);
      cluster.push(ci);
      namespace.push(ns);
      members.push(...list);
      starts.push(members.length);
    }
  });
  return {
    granularity,
    size: hashes.length,
    hashes: Uint32Array.from(hashes),
    keys,
    cluster: Int32Array.from(cluster),
    namespace,
    memberStart: Int32Array.from(starts),
    members,
  };
}

/** Indices 0..n-1 ordered by `hashes` (stable LSD radix sort, two 16-bit digits): linear time, no comparator. */
function radixSortByHash(hashes: Uint32Array): Int32Array {
  const n = hashes.length;
  let src = new Int32Array(n);
  for (let i = 0; i < n; i++) src[i] = i;
  let dst = new Int32Array(n);
  const counts = new Int32Array(65_536);
  for (const shift of [0, 16]) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(hashes[i]! >>> shift) & 0xffff]!++;
    let sum = 0;
    for (let d = 0; d < 65_536; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const idx = src[i]!;
      dst[counts[(hashes[idx]! >>> shift) & 0xffff]!++] = idx;
    }
    [src, dst] = [dst, src];
  }
  return src;
}

/** Unit indices ordered by (stable hash, key): independent of inventory order. */
function rankUnits(units: UnitTable): Int32Array {
  const n = units.size;
  const hashes = units.hashes;
  const order = radixSortByHash(hashes);
  // Equal hashes are ordered by key, never by inventory position.
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && hashes[order[j]!] === hashes[order[i]!]) j++;
    if (j - i > 1) {
      const run = Array.from(order.subarray(i, j)).sort((a, b) => (units.keys[a]! < units.keys[b]! ? -1 : 1));
      order.set(run, i);
    }
    i = j;
  }
  return order;
}

/** The caller's assignment first, then the inventory's namespace labels (the cluster `mesh` comes after both). */
function meshResolver(given: PlanOptions['meshOf'], inventory: Inventory): NonNullable<PlanOptions['meshOf']> {
  const recorded = inventoryMeshOf(inventory);
  if (given === undefined) return recorded;
  return (cluster, namespace) => given(cluster, namespace) ?? recorded(cluster, namespace);
}

function splitByMesh(
  unitIds: readonly number[],
  units: UnitTable,
  clusters: Inventory['clusters'],
  meshOf: NonNullable<PlanOptions['meshOf']>,
): (readonly [string, number[]])[] {
  const byMesh = new Map<string, number[]>();
  for (const u of unitIds) {
    const cluster = clusters[units.cluster[u]!]!;
    const mesh = meshOf(cluster.name, units.namespace[u]!) ?? cluster.mesh ?? DEFAULT_MESH;
    const list = byMesh.get(mesh) ?? [];
    list.push(u);
    byMesh.set(mesh, list);
  }
  if (byMesh.size === 0) return [[DEFAULT_MESH, []]];
  return [...byMesh].sort(([a], [b]) => a.localeCompare(b));
}

function maxUnavailableOf(wave: Wave, fallback: PercentOrCount): PercentOrCount {
  return wave.maxUnavailable ?? fallback;
}

/** Clusters converge in parallel; within one, ceil(units / maxUnavailable) batches each take `batchSeconds`. */
function estimateConvergenceSeconds(
  s: ScheduledWave,
  unitCluster: Int32Array,
  defaultMaxUnavailable: PercentOrCount,
  batchSeconds: number,
  clusterCount: number,
): number {
  const perCluster = new Uint32Array(clusterCount);
  for (const u of s.units) perCluster[unitCluster[u]!]!++;
  let batches = 0;
  const budget = maxUnavailableOf(s.spec, defaultMaxUnavailable);
  for (const n of perCluster) if (n > 0) batches = Math.max(batches, Math.ceil(n / resolvePercentOrCount(budget, n)));
  const vmBatches = new Map<string, number>();
  for (const h of s.vmHosts) vmBatches.set(h.group, Math.max(vmBatches.get(h.group) ?? 0, h.batch + 1));
  for (const b of vmBatches.values()) batches = Math.max(batches, b);
  return batches * batchSeconds;
}

function toPlannedWave(
  s: ScheduledWave,
  index: number,
  table: { readonly movers: Movers; readonly unitCluster: Int32Array; readonly unitKeys: readonly string[] },
  clusters: Inventory['clusters'],
  defaultMaxUnavailable: PercentOrCount,
): PlannedWave {
  const workloads: PlannedWorkload[] = [];
  const perCluster = new Uint32Array(clusters.length);
  const keys: string[] = new Array<string>(s.units.length);
  s.units.forEach((u, i) => {
    for (let k = table.movers.start[u]!; k < table.movers.start[u + 1]!; k++) workloads.push(table.movers.flat[k]!);
    perCluster[table.unitCluster[u]!]!++;
    keys[i] = table.unitKeys[u]!;
  });
  const budget = maxUnavailableOf(s.spec, defaultMaxUnavailable);
  return {
    index,
    name: s.name,
    ...(s.mesh === undefined ? {} : { mesh: s.mesh }),
    earliestStart: iso(s.start),
    estimatedConverged: iso(s.converged),
    soakSeconds: s.soakSeconds,
    approval: s.approval,
    forced: s.forced,
    workloads,
    units: keys,
    vmHosts: s.vmHosts,
    clusters: [...perCluster.entries()]
      .filter(([, n]) => n > 0)
      .map(([c, n]) => {
        const maxUnavailable = resolvePercentOrCount(budget, n);
        return { cluster: clusters[c]!.name, units: n, maxUnavailable, batches: Math.ceil(n / maxUnavailable) };
      })
      .sort((a, b) => a.cluster.localeCompare(b.cluster)),
    delays: s.delays,
  };
}

/** VM hosts on `from`, per wave name, ordered by stable hash and batched by their entry's maxUnavailable. */
function planVmHosts(
  spec: RolloutSpec,
  inventory: Inventory,
  seed: number,
): { hostsByWave: Map<string, PlannedVmHost[]>; untouched: number } {
  const body = spec.spec;
  const hostsByWave = new Map<string, PlannedVmHost[]>();
  let untouched = 0;
  for (const group of inventory.vmGroups) {
    const entry = body.vms.find((v) => matchesVmGroup(v.select, group));
    if (entry === undefined) {
      untouched += group.hosts.length;
      continue;
    }
    const perBatch = Math.max(1, resolvePercentOrCount(entry.maxUnavailable, group.hosts.length));
    const ranked = group.hosts
      .filter((h) => h.version === body.from)
      .map((h) => ({ name: h.name, rank: hashWithSeed(seed, `vmgroup/${group.name}/${h.name}`) }))
      .sort((a, b) => a.rank - b.rank || (a.name < b.name ? -1 : 1));
    const list = hostsByWave.get(entry.wave) ?? [];
    ranked.forEach((h, i) => list.push({ group: group.name, name: h.name, batch: Math.floor(i / perBatch) }));
    hostsByWave.set(entry.wave, list);
  }
  return { hostsByWave, untouched };
}

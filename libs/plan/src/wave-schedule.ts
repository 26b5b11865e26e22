import {
  PlanProblemCode,
  resolvePercentOrCount,
  type Inventory,
  type PercentOrCount,
  type PlannedVmHost,
  type PlannedWave,
  type PlannedWorkload,
  type PlanProblem,
  type RolloutSpec,
  type Wave,
} from '@meshwave/contracts';
import type { ChangeWindows, StartDelay } from './change-windows.js';
import { DEFAULT_MESH, type MeshOf } from './mesh-of.js';
import type { Movers, UnitTable } from './unit-table.js';

/** A wave given its start: the units it moves, when it converges, what delayed it. */
export interface ScheduledWave {
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

/** A step scheduled in the chain of waves without being one (a gateway step). */
export interface ScheduledStep {
  readonly start: number;
  readonly converged: number;
  readonly delays: readonly string[];
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** What scheduling needs from the plan being built. */
export interface ScheduleContext {
  readonly body: RolloutSpec['spec'];
  readonly windows: ChangeWindows;
  readonly units: UnitTable;
  readonly clusters: Inventory['clusters'];
  /** where the search for a window gives up */
  readonly horizon: number;
  /** defined when the rollout goes mesh by mesh */
  readonly meshOf: MeshOf | undefined;
  readonly vmHostsFor: (waveName: string) => PlannedVmHost[];
  readonly problems: PlanProblem[];
}

/**
 * Lays waves end to end: each starts in the first allowed window after the previous one converged and soaked.
 * Once a wave finds no window, nothing more is scheduled (`blocked`).
 */
export class WaveScheduler {
  readonly scheduled: ScheduledWave[] = [];
  nextStart: number;
  blocked = false;

  constructor(
    private readonly ctx: ScheduleContext,
    now: number,
  ) {
    this.nextStart = now;
  }

  /** the plan's problems, which scheduling adds to */
  get problems(): PlanProblem[] {
    return this.ctx.problems;
  }

  /** When a wave scheduled now could start (the next start itself when no window opens). */
  tentativeStart(): number {
    return this.ctx.windows.earliestStart(this.nextStart, this.ctx.horizon)?.start ?? this.nextStart;
  }

  /** Holds the next wave until `until` (pins), giving the reason as a delay of that wave. */
  holdUntil(until: number): StartDelay[] {
    if (until <= this.nextStart) return [];
    this.nextStart = until;
    return [{ until, reason: `pins hold units until ${iso(until)}` }];
  }

  /** Schedules a wave, as one wave per mesh when the rollout goes mesh by mesh (only the first keeps approval). */
  expand(wave: Wave, unitIds: number[], forced: boolean, extraDelays: StartDelay[]): ScheduledWave[] {
    const meshOf = this.ctx.meshOf;
    const byMesh =
      meshOf === undefined
        ? [[undefined, unitIds] as const]
        : splitByMesh(unitIds, this.ctx.units, this.ctx.clusters, meshOf);
    const out: ScheduledWave[] = [];
    for (const [mesh, ids] of byMesh) {
      if (this.blocked) break;
      const first = out.length === 0;
      const name = mesh === undefined ? wave.name : `${wave.name}-${mesh}`;
      const s = this.schedule(
        first ? wave : { ...wave, approval: false },
        name,
        ids,
        forced,
        mesh,
        first ? extraDelays : [],
      );
      if (s === undefined) break;
      out.push(s);
      // VM hosts are attached before the convergence estimate, which includes their batches.
      if (first) s.vmHosts.push(...this.ctx.vmHostsFor(wave.name));
      s.converged = s.start + estimateConvergenceSeconds(s, this.ctx) * 1000;
      this.nextStart = s.converged + s.soakSeconds * 1000;
    }
    return out;
  }

  /**
   * Schedules a step that is not a wave (a gateway canary step, ADR 0047) in the same chain: the first allowed
   * window after the previous wave or step converged and soaked; it takes one `batchEstimate`.
   */
  scheduleStep(name: string, soakSeconds: number): ScheduledStep | undefined {
    const at = this.openWindow(`gateway step "${name}"`, name);
    if (at === undefined) return undefined;
    const converged = at.start + this.ctx.body.defaults.batchEstimate * 1000;
    this.nextStart = converged + soakSeconds * 1000;
    return { start: at.start, converged, delays: at.delays.map((d) => d.reason) };
  }

  /** The first allowed window from the next start; none: a blocking problem, and nothing more is scheduled. */
  private openWindow(what: string, name: string): { start: number; delays: StartDelay[] } | undefined {
    const at = this.ctx.windows.earliestStart(this.nextStart, this.ctx.horizon);
    if (at === undefined) {
      this.ctx.problems.push({
        code: PlanProblemCode.NoWindowBeforeDeadline,
        message: `${what}: no allowed window opens after ${iso(this.nextStart)}`,
        wave: name,
        blocking: true,
      });
      this.blocked = true;
    }
    return at;
  }

  private schedule(
    wave: Wave,
    name: string,
    unitIds: number[],
    forced: boolean,
    mesh: string | undefined,
    extraDelays: StartDelay[],
  ): ScheduledWave | undefined {
    const at = this.openWindow(`wave "${name}"`, name);
    if (at === undefined) return undefined;
    const s: ScheduledWave = {
      spec: wave,
      name,
      ...(mesh === undefined ? {} : { mesh }),
      forced,
      approval: wave.approval,
      units: unitIds,
      start: at.start,
      converged: at.start,
      soakSeconds: wave.soak ?? this.ctx.body.defaults.soak,
      delays: [...extraDelays, ...at.delays].map((d) => d.reason),
      vmHosts: [],
    };
    this.scheduled.push(s);
    return s;
  }
}

function splitByMesh(
  unitIds: readonly number[],
  units: UnitTable,
  clusters: Inventory['clusters'],
  meshOf: MeshOf,
): (readonly [string, number[]])[] {
  const byMesh = new Map<string, number[]>();
  for (const u of unitIds) {
    const cluster = clusters[units.cluster[u]!]!;
    const mesh = meshOf(cluster.name, units.namespaceNames[units.namespaceId[u]!]!) ?? cluster.mesh ?? DEFAULT_MESH;
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
function estimateConvergenceSeconds(s: ScheduledWave, ctx: ScheduleContext): number {
  const perCluster = new Uint32Array(ctx.clusters.length);
  for (const u of s.units) perCluster[ctx.units.cluster[u]!]!++;
  let batches = 0;
  const budget = maxUnavailableOf(s.spec, ctx.body.defaults.maxUnavailable);
  for (const n of perCluster) if (n > 0) batches = Math.max(batches, Math.ceil(n / resolvePercentOrCount(budget, n)));
  const vmBatches = new Map<string, number>();
  for (const h of s.vmHosts) vmBatches.set(h.group, Math.max(vmBatches.get(h.group) ?? 0, h.batch + 1));
  for (const b of vmBatches.values()) batches = Math.max(batches, b);
  return batches * ctx.body.defaults.batchEstimate;
}

/** The wave as the plan shows it: its workloads and unit keys in rank order, and its batches per cluster. */
export function toPlannedWave(
  s: ScheduledWave,
  index: number,
  table: { readonly movers: Movers; readonly units: UnitTable },
  clusters: Inventory['clusters'],
  defaultMaxUnavailable: PercentOrCount,
): PlannedWave {
  const workloads: PlannedWorkload[] = [];
  const perCluster = new Uint32Array(clusters.length);
  const keys: string[] = new Array<string>(s.units.length);
  const { movers, units } = table;
  for (let i = 0; i < s.units.length; i++) {
    const u = s.units[i]!;
    for (let k = movers.start[u]!; k < movers.start[u + 1]!; k++) workloads.push(movers.flat[k]!);
    perCluster[units.cluster[u]!]!++;
    keys[i] = units.keys[u]!;
  }
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

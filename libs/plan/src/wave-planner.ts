import {
  PlanProblemCode,
  SkipReason,
  type Inventory,
  type Plan,
  type PlanProblem,
  type PlannedVmHost,
  type RolloutSpec,
  type SkippedWorkload,
  type Wave,
} from '@meshwave/contracts';
import { ambientSkipper, planAmbientSteps } from './ambient-steps.js';
import { ChangeWindows, type StartDelay } from './change-windows.js';
import { planGatewaySteps, selectGateways } from './gateway-steps.js';
import { istioRuleProblems } from './istio-rule-checks.js';
import { meshResolver, type MeshOf } from './mesh-of.js';
import { compareWorkloads, deadlineProblems, reportUnmoved, skippedOf, UNASSIGNED } from './plan-report.js';
import { rolloutMeshFilter } from './rollout-mesh.js';
import { CompiledSelector } from './selection.js';
import { saltSeed } from './stable-hash.js';
import { preflightRisks } from './preflight-risks.js';
import { buildMovers, buildUnits, matchUnits, rankSorter, rankUnits, type UnitTable } from './unit-table.js';
import { planVmHosts } from './vm-host-plan.js';
import { iso, toPlannedWave, WaveScheduler } from './wave-schedule.js';

export interface PlanOptions {
  /** the instant planning happens; the plan never reads a clock */
  readonly now: Date;
  /**
   * The mesh a namespace belongs to, when the fleet is split into meshes; with `spec.sequenceByMesh` each
   * wave is expanded into one wave per mesh so only one mesh's control plane changes at a time. Without it
   * (or where it answers undefined) the inventory answers: the namespace's `meshwave.io/mesh` label as the
   * agents report it (see `inventoryMeshOf`), else the cluster's `mesh`.
   */
  readonly meshOf?: MeshOf;
}

/** The name of the wave the planner appends when pinned units would otherwise miss the deadline. */
export const IMPLICIT_FORCED_WAVE = 'deadline-forced';

/** ceil(p% × n), at least one when p > 0 and n > 0. */
export function cohortSize(percent: number, n: number): number {
  if (n === 0 || percent <= 0) return 0;
  return Math.min(n, Math.max(1, Math.ceil((percent / 100) * n - 1e-9)));
}

/**
 * Turns a rollout spec and an inventory into waves with start times. Pure and deterministic: the same
 * inputs give the same plan whatever the inventory order.
 */
export function planRollout(spec: RolloutSpec, inventory: Inventory, options: PlanOptions): Plan {
  const body = spec.spec;
  const now = options.now.getTime();
  const seed = saltSeed(body.salt ?? spec.metadata.name);
  const clusters = inventory.clusters;
  const problems: PlanProblem[] = [];
  const skipped: SkippedWorkload[] = [];

  // 1. Units, without the excluded workloads (reported) — they count in no selector.
  const excludes = body.exclude.map((s) => new CompiledSelector(s, clusters));
  // Each exclude decides once per namespace (by its index), not once per workload.
  const namespaceVerdicts = excludes.map(() => [] as (boolean | undefined)[]);
  const inMesh = rolloutMeshFilter(body, inventory, options.meshOf);
  const skipsAmbient = ambientSkipper(clusters, skipped);
  const units = buildUnits(clusters, body.granularity, seed, (ci, w, ns) => {
    if (inMesh !== undefined && !inMesh(ci, w.namespace)) return false;
    if (skipsAmbient(ci, w)) return false;
    for (let i = 0; i < excludes.length; i++) {
      const x = excludes[i]!;
      if (!x.matchesCluster(ci)) continue;
      const verdicts = namespaceVerdicts[i]!;
      const inNamespace = verdicts[ns] ?? (verdicts[ns] = x.matchesNamespace(w.namespace));
      if (!inNamespace || (x.checksWorkloads && !x.matchesWorkload(w))) continue;
      skipped.push(skippedOf(clusters[ci]!.name, w, SkipReason.Excluded));
      return false;
    }
    return true;
  });
  // 2. The stable-hash order, computed once: every wave's cohort is a prefix of its selector in this order.
  const order = rankUnits(units);
  // 3. Which units can move (a member on `from`), and what each one holds back.
  const { movers, movable } = buildMovers(units, clusters, body.from, body.tag);
  // The preflight: a unit with a risk the rollout blocks on is skipped, with the risk saying why (ADR 0035).
  const { risks, blocked } = preflightRisks(body, clusters, units, movable);
  for (let u = 0; u < units.size; u++) if (blocked[u] === 1) movable[u] = 0;
  // VM hosts per wave name, computed up front: groups are claimed by the first `vms` entry selecting them.
  const vmByWave = planVmHosts(spec, inventory, seed);
  const scheduler = new WaveScheduler(
    {
      body,
      windows: new ChangeWindows(body.windows),
      units,
      clusters,
      horizon: Math.max(Date.parse(body.deadline), now) + 366 * 86_400_000,
      // Built once per plan, and only when the rollout goes mesh by mesh.
      meshOf: body.sequenceByMesh ? meshResolver(options.meshOf, inventory) : undefined,
      vmHostsFor: (waveName: string): PlannedVmHost[] => vmByWave.hostsByWave.get(waveName) ?? [],
      problems,
    },
    now,
  );
  // 4. Cohorts, wave by wave.
  const assigned = assignWaves(
    body,
    { units, order, movable, pinnedUntil: pinHolds(body, units, clusters), clusters },
    scheduler,
  );

  reportUnmoved(units, clusters, assigned, body, skipped, blocked);
  // 5. Ambient mode: istio-cni then ztunnel in node waves, then waypoints (ADR 0051).
  const ambient = planAmbientSteps(body, clusters, scheduler, problems, inMesh);
  // 6. Gateways, by canary after every wave (ADR 0047).
  const gateways = selectGateways(body, clusters, inMesh);
  const gatewaySteps = planGatewaySteps(body, gateways, scheduler, problems);
  // Istio's rules, checked in the clusters the plan moves units or gateways in (ADR 0028, 0056).
  const moves = { units, assigned, gatewaySteps, ambientClusters: ambient.clusters };
  problems.push(...istioRuleProblems(body, clusters, moves, meshResolver(options.meshOf, inventory)));
  problems.push(...deadlineProblems(body, now, scheduler.scheduled));
  const lastStep = gatewaySteps.at(-1) ?? ambient.steps.at(-1);
  const completion = scheduler.scheduled.reduce(
    (max, s) => Math.max(max, s.converged),
    lastStep === undefined ? now : Date.parse(lastStep.estimatedConverged),
  );
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
    waves: scheduler.scheduled.map((s, index) =>
      toPlannedWave(s, index, { movers, units }, clusters, body.defaults.maxUnavailable),
    ),
    gatewaySteps,
    ambientSteps: ambient.steps,
    skipped: skipped.sort(compareWorkloads),
    risks,
    untouchedVmHosts: vmByWave.untouched,
  };
}

/** Per unit, until when a pin holds it (0 when none does); the latest pin wins. */
function pinHolds(body: RolloutSpec['spec'], units: UnitTable, clusters: Inventory['clusters']): Float64Array {
  const pinnedUntil = new Float64Array(units.size);
  for (const pin of body.pins) {
    const until = Date.parse(pin.until);
    const held = matchUnits(new CompiledSelector(pin.select, clusters), units);
    for (let u = 0; u < units.size; u++) if (held[u] === 1 && pinnedUntil[u]! < until) pinnedUntil[u] = until;
  }
  return pinnedUntil;
}

/** The units as cohort selection sees them. */
interface Candidates {
  readonly units: UnitTable;
  /** unit ids in rank order */
  readonly order: Int32Array;
  readonly movable: Uint8Array;
  readonly pinnedUntil: Float64Array;
  readonly clusters: Inventory['clusters'];
}

/**
 * Picks each wave's cohort and schedules it; returns the wave index each unit moves in (UNASSIGNED for none).
 * A pinned unit is deferred to the first later wave whose selector holds it once its pin has expired; pinned
 * units no later wave took move in an implicit forced wave of their own, so they still meet the deadline.
 */
function assignWaves(body: RolloutSpec['spec'], c: Candidates, scheduler: WaveScheduler): Int32Array {
  const { units, pinnedUntil } = c;
  const sortByRank = rankSorter(c.order, units.size);
  const assigned = new Int32Array(units.size).fill(UNASSIGNED);
  const deferred = { is: new Uint8Array(units.size), list: [] as number[] };
  const latestPin = (ids: readonly number[]): number => ids.reduce((max, u) => Math.max(max, pinnedUntil[u]!), 0);
  body.waves.forEach((wave, wi) => {
    if (scheduler.blocked) return;
    const picked = pickCohort(wave, c, assigned, deferred, scheduler.tentativeStart());
    let extraDelays: StartDelay[] = [];
    if (wave.forced && wi === body.waves.length - 1) {
      // The forced wave collects every eligible unit still on `from`: never selected, or pinned.
      const already = new Set(picked);
      for (let u = 0; u < units.size; u++) {
        if (assigned[u] === UNASSIGNED && c.movable[u] === 1 && !already.has(u)) picked.push(u);
      }
      deferred.is.fill(0);
      deferred.list = [];
      extraDelays = scheduler.holdUntil(latestPin(picked));
    }
    const inRankOrder = sortByRank(picked);
    for (const u of inRankOrder) assigned[u] = wi;
    const out = scheduler.expand(wave, inRankOrder, wave.forced, extraDelays);
    if (out.length > 0 && out.every((s) => s.units.length === 0 && s.vmHosts.length === 0)) {
      scheduler.problems.push({
        code: PlanProblemCode.EmptyWave,
        message: `wave "${wave.name}" moves nothing`,
        wave: wave.name,
        blocking: false,
      });
    }
  });
  if (!scheduler.blocked && deferred.list.length > 0) {
    const ids = sortByRank(deferred.list);
    const extraDelays = scheduler.holdUntil(latestPin(ids));
    const forcedWave: Wave = { name: IMPLICIT_FORCED_WAVE, select: {}, percent: 100, approval: false, forced: true };
    for (const u of ids) assigned[u] = body.waves.length;
    scheduler.expand(forcedWave, ids, true, extraDelays);
  }
  return assigned;
}

/**
 * A wave's cohort: the first `percent` of its selector in rank order, minus the units already assigned or
 * not movable; pinned ones among them are deferred. Deferred units whose pin has expired by the wave's
 * tentative start join it when its selector holds them.
 */
function pickCohort(
  wave: Wave,
  c: Candidates,
  assigned: Int32Array,
  deferred: { readonly is: Uint8Array; list: number[] },
  tentative: number,
): number[] {
  const { units, order, movable, pinnedUntil } = c;
  const inSelector = matchUnits(new CompiledSelector(wave.select, c.clusters), units);
  const picked: number[] = [];
  deferred.list = deferred.list.filter((u) => {
    if (pinnedUntil[u]! <= tentative && inSelector[u] === 1) {
      deferred.is[u] = 0;
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
    if (assigned[u] !== UNASSIGNED || deferred.is[u] === 1 || movable[u] === 0) continue;
    if (pinnedUntil[u]! > tentative) {
      deferred.is[u] = 1;
      deferred.list.push(u);
      continue;
    }
    picked.push(u);
  }
  return picked;
}

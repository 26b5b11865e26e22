import type { Inventory, Plan, RolloutSpec } from '@meshwave/contracts';
import { CompiledSelector } from '@meshwave/plan';
import type { RolloutRecord } from './rollout-state.js';
import { parseUnit } from './unit-observations.js';

/**
 * The immutable record of a new rollout. Works out per wave the instant before which it may not start:
 * the plan's start for the first wave and for waves the plan held back (window, blackout, pin), and the
 * latest pin on any of its units, so a wave that runs ahead of the plan's estimates never moves a pinned unit.
 */
export function newRolloutRecord(args: {
  id: string;
  spec: RolloutSpec;
  plan: Plan;
  inventory: Inventory;
  createdBy: string;
  now: Date;
  traceparent?: string;
}): RolloutRecord {
  const { spec, plan, inventory } = args;
  const clusterIndex = new Map(inventory.clusters.map((c, i) => [c.name, i]));
  const pins = spec.spec.pins.map((p) => ({
    until: Date.parse(p.until),
    selector: new CompiledSelector(p.select, inventory.clusters),
  }));
  const pinOf = (unit: string): number => {
    if (pins.length === 0) return 0;
    const u = parseUnit(unit);
    const ci = clusterIndex.get(u.cluster);
    if (ci === undefined) return 0;
    let latest = 0;
    for (const w of inventory.clusters[ci]!.workloads) {
      if (w.namespace !== u.namespace || (u.kind !== undefined && (w.kind !== u.kind || w.name !== u.name))) continue;
      for (const p of pins) if (p.until > latest && p.selector.matches(ci, w)) latest = p.until;
    }
    return latest;
  };
  const notBefore = plan.waves.map((w, i) => {
    let at = i === 0 || w.delays.length > 0 ? Date.parse(w.earliestStart) : 0;
    for (const unit of w.units) at = Math.max(at, pinOf(unit));
    return at > 0 ? new Date(at).toISOString() : null;
  });
  return {
    id: args.id,
    spec,
    plan,
    createdAt: args.now.toISOString(),
    createdBy: args.createdBy,
    notBefore,
    ...(args.traceparent !== undefined ? { traceparent: args.traceparent } : {}),
  };
}

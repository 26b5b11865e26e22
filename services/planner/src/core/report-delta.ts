import {
  unitKey,
  type HealthDelta,
  type HealthReport,
  type UnitProgress,
  type UnitProgressDelta,
  type VmProgress,
  type VmProgressDelta,
} from '@meshwave/contracts';
import { chainPosition, mergeEntries, type ChainPosition, type EntryChange } from './delta-chain.js';
import { builtIndexOf, noteDerived } from './report-index.js';

/**
 * What a progress or health delta does to the report the planner holds of its sender (ADR 0048), as an
 * inventory delta does (ADR 0031): `applied` with the report after it, `stale` (a redelivery), or a `gap` (the
 * sender is asked for its whole report).
 */
export type ReportDeltaOutcome<R, E = unknown> =
  | { readonly kind: 'applied'; readonly report: R; readonly changes: readonly EntryChange<E>[] }
  | Exclude<ChainPosition<unknown>, { kind: 'apply' }>;

/** `held` after a cluster's progress delta; a whole report from an agent that sends no deltas has no `seq`. */
export function applyProgressDelta(
  held: UnitProgress | undefined,
  delta: UnitProgressDelta,
): ReportDeltaOutcome<UnitProgress> {
  const position = chainPosition(held, (h) => h.seq, delta, ['progress', 'seq']);
  if (position.kind !== 'apply') return position;
  const { upserted, removed, base: _base, ...rest } = delta;
  const { entries: units, changes } = mergeEntries(
    position.held.units,
    upserted,
    removed,
    unitKey,
    builtIndexOf(position.held)?.byKey,
  );
  const report = { ...rest, units };
  noteDerived(report, position.held, changes);
  return { kind: 'applied', report, changes };
}

/** `held` after a cluster's health delta: the chain is the report's own generation (ADR 0038). */
export function applyHealthDelta(held: HealthReport | undefined, delta: HealthDelta): ReportDeltaOutcome<HealthReport> {
  const position = chainPosition(held, (h) => h.generation, { seq: delta.generation, base: delta.base }, [
    'health',
    'generation',
  ]);
  if (position.kind !== 'apply') return position;
  const { upserted, removed, base: _base, ...rest } = delta;
  const { entries: units, changes } = mergeEntries(position.held.units, upserted, removed, unitKey);
  return { kind: 'applied', report: { ...rest, units }, changes };
}

const hostKey = (h: VmProgress['hosts'][number] | string): string => (typeof h === 'string' ? h : h.name);

/** `held` after a VM group's progress delta. */
export function applyVmProgressDelta(
  held: VmProgress | undefined,
  delta: VmProgressDelta,
): ReportDeltaOutcome<VmProgress, VmProgress['hosts'][number]> {
  const position = chainPosition(held, (h) => h.seq, delta, ['VM progress', 'seq']);
  if (position.kind !== 'apply') return position;
  const { upserted, removed, base: _base, ...rest } = delta;
  const { entries: hosts, changes } = mergeEntries(position.held.hosts, upserted, removed, hostKey);
  return { kind: 'applied', report: { ...rest, hosts }, changes };
}

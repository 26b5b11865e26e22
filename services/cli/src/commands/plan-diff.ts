import type { Plan } from '@meshwave/contracts';

/** One wave, matched by name, as it changes between two plans. */
export interface WaveDiff {
  readonly name: string;
  /** absent: the wave is only in the other plan */
  readonly before?: {
    readonly index: number;
    readonly start: string;
    readonly units: number;
    readonly vmHosts: number;
  };
  readonly after?: { readonly index: number; readonly start: string; readonly units: number; readonly vmHosts: number };
  /** units (and VM hosts as `vm:<group>/<host>`) in this wave only after / only before */
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

/** What changes between two plans of a rollout: per wave, units that move between waves, and the outcome. */
export interface PlanDiff {
  readonly same: boolean;
  readonly waves: readonly WaveDiff[];
  /** units that change wave: `unit`, from wave name, to wave name */
  readonly moved: readonly { readonly unit: string; readonly from: string; readonly to: string }[];
  readonly feasible: { readonly before: boolean; readonly after: boolean };
  readonly estimatedCompletion: { readonly before: string; readonly after: string };
  readonly skipped: { readonly before: number; readonly after: number };
}

const membersOf = (w: Plan['waves'][number]): string[] => [
  ...w.units,
  ...w.vmHosts.map((h) => `vm:${h.group}/${h.name}`),
];

function waveOf(plan: Plan): Map<string, string> {
  const at = new Map<string, string>();
  for (const w of plan.waves) for (const m of membersOf(w)) at.set(m, w.name);
  return at;
}

/** The difference between the plan `before` and the plan `after` (pure; waves matched by name). */
export function diffPlans(before: Plan, after: Plan): PlanDiff {
  const names = [...new Set([...before.waves.map((w) => w.name), ...after.waves.map((w) => w.name)])];
  const summary = (w: Plan['waves'][number] | undefined) =>
    w && { index: w.index, start: w.earliestStart, units: w.units.length, vmHosts: w.vmHosts.length };
  const waves: WaveDiff[] = names.map((name) => {
    const b = before.waves.find((w) => w.name === name);
    const a = after.waves.find((w) => w.name === name);
    const inBefore = new Set(b ? membersOf(b) : []);
    const inAfter = new Set(a ? membersOf(a) : []);
    return {
      name,
      ...(b ? { before: summary(b)! } : {}),
      ...(a ? { after: summary(a)! } : {}),
      added: [...inAfter].filter((m) => !inBefore.has(m)).sort(),
      removed: [...inBefore].filter((m) => !inAfter.has(m)).sort(),
    };
  });
  const was = waveOf(before);
  const moved = [...waveOf(after)]
    .filter(([unit, to]) => was.has(unit) && was.get(unit) !== to)
    .map(([unit, to]) => ({ unit, from: was.get(unit)!, to }))
    .sort((x, y) => x.unit.localeCompare(y.unit));
  const changedWave = (w: WaveDiff) =>
    w.added.length > 0 ||
    w.removed.length > 0 ||
    w.before?.index !== w.after?.index ||
    w.before?.start !== w.after?.start;
  const same =
    !waves.some(changedWave) &&
    before.feasible === after.feasible &&
    before.estimatedCompletion === after.estimatedCompletion &&
    before.skipped.length === after.skipped.length;
  return {
    same,
    waves,
    moved,
    feasible: { before: before.feasible, after: after.feasible },
    estimatedCompletion: { before: before.estimatedCompletion, after: after.estimatedCompletion },
    skipped: { before: before.skipped.length, after: after.skipped.length },
  };
}

const sample = (list: readonly string[]): string =>
  `${list.slice(0, 5).join(', ')}${list.length > 5 ? ` and ${list.length - 5} more` : ''}`;

/** The diff as lines for a terminal: only what changed. */
export function formatPlanDiff(d: PlanDiff): string {
  if (d.same) return 'the plans are the same';
  const lines: string[] = [];
  for (const w of d.waves) {
    if (!w.before) lines.push(`+ wave ${w.name}: ${w.after!.units} units, ${w.after!.vmHosts} VM hosts`);
    else if (!w.after) lines.push(`- wave ${w.name}: ${w.before.units} units, ${w.before.vmHosts} VM hosts`);
    else {
      const head = `~ wave ${w.name}: ${w.before.units} → ${w.after.units} units, ${w.before.vmHosts} → ${w.after.vmHosts} VM hosts`;
      const start = w.before.start !== w.after.start ? `, start ${w.before.start} → ${w.after.start}` : '';
      if (w.added.length === 0 && w.removed.length === 0 && start === '' && w.before.index === w.after.index) continue;
      lines.push(head + start);
    }
    if (w.added.length > 0) lines.push(`    + ${sample(w.added)}`);
    if (w.removed.length > 0) lines.push(`    - ${sample(w.removed)}`);
  }
  for (const m of d.moved.slice(0, 10)) lines.push(`  ${m.unit}: ${m.from} → ${m.to}`);
  if (d.moved.length > 10) lines.push(`  and ${d.moved.length - 10} more units change wave`);
  if (d.feasible.before !== d.feasible.after)
    lines.push(`feasible: ${String(d.feasible.before)} → ${String(d.feasible.after)}`);
  if (d.estimatedCompletion.before !== d.estimatedCompletion.after)
    lines.push(`estimated completion: ${d.estimatedCompletion.before} → ${d.estimatedCompletion.after}`);
  if (d.skipped.before !== d.skipped.after) lines.push(`skipped: ${d.skipped.before} → ${d.skipped.after}`);
  return lines.join('\n');
}

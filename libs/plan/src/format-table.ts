import type { Plan } from '@meshwave/contracts';

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));

/** The plan for people: waves, units per cluster, start times, estimated completion against the deadline. */
export function formatPlanTable(plan: Plan): string {
  const lines: string[] = [];
  lines.push(`rollout ${plan.rollout}: ${plan.from} → ${plan.to} (${plan.granularity} granularity)`);
  lines.push(
    `now ${plan.now}   deadline ${plan.deadline}   estimated completion ${plan.estimatedCompletion}   ${plan.feasible ? 'FEASIBLE' : 'MISSES THE DEADLINE'}`,
  );
  lines.push('');
  const header = ['#', 'wave', 'earliest start', 'converged (est.)', 'soak', 'units', 'vm hosts', 'flags'];
  const rows = plan.waves.map((w) => [
    String(w.index),
    w.name,
    w.earliestStart,
    w.estimatedConverged,
    `${w.soakSeconds}s`,
    String(w.units.length),
    String(w.vmHosts.length),
    [w.approval ? 'approval' : '', w.forced ? 'forced' : ''].filter(Boolean).join(','),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  lines.push(header.map((h, i) => pad(h, widths[i]!)).join('  '));
  for (const [wi, r] of rows.entries()) {
    lines.push(r.map((c, i) => pad(c, widths[i]!)).join('  '));
    for (const c of plan.waves[wi]!.clusters) {
      lines.push(`      ${pad(c.cluster, 24)} ${c.units} units, ${c.maxUnavailable} at once, ${c.batches} batches`);
    }
    for (const d of plan.waves[wi]!.delays) lines.push(`      delayed: ${d}`);
  }
  lines.push(...ambientStepLines(plan.ambientSteps));
  lines.push(...gatewayStepLines(plan.gatewaySteps));
  const skipped = new Map<string, number>();
  for (const s of plan.skipped) skipped.set(s.reason, (skipped.get(s.reason) ?? 0) + 1);
  lines.push('');
  lines.push(
    `skipped: ${[...skipped].map(([r, n]) => `${n} ${r}`).join(', ') || 'none'}; untouched VM hosts: ${plan.untouchedVmHosts}`,
  );
  for (const p of plan.problems) lines.push(`${p.blocking ? 'PROBLEM' : 'note'} ${p.code}: ${p.message}`);
  lines.push(...riskLines(plan.risks));
  return lines.join('\n');
}

/** How many risks the table lists before it says how many more there are (`-o json` has them all). */
const RISKS_SHOWN = 50;

/** The preflight's risks as a table: unit, code, whether it blocks (skips the unit) or warns, and the detail. */
function riskLines(risks: Plan['risks']): string[] {
  if (risks.length === 0) return [];
  const rows = risks.slice(0, RISKS_SHOWN).map((r) => [r.unit, r.code, r.blocking ? 'block' : 'warn', r.detail]);
  const header = ['unit', 'risk', 'action', 'detail'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i]!))).join('  ');
  const out = ['', `preflight risks (${risks.length}):`, line(header), ...rows.map(line)];
  if (risks.length > RISKS_SHOWN) out.push(`… and ${risks.length - RISKS_SHOWN} more (-o json lists them all)`);
  return out;
}

/** The gateway canary steps after the waves (ADR 0047): share on `to`, when, and the gateways each moves. */
function gatewayStepLines(steps: Plan['gatewaySteps']): string[] {
  if (steps.length === 0) return [];
  const out = ['', `gateway steps (${steps.length}), after the waves:`];
  for (const s of steps) {
    out.push(
      `  ${s.index}  ${pad(s.name, 14)} ${pad(`${s.percent}% on to`, 11)} ${s.earliestStart} → ${s.estimatedConverged}  soak ${s.soakSeconds}s  ${s.gateways.length} gateways`,
    );
    for (const g of s.gateways.slice(0, RISKS_SHOWN))
      out.push(`      ${g.cluster}/${g.namespace}/${g.name} (${g.kind})`);
    if (s.gateways.length > RISKS_SHOWN) out.push(`      … and ${s.gateways.length - RISKS_SHOWN} more`);
    for (const d of s.delays) out.push(`      delayed: ${d}`);
  }
  return out;
}

/** The ambient steps after the waves (ADR 0051): istio-cni and ztunnel node waves, then waypoints. */
function ambientStepLines(steps: Plan['ambientSteps']): string[] {
  if (steps.length === 0) return [];
  const out = ['', `ambient steps (${steps.length}), after the waves:`];
  for (const s of steps) {
    const what = s.component === 'waypoints' ? `${s.waypoints.length} waypoints` : `${s.nodes.length} nodes`;
    out.push(
      `  ${s.index}  ${pad(s.name, 14)} ${s.earliestStart} → ${s.estimatedConverged}  soak ${s.soakSeconds}s  ${what}`,
    );
    const names = [
      ...s.nodes.map((n) => `${n.cluster}/${n.name} → ${n.version}`),
      ...s.waypoints.map((w) => `${w.cluster}/${w.namespace}/${w.name}`),
    ];
    for (const n of names.slice(0, RISKS_SHOWN)) out.push(`      ${n}`);
    if (names.length > RISKS_SHOWN) out.push(`      … and ${names.length - RISKS_SHOWN} more`);
    for (const d of s.delays) out.push(`      delayed: ${d}`);
  }
  return out;
}

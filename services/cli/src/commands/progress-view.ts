import type { RolloutStatus, UnitCounts, WaveStatus } from '@meshwave/contracts';

const BAR = 24;

function bar(done: number, failed: number, total: number): string {
  if (total === 0) return `[${' '.repeat(BAR)}]   -`;
  const d = Math.round((done / total) * BAR);
  const f = Math.min(BAR - d, Math.round((failed / total) * BAR));
  return `[${'#'.repeat(d)}${'!'.repeat(f)}${'.'.repeat(BAR - d - f)}] ${String(Math.round((done / total) * 100)).padStart(3)}%`;
}

const total = (c: UnitCounts): number => c.pending + c.moving + c.converged + c.failed;

function waveLine(w: WaveStatus, current: boolean): string[] {
  const vmTotal = w.vmHosts.pending + w.vmHosts.upgrading + w.vmHosts.converged + w.vmHosts.failed;
  const flags = [w.approval ? (w.approved ? 'approved' : 'needs approval') : '', w.forced ? 'forced' : '']
    .filter(Boolean)
    .join(', ');
  const lines = [
    `${current ? '▶' : ' '} wave ${w.index} ${w.name.padEnd(16)} ${w.state.padEnd(12)} ${bar(w.units.converged, w.units.failed, total(w.units))} ${w.units.converged}/${total(w.units)} units${vmTotal > 0 ? `, ${w.vmHosts.converged}/${vmTotal} VM hosts` : ''}${flags ? ` (${flags})` : ''}`,
  ];
  if (current) {
    for (const c of w.clusters)
      lines.push(
        `      ${c.cluster.padEnd(22)} ${bar(c.units.converged, c.units.failed, total(c.units))} ${c.units.converged}/${total(c.units)}`,
      );
    for (const g of w.vmGroups) {
      const t = g.hosts.pending + g.hosts.upgrading + g.hosts.converged + g.hosts.failed;
      lines.push(
        `      vm:${g.group.padEnd(19)} ${bar(g.hosts.converged, g.hosts.failed, t)} ${g.hosts.converged}/${t}`,
      );
    }
    for (const f of w.failedUnits.slice(0, 5))
      lines.push(`      failed ${f.unit}: ${f.reason ?? ''} ${f.message ?? ''}`.trimEnd());
  }
  return lines;
}

/** A rollout for people: phase, a progress bar per wave (and per cluster for the current one), verdicts, transitions. */
export function renderRolloutStatus(s: RolloutStatus, options: { transitions?: number } = {}): string {
  const lines = [
    `rollout ${s.id} (${s.name}): ${s.from} → ${s.to}   phase ${s.phase}${s.wavePhase ? `/${s.wavePhase}` : ''}${s.reason ? ` — ${s.reason}` : ''}`,
    `deadline ${s.deadline}   estimated completion ${s.estimatedCompletion}${s.deadlineAtRisk ? '   DEADLINE AT RISK' : ''}`,
  ];
  for (const w of s.waveStatuses)
    lines.push(...waveLine(w, w.index === s.wave && !['Completed', 'RolledBack', 'Failed'].includes(s.phase)));
  const verdict = s.gateVerdicts.at(-1);
  if (verdict) lines.push(`gate (wave ${verdict.wave}): ${verdict.outcome} ${verdict.reason} — ${verdict.message}`);
  if (s.excluded.length > 0)
    lines.push(
      `excluded: ${s.excluded.slice(0, 5).join(', ')}${s.excluded.length > 5 ? ` and ${s.excluded.length - 5} more` : ''}`,
    );
  for (const t of s.transitions.slice(-(options.transitions ?? 4)))
    lines.push(`  ${t.at} ${t.from} → ${t.to} (${t.trigger}, ${t.actor}): ${t.reason}`);
  return lines.join('\n');
}

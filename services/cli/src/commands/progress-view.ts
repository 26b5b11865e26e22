import type { RolloutStatus, UnitCounts, WaveStatus } from '@meshwave/contracts';
import type { LiveLine } from './live-view.js';
import { Tone, noPaint, toneOfPhase, type Paint } from './terminal-color.js';

const BAR = 24;
const TERMINAL_PHASES: readonly string[] = ['Completed', 'RolledBack', 'Failed'];

const share = (done: number, total: number): number => (total === 0 ? 0 : Math.round((done / total) * 100));

function bar(done: number, failed: number, total: number, paint: Paint): string {
  if (total === 0) return `[${' '.repeat(BAR)}]   -`;
  const d = Math.round((done / total) * BAR);
  const f = Math.min(BAR - d, Math.round((failed / total) * BAR));
  const marks = `${paint('#'.repeat(d), Tone.Good)}${paint('!'.repeat(f), Tone.Bad)}${'.'.repeat(BAR - d - f)}`;
  return `[${marks}] ${String(share(done, total)).padStart(3)}%`;
}

/** A log needs a progress line again at each 10% step (and at its end), not at every unit that converged. */
const step = (done: number, failed: number, total: number): string =>
  `${Math.floor(share(done, total) / 10)}/${failed > 0 ? 'failed' : ''}/${done === total ? 'all' : ''}`;

const total = (c: UnitCounts): number => c.pending + c.moving + c.converged + c.failed;

const painted = (word: string, paint: Paint, width = 0): string => {
  const tone = toneOfPhase(word);
  const padded = word.padEnd(width);
  return tone === undefined ? padded : paint(padded, tone);
};

function waveLines(w: WaveStatus, current: boolean, paint: Paint): LiveLine[] {
  const vmTotal = w.vmHosts.pending + w.vmHosts.upgrading + w.vmHosts.converged + w.vmHosts.failed;
  const flags = [w.approval ? (w.approved ? 'approved' : 'needs approval') : '', w.forced ? 'forced' : '']
    .filter(Boolean)
    .join(', ');
  const n = total(w.units);
  const key = `wave:${w.index}`;
  const lines: LiveLine[] = [
    {
      key,
      text: `${current ? '▶' : ' '} wave ${w.index} ${w.name.padEnd(16)} ${painted(w.state, paint, 12)} ${bar(w.units.converged, w.units.failed, n, paint)} ${w.units.converged}/${n} units${vmTotal > 0 ? `, ${w.vmHosts.converged}/${vmTotal} VM hosts` : ''}${flags ? ` (${flags === 'needs approval' ? paint(flags, Tone.Warn) : flags})` : ''}`,
      change: `${current}|${w.state}|${flags}|${step(w.units.converged, w.units.failed, n)}|${step(w.vmHosts.converged, w.vmHosts.failed, vmTotal)}`,
    },
  ];
  if (!current) return lines;
  for (const c of w.clusters) {
    const t = total(c.units);
    lines.push({
      key: `${key}/cluster:${c.cluster}`,
      text: `      ${c.cluster.padEnd(22)} ${bar(c.units.converged, c.units.failed, t, paint)} ${c.units.converged}/${t}`,
      change: step(c.units.converged, c.units.failed, t),
    });
  }
  for (const g of w.vmGroups) {
    const t = g.hosts.pending + g.hosts.upgrading + g.hosts.converged + g.hosts.failed;
    lines.push({
      key: `${key}/vm:${g.group}`,
      text: `      vm:${g.group.padEnd(19)} ${bar(g.hosts.converged, g.hosts.failed, t, paint)} ${g.hosts.converged}/${t}`,
      change: step(g.hosts.converged, g.hosts.failed, t),
    });
  }
  for (const f of w.failedUnits.slice(0, 5))
    lines.push({
      key: `${key}/failed:${f.unit}`,
      text: `      ${paint('failed', Tone.Bad)} ${f.unit}: ${f.reason ?? ''} ${f.message ?? ''}`.trimEnd(),
    });
  return lines;
}

export interface StatusViewOptions {
  /** how many of the last transitions to show (default 4) */
  readonly transitions?: number;
  readonly paint?: Paint;
  /** `MESHWAVE_TRACE_URL`: where a trace id becomes a link (see `traceLink`) */
  readonly traceUrl?: string | undefined;
}

/**
 * The rollout's trace as a link when `traceUrl` is set: its `{traceId}` replaced by the id, or the id appended
 * as a path segment when it has none (`http://jaeger:16686/trace` → `http://jaeger:16686/trace/<id>`); the bare id
 * otherwise.
 */
export function traceLink(traceId: string, traceUrl: string | undefined): string {
  if (traceUrl === undefined || traceUrl.trim() === '') return traceId;
  return traceUrl.includes('{traceId}')
    ? traceUrl.replaceAll('{traceId}', traceId)
    : `${traceUrl.replace(/\/+$/, '')}/${traceId}`;
}

/**
 * A rollout for people, line by line: phase, a progress bar per wave (and per cluster for the current one),
 * the last verdict, exclusions, the last transitions. Each line is keyed so a log can print only what changed.
 */
export function rolloutStatusLines(s: RolloutStatus, options: StatusViewOptions = {}): LiveLine[] {
  const paint = options.paint ?? noPaint;
  const phase = `${s.phase}${s.wavePhase ? `/${s.wavePhase}` : ''}`;
  const lines: LiveLine[] = [
    {
      key: 'rollout',
      text: `rollout ${s.id} (${s.name}): ${s.from} → ${s.to}   phase ${painted(phase, paint)}${s.reason ? ` — ${s.reason}` : ''}`,
      change: phase,
    },
    {
      key: 'deadline',
      text: `deadline ${s.deadline}   estimated completion ${s.estimatedCompletion}${s.deadlineAtRisk ? `   ${paint('DEADLINE AT RISK', Tone.Bad)}` : ''}`,
      change: `${s.deadline}|${s.deadlineAtRisk}`,
    },
  ];
  if (s.traceId !== undefined) lines.push({ key: 'trace', text: `trace ${traceLink(s.traceId, options.traceUrl)}` });
  lines.push(...burndownLines(s, paint));
  for (const w of s.waveStatuses)
    lines.push(...waveLines(w, w.index === s.wave && !TERMINAL_PHASES.includes(s.phase), paint));
  lines.push(...ambientLines(s, paint));
  const verdict = s.gateVerdicts.at(-1);
  if (verdict)
    lines.push({
      key: 'gate',
      text: `gate (wave ${verdict.wave}): ${painted(verdict.outcome, paint)} ${verdict.reason} — ${verdict.message}`,
      change: `${verdict.wave}|${verdict.outcome}|${verdict.reason}`,
    });
  lines.push(...membershipLines(s, paint));
  if (s.excluded.length > 0)
    lines.push({
      key: 'excluded',
      text: `excluded: ${s.excluded.slice(0, 5).join(', ')}${s.excluded.length > 5 ? ` and ${s.excluded.length - 5} more` : ''}`,
    });
  for (const t of s.transitions.slice(-(options.transitions ?? 4)))
    lines.push({
      key: `transition:${t.at}|${t.from}|${t.to}`,
      text: `  ${t.at} ${t.from} → ${t.to} (${t.trigger}, ${t.actor}): ${t.reason}`,
    });
  return lines;
}

/** Units on `to` against the deadline, the projection from observed rates, and DeadlineAtRisk with its reason. */
function burndownLines(s: RolloutStatus, paint: Paint): LiveLine[] {
  const b = s.burndown;
  if (b === undefined) return [];
  const lines: LiveLine[] = [
    {
      key: 'burndown',
      text: `burn-down ${b.onTarget}/${b.total} units on ${s.to}   projected ${b.projectedCompletion} from observed rates`,
      change: `${step(b.onTarget, 0, b.total)}|${b.projectedCompletion.slice(0, 16)}`,
    },
  ];
  if (b.atRisk !== undefined)
    lines.push({
      key: 'deadline-at-risk',
      text: `${paint('DeadlineAtRisk', Tone.Bad)} since ${b.atRisk.since}: ${b.atRisk.reason}`,
      change: b.atRisk.reason,
    });
  return lines;
}

/**
 * Ambient mode (ADR 0051): the steps in one line, then per cluster each node agent's nodes on its version and the
 * nodes cordoned for it now, and the waypoints moved.
 */
function ambientLines(s: RolloutStatus, paint: Paint): LiveLine[] {
  const a = s.ambient;
  if (a === undefined) return [];
  const steps = a.steps.map((x) =>
    x.state === 'active' ? paint(`${x.name} active`, Tone.Warn) : `${x.name} ${x.state}`,
  );
  const lines: LiveLine[] = [
    {
      key: 'ambient',
      text: `ambient steps: ${steps.join(', ')}`,
      change: a.steps.map((x) => x.state).join('|'),
    },
  ];
  for (const c of a.clusters) {
    for (const n of c.nodeAgents) {
      const failed = n.state === 'failed' ? n.nodes - n.onTarget : 0;
      const cordoned = n.cordoned.length > 0 ? `   cordoned: ${n.cordoned.join(', ')}` : '';
      lines.push({
        key: `ambient/${c.cluster}/${n.component}`,
        text: `      ${c.cluster.padEnd(22)} ${`${n.component} → ${n.version}`.padEnd(20)} ${bar(n.onTarget, failed, n.nodes, paint)} ${n.onTarget}/${n.nodes} nodes${cordoned}${n.state === 'failed' ? ` ${paint('failed', Tone.Bad)}: ${n.reason ?? ''}` : ''}`,
        change: `${n.onTarget}|${n.cordoned.join(',')}|${n.state}`,
      });
    }
    if (c.waypoints !== undefined)
      lines.push({
        key: `ambient/${c.cluster}/waypoints`,
        text: `      ${c.cluster.padEnd(22)} ${`waypoints → ${s.to}`.padEnd(20)} ${bar(c.waypoints.moved, 0, c.waypoints.total, paint)} ${c.waypoints.moved}/${c.waypoints.total} waypoints`,
        change: `${c.waypoints.moved}`,
      });
  }
  return lines;
}

/** Unreachable clusters and units skipped for them (and where they come back), when there are any. */
function membershipLines(s: RolloutStatus, paint: Paint): LiveLine[] {
  const m = s.membership;
  if (m === undefined) return [];
  return [
    ...m.unreachable.map((u) => ({
      key: `unreachable:${u.cluster}`,
      text: `${paint('Unreachable', Tone.Warn)} ${u.cluster}: no agent heard since ${u.silentSince}`,
    })),
    ...m.skipped.map((k) => ({
      key: `skipped:${k.cluster}`,
      text: `skipped ${k.units} units of ${k.cluster} in wave ${k.wave} (Unreachable): ${k.comesBack}`,
    })),
  ];
}

/** A rollout for people, as one text (see `rolloutStatusLines`). */
export function renderRolloutStatus(s: RolloutStatus, options: StatusViewOptions = {}): string {
  return rolloutStatusLines(s, options)
    .map((l) => l.text)
    .join('\n');
}

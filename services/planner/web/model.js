// What the dashboard shows, worked out from the API's answers: pure functions, no DOM, no I/O, so the unit tests
// run them in Node and the page and the tests agree on every label.

/** Phases after which a rollout never changes again. */
export const TERMINAL_PHASES = ['Completed', 'RolledBack', 'Failed'];

/** Roles, each including the ones before it (as the planner ranks them). */
const ROLE_RANK = { viewer: 0, operator: 1, admin: 2 };

/** Whether `role` may do what `required` may. */
export function roleAllows(role, required) {
  return (ROLE_RANK[role] ?? -1) >= (ROLE_RANK[required] ?? Infinity);
}

/** The trigger of a rollout's last transition, or undefined. */
function lastTrigger(status) {
  const transitions = status.transitions ?? [];
  return transitions[transitions.length - 1]?.trigger;
}

/**
 * A rollout's phase in words, as it is: an aborted rollout is `aborted` (the API's phase is Failed for both an
 * abort and a failback that failed), a rollout failing back is `rolling back`. `tone` picks the colour.
 */
export function phaseLabel(status) {
  const { phase, wavePhase } = status;
  if (phase === 'Failed')
    return lastTrigger(status) === 'abort'
      ? { text: 'aborted', tone: 'bad' }
      : { text: lastTrigger(status) === 'rollback-failed' ? 'failback failed' : 'failed', tone: 'bad' };
  if (phase === 'Running') return { text: `running · ${(wavePhase ?? '').toLowerCase()}`, tone: 'live' };
  const words = {
    Pending: ['pending', 'idle'],
    Paused: ['paused', 'warn'],
    Halted: ['halted', 'bad'],
    RollingBack: ['rolling back', 'warn'],
    RolledBack: ['rolled back', 'idle'],
    Completed: ['completed', 'ok'],
  }[phase] ?? [String(phase), 'idle'];
  return { text: words[0], tone: words[1] };
}

/** A wave's state in words and tone; the API tells `rolling-back` apart from `rolled-back` (ADR 0037). */
export function waveLabel(wave) {
  const words = {
    pending: ['pending', 'idle'],
    'awaiting-approval': ['awaiting approval', 'warn'],
    active: ['active', 'live'],
    passed: ['passed', 'ok'],
    failed: ['gate failed', 'bad'],
    'rolling-back': ['rolling back', 'warn'],
    'rolled-back': ['rolled back', 'idle'],
    aborted: ['aborted', 'bad'],
    'rollback-failed': ['failback failed', 'bad'],
    'not-started': ['not started', 'idle'],
  }[wave.state] ?? [String(wave.state), 'idle'];
  return { text: words[0], tone: words[1] };
}

/** `part` of `whole` as a whole percentage (floor, so 100% means every one), or undefined when there is none. */
export function percent(part, whole) {
  if (!(whole > 0)) return undefined;
  return Math.floor((100 * part) / whole);
}

/** Units a wave counts (exclusions left out), by the API's counts. */
export function unitTotal(units) {
  return units.pending + units.moving + units.converged + units.failed;
}

export function hostTotal(hosts) {
  return hosts.pending + hosts.upgrading + hosts.converged + hosts.failed;
}

/**
 * Share of a wave on the new revision: units and VM hosts whose injected sidecar / proxy runs `to` (the API's
 * `onTarget`). An older planner without `onTarget` counts converged units only while the wave moves to `to`;
 * a failed-back wave then shows no share rather than a bar that fills as units leave.
 */
export function waveShare(wave, to) {
  const desired = wave.desiredRevision ?? (['rolled-back', 'rolling-back'].includes(wave.state) ? undefined : to);
  const onTarget = wave.onTarget ?? {
    units: desired === to ? wave.units.converged : 0,
    vmHosts: desired === to ? wave.vmHosts.converged : 0,
  };
  return {
    units: { on: onTarget.units, total: unitTotal(wave.units), pct: percent(onTarget.units, unitTotal(wave.units)) },
    vmHosts: {
      on: onTarget.vmHosts,
      total: hostTotal(wave.vmHosts),
      pct: percent(onTarget.vmHosts, hostTotal(wave.vmHosts)),
    },
    movingBack: desired !== undefined && desired !== to,
  };
}

/** The wave an operator's approval would release now, if any (never on a finished rollout). */
export function waveAwaitingApproval(status) {
  if (TERMINAL_PHASES.includes(status.phase)) return undefined;
  return (status.waveStatuses ?? []).find(
    (w) => w.approval && !w.approved && ['awaiting-approval', 'pending'].includes(w.state),
  );
}

/**
 * The actions offered on a rollout: those the role may take and that apply in its phase (the planner still
 * answers 409 to one that no longer does). A viewer is offered none.
 */
export function actionsFor(status, role) {
  if (!roleAllows(role, 'operator') || TERMINAL_PHASES.includes(status.phase)) return [];
  const { phase } = status;
  const actions = [];
  const waiting = waveAwaitingApproval(status);
  if (waiting) actions.push({ action: 'approve', label: `Approve wave “${waiting.name}”`, tone: 'primary' });
  if (phase === 'Paused' || phase === 'Halted') actions.push({ action: 'resume', label: 'Resume', tone: 'primary' });
  if (phase === 'Running' || phase === 'Pending') actions.push({ action: 'pause', label: 'Pause' });
  if (phase !== 'RollingBack') actions.push({ action: 'rollback', label: 'Roll back', tone: 'danger' });
  actions.push({ action: 'abort', label: 'Abort', tone: 'danger' });
  return actions;
}

/** What a timeline entry that came from a verdict says, with the numbers its message carries. */
function verdictEntry(v) {
  return {
    at: v.at,
    kind: 'verdict',
    tone: v.outcome === 'Failed' ? 'bad' : v.outcome === 'Successful' ? 'ok' : 'idle',
    title: `wave ${v.wave} gate ${v.outcome.toLowerCase()}${v.final ? '' : ' (watch)'} · ${v.reason}`,
    detail: v.message,
    extra: (v.advisory ?? []).map((a) => `advisory ${a.source}: ${a.outcome} · ${a.message}`),
    units: v.failed ?? [],
  };
}

function transitionEntry(t) {
  const halt = t.to === 'Halted' || t.to === 'Failed' || t.to === 'RollingBack';
  return {
    at: t.at,
    kind: 'transition',
    tone: halt ? 'bad' : t.to === 'Completed' ? 'ok' : 'idle',
    title: `${t.from} → ${t.to}`,
    detail: `${t.reason} (${t.trigger}, ${t.actor})`,
    extra: [],
    units: [],
  };
}

/** Audit actions that are not transitions already shown: approvals, exclusions and inclusions, retries, freezes. */
const AUDIT_SHOWN = ['approve', 'exclude', 'include', 'retry', 'freeze', 'unfreeze', 'create'];
/** Audit actions a short timeline keeps however old: who a rollout left out or took back. */
const AUDIT_NOTABLE = ['exclude', 'include'];

/** An audited unit (a key, or the exclusion's `{cluster, namespace, kind?, name?}`) as its key. */
function keyOfUnit(u) {
  if (typeof u === 'string') return u;
  return [u?.cluster, u?.namespace, u?.kind, u?.name].filter((x) => typeof x === 'string').join('/');
}

function unitsOfAudit(e) {
  return Array.isArray(e.detail?.units) ? e.detail.units.map(keyOfUnit) : [];
}

function auditEntry(e) {
  const units = unitsOfAudit(e);
  return {
    at: e.at,
    kind: 'action',
    tone: AUDIT_NOTABLE.includes(e.action) ? 'warn' : 'idle',
    title: `${e.action} by ${e.actor}`,
    detail: e.reason ?? '',
    extra: [],
    units,
  };
}

/** Entries a short timeline keeps however old: halts, failbacks, failed gates, exclusions and inclusions. */
export function isNotable(entry) {
  return entry.tone === 'bad' || entry.tone === 'warn';
}

/**
 * The timeline, newest first: every transition the rollout kept, each decisive or failed gate verdict (watches
 * that passed or could not judge are noise), and the audited actions that are not transitions. Halts and
 * exclusions stay in it after they end.
 */
export function timeline(status, audit = []) {
  const verdicts = (status.gateVerdicts ?? []).filter((v) => v.final || v.outcome === 'Failed');
  const entries = [
    ...(status.transitions ?? []).map(transitionEntry),
    ...verdicts.map(verdictEntry),
    ...audit.filter((e) => AUDIT_SHOWN.includes(e.action)).map(auditEntry),
  ];
  // Newest first. Within one instant, in reverse of the order things happen: a verdict, then the action, then the
  // transition it caused; each list is oldest first.
  const happens = { verdict: 0, action: 1, transition: 2 };
  return entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) =>
      a.e.at !== b.e.at ? (a.e.at < b.e.at ? 1 : -1) : happens[b.e.kind] - happens[a.e.kind] || b.i - a.i,
    )
    .map(({ e }) => e);
}

/** The units a rollout excluded, each with when, by whom and why when the audit says so. */
export function exclusions(status, audit = []) {
  const why = new Map();
  for (const e of audit) {
    if (e.action !== 'exclude') continue;
    for (const k of unitsOfAudit(e)) why.set(k, e);
  }
  return (status.excluded ?? []).map((unit) => ({ unit, entry: why.get(unit) }));
}

/**
 * Units an operator may exclude now to let the rollout go on: those that failed the current wave's gate (still
 * named after the wave was failed back) or are failed in any wave, less what is excluded already. VM hosts are
 * not excluded this way.
 */
export function excludableUnits(status) {
  if (TERMINAL_PHASES.includes(status.phase)) return [];
  const excluded = status.excluded ?? [];
  const keys = new Set();
  for (const v of status.gateVerdicts ?? [])
    if (v.outcome === 'Failed' && v.wave === status.wave) for (const u of v.failed ?? []) keys.add(u);
  for (const w of status.waveStatuses ?? []) for (const f of w.failedUnits ?? []) keys.add(f.unit);
  return [...keys].filter(
    (k) => !k.startsWith('vmgroup/') && unitOfKey(k) && !excluded.some((x) => k === x || k.startsWith(`${x}/`)),
  );
}

/** `cluster/namespace[/kind/name]` → the API's exclusion shape. */
export function unitOfKey(key) {
  const [cluster, namespace, kind, name] = key.split('/');
  if (!cluster || !namespace) return undefined;
  return kind && name ? { cluster, namespace, kind, name } : { cluster, namespace };
}

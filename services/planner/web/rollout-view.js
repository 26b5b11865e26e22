// One rollout: its state told as it is, the actions its viewer's role may take, its waves with a per-cluster
// drill-down, and its timeline.
import { html } from './html.js';
import { useState } from 'preact/hooks';
import {
  TERMINAL_PHASES,
  actionsFor,
  excludableUnits,
  exclusions,
  hostTotal,
  isNotable,
  percent,
  phaseLabel,
  roleAllows,
  timeline,
  unitTotal,
  waveLabel,
  waveShare,
} from './model.js';
import { Badge, Risks, ShareBar, When } from './widgets.js';
import { BurnDown } from './burndown.js';
import { AmbientSteps } from './ambient-view.js';

/** One row of the drill-down: a cluster's units or a VM group's hosts, `counts` in the table's column order. */
function DrillRow({ label, on, total, movingBack, counts }) {
  return html`<tr>
    <td>${label}</td>
    <td><${ShareBar} share=${{ on, total, pct: percent(on, total) ?? 0 }} movingBack=${movingBack} /></td>
    ${counts.map((n) => html`<td class="num">${n}</td>`)}
  </tr>`;
}

/** Per cluster and per VM group of one wave: the share on the new revision and the units by state. */
function WaveDrillDown({ wave, to, movingBack }) {
  // an older planner gives no onTarget: converged counts only while the wave moves to the new revision
  const onTarget = (x, converged) => x.onTarget ?? (movingBack ? 0 : converged);
  return html`<div class="drill" data-testid="wave-drilldown">
    <table>
      <thead>
        <tr>
          <th>cluster</th>
          <th>on ${to}</th>
          <th class="num">pending</th>
          <th class="num">moving</th>
          <th class="num">failed</th>
          <th class="num">excluded</th>
        </tr>
      </thead>
      <tbody>
        ${wave.clusters.map(
          (c) =>
            html`<${DrillRow}
              label=${c.cluster}
              on=${onTarget(c, c.units.converged)}
              total=${unitTotal(c.units)}
              movingBack=${movingBack}
              counts=${[c.units.pending, c.units.moving, c.units.failed, c.units.excluded]}
            />`,
        )}
        ${wave.vmGroups.map(
          (g) =>
            html`<${DrillRow}
              label=${`VM group ${g.group}`}
              on=${onTarget(g, g.hosts.converged)}
              total=${hostTotal(g.hosts)}
              movingBack=${movingBack}
              counts=${[g.hosts.pending, g.hosts.upgrading, g.hosts.failed, '—']}
            />`,
        )}
      </tbody>
    </table>
  </div>`;
}

function FailedUnits({ wave }) {
  if (wave.failedUnits.length === 0) return null;
  return html`<ul class="failed-units">
    ${wave.failedUnits.map(
      (f) =>
        html`<li>
          <code>${f.unit}</code> <span class="bad">${f.reason ?? 'failed'}</span>
          ${f.message ? html` <span class="muted">${f.message}</span>` : null}
        </li>`,
    )}
  </ul>`;
}

/** What failed and may be excluded, each with its button (operators, a live rollout). */
function Excludable({ status, onExclude }) {
  const units = excludableUnits(status);
  if (units.length === 0) return null;
  return html`<section class="panel" data-testid="excludable">
    <h3>Failed: exclude to go on</h3>
    <ul class="failed-units">
      ${units.map(
        (unit) =>
          html`<li>
            <code>${unit}</code>
            <button class="small danger" data-testid="exclude-unit" data-unit=${unit} onClick=${() => onExclude(unit)}>
              Exclude
            </button>
          </li>`,
      )}
    </ul>
  </section>`;
}

function Waves({ status }) {
  const [open, setOpen] = useState(() => new Set([status.wave]));
  const toggle = (i) => setOpen((s) => (s.has(i) ? new Set([...s].filter((x) => x !== i)) : new Set([...s, i])));
  return html`<ol class="waves">
    ${status.waveStatuses.map((w) => {
      const share = waveShare(w, status.to);
      const isOpen = open.has(w.index);
      return html`<li
        class=${`wave ${w.index === status.wave ? 'current' : ''}`}
        data-testid="wave"
        data-state=${w.state}
      >
        <button class="wave-head" aria-expanded=${isOpen} onClick=${() => toggle(w.index)}>
          <span class="wave-name">${w.index + 1}. ${w.name}</span>
          <${Badge} label=${waveLabel(w)} testid="wave-state" />
          ${w.approval ? html`<span class="muted">${w.approved ? 'approved' : 'needs approval'}</span>` : null}
        </button>
        <div class="wave-shares">
          <${ShareBar} share=${share.units} movingBack=${share.movingBack} failed=${w.units.failed} />
          ${
            share.vmHosts.total > 0
              ? html`<span class="muted">VM hosts</span>
                  <${ShareBar} share=${share.vmHosts} movingBack=${share.movingBack} failed=${w.vmHosts.failed} />`
              : null
          }
        </div>
        <${FailedUnits} wave=${w} />
        ${isOpen ? html`<${WaveDrillDown} wave=${w} to=${status.to} movingBack=${share.movingBack} />` : null}
      </li>`;
    })}
  </ol>`;
}

const STEP_TONES = { pending: 'idle', active: 'live', done: 'ok', 'rolled-back': 'warn' };
const gatewayStepLabel = (state) => ({ text: state, tone: STEP_TONES[state] ?? 'idle' });

/** The gateway steps after the waves and each gateway's share on the new revision (ADR 0050). */
function GatewaySteps({ status }) {
  const g = status.gateways;
  if (g === undefined) return null;
  return html`<section class="panel" data-testid="gateways">
    <h3>Gateways</h3>
    <ol class="waves">
      ${g.steps.map(
        (s) =>
          html`<li
            class=${`wave ${s.wave === status.wave ? 'current' : ''}`}
            data-testid="gateway-step"
            data-state=${s.state}
          >
            <span class="wave-name">${s.name}</span>
            <${Badge} label=${gatewayStepLabel(s.state)} testid="gateway-step-state" />
          </li>`,
      )}
    </ol>
    <ul>
      ${g.gateways.map(
        (x) =>
          html`<li data-testid="gateway">
            <code>${x.cluster}/${x.namespace}/${x.name}</code> ${x.percent}% on ${status.to}: ${x.state}
            ${x.reason ? html`<span class="muted"> (${x.reason})</span>` : null}
          </li>`,
      )}
    </ul>
  </section>`;
}

function Timeline({ status, audit }) {
  const entries = timeline(status, audit);
  const [all, setAll] = useState(false);
  // the short timeline: the newest entries, and every halt, failback and exclusion however old
  const shown = all ? entries : entries.filter((e, i) => i < 12 || isNotable(e));
  return html`<section class="panel">
    <h3>Timeline</h3>
    <ol class="timeline" data-testid="timeline">
      ${shown.map(
        (e) =>
          html`<li class=${`${e.kind} ${e.tone}`}>
            <${When} at=${e.at} /> <b>${e.title}</b>
            ${e.detail ? html`<div class="muted">${e.detail}</div>` : null}
            ${e.extra.map((x) => html`<div class="muted">${x}</div>`)}
            ${e.units.length ? html`<div><code>${e.units.slice(0, 5).join(', ')}</code>${e.units.length > 5 ? ` and ${e.units.length - 5} more` : ''}</div>` : null}
          </li>`,
      )}
    </ol>
    ${
      entries.length > 12
        ? html`<button class="link" onClick=${() => setAll(!all)}>
            ${all ? 'show fewer' : `show all ${entries.length}`}
          </button>`
        : null
    }
  </section>`;
}

/** What is excluded, by whom and why; with `onInclude` (operators, a live rollout) a button to take each back. */
function Exclusions({ status, audit, onInclude }) {
  const list = exclusions(status, audit);
  if (list.length === 0) return null;
  return html`<section class="panel">
    <h3>Excluded (${list.length})</h3>
    <ul class="exclusions" data-testid="exclusions">
      ${list.map(
        ({ unit, entry }) =>
          html`<li>
            <code>${unit}</code>
            ${entry ? html` <span class="muted">by ${entry.actor} at <${When} at=${entry.at} />${entry.reason ? `: ${entry.reason}` : ''}</span>` : null}
            ${
              onInclude
                ? html` <button
                    class="small"
                    data-testid="include-unit"
                    data-unit=${unit}
                    onClick=${() => onInclude(unit)}
                  >
                    Include back
                  </button>`
                : null
            }
          </li>`,
      )}
    </ul>
  </section>`;
}

/** Revisions and trace, as far as the API gives them (older planners give fewer fields). */
function Facts({ status }) {
  const trace = status.traceId
    ? status.traceUrl
      ? html`<a href=${status.traceUrl} rel="noreferrer">${status.traceId}</a>`
      : html`<code>${status.traceId}</code>`
    : null;
  return html`<dl class="facts">
    <dt>revisions</dt>
    <dd><code>${status.from}</code> → <code>${status.to}</code></dd>
    <dt>deadline</dt>
    <dd><${When} at=${status.deadline} /> <span class="muted">${status.deadline}</span></dd>
    ${
      TERMINAL_PHASES.includes(status.phase)
        ? html`<dt>ended</dt>
            <dd><${When} at=${status.updatedAt} /></dd>`
        : html`<dt>estimated</dt>
            <dd>
              <${When} at=${status.estimatedCompletion} />
              ${status.deadlineAtRisk ? html` <b class="bad" data-testid="deadline-at-risk">deadline at risk</b>` : null}
            </dd>`
    }
    ${
      trace
        ? html`<dt>trace</dt>
            <dd data-testid="trace">${trace}</dd>`
        : null
    }
    <dt>id</dt>
    <dd><code>${status.id}</code></dd>
  </dl>`;
}

/**
 * A rollout card. `act(id, action, reason)`, `exclude(id, unitKey, reason)` and `include(id, unitKey, reason)` send
 * the action; `confirm(pending)` opens the confirm dialog. A viewer sees no button at all.
 */
export function RolloutCard({ status, audit, role, confirm, act, exclude, include }) {
  const phase = phaseLabel(status);
  const actions = actionsFor(status, role);
  const canExclude = roleAllows(role, 'operator') && !TERMINAL_PHASES.includes(status.phase);
  const onExclude = (unit) =>
    confirm({
      title: `Exclude ${unit}?`,
      detail: 'It stays on its current revision and leaves this rollout; the exclusion stays in the timeline.',
      confirmLabel: 'Exclude',
      tone: 'danger',
      run: (reason) => exclude(status.id, unit, reason),
    });
  const onInclude = (unit) =>
    confirm({
      title: `Include ${unit} back?`,
      detail: 'It moves with the next wave that has not started (or the running forced wave).',
      confirmLabel: 'Include back',
      run: (reason) => include(status.id, unit, reason),
    });
  return html`<article class="rollout" data-testid="rollout" data-id=${status.id} data-phase=${status.phase}>
    <header>
      <h2>${status.name}</h2>
      <${Badge} label=${phase} testid="rollout-phase" />
      <span class="muted">wave ${Math.min(status.wave + 1, status.waves)} of ${status.waves}</span>
    </header>
    ${status.reason ? html`<p class="reason">${status.reason}</p>` : null}
    ${status.freeze?.frozen ? html`<p class="banner warn">Fleet frozen by ${status.freeze.by}: ${status.freeze.reason}</p>` : null}
    ${
      actions.length > 0
        ? html`<div class="actions" data-testid="actions">
            ${actions.map(
              (a) =>
                html`<button
                  class=${a.tone ?? ''}
                  data-testid=${`action-${a.action}`}
                  onClick=${() =>
                    confirm({
                      title: `${a.label}: ${status.name}`,
                      confirmLabel: a.label,
                      tone: a.tone,
                      run: (reason) => act(status.id, a.action, reason),
                    })}
                >
                  ${a.label}
                </button>`,
            )}
          </div>`
        : null
    }
    <div class="columns">
      <div>
        ${canExclude ? html`<${Excludable} status=${status} onExclude=${onExclude} />` : null}
        <${Waves} status=${status} />
        <${AmbientSteps} status=${status} />
        <${GatewaySteps} status=${status} />
        <${BurnDown} burndown=${status.burndown} to=${status.to} />
        <${Risks} risks=${status.risks ?? status.preflight?.risks} />
      </div>
      <div>
        <${Facts} status=${status} />
        <${Exclusions} status=${status} audit=${audit} onInclude=${canExclude ? onInclude : undefined} />
        <${Timeline} status=${status} audit=${audit} />
      </div>
    </div>
  </article>`;
}

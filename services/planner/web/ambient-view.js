// Ambient mode in a rollout (ADR 0051): its node waves and waypoint steps, and per cluster each node agent's nodes
// on the target version, the nodes held cordoned now and the waypoints moved.
import { html } from './html.js';
import { percent } from './model.js';
import { Badge, ShareBar } from './widgets.js';

const STEP_TONES = { pending: 'idle', active: 'live', done: 'ok' };
const MOVE_TONES = { pending: 'idle', moving: 'live', converged: 'ok', failed: 'bad' };
const label = (state, tones) => ({ text: state, tone: tones[state] ?? 'idle' });
const share = (on, total) => ({ on, total, pct: percent(on, total) ?? 0 });

/** One node agent of one cluster: nodes on its version, the nodes cordoned for it now, its state. */
function NodeAgentRow({ cluster, agent }) {
  return html`<tr data-testid="ambient-node-agent" data-cluster=${cluster} data-component=${agent.component}>
    <td>${cluster}</td>
    <td>${agent.component} <span class="muted">→ ${agent.version}</span></td>
    <td><${ShareBar} share=${share(agent.onTarget, agent.nodes)} /></td>
    <td data-testid="ambient-cordoned">${agent.cordoned.length > 0 ? agent.cordoned.join(', ') : '—'}</td>
    <td>
      <${Badge} label=${label(agent.state, MOVE_TONES)} testid="ambient-node-agent-state" />
      ${agent.reason ? html`<div class="muted">${agent.reason}</div>` : null}
    </td>
  </tr>`;
}

/** The ambient steps after the workload waves, and each cluster's node agents and waypoints. */
export function AmbientSteps({ status }) {
  const a = status.ambient;
  if (a === undefined) return null;
  return html`<section class="panel" data-testid="ambient">
    <h3>Ambient mode</h3>
    <ol class="waves">
      ${a.steps.map(
        (s) =>
          html`<li
            class=${`wave ${s.wave === status.wave ? 'current' : ''}`}
            data-testid="ambient-step"
            data-state=${s.state}
          >
            <span class="wave-name">${s.name}</span>
            <span class="muted">${` · ${s.size} ${s.component === 'waypoints' ? 'waypoints' : 'nodes'} `}</span>
            <${Badge} label=${label(s.state, STEP_TONES)} testid="ambient-step-state" />
          </li>`,
      )}
    </ol>
    <div class="drill">
      <table>
        <thead>
          <tr>
            <th>cluster</th>
            <th>node agent</th>
            <th>nodes on version</th>
            <th>cordoned now</th>
            <th>state</th>
          </tr>
        </thead>
        <tbody>
          ${a.clusters.flatMap((c) => [
            ...c.nodeAgents.map((agent) => html`<${NodeAgentRow} cluster=${c.cluster} agent=${agent} />`),
            c.waypoints
              ? html`<tr data-testid="ambient-waypoints" data-cluster=${c.cluster}>
                  <td>${c.cluster}</td>
                  <td>waypoints <span class="muted">→ ${status.to}</span></td>
                  <td><${ShareBar} share=${share(c.waypoints.moved, c.waypoints.total)} /></td>
                  <td>—</td>
                  <td></td>
                </tr>`
              : null,
          ])}
        </tbody>
      </table>
    </div>
  </section>`;
}

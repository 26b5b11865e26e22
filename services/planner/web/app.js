// The dashboard: a login form, then the rollouts and the fleet, reloaded when the event stream says something
// changed (ADR 0037); only finished rollouts, which have no more events, are read again on a slow timer.
import { render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiFailure, coalesced, followEvents, request, tokenStore } from './api.js';
import { html } from './html.js';
import { TERMINAL_PHASES, roleAllows, unitOfKey } from './model.js';
import { RolloutCard } from './rollout-view.js';
import { ConfirmDialog } from './widgets.js';

/**
 * Rollouts whose details the page follows: the newest ones. A finished rollout has no more events, but its agents
 * still report (a gateway's old Deployment removed after the end): it is read again every `FINISHED_POLL_MS` with
 * its entity tag, which costs the planner no status build while nothing changed (a 304).
 */
const MAX_FOLLOWED = 20;
const FINISHED_POLL_MS = 5000;
/** The least time between two reloads of one resource while events keep coming. */
const SPACING_MS = 400;
/** The fleet view changes with every unit that moves; it is reloaded less often than a rollout. */
const FLEET_SPACING_MS = 2000;
/** How long after the server closed the event stream the page opens it again. */
const RECONNECT_MS = 5000;

function Login({ onToken, error }) {
  const [token, setToken] = useState('');
  return html`<main class="login">
    <form
      onSubmit=${(e) => {
        e.preventDefault();
        if (token.trim()) onToken(token.trim());
      }}
      data-testid="login"
    >
      <h1>meshwave</h1>
      <label for="token">API token</label>
      <input
        id="token"
        type="password"
        autocomplete="current-password"
        data-testid="login-token"
        value=${token}
        onInput=${(e) => setToken(e.currentTarget.value)}
      />
      <p class="muted">Kept in this tab only (session storage) and sent in the Authorization header.</p>
      ${error ? html`<p class="bad" role="alert" data-testid="login-error">${error}</p>` : null}
      <button type="submit" class="primary" data-testid="login-submit">Sign in</button>
    </form>
  </main>`;
}

function FleetPanel({ fleet }) {
  if (!fleet) return null;
  return html`<section class="panel fleet" data-testid="fleet">
    <h2>Fleet</h2>
    <table>
      <thead>
        <tr>
          <th>cluster / VM group</th>
          <th class="num">units</th>
          <th>per revision</th>
        </tr>
      </thead>
      <tbody>
        ${fleet.clusters.map(
          (c) =>
            html`<tr>
              <td>${c.name}</td>
              <td class="num">${c.workloads}</td>
              <td>
                ${Object.entries(c.revisions)
                  .map(([r, n]) => `${r}: ${n}`)
                  .join(' · ')}
                ${
                  c.ambient > 0
                    ? html`${Object.keys(c.revisions).length > 0 ? ' · ' : ''}<span
                          data-testid="fleet-ambient"
                          title="sidecarless workloads of ambient namespaces: their data plane is the node's ztunnel"
                          >ambient (ztunnel): ${c.ambient}</span
                        >`
                    : null
                }
                ${c.mismatched > 0 ? html` <span class="warn">${c.mismatched} not injected as labelled</span>` : null}
              </td>
            </tr>`,
        )}
        ${fleet.vmGroups.map(
          (g) =>
            html`<tr>
              <td>VM ${g.name}</td>
              <td class="num">${g.hosts}</td>
              <td>
                ${Object.entries(g.versions)
                  .map(([r, n]) => `${r}: ${n}`)
                  .join(' · ')}
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
    <h3>Revisions in use</h3>
    <ul class="revisions">
      ${fleet.revisions.map(
        (r) =>
          html`<li>
            <code>${r.revision}</code> ${r.workloads} workloads, ${r.vmHosts} VM hosts
            ${r.safeToRemove === true ? html` <span class="ok">safe to remove</span>` : null}
            ${r.safeToRemove === false ? html` <span class="muted">still needed</span>` : null}
          </li>`,
      )}
    </ul>
  </section>`;
}

function Header({ identity, freeze, stream, confirm, setFreeze, signOut }) {
  const canFreeze = roleAllows(identity.role, 'operator');
  return html`<header class="top">
    <h1>meshwave</h1>
    <span class=${`stream ${stream}`} data-testid="stream">${stream === 'live' ? '● live' : '○ reconnecting…'}</span>
    ${freeze?.frozen ? html`<span class="badge warn" data-testid="frozen">fleet frozen</span>` : null}
    <span class="who" data-testid="identity">${identity.name} · ${identity.role}</span>
    ${
      canFreeze
        ? html`<button
            data-testid=${freeze?.frozen ? 'action-unfreeze' : 'action-freeze'}
            class=${freeze?.frozen ? '' : 'danger'}
            onClick=${() =>
              confirm({
                title: freeze?.frozen ? 'Lift the fleet freeze?' : 'Freeze the whole fleet?',
                detail: freeze?.frozen
                  ? 'Rollouts go on where they stopped.'
                  : 'Every active rollout stops starting restarts and waves at once.',
                confirmLabel: freeze?.frozen ? 'Unfreeze' : 'Freeze',
                tone: freeze?.frozen ? 'primary' : 'danger',
                run: (reason) => setFreeze(!freeze?.frozen, reason),
              })}
          >
            ${freeze?.frozen ? 'Unfreeze' : 'Freeze fleet'}
          </button>`
        : null
    }
    <button class="link" onClick=${signOut}>sign out</button>
  </header>`;
}

/** Everything the page shows, and the loaders the event stream triggers. */
function useDashboardData(token, onUnauthorized) {
  const [list, setList] = useState([]);
  const [statuses, setStatuses] = useState({});
  const [audits, setAudits] = useState({});
  const [fleet, setFleet] = useState();
  const [freeze, setFreeze] = useState();
  const [stream, setStream] = useState('reconnecting');
  const [error, setError] = useState('');
  const [generation, setGeneration] = useState(0);
  const finished = useRef(new Set());
  const followed = useRef([]);
  const etags = useRef(new Map());
  const loaders = useRef(new Map());
  const get = async (path, options) => {
    try {
      const body = await request(token, path, options);
      setError('');
      return body;
    } catch (err) {
      if (err instanceof ApiFailure && err.status === 401) onUnauthorized(err.message);
      else setError(`${path}: ${err.message}`);
      throw err;
    }
  };
  const loaderOf = (key, load, spacingMs = SPACING_MS) => {
    if (!loaders.current.has(key)) loaders.current.set(key, coalesced(load, spacingMs));
    return loaders.current.get(key);
  };
  const reloadRollout = (id) =>
    loaderOf(`rollout:${id}`, async () => {
      const read = await get(`/v1/rollouts/${encodeURIComponent(id)}`, { tagged: true, etag: etags.current.get(id) });
      if (!read.modified) return;
      const s = read.body;
      if (read.etag) etags.current.set(id, read.etag);
      else etags.current.delete(id);
      if (TERMINAL_PHASES.includes(s.phase)) finished.current.add(id);
      setStatuses((m) => ({ ...m, [id]: s }));
    })();
  const reloadAudit = (id) =>
    loaderOf(`audit:${id}`, async () => {
      const a = await get(`/v1/rollouts/${encodeURIComponent(id)}/audit`);
      setAudits((m) => ({ ...m, [id]: a.entries }));
    })();
  const reloadList = loaderOf('list', async () => {
    const { rollouts } = await get('/v1/rollouts');
    const newest = [...rollouts].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1)).slice(0, MAX_FOLLOWED);
    setList(newest);
    followed.current = newest.map((r) => r.id);
    for (const r of newest) {
      if (finished.current.has(r.id)) continue;
      reloadRollout(r.id);
      reloadAudit(r.id);
    }
  });
  const reloadFleet = loaderOf('fleet', async () => setFleet(await get('/v1/fleet')), FLEET_SPACING_MS);
  const reloadFreeze = loaderOf('freeze', async () => setFreeze(await get('/v1/freeze')));
  const reloadAll = () => {
    finished.current.clear();
    reloadList();
    reloadFleet();
    reloadFreeze();
  };
  useEffect(() => {
    reloadAll();
    const polling = setInterval(() => {
      for (const id of followed.current) if (finished.current.has(id)) reloadRollout(id);
    }, FINISHED_POLL_MS);
    const unfollow = followEvents(token, {
      onOpen: () => {
        setStream('live');
        reloadAll();
      },
      onDrop: () => setStream('reconnecting'),
      // The server refused the stream (a revoked token, too many streams) or the page is going away: only a token
      // the API no longer knows signs the person out; otherwise the stream is opened again a little later.
      onClosed: () => {
        setStream('reconnecting');
        request(token, '/v1/whoami').then(
          () => setTimeout(() => setGeneration((g) => g + 1), RECONNECT_MS),
          (err) => err.status === 401 && onUnauthorized('the token is no longer valid: sign in again'),
        );
      },
      onEvent: (e) => {
        reloadRollout(e.rolloutId);
        if (e.type !== 'progress') reloadList();
        if (e.type === 'action' || e.type === 'transition') reloadAudit(e.rolloutId);
        if (e.type === 'action') reloadFreeze();
        reloadFleet();
      },
    });
    return () => {
      clearInterval(polling);
      unfollow();
    };
  }, [token, generation]);
  return { list, statuses, audits, fleet, freeze, stream, error, reloadRollout, reloadAudit, reloadFreeze };
}

function Dashboard({ token, identity, signOut }) {
  const data = useDashboardData(token, signOut);
  const [pending, setPending] = useState();
  const [notice, setNotice] = useState('');
  const send = async (path, method, body, then) => {
    const res = await request(token, path, { method, body });
    setNotice(res?.message ?? '');
    then();
  };
  const act = (id, action, reason) =>
    send(`/v1/rollouts/${encodeURIComponent(id)}/${action}`, 'POST', { reason }, () => {
      data.reloadRollout(id);
      data.reloadAudit(id);
    });
  // `exclude` a unit, or `include` an excluded one back: the same body
  const membership = (action) => (id, key, reason) =>
    send(`/v1/rollouts/${encodeURIComponent(id)}/${action}`, 'POST', { units: [unitOfKey(key)], reason }, () => {
      data.reloadRollout(id);
      data.reloadAudit(id);
    });
  const setFreeze = (frozen, reason) =>
    send('/v1/freeze', frozen ? 'POST' : 'DELETE', { reason }, () => data.reloadFreeze());
  const shown = useMemo(() => data.list.filter((r) => data.statuses[r.id]), [data.list, data.statuses]);
  return html`<div class="page">
    <${Header}
      identity=${identity}
      freeze=${data.freeze}
      stream=${data.stream}
      confirm=${setPending}
      setFreeze=${setFreeze}
      signOut=${() => signOut('')}
    />
    ${data.error ? html`<p class="banner bad" role="alert">${data.error}</p>` : null}
    ${notice ? html`<p class="banner ok" data-testid="notice">${notice}</p>` : null}
    ${
      data.freeze?.frozen
        ? html`<p class="banner warn">
            Fleet frozen since ${data.freeze.since} by ${data.freeze.by}: ${data.freeze.reason}
          </p>`
        : null
    }
    <main>
      ${shown.length === 0 ? html`<p class="muted" data-testid="no-rollouts">No rollouts yet.</p>` : null}
      ${shown.map(
        (r) =>
          html`<${RolloutCard}
            key=${r.id}
            status=${data.statuses[r.id]}
            audit=${data.audits[r.id] ?? []}
            role=${identity.role}
            confirm=${setPending}
            act=${act}
            exclude=${membership('exclude')}
            include=${membership('include')}
          />`,
      )}
      <${FleetPanel} fleet=${data.fleet} />
    </main>
    <${ConfirmDialog} pending=${pending} onClose=${() => setPending(undefined)} />
  </div>`;
}

function App() {
  const [token, setToken] = useState(() => tokenStore.get());
  const [identity, setIdentity] = useState();
  const [error, setError] = useState('');
  useEffect(() => {
    if (!token) return;
    request(token, '/v1/whoami').then(setIdentity, (err) => {
      tokenStore.clear();
      setToken('');
      setError(err.status === 401 ? 'That token is not valid here.' : err.message);
    });
  }, [token]);
  const signOut = (why) => {
    tokenStore.clear();
    setIdentity(undefined);
    setToken('');
    setError(why);
  };
  if (!token) return html`<${Login} error=${error} onToken=${(t) => (tokenStore.set(t), setError(''), setToken(t))} />`;
  if (!identity) return html`<p class="muted loading">Checking the token…</p>`;
  return html`<${Dashboard} token=${token} identity=${identity} signOut=${signOut} />`;
}

const mount = document.getElementById('app');
mount.replaceChildren();
render(html`<${App} />`, mount);

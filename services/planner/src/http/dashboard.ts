import type { FastifyInstance } from 'fastify';

/**
 * The dashboard: one static page that reads the same API as the CLI (`/v1/rollouts`, `/v1/fleet`) with the
 * operator's bearer token. The page itself holds no data, so it needs no token; the token is read from the
 * URL fragment (`/#token=...`, never sent to the server) or asked for, kept in the tab's session storage, and
 * sent in the Authorization header only (a token in a URL ends up in logs and histories: ADR 0014). A finished
 * rollout's status never changes, so it is fetched once: a tab sends two requests a second plus one per active
 * rollout, however many rollouts are listed, well within the per-token rate limit.
 */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>meshwave</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;color:#1d2330;background:#f7f8fa}
 h1{font-size:1.3rem;margin:0 0 .2rem} h2{font-size:1.05rem;margin:1.4rem 0 .4rem}
 .muted{color:#667} .bad{color:#b3261e} .ok{color:#1b7f3b}
 table{border-collapse:collapse;background:#fff;min-width:40rem} td,th{padding:.3rem .6rem;border-bottom:1px solid #e4e6eb;text-align:left}
 .bar{display:inline-block;width:14rem;height:.7rem;background:#e4e6eb;border-radius:.35rem;overflow:hidden;vertical-align:middle}
 .bar span{display:block;height:100%;background:#2f6fdb} .bar span.failed{background:#b3261e}
 code{font-size:.85em}
</style></head><body>
<h1>meshwave</h1><div class="muted" id="where"></div>
<h2>Rollouts</h2><div id="rollouts" class="muted">loading…</div>
<h2>Fleet</h2><div id="fleet" class="muted">loading…</div>
<script>
const h = (s) => String(s).replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get('token')) { sessionStorage.setItem('meshwave-token', fragment.get('token')); history.replaceState(null, '', location.pathname); }
let token = sessionStorage.getItem('meshwave-token') || '';
async function api(path) {
  const res = await fetch(path, { headers: { authorization: 'Bearer ' + token } });
  if (res.status === 401) { token = prompt('meshwave API token') || ''; sessionStorage.setItem('meshwave-token', token); throw new Error('401'); }
  if (!res.ok) throw new Error(res.status + ' ' + (await res.text()));
  return res.json();
}
const bar = (done, failed, total) => total === 0 ? '<span class="muted">-</span>' :
  '<span class="bar"><span style="width:' + (100 * done / total) + '%"></span></span> ' + done + '/' + total + (failed ? ' <span class="bad">' + failed + ' failed</span>' : '');
const FINAL = ['Completed', 'RolledBack', 'Failed'];
const finished = new Map();
async function render() {
  document.getElementById('where').textContent = location.host + ' — refreshed ' + new Date().toLocaleTimeString();
  const list = await api('/v1/rollouts');
  const parts = [];
  for (const r of list.rollouts) {
    let s = finished.get(r.id);
    if (!s) { s = await api('/v1/rollouts/' + encodeURIComponent(r.id)); if (FINAL.includes(s.phase)) finished.set(r.id, s); }
    const cls = s.phase === 'Completed' ? 'ok' : ['Halted', 'Failed', 'RolledBack', 'RollingBack'].includes(s.phase) ? 'bad' : '';
    parts.push('<p><b>' + h(s.name) + '</b> <code>' + h(s.id) + '</code> ' + h(s.from) + ' → ' + h(s.to) +
      ' <b class="' + cls + '">' + h(s.phase) + (s.wavePhase ? '/' + h(s.wavePhase) : '') + '</b>' + (s.reason ? ' — ' + h(s.reason) : '') +
      '<br><span class="muted">deadline ' + h(s.deadline) + ', estimated completion ' + h(s.estimatedCompletion) + (s.deadlineAtRisk ? ' <b class="bad">at risk</b>' : '') + '</span></p>');
    parts.push('<table><tr><th>wave</th><th>state</th><th>units</th><th>VM hosts</th></tr>' + s.waveStatuses.map((w) => {
      const u = w.units, v = w.vmHosts;
      const ut = u.pending + u.moving + u.converged + u.failed, vt = v.pending + v.upgrading + v.converged + v.failed;
      return '<tr><td>' + w.index + ' ' + h(w.name) + (w.approval ? (w.approved ? ' (approved)' : ' (needs approval)') : '') + '</td><td>' + h(w.state) +
        '</td><td>' + bar(u.converged, u.failed, ut) + '</td><td>' + bar(v.converged, v.failed, vt) + '</td></tr>';
    }).join('') + '</table>');
    const verdict = s.gateVerdicts[s.gateVerdicts.length - 1];
    if (verdict) parts.push('<p>gate: <b>' + h(verdict.outcome) + '</b> ' + h(verdict.reason) + ' — ' + h(verdict.message) + '</p>');
    parts.push('<details><summary>transitions</summary><ul>' + s.transitions.slice(-15).reverse().map((t) =>
      '<li><code>' + h(t.at) + '</code> ' + h(t.from) + ' → ' + h(t.to) + ' (' + h(t.trigger) + ', ' + h(t.actor) + '): ' + h(t.reason) + '</li>').join('') + '</ul></details>');
  }
  document.getElementById('rollouts').innerHTML = parts.join('') || 'no rollouts';
  const fleet = await api('/v1/fleet');
  document.getElementById('fleet').innerHTML = '<table><tr><th>cluster</th><th>workloads</th><th>per revision</th></tr>' +
    fleet.clusters.map((c) => '<tr><td>' + h(c.name) + '</td><td>' + c.workloads + '</td><td>' +
      Object.entries(c.revisions).map(([r, n]) => h(r) + ': ' + n).join(', ') + '</td></tr>').join('') +
    fleet.vmGroups.map((g) => '<tr><td>vm: ' + h(g.name) + '</td><td>' + g.hosts + '</td><td>' +
      Object.entries(g.versions).map(([r, n]) => h(r) + ': ' + n).join(', ') + '</td></tr>').join('') + '</table>' +
    '<p>revisions in use: ' + fleet.revisions.map((r) => '<b>' + h(r.revision) + '</b> (' + r.workloads + ' workloads, ' + r.vmHosts + ' VM hosts)').join(', ') + '</p>';
}
async function loop() { try { await render(); } catch (e) { document.getElementById('rollouts').textContent = 'API: ' + e.message; } setTimeout(loop, 1000); }
loop();
</script></body></html>`;

export function registerDashboard(app: FastifyInstance): void {
  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(PAGE),
  );
}

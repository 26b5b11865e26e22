// Small building blocks of the dashboard: a badge, a share bar, the confirm dialog, optional panels.
import { html } from './html.js';
import { useState } from 'preact/hooks';

/** A state in words, coloured by tone (ok, live, warn, bad, idle). */
export function Badge({ label, testid }) {
  return html`<span class=${`badge ${label.tone}`} data-testid=${testid}>${label.text}</span>`;
}

/**
 * A share on the new revision: `on` of `total`, the percentage in words beside the bar. A wave being failed
 * back shows its bar hatched, so a share going down never reads as progress.
 */
export function ShareBar({ share, movingBack, failed = 0 }) {
  if (share.total === 0) return html`<span class="muted">—</span>`;
  const width = `${share.pct ?? 0}%`;
  return html`<span class="share">
    <span class=${`bar${movingBack ? ' back' : ''}`} role="img" aria-label=${`${share.pct}% on the new revision`}>
      <span style=${{ width }}></span>
    </span>
    <span class="pct">${share.pct}%</span>
    <span class="muted">${share.on}/${share.total}</span>
    ${failed > 0 ? html`<span class="bad"> · ${failed} failed</span>` : null}
  </span>`;
}

/**
 * Asks before an action is sent, with the person's reason (required: it goes into the audit). `pending` is
 * `{ title, detail, confirmLabel, tone, run(reason) }`; the dialog closes when `run` succeeds and shows its error
 * otherwise.
 */
export function ConfirmDialog({ pending, onClose }) {
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  if (!pending) return null;
  const submit = async (e) => {
    e.preventDefault();
    if (!reason.trim()) return setError('Say why: the reason goes into the audit log.');
    setBusy(true);
    setError('');
    try {
      await pending.run(reason.trim());
      setReason('');
      onClose();
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="overlay" role="dialog" aria-modal="true" aria-labelledby="confirm-title">
    <form class="dialog" onSubmit=${submit} data-testid="confirm-dialog">
      <h3 id="confirm-title">${pending.title}</h3>
      ${pending.detail ? html`<p class="muted">${pending.detail}</p>` : null}
      <label for="confirm-reason">Reason (recorded in the audit log)</label>
      <textarea
        id="confirm-reason"
        data-testid="confirm-reason"
        rows="3"
        maxlength="1000"
        required
        value=${reason}
        onInput=${(e) => setReason(e.currentTarget.value)}
      ></textarea>
      ${error ? html`<p class="bad" role="alert">${error}</p>` : null}
      <div class="buttons">
        <button type="button" onClick=${() => (setError(''), onClose())} disabled=${busy}>Cancel</button>
        <button type="submit" class=${pending.tone ?? 'primary'} data-testid="confirm-submit" disabled=${busy}>
          ${busy ? 'Sending…' : pending.confirmLabel}
        </button>
      </div>
    </form>
  </div>`;
}

/** Preflight risks, when the API gives them: each with its code or severity and its message. */
export function Risks({ risks }) {
  const list = Array.isArray(risks) ? risks : [];
  if (list.length === 0) return null;
  return html`<section class="panel">
    <h3>Preflight risks</h3>
    <ul class="risks">
      ${list.map(
        (r) =>
          html`<li class=${r.severity === 'high' || r.severity === 'error' ? 'bad' : 'warn'}>
            <b>${r.code ?? r.severity ?? 'risk'}</b> ${r.message ?? JSON.stringify(r)}
          </li>`,
      )}
    </ul>
  </section>`;
}

/** Local time of an ISO instant, short; the instant itself in the tooltip. */
export function When({ at }) {
  if (!at) return null;
  const d = new Date(at);
  return html`<time datetime=${at} title=${at}>${d.toLocaleTimeString([], { hour12: false })}</time>`;
}

// The deadline burn-down (issue 18) as the API gives it in `status.burndown`: units on `to` over time, the
// projection from each cluster's observed rate, and the deadline.
import { html } from './html.js';

/** The chart's drawing box, in SVG user units: time runs along x, units on `to` up y (0 at the bottom). */
export const CHART = { width: 300, height: 100, top: 6, bottom: 92 };

const timeOf = (iso) => Date.parse(iso);

/** Room left after the work on the chart's time axis, as a share of the work's span. */
const ROOM = 0.25;

/**
 * The chart's time axis: from the first sample to the end of the work (the last sample or the projection, the
 * later), plus a quarter for room. A deadline within that room stretches the axis to it; a deadline further away
 * stays off the chart (marked at its right edge), so a four-week deadline does not squeeze an hour of work into
 * its first pixels.
 */
export function timeAxis(firstAt, lastAt, projected, deadline) {
  const work = Number.isNaN(projected) ? lastAt : Math.max(lastAt, projected);
  const room = Math.max(1, work - firstAt) * ROOM;
  const deadlineOnChart = !Number.isNaN(deadline) && deadline <= work + room;
  const end = deadlineOnChart ? Math.max(work, deadline) : work + room;
  return { start: firstAt, span: Math.max(1, end - firstAt), deadlineOnChart };
}

/**
 * Where each part of the burn-down goes on the chart, pure (no DOM): `points` (one per sample, in order, each
 * with its `at` and `onTarget`), the `projection` from the last sample to every unit on `to` at the projected
 * completion, and `deadlineX` (the right edge, with `deadlineBeyond`, when the deadline is off the chart). Null
 * when there is nothing to draw (no burn-down, or no sample yet).
 */
export function burndownGeometry(burndown) {
  const samples = Array.isArray(burndown?.samples) ? burndown.samples : [];
  if (samples.length === 0 || !(burndown.total > 0)) return null;
  const projected = timeOf(burndown.projectedCompletion);
  const deadline = timeOf(burndown.deadline);
  const axis = timeAxis(timeOf(samples[0].at), timeOf(samples[samples.length - 1].at), projected, deadline);
  const { start, span } = axis;
  const x = (t) => ((t - start) / span) * CHART.width;
  const y = (n) => CHART.bottom - (n / burndown.total) * (CHART.bottom - CHART.top);
  const points = samples.map((s) => ({ at: s.at, onTarget: s.onTarget, x: x(timeOf(s.at)), y: y(s.onTarget) }));
  const last = points[points.length - 1];
  const done = burndown.onTarget >= burndown.total;
  return {
    points,
    projection:
      done || Number.isNaN(projected)
        ? null
        : { x1: last.x, y1: last.y, x2: x(Math.max(projected, timeOf(last.at))), y2: y(burndown.total) },
    deadlineX: Number.isNaN(deadline) ? null : axis.deadlineOnChart ? x(deadline) : CHART.width,
    deadlineBeyond: !Number.isNaN(deadline) && !axis.deadlineOnChart,
    totalY: y(burndown.total),
  };
}

const fixed = (n) => n.toFixed(1);
const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour12: false });

/** The chart, when the API gives a burn-down with at least one sample. */
export function BurnDown({ burndown, to }) {
  const g = burndownGeometry(burndown);
  if (g === null) return null;
  const late = burndown.atRisk !== undefined;
  return html`<figure class="burndown" data-testid="burndown">
    <svg
      viewBox=${`0 0 ${CHART.width} ${CHART.height}`}
      role="img"
      aria-label=${`units on ${to} over time against the deadline`}
    >
      <line x1="0" x2=${CHART.width} y1=${fixed(g.totalY)} y2=${fixed(g.totalY)} class="total" />
      ${g.deadlineX !== null ? html`<line x1=${fixed(g.deadlineX)} x2=${fixed(g.deadlineX)} y1="0" y2=${CHART.height} class=${`deadline${g.deadlineBeyond ? ' beyond' : ''}`} data-testid="burndown-deadline"><title>deadline ${clock(burndown.deadline)}${g.deadlineBeyond ? ' (later than the chart shows)' : ''}</title></line>` : null}
      ${g.projection ? html`<line x1=${fixed(g.projection.x1)} y1=${fixed(g.projection.y1)} x2=${fixed(g.projection.x2)} y2=${fixed(g.projection.y2)} class=${`projection${late ? ' late' : ''}`} data-testid="burndown-projection" />` : null}
      <polyline points=${g.points.map((p) => `${fixed(p.x)},${fixed(p.y)}`).join(' ')} data-testid="burndown-line" />
      ${g.points.map(
        (p) =>
          html`<circle cx=${fixed(p.x)} cy=${fixed(p.y)} r="1.8"
            ><title>${clock(p.at)}: ${p.onTarget} of ${burndown.total} on ${to}</title></circle
          >`,
      )}
    </svg>
    <figcaption class="muted">
      ${burndown.onTarget} of ${burndown.total} units on ${to} · projected ${clock(burndown.projectedCompletion)} ·
      deadline ${clock(burndown.deadline)}${g.deadlineBeyond ? ' →' : ''}
      ${late ? html` · <b class="bad">${burndown.atRisk.reason}</b>` : null}
    </figcaption>
  </figure>`;
}

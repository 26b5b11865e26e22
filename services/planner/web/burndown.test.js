import { describe, expect, it } from 'vitest';
import { CHART, burndownGeometry } from './burndown.js';

function newBurndown(patch = {}) {
  return {
    total: 10,
    onTarget: 4,
    samples: [
      { at: '2026-12-06T10:00:00.000Z', onTarget: 0 },
      { at: '2026-12-06T10:10:00.000Z', onTarget: 4 },
    ],
    projectedCompletion: '2026-12-06T10:30:00.000Z',
    deadline: '2026-12-06T10:40:00.000Z',
    slowClusters: [],
    ...patch,
  };
}

describe('burndownGeometry', () => {
  it('puts each sample at its time and count, the projection up to every unit at the projected time, the deadline last', () => {
    const g = burndownGeometry(newBurndown({ deadline: '2026-12-06T10:35:00.000Z' }));
    // the deadline is within the room after the work (30 min + a quarter): time spans the first sample to it
    const at = (minutes) => (CHART.width * minutes) / 35;
    expect(g.points.map((p) => [p.onTarget, p.y])).toEqual([
      [0, CHART.bottom],
      [4, CHART.bottom - 0.4 * (CHART.bottom - CHART.top)],
    ]);
    expect(g.points.map((p) => p.x)).toEqual([0, at(10)]);
    expect(g.deadlineX).toBe(CHART.width);
    expect(g.deadlineBeyond).toBe(false);
    expect(g.projection).toMatchObject({ x1: at(10), y1: g.points[1].y, y2: CHART.top });
    expect(g.projection.x2).toBeCloseTo(at(30));
  });

  it('stretches time to a projection later than the deadline, and draws none once every unit is on `to`', () => {
    const late = burndownGeometry(newBurndown({ projectedCompletion: '2026-12-06T10:50:00.000Z' }));
    expect(late.projection.x2).toBe(CHART.width);
    expect(late.deadlineX).toBe(CHART.width * 0.8);
    expect(burndownGeometry(newBurndown({ onTarget: 10 })).projection).toBeNull();
  });

  it('keeps a deadline far beyond the work off the chart (marked at its right edge), so the work fills the chart', () => {
    const g = burndownGeometry(newBurndown({ deadline: '2026-12-27T10:00:00.000Z' }));
    // the work ends at the projection, 30 minutes after the first sample; a quarter more for room
    expect(g.deadlineBeyond).toBe(true);
    expect(g.deadlineX).toBe(CHART.width);
    expect(g.points[1].x).toBeCloseTo(CHART.width * (10 / 37.5));
    expect(g.projection.x2).toBeCloseTo(CHART.width * (30 / 37.5));
  });

  it('draws nothing without a burn-down or a sample', () => {
    expect(burndownGeometry(undefined)).toBeNull();
    expect(burndownGeometry(newBurndown({ samples: [] }))).toBeNull();
    expect(burndownGeometry(newBurndown({ total: 0 }))).toBeNull();
  });
});

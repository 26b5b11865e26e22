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
    const g = burndownGeometry(newBurndown());
    // time spans the first sample (x 0) to the deadline (x = width), 40 minutes
    expect(g.points.map((p) => [p.onTarget, p.x, p.y])).toEqual([
      [0, 0, CHART.bottom],
      [4, CHART.width / 4, CHART.bottom - 0.4 * (CHART.bottom - CHART.top)],
    ]);
    expect(g.deadlineX).toBe(CHART.width);
    expect(g.projection).toEqual({
      x1: CHART.width / 4,
      y1: g.points[1].y,
      x2: (CHART.width * 3) / 4,
      y2: CHART.top,
    });
  });

  it('stretches time to a projection later than the deadline, and draws none once every unit is on `to`', () => {
    const late = burndownGeometry(newBurndown({ projectedCompletion: '2026-12-06T10:50:00.000Z' }));
    expect(late.projection.x2).toBe(CHART.width);
    expect(late.deadlineX).toBe(CHART.width * 0.8);
    expect(burndownGeometry(newBurndown({ onTarget: 10 })).projection).toBeNull();
  });

  it('draws nothing without a burn-down or a sample', () => {
    expect(burndownGeometry(undefined)).toBeNull();
    expect(burndownGeometry(newBurndown({ samples: [] }))).toBeNull();
    expect(burndownGeometry(newBurndown({ total: 0 }))).toBeNull();
  });
});

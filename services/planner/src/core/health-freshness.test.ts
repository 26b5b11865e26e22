import { describe, expect, it } from 'vitest';
import {
  HEALTH_REPORT_MAX_AGE_MS,
  HEALTH_REPORT_MAX_SKEW_MS,
  futureGenerationRefusal,
  healthReportRefusal,
} from './health-freshness.js';

const NOW = Date.parse('2026-12-06T10:00:00Z');
const at = (ms: number): string => new Date(ms).toISOString();

describe('healthReportRefusal', () => {
  it('takes a fresh report with a generation above the last one taken', () => {
    expect(healthReportRefusal(undefined, { generation: 5, observedAt: at(NOW) }, NOW)).toBeUndefined();
    expect(healthReportRefusal({ generation: 5 }, { generation: 6, observedAt: at(NOW - 1000) }, NOW)).toBeUndefined();
  });

  it('refuses a replay: a generation equal to or below the last one taken', () => {
    expect(healthReportRefusal({ generation: 5 }, { generation: 5, observedAt: at(NOW) }, NOW)).toMatch(/^replayed/);
    expect(healthReportRefusal({ generation: 5 }, { generation: 2, observedAt: at(NOW) }, NOW)).toMatch(/^replayed/);
  });

  it('refuses a stale report and one from the future, even as the first from its source', () => {
    const old = { generation: 9, observedAt: at(NOW - HEALTH_REPORT_MAX_AGE_MS - 1) };
    expect(healthReportRefusal(undefined, old, NOW)).toMatch(/^stale/);
    expect(healthReportRefusal(undefined, { generation: 9, observedAt: at(NOW + 3_600_000) }, NOW)).toMatch(/future/);
  });
});

describe('futureGenerationRefusal', () => {
  it('takes a generation up to the allowed skew ahead of the clock, refuses one beyond it (a forged MAX_SAFE_INTEGER)', () => {
    expect(futureGenerationRefusal(NOW + HEALTH_REPORT_MAX_SKEW_MS, NOW)).toBeUndefined();
    expect(futureGenerationRefusal(7, NOW)).toBeUndefined();
    expect(futureGenerationRefusal(NOW + HEALTH_REPORT_MAX_SKEW_MS + 1, NOW)).toMatch(/^from the future: generation/);
    expect(futureGenerationRefusal(Number.MAX_SAFE_INTEGER, NOW)).toMatch(/^from the future/);
  });

  it('refuses a fresh health report whose generation is far ahead, so it never shadows the genuine ones after it', () => {
    const forged = { generation: Number.MAX_SAFE_INTEGER, observedAt: at(NOW) };
    expect(healthReportRefusal(undefined, forged, NOW)).toMatch(/^from the future: generation/);
    expect(healthReportRefusal({ generation: NOW - 1 }, { generation: NOW, observedAt: at(NOW) }, NOW)).toBeUndefined();
  });
});

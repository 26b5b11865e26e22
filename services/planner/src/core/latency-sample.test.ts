import { describe, expect, it } from 'vitest';
import { LATENCY_SAMPLE_LIMIT, latencySampleOf } from './latency-sample.js';
import type { MetricTarget } from './metric-samples.js';

const targets = (n: number): MetricTarget[] =>
  Array.from({ length: n }, (_, i) => {
    const cluster = `c-${i % 50}`;
    const namespace = `ns-${i % 7}`;
    const name = `app-${i}`;
    return { unit: `${cluster}/${namespace}/Deployment/${name}`, cluster, namespace, name };
  });

describe('latencySampleOf', () => {
  it('Given a cohort of 100,000 units, When sampled, Then at most the limit, the same units in any order', () => {
    const cohort = targets(100_000);
    const sample = latencySampleOf(cohort);
    expect(sample).toHaveLength(LATENCY_SAMPLE_LIMIT);
    expect(new Set(sample.map((t) => t.unit)).size).toBe(LATENCY_SAMPLE_LIMIT);
    const reversed = latencySampleOf([...cohort].reverse());
    expect(reversed.map((t) => t.unit)).toEqual(sample.map((t) => t.unit));
  });

  it('Given a cohort within the limit, When sampled, Then every unit', () => {
    const cohort = targets(LATENCY_SAMPLE_LIMIT);
    expect(latencySampleOf(cohort)).toEqual(cohort);
  });
});

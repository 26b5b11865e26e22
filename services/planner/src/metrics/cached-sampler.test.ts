import { WavePhase } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { newHarness } from '../core/engine-harness.js';
import { MetricObservationKind, type MetricObservation } from '../core/metric-samples.js';
import type { RolloutState } from '../core/rollout-state.js';
import { cachedMetricSampler } from './cached-sampler.js';

const OBSERVATION = { kind: MetricObservationKind.NotConfigured } as unknown as MetricObservation;

/** A backend whose answers come only when the test says so. */
function newSlowBackend(): { fetch: () => Promise<MetricObservation>; answer: () => void; fetches: () => number } {
  const pending: ((o: MetricObservation) => void)[] = [];
  return {
    fetch: () => new Promise<MetricObservation>((resolve) => pending.push(resolve)),
    answer: () => pending.shift()?.(OBSERVATION),
    fetches: () => pending.length,
  };
}

/** A rollout with a metric gate whose first wave was just dispatched (Converging). */
function newConverging(): { h: ReturnType<typeof newHarness>; state: RolloutState } {
  const h = newHarness({ gates: { errorRate: { max: 0.01 } } });
  h.reconcile();
  expect(h.state.wavePhase).toBe(WavePhase.Converging);
  return { h, state: h.state };
}

const settled = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('cachedMetricSampler', () => {
  it('Given a converging wave and a slow backend, When reconciles sample, Then none waits; the sample fetched meanwhile is used once it arrives', () => {
    const { h, state } = newConverging();
    const backend = newSlowBackend();
    const sampler = cachedMetricSampler(backend.fetch, { maxWindowSeconds: 300, cacheMs: 60_000 });
    let refreshed = 0;
    const onRefreshed = (): void => void refreshed++;

    // the answer is there at once (no promise to wait on): nothing yet, one fetch in flight
    expect(sampler.sample(h.record, state, h.now, onRefreshed)).toEqual({ pending: true });
    expect(sampler.sample(h.record, state, h.now, onRefreshed)).toEqual({ pending: true });
    expect(backend.fetches()).toBe(1);
    return settleThen(backend, () => {
      expect(refreshed).toBe(1);
      expect(sampler.sample(h.record, state, h.now, onRefreshed)).toEqual({ observation: OBSERVATION, pending: false });
    });
  });

  it('Given a soaking wave and a slow backend, When a reconcile samples, Then it does not wait either: the sample is pending (a final verdict waits for it), then fresh', () => {
    const { h, state } = newConverging();
    const soaking: RolloutState = { ...state, wavePhase: WavePhase.Soaking, soakStartedAt: h.now.toISOString() };
    const backend = newSlowBackend();
    let now = 0;
    const sampler = cachedMetricSampler(backend.fetch, { maxWindowSeconds: 300, cacheMs: 2_000, clock: () => now });
    let refreshed = 0;
    const onRefreshed = (): void => void refreshed++;
    expect(sampler.sample(h.record, soaking, h.now, onRefreshed)).toEqual({ pending: true });
    return settleThen(backend, () => {
      expect(refreshed).toBe(1);
      expect(sampler.sample(h.record, soaking, h.now, onRefreshed)).toEqual({
        observation: OBSERVATION,
        pending: false,
      });
      // older than the cache: the last sample is still handed to watches, pending a new one
      now = 2_000;
      expect(sampler.sample(h.record, soaking, h.now, onRefreshed)).toEqual({
        observation: OBSERVATION,
        pending: true,
      });
      expect(backend.fetches()).toBe(1);
    });
  });
});

/** Answers the backend's oldest query, lets its callbacks run, then checks. */
async function settleThen(backend: ReturnType<typeof newSlowBackend>, check: () => void): Promise<void> {
  backend.answer();
  await settled();
  check();
}

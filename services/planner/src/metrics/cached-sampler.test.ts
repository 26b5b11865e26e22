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
  it('Given a converging wave and a slow backend, When reconciles sample, Then none waits; the sample fetched meanwhile is used once it arrives', async () => {
    const { h, state } = newConverging();
    const backend = newSlowBackend();
    const sampler = cachedMetricSampler(backend.fetch, { maxWindowSeconds: 300, cacheMs: 60_000 });
    let refreshed = 0;
    const onRefreshed = (): void => void refreshed++;

    // a reconcile that would wait for the backend never resolves here: this one resolves at once
    expect(await sampler.sample(h.record, state, h.now, onRefreshed)).toBeUndefined();
    expect(await sampler.sample(h.record, state, h.now, onRefreshed)).toBeUndefined();
    expect(backend.fetches()).toBe(1);

    backend.answer();
    await settled();
    expect(refreshed).toBe(1);
    expect(await sampler.sample(h.record, state, h.now, onRefreshed)).toBe(OBSERVATION);
  });

  it('Given a soaking wave, When a reconcile samples, Then it waits for the backend (a final verdict follows the soak)', async () => {
    const { h, state } = newConverging();
    const soaking: RolloutState = { ...state, wavePhase: WavePhase.Soaking, soakStartedAt: h.now.toISOString() };
    const backend = newSlowBackend();
    const sampler = cachedMetricSampler(backend.fetch, { maxWindowSeconds: 300, cacheMs: 60_000 });
    let done = false;
    const sampled = sampler
      .sample(h.record, soaking, h.now, () => undefined)
      .then((o) => {
        done = true;
        return o;
      });
    await settled();
    expect(done).toBe(false);
    backend.answer();
    expect(await sampled).toBe(OBSERVATION);
  });
});

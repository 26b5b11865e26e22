import { WavePhase } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { newHarness } from '../core/engine-harness.js';
import { MetricObservationKind, type MetricObservation, type MetricQuery } from '../core/metric-samples.js';
import type { RolloutRecord, RolloutState } from '../core/rollout-state.js';
import { cachedMetricSampler } from './cached-sampler.js';

const OBSERVATION = { kind: MetricObservationKind.NotConfigured } as unknown as MetricObservation;

/** A backend whose answers come only when the test says so; `asked`: the instant each query was evaluated at. */
function newSlowBackend(): {
  fetch: (q: MetricQuery, now: Date) => Promise<MetricObservation>;
  answer: () => void;
  fetches: () => number;
  asked: () => number[];
} {
  const pending: ((o: MetricObservation) => void)[] = [];
  const asked: number[] = [];
  return {
    fetch: (_q, now) => {
      asked.push(now.getTime());
      return new Promise<MetricObservation>((resolve) => pending.push(resolve));
    },
    answer: () => pending.shift()?.(OBSERVATION),
    fetches: () => pending.length,
    asked: () => asked,
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

  it('Given a sample fetched during the soak and still young, When the soak elapses, Then the final gate does not get it: it waits for a sample evaluated since the soak ended', () => {
    const { h, state } = newConverging();
    const soakStart = h.now.getTime();
    const soaking: RolloutState = {
      ...state,
      wavePhase: WavePhase.Soaking,
      soakStartedAt: new Date(soakStart).toISOString(),
    };
    const withSoak = soakOf(h.record, 3);
    const backend = newSlowBackend();
    let clock = 0;
    const sampler = cachedMetricSampler(backend.fetch, { maxWindowSeconds: 300, cacheMs: 2_000, clock: () => clock });
    const noop = (): void => undefined;
    // a watch's sample, 1 s into the 3 s soak
    expect(sampler.sample(withSoak, soaking, new Date(soakStart + 1_000), noop)).toEqual({ pending: true });
    return settleThen(backend, () => {
      // When the soak has elapsed 1.5 s later (the sample is younger than the cache's 2 s)
      clock = 1_500;
      const atSoakEnd = new Date(soakStart + 3_000);
      const gating: RolloutState = { ...soaking, wavePhase: WavePhase.Gating };
      // Then the final gate waits for a new sample, evaluated at the soak's end
      expect(sampler.sample(withSoak, gating, atSoakEnd, noop)).toEqual({ observation: OBSERVATION, pending: true });
      expect(backend.asked()).toEqual([soakStart + 1_000, soakStart + 3_000]);
      return settleThen(backend, () => {
        expect(sampler.sample(withSoak, gating, atSoakEnd, noop)).toEqual({ observation: OBSERVATION, pending: false });
      });
    });
  });

  it('Given a final verdict that could not judge its sample, When its retry is due, Then the retry is judged on a sample evaluated since, not on the one it could not judge', () => {
    const { h, state } = newConverging();
    const soakStart = h.now.getTime();
    const withSoak = soakOf(h.record, 3);
    const gating: RolloutState = {
      ...state,
      wavePhase: WavePhase.Gating,
      soakStartedAt: new Date(soakStart).toISOString(),
    };
    const backend = newSlowBackend();
    let clock = 0;
    const sampler = cachedMetricSampler(backend.fetch, { maxWindowSeconds: 300, cacheMs: 2_000, clock: () => clock });
    const noop = (): void => undefined;
    const judgedAt = soakStart + 3_000;
    expect(sampler.sample(withSoak, gating, new Date(judgedAt), noop)?.pending).toBe(true);
    return settleThen(backend, () => {
      // the final verdict on it was Inconclusive: retried 1 s later, the sample still younger than the cache
      expect(sampler.sample(withSoak, gating, new Date(judgedAt), noop)?.pending).toBe(false);
      const retrying: RolloutState = { ...gating, gateRetryAt: new Date(judgedAt + 1_000).toISOString() };
      clock = 500;
      // before the retry is due nothing new is needed: no verdict is judged then
      expect(sampler.sample(withSoak, retrying, new Date(judgedAt + 500), noop)?.pending).toBe(false);
      clock = 1_000;
      expect(sampler.sample(withSoak, retrying, new Date(judgedAt + 1_000), noop)).toEqual({
        observation: OBSERVATION,
        pending: true,
      });
      expect(backend.asked()).toEqual([judgedAt, judgedAt + 1_000]);
    });
  });
});

/** The record with every wave soaking `seconds`. */
function soakOf(record: RolloutRecord, seconds: number): RolloutRecord {
  return { ...record, plan: { ...record.plan, waves: record.plan.waves.map((w) => ({ ...w, soakSeconds: seconds })) } };
}

/** Answers the backend's oldest query, lets its callbacks run, then checks. */
async function settleThen(backend: ReturnType<typeof newSlowBackend>, check: () => void): Promise<void> {
  backend.answer();
  await settled();
  check();
}

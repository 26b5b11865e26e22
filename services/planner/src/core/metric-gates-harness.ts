// Gate requests and metric samples the metric gate tests share (not built into dist).
import type { Gates } from '@meshwave/contracts';
import type { GateRequest } from './health-source.js';
import { MetricObservationKind, type MetricObservation, type WorkloadTraffic } from './metric-samples.js';

/** the start of every sample window here */
export const WINDOW_START = new Date('2026-11-02T09:00:00Z');
const T0 = WINDOW_START;

export function newRequest(gates: Gates, metrics: MetricObservation | undefined, final = true): GateRequest {
  return {
    rolloutId: 'r1',
    wave: 0,
    final,
    gates,
    units: [],
    watched: [],
    vmHosts: [],
    metricWindowStart: T0.toISOString(),
    ...(metrics ? { metrics } : {}),
  };
}

export function samples(current: WorkloadTraffic[], baseline: WorkloadTraffic[] = []): MetricObservation {
  return {
    kind: MetricObservationKind.Samples,
    samples: { wave: 0, windowStart: T0.toISOString(), windowSeconds: 120, current, baseline },
  };
}

export const w = (name: string, requests: number, errors: number, p99Ms?: number): WorkloadTraffic => ({
  workload: `c1/shop/${name}`,
  requests,
  errors,
  ...(p99Ms !== undefined ? { p99Ms } : {}),
});

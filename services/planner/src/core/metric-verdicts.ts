// What both metric gates share: the samples a request may be judged on, and how numbers read in a verdict.
import { GateOutcome, GateReason } from '@meshwave/contracts';
import type { GateRequest, SourceVerdict } from './health-source.js';
import { MetricObservationKind, type MetricSamples } from './metric-samples.js';

export const PASS_SILENTLY: SourceVerdict = {
  outcome: GateOutcome.Successful,
  reason: GateReason.NothingToMove,
  message: '',
  failed: [],
};

export function pct(ratio: number): string {
  const v = ratio * 100;
  return `${v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(2)}%`;
}

export function ms(v: number): string {
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)}ms`;
}

export function list(items: readonly string[], max = 5): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

/** `cluster/ns/name` → `ns/name` (with the cluster when there is one: `cluster/ns/name`). */
export function label(workload: string): string {
  return workload.startsWith('/') ? workload.slice(1) : workload;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

interface Judged {
  readonly verdict: SourceVerdict;
}

/**
 * The samples the request may be judged on, or the verdict when there are none: a watch (not final) never
 * blocks on missing metrics, the final evaluation waits (Inconclusive) or reports the backend's error.
 */
export function usableSamples(request: GateRequest, what: string): MetricSamples | Judged {
  const m = request.metrics;
  if (m === undefined || m.kind === MetricObservationKind.NotConfigured) {
    if (!request.final) return { verdict: PASS_SILENTLY };
    return {
      verdict: {
        outcome: GateOutcome.Inconclusive,
        reason: GateReason.MetricsNotConfigured,
        message: `${what} needs Prometheus and this planner has none configured (MESHWAVE_PROMETHEUS_URL); the wave waits`,
        failed: [],
      },
    };
  }
  if (m.kind === MetricObservationKind.Unavailable) {
    if (!request.final || m.wave !== request.wave) return { verdict: PASS_SILENTLY };
    return {
      verdict: {
        outcome: GateOutcome.Error,
        reason: GateReason.MetricsUnavailable,
        message: `${what}: metrics unavailable (${m.code}): ${m.message}`,
        failed: [],
      },
    };
  }
  const s = m.samples;
  const sameWindow = s.wave === request.wave && s.windowStart === request.metricWindowStart;
  if (!sameWindow) {
    if (!request.final) return { verdict: PASS_SILENTLY };
    return {
      verdict: {
        outcome: GateOutcome.Inconclusive,
        reason: GateReason.MetricsInsufficient,
        message: `${what}: no samples yet for the window since ${request.metricWindowStart ?? 'the wave started'}`,
        failed: [],
      },
    };
  }
  return s;
}

export function insufficient(request: GateRequest, message: string): SourceVerdict {
  return request.final
    ? { outcome: GateOutcome.Inconclusive, reason: GateReason.MetricsInsufficient, message, failed: [] }
    : PASS_SILENTLY;
}

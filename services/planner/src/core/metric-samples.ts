// What a metrics adapter hands the engine and what it must fetch: the data shapes shared by the adapter, the
// health sources that judge samples and the query that names them (kept apart so neither imports the other).

/** What Istio reported for one workload over the evaluation window. */
export interface WorkloadTraffic {
  /** `cluster/namespace/name`; the cluster is empty when the backend has no cluster label */
  readonly workload: string;
  /** requests the workload received (reporter=destination) */
  readonly requests: number;
  /** of which answered 5xx */
  readonly errors: number;
  /** p99 latency in ms from the request-duration histogram; absent without histogram data */
  readonly p99Ms?: number;
  /** the rollout unit it belongs to (`cluster/namespace[/kind/name]`), named in a failed verdict */
  readonly unit?: string;
}

/** Samples of one wave's evaluation window, as the adapter fetched them. */
export interface MetricSamples {
  readonly wave: number;
  /** the window starts here (the wave's convergence, or dispatch while it converges) */
  readonly windowStart: string;
  readonly windowSeconds: number;
  /** the wave's workloads: the new-revision cohort */
  readonly current: readonly WorkloadTraffic[];
  /** comparable workloads still on `from`: the old-revision cohort */
  readonly baseline: readonly WorkloadTraffic[];
  /** set when the baseline is the wave's own workloads in the window before its dispatch (no unit left on `from`) */
  readonly baselineAt?: string;
  /** the latency cohorts' whole sizes and the sample's limit, named in the latency verdict */
  readonly latencySample?: LatencySampleSizes;
}

/** How many units each latency cohort has in all; at most `limit` of each are sampled for their p99. */
export interface LatencySampleSizes {
  readonly limit: number;
  readonly current: number;
  readonly baseline: number;
}

export const MetricObservationKind = {
  Samples: 'samples',
  Unavailable: 'unavailable',
  NotConfigured: 'not-configured',
} as const;

/** What the adapter hands the engine for the current wave. */
export type MetricObservation =
  | { readonly kind: typeof MetricObservationKind.Samples; readonly samples: MetricSamples }
  | {
      readonly kind: typeof MetricObservationKind.Unavailable;
      readonly wave: number;
      /** stable error code, e.g. PROMETHEUS_UNREACHABLE */
      readonly code: string;
      readonly message: string;
    }
  | { readonly kind: typeof MetricObservationKind.NotConfigured };

/** A workload or namespace whose traffic the adapter fetches. */
export interface MetricTarget {
  /** the unit key, `cluster/namespace[/kind/name]` */
  readonly unit: string;
  readonly cluster: string;
  readonly namespace: string;
  /** absent: every workload of the namespace (namespace granularity) */
  readonly name?: string;
  /**
   * A gateway (ADR 0050): its own requests (it reports them as the source), served by its pods on `revision`
   * (`istio.io/rev`), whichever of `workloads` (the gateway's Deployment and its canary copy) runs them
   */
  readonly gateway?: { readonly revision: string; readonly workloads: readonly string[] };
}

/** What the adapter must fetch for a rollout now, or undefined when no metric gate is being evaluated. */
export interface MetricQuery {
  readonly rolloutId: string;
  readonly wave: number;
  readonly windowStart: string;
  readonly windowSeconds: number;
  /** every unit of the wave: its requests and 5xx (the error rate sees every workload) */
  readonly current: readonly MetricTarget[];
  /** a stable sample of `current` whose p99 is fetched (`latencySampleOf`) */
  readonly latencyCurrent: readonly MetricTarget[];
  /** only when `gates.latencyP99` is asked: a stable sample of the old-revision cohort */
  readonly baseline: readonly MetricTarget[];
  readonly latencySample: LatencySampleSizes;
  /**
   * Evaluate the baseline at this instant instead of now: the last wave leaves no unit on `from`, so its own
   * workloads in the window before its dispatch are the old-revision cohort.
   */
  readonly baselineAt?: string;
  readonly errorRate: boolean;
  readonly latency: boolean;
  /**
   * Set once the wave's final verdict may be due (its soak elapsed): only a sample evaluated at or after this
   * instant may be judged on — one whose window covers the whole soak, or, when a final verdict could not judge
   * and is retried, one newer than that retry's time (the cached sample it could not judge on says no more).
   */
  readonly judgedFrom?: string;
}

/** The samples an adapter hands in for `query`: its wave and window, with the traffic it fetched per cohort. */
export function metricSamplesFor(
  query: MetricQuery,
  current: readonly WorkloadTraffic[],
  baseline: readonly WorkloadTraffic[],
): MetricObservation {
  return {
    kind: MetricObservationKind.Samples,
    samples: {
      wave: query.wave,
      windowStart: query.windowStart,
      windowSeconds: query.windowSeconds,
      current,
      baseline,
      ...(query.baselineAt !== undefined ? { baselineAt: query.baselineAt } : {}),
      latencySample: query.latencySample,
    },
  };
}

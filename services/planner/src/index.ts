export * from './errors.js';
export * from './config/config.js';
export * from './core/index.js';
export { buildRolloutStatus, summarizeRollout, estimateCompletion } from './views/rollout-status.js';
export { buildFleetView, buildClusterDetail } from './views/fleet-view.js';
export { buildRevisionsView } from './views/revisions-view.js';
export {
  createPlanner,
  type Planner,
  type CreatePlannerOptions,
  type PlanInput,
  type ActionInput,
  type Readiness,
} from './runtime/planner.js';
export { PlannerMetrics } from './metrics/planner-metrics.js';
export { buildApp, type BuildAppOptions } from './http/app.js';
export {
  DEFAULT_HTTP_LIMITS,
  resolveHttpLimits,
  type HttpLimits,
  type HttpLimitsOverrides,
} from './http/http-limits.js';
export { hashToken, hashTokens, authenticate, roleAllows, type ApiToken } from './http/auth.js';
export {
  createPrometheusClient,
  type PrometheusClient,
  type PrometheusClientOptions,
  type VectorSample,
} from './metrics/prometheus-client.js';
export {
  createMetricSampler,
  promqlOf,
  type MetricSampler,
  type MetricSamplerOptions,
} from './metrics/metric-sampler.js';
export { cachedMetricSampler, type CachedSamplerOptions } from './metrics/cached-sampler.js';

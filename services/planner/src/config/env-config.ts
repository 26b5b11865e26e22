import { readFileSync } from 'node:fs';
import {
  ApiRole,
  formatConfigProblems,
  parseDocumentText,
  Policy,
  parseDurationSeconds,
  readAuditRetention,
  readBackingServices,
  readSigningConfig,
  SIGNING_USAGE,
  type SigningConfig,
  ServiceEnv,
  type BackingServices,
  type ConfigProblem,
} from '@meshwave/contracts';
import { z } from 'zod';
import { hashToken, type ApiToken } from '../http/auth.js';
import type { HttpLimitsOverrides } from '../http/http-limits.js';
import { PlannerError, PlannerErrorCode } from '../errors.js';

/** Everything `main.ts` needs, read from the environment (and the files it names, for secrets). */
export interface PlannerEnvConfig {
  readonly host: string;
  readonly port: number;
  readonly instanceId?: string;
  readonly advertiseUrl?: string;
  /** Kafka and Redis, or in memory when MESHWAVE_IN_MEMORY=true (ADR 0016) */
  readonly backing: BackingServices;
  readonly eventsGroupId?: string;
  readonly tokens: readonly ApiToken[];
  /** absent only in the in-memory mode: the process then signs with a random key of its own */
  readonly signing?: SigningConfig;
  readonly leaseTtlMs?: number;
  readonly resyncAfterMs?: number;
  /** body limit, timeouts and rate limits of the HTTP API; what is not set keeps its default (ADR 0014) */
  readonly http: HttpLimitsOverrides;
  readonly gateRetryMs?: number;
  readonly heartbeatTimeoutMs?: number;
  /** the policy file MESHWAVE_POLICY names, parsed (a bad file stops the planner with its line and column) */
  readonly policy?: Policy;
  /** past this event-loop delay the planner holds judgement (README: Holding judgement) */
  readonly loopLagThresholdMs?: number;
  /** how long audit entries are kept (`MESHWAVE_AUDIT_RETENTION`, default 90d, at least 1d); never a count */
  readonly auditRetentionMs: number;
  /** metric gates (gates.errorRate, gates.latencyP99); absent: rollouts asking for them are refused */
  readonly prometheus?: PrometheusEnvConfig;
}

export interface PrometheusEnvConfig {
  readonly url: string;
  readonly clusterLabel?: string;
  readonly windowSeconds: number;
  readonly timeoutMs: number;
  readonly cacheMs: number;
  readonly minRequests: number;
  readonly minWorkloadRequests: number;
}

const TokenEntry = z.union([
  z.strictObject({
    name: z.string().min(1),
    role: z.enum([ApiRole.Viewer, ApiRole.Operator, ApiRole.Admin]),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'hex SHA-256'),
  }),
  z.strictObject({
    name: z.string().min(1),
    role: z.enum([ApiRole.Viewer, ApiRole.Operator, ApiRole.Admin]),
    token: z.string().min(16, 'a token of at least 16 characters'),
  }),
]);

type Env = Readonly<Record<string, string | undefined>>;

function fail(variable: string, message: string): never {
  throw new PlannerError(PlannerErrorCode.InvalidConfig, `${variable}: ${message}`, { context: { variable } });
}

/** One error naming every variable that is missing or wrong (`context.variables`). */
function failAll(problems: readonly ConfigProblem[]): never {
  throw new PlannerError(PlannerErrorCode.InvalidConfig, formatConfigProblems(problems), {
    context: { variables: problems.map((p) => p.variable), problems },
  });
}

/** `X` itself, or the content of the file `X_FILE` names (Kubernetes mounts secrets as files). */
function secretOf(env: Env, name: string, readFile: (path: string) => string): string | undefined {
  const file = env[`${name}_FILE`];
  if (file !== undefined && file !== '') return readFile(file);
  return env[name];
}

function intOf(env: Env, name: string, min = 1): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) fail(name, `an integer of at least ${min}, got "${v}"`);
  return n;
}

function jsonOf<S extends z.ZodType>(name: string, text: string, schema: S): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    fail(name, 'not valid JSON');
  }
  const r = schema.safeParse(value);
  if (!r.success) fail(name, r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  return r.data;
}

/**
 * Reads the planner's configuration:
 * `MESHWAVE_KAFKA_BROKERS` (comma-separated) and `MESHWAVE_REDIS_URL`, both required unless
 * `MESHWAVE_IN_MEMORY=true` asks for the in-memory bus and store (ADR 0016), `MESHWAVE_TOKENS[_FILE]` (JSON list of
 * `{name, role, sha256}` or `{name, role, token}`; plain tokens are hashed at once), the signing keys
 * (`readSigningConfig`, ADR 0038), `MESHWAVE_PORT` (8080), `MESHWAVE_HOST`
 * (0.0.0.0), `MESHWAVE_INSTANCE_ID`, `MESHWAVE_ADVERTISE_URL`, `MESHWAVE_TOPIC_COMMANDS|EVENTS|DLQ`,
 * `MESHWAVE_LEASE_TTL_MS`, `MESHWAVE_RESYNC_MS`, `MESHWAVE_KAFKA_SESSION_TIMEOUT_MS` (read with the backing
 * services: how soon a dead leader's event consumer is dropped from the group), `MESHWAVE_EVENTS_GROUP_ID` (default
 * meshwave-planner), `MESHWAVE_GATE_RETRY_MS` (how soon an Inconclusive or Error final gate is evaluated again),
 * `MESHWAVE_HEARTBEAT_TIMEOUT_MS` (60000: an agent silent this long makes its cluster Unreachable),
 * `MESHWAVE_POLICY` (a policy file: rules by cluster labels a rollout must keep; ADR 0036).
 * Metric gates: `MESHWAVE_PROMETHEUS_URL` (none: rollouts with gates.errorRate or gates.latencyP99 are refused),
 * `MESHWAVE_PROMETHEUS_CLUSTER_LABEL` (label with the cluster name in a multi-cluster Prometheus),
 * `MESHWAVE_METRICS_WINDOW` (longest evaluation window, default 5m), `MESHWAVE_PROMETHEUS_TIMEOUT_MS` (5000),
 * `MESHWAVE_METRICS_CACHE_MS` (2000), `MESHWAVE_METRICS_MIN_REQUESTS` (100, per wave) and
 * `MESHWAVE_METRICS_MIN_WORKLOAD_REQUESTS` (20, per workload in a latency cohort).
 * HTTP exposure (ADR 0014; defaults in `DEFAULT_HTTP_LIMITS`): `MESHWAVE_BODY_LIMIT` (bytes),
 * `MESHWAVE_HTTP_HEADERS_TIMEOUT_MS`, `MESHWAVE_HTTP_REQUEST_TIMEOUT_MS`, `MESHWAVE_HTTP_IDLE_TIMEOUT_MS`,
 * `MESHWAVE_HTTP_KEEP_ALIVE_TIMEOUT_MS`, `MESHWAVE_RATE_LIMIT_WINDOW_MS`, `MESHWAVE_RATE_LIMIT_PER_TOKEN`,
 * `MESHWAVE_RATE_LIMIT_PER_ADDRESS` (requests per window) and `MESHWAVE_EVENT_STREAMS_PER_CLIENT`.
 * `MESHWAVE_AUDIT_RETENTION` (90d): how long an audit entry is kept, a duration of at least 1d (ADR 0015).
 */
export const PLANNER_USAGE = `usage: meshwave-planner   (configured by environment variables; ADR 0016)
  MESHWAVE_KAFKA_BROKERS        Kafka brokers, comma-separated (required)
  MESHWAVE_REDIS_URL            Redis URL (required)
  MESHWAVE_IN_MEMORY=true       instead of both: in-memory bus and store, a single-process trial
${SIGNING_USAGE}
  MESHWAVE_TOKENS[_FILE]        JSON list of API tokens {name, role, sha256|token} (required)
  MESHWAVE_HOST, MESHWAVE_PORT  listen address (0.0.0.0:8080)
  MESHWAVE_INSTANCE_ID, MESHWAVE_ADVERTISE_URL, MESHWAVE_KAFKA_CLIENT_ID, MESHWAVE_REDIS_KEY_PREFIX,
  MESHWAVE_TOPIC_COMMANDS|EVENTS|DLQ, MESHWAVE_LEASE_TTL_MS, MESHWAVE_RESYNC_MS, MESHWAVE_BODY_LIMIT,
  MESHWAVE_KAFKA_SESSION_TIMEOUT_MS, MESHWAVE_EVENTS_GROUP_ID, MESHWAVE_GATE_RETRY_MS, LOG_LEVEL,
  MESHWAVE_HEARTBEAT_TIMEOUT_MS (60000: an agent silent this long makes its cluster Unreachable)
  MESHWAVE_POLICY               policy file (YAML or JSON): rules by cluster labels, emergencies in blackouts
  MESHWAVE_EVENT_LOOP_DELAY_THRESHOLD_MS (1000: past this event-loop delay the planner holds judgement)
  metric gates: MESHWAVE_PROMETHEUS_URL, MESHWAVE_PROMETHEUS_CLUSTER_LABEL, MESHWAVE_METRICS_WINDOW,
  MESHWAVE_PROMETHEUS_TIMEOUT_MS, MESHWAVE_METRICS_CACHE_MS, MESHWAVE_METRICS_MIN_REQUESTS,
  MESHWAVE_METRICS_MIN_WORKLOAD_REQUESTS`;

export function readPlannerEnv(
  env: Env,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): PlannerEnvConfig {
  const backing = readBackingServices(env);
  const signing = readSigningConfig(env, readFile, { external: backing.services?.mode !== 'in-memory' });
  const problems = [...backing.problems, ...signing.problems];
  if (problems.length > 0 || backing.services === undefined) failAll(problems);
  const tokensText = secretOf(env, 'MESHWAVE_TOKENS', readFile);
  if (!tokensText) fail('MESHWAVE_TOKENS', 'a JSON list of API tokens (or MESHWAVE_TOKENS_FILE)');
  const tokens = jsonOf('MESHWAVE_TOKENS', tokensText, z.array(TokenEntry).min(1)).map((t) => ({
    name: t.name,
    role: t.role,
    sha256: 'sha256' in t ? t.sha256 : hashToken(t.token),
  }));
  const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
    value === undefined || value === '' ? {} : ({ [key]: value } as { [P in K]?: V });
  return {
    host: env.MESHWAVE_HOST || '0.0.0.0',
    // 0 picks a free port (tests); the address is logged
    port: intOf(env, 'MESHWAVE_PORT', 0) ?? 8080,
    ...optional('instanceId', env.MESHWAVE_INSTANCE_ID),
    ...optional('advertiseUrl', env.MESHWAVE_ADVERTISE_URL),
    backing: backing.services,
    ...optional('eventsGroupId', env.MESHWAVE_EVENTS_GROUP_ID),
    tokens,
    ...optional('signing', signing.signing),
    ...optional('leaseTtlMs', intOf(env, 'MESHWAVE_LEASE_TTL_MS')),
    ...optional('resyncAfterMs', intOf(env, 'MESHWAVE_RESYNC_MS')),
    http: httpLimitsOf(env),
    ...optional('gateRetryMs', intOf(env, 'MESHWAVE_GATE_RETRY_MS')),
    ...optional('heartbeatTimeoutMs', intOf(env, 'MESHWAVE_HEARTBEAT_TIMEOUT_MS')),
    ...optional(
      'policy',
      env.MESHWAVE_POLICY ? parseDocumentText(Policy, readFile(env.MESHWAVE_POLICY), env.MESHWAVE_POLICY) : undefined,
    ),
    ...optional('loopLagThresholdMs', intOf(env, ServiceEnv.EventLoopDelayThresholdMs)),
    auditRetentionMs: auditRetentionOf(env),
    ...optional('prometheus', prometheusOf(env)),
  };
}

function auditRetentionOf(env: Env): number {
  const problems: ConfigProblem[] = [];
  const ms = readAuditRetention(env, problems);
  for (const p of problems) fail(p.variable, p.message);
  return ms;
}

function httpLimitsOf(env: Env): HttpLimitsOverrides {
  const optional = <K extends string>(key: K, variable: string): { [P in K]?: number } => {
    const value = intOf(env, variable);
    return value === undefined ? {} : ({ [key]: value } as { [P in K]?: number });
  };
  return {
    ...optional('bodyLimitBytes', 'MESHWAVE_BODY_LIMIT'),
    ...optional('headersTimeoutMs', 'MESHWAVE_HTTP_HEADERS_TIMEOUT_MS'),
    ...optional('requestTimeoutMs', 'MESHWAVE_HTTP_REQUEST_TIMEOUT_MS'),
    ...optional('idleTimeoutMs', 'MESHWAVE_HTTP_IDLE_TIMEOUT_MS'),
    ...optional('keepAliveTimeoutMs', 'MESHWAVE_HTTP_KEEP_ALIVE_TIMEOUT_MS'),
    ...optional('eventStreamsPerClient', 'MESHWAVE_EVENT_STREAMS_PER_CLIENT'),
    rateLimit: {
      ...optional('windowMs', 'MESHWAVE_RATE_LIMIT_WINDOW_MS'),
      ...optional('perToken', 'MESHWAVE_RATE_LIMIT_PER_TOKEN'),
      ...optional('perAddress', 'MESHWAVE_RATE_LIMIT_PER_ADDRESS'),
    },
  };
}

function prometheusOf(env: Env): PrometheusEnvConfig | undefined {
  const url = env.MESHWAVE_PROMETHEUS_URL;
  if (url === undefined || url === '') {
    for (const dependent of ['MESHWAVE_PROMETHEUS_CLUSTER_LABEL', 'MESHWAVE_METRICS_WINDOW'])
      if (env[dependent]) fail(dependent, 'set MESHWAVE_PROMETHEUS_URL too (metric gates need Prometheus)');
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    fail('MESHWAVE_PROMETHEUS_URL', `an http(s) URL such as http://prometheus:9090, got "${url}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    fail('MESHWAVE_PROMETHEUS_URL', `an http(s) URL such as http://prometheus:9090, got "${url}"`);
  const clusterLabel = env.MESHWAVE_PROMETHEUS_CLUSTER_LABEL;
  if (clusterLabel && !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(clusterLabel))
    fail('MESHWAVE_PROMETHEUS_CLUSTER_LABEL', `a Prometheus label name such as cluster, got "${clusterLabel}"`);
  const windowText = env.MESHWAVE_METRICS_WINDOW || '5m';
  const windowSeconds = parseDurationSeconds(windowText);
  if (windowSeconds === undefined || windowSeconds < 1)
    fail('MESHWAVE_METRICS_WINDOW', `a duration such as 5m or 90s, got "${windowText}"`);
  return {
    url,
    ...(clusterLabel ? { clusterLabel } : {}),
    windowSeconds,
    timeoutMs: intOf(env, 'MESHWAVE_PROMETHEUS_TIMEOUT_MS') ?? 5000,
    cacheMs: intOf(env, 'MESHWAVE_METRICS_CACHE_MS', 0) ?? 2000,
    minRequests: intOf(env, 'MESHWAVE_METRICS_MIN_REQUESTS') ?? 100,
    minWorkloadRequests: intOf(env, 'MESHWAVE_METRICS_MIN_WORKLOAD_REQUESTS') ?? 20,
  };
}

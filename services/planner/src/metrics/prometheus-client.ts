// A minimal client of Prometheus' HTTP API: instant queries (`/api/v1/query`) returning vectors. Every failure
// is a PlannerError with a stable code (unreachable, timeout, query failed, bad response), so a gate can say why
// it could not judge.
import { PlannerError, PlannerErrorCode } from '../errors.js';

export interface PrometheusClientOptions {
  /** base URL, e.g. `http://prometheus.monitoring:9090` (a path prefix such as `/prom` is kept) */
  readonly url: string;
  /** per query; also sent as Prometheus' own `timeout` parameter */
  readonly timeoutMs: number;
}

/** One series of an instant vector: its labels and its value (NaN and ±Inf kept as numbers). */
export interface VectorSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PrometheusClient {
  /**
   * Evaluates `promql` at `at` (default: Prometheus' now) and returns the vector; `timeoutMs` replaces the
   * client's own timeout for this query.
   */
  query(promql: string, at?: Date, timeoutMs?: number): Promise<VectorSample[]>;
}

interface ApiAnswer {
  status?: unknown;
  errorType?: unknown;
  error?: unknown;
  data?: { resultType?: unknown; result?: unknown };
}

function parseValue(raw: string): number {
  if (raw === 'NaN') return NaN;
  if (raw === '+Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  return Number(raw);
}

export function createPrometheusClient(options: PrometheusClientOptions): PrometheusClient {
  const endpoint = `${options.url.replace(/\/+$/, '')}/api/v1/query`;
  return {
    async query(promql: string, at?: Date, timeout = options.timeoutMs): Promise<VectorSample[]> {
      const body = new URLSearchParams({
        query: promql,
        timeout: `${Math.max(1, Math.floor(timeout / 1000))}s`,
      });
      if (at !== undefined) body.set('time', (at.getTime() / 1000).toFixed(3));
      const context = { url: options.url, query: promql };
      let res: Response;
      try {
        res = await fetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body,
          signal: AbortSignal.timeout(timeout),
        });
      } catch (cause) {
        const name = (cause as { name?: string }).name;
        if (name === 'TimeoutError' || name === 'AbortError')
          throw new PlannerError(
            PlannerErrorCode.PrometheusTimeout,
            `Prometheus at ${options.url} did not answer within ${timeout} ms`,
            { context, cause, retryable: true },
          );
        const why = (cause as { cause?: { code?: string; message?: string } }).cause;
        throw new PlannerError(
          PlannerErrorCode.PrometheusUnreachable,
          `Prometheus at ${options.url} is unreachable: ${why?.code ?? why?.message ?? (cause as Error).message}`,
          { context, cause, retryable: true },
        );
      }
      let text: string;
      try {
        text = await res.text();
      } catch (cause) {
        throw new PlannerError(
          PlannerErrorCode.PrometheusUnreachable,
          `Prometheus at ${options.url} dropped the answer`,
          {
            context,
            cause,
            retryable: true,
          },
        );
      }
      let answer: ApiAnswer;
      try {
        answer = JSON.parse(text) as ApiAnswer;
      } catch (cause) {
        throw new PlannerError(
          PlannerErrorCode.PrometheusBadResponse,
          `Prometheus at ${options.url} answered HTTP ${res.status} that is not JSON: ${text.slice(0, 120)}`,
          { context: { ...context, status: res.status }, cause, retryable: true },
        );
      }
      if (answer.status === 'error' || !res.ok) {
        const errorType = typeof answer.errorType === 'string' ? answer.errorType : 'unknown';
        const error = typeof answer.error === 'string' ? answer.error : `HTTP ${res.status}`;
        // Prometheus cut the query off at the `timeout` sent with it, before this client's own timer fired: the
        // same slowness, so the same code (the sampler gives the next query more time only on a timeout)
        if (errorType === 'timeout')
          throw new PlannerError(
            PlannerErrorCode.PrometheusTimeout,
            `Prometheus at ${options.url} cut the query off at its timeout of ${timeout} ms: ${error}`,
            { context: { ...context, status: res.status, errorType }, retryable: true },
          );
        throw new PlannerError(
          PlannerErrorCode.PrometheusQueryFailed,
          `Prometheus at ${options.url} refused the query (HTTP ${res.status}, ${errorType}): ${error}`,
          { context: { ...context, status: res.status, errorType }, retryable: true },
        );
      }
      const data = answer.data;
      if (answer.status !== 'success' || data?.resultType !== 'vector' || !Array.isArray(data.result))
        throw new PlannerError(
          PlannerErrorCode.PrometheusBadResponse,
          `Prometheus at ${options.url} answered no instant vector (resultType ${String(data?.resultType)})`,
          { context, retryable: true },
        );
      const out: VectorSample[] = [];
      for (const r of data.result as { metric?: unknown; value?: unknown }[]) {
        const value = Array.isArray(r.value) ? r.value[1] : undefined;
        if (typeof r.metric !== 'object' || r.metric === null || typeof value !== 'string')
          throw new PlannerError(
            PlannerErrorCode.PrometheusBadResponse,
            `Prometheus at ${options.url}: malformed sample`,
            {
              context,
              retryable: true,
            },
          );
        out.push({ metric: r.metric as Record<string, string>, value: parseValue(value) });
      }
      return out;
    },
  };
}

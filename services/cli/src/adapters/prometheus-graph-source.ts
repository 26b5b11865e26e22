import type { ServiceGraph } from '@meshwave/contracts';
import { z } from 'zod';
import {
  MeshError,
  MeshErrorCode,
  istioRequestRateQuery,
  serviceGraphFromIstioRequests,
  type PrometheusSample,
} from '@meshwave/mesh';

// Prometheus's own response shape (a third-party API, not a meshwave contract), checked before use.
const VectorResponse = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('vector'),
    result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) })),
  }),
});

export interface PrometheusGraphOptions {
  /** a query returning pods per workload, as samples labelled `namespace` and `workload` */
  readonly podsQuery?: string;
  /** injected for tests and proxies; defaults to the global fetch */
  readonly fetch?: typeof fetch;
}

/**
 * The I/O edge of the splitter: reads workload-to-workload request rates over `window` from the Prometheus at
 * `baseUrl` and turns them into a service graph (see serviceGraphFromIstioRequests).
 */
export async function fetchServiceGraphFromPrometheus(
  baseUrl: string,
  window: string,
  options: PrometheusGraphOptions = {},
): Promise<ServiceGraph> {
  const doFetch = options.fetch ?? fetch;
  const traffic = await queryVector(doFetch, baseUrl, istioRequestRateQuery(window));
  const pods = options.podsQuery === undefined ? [] : await queryVector(doFetch, baseUrl, options.podsQuery);
  return serviceGraphFromIstioRequests(traffic, pods);
}

async function queryVector(doFetch: typeof fetch, baseUrl: string, query: string): Promise<PrometheusSample[]> {
  const url = new URL('api/v1/query', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  url.searchParams.set('query', query);
  let body: unknown;
  try {
    const res = await doFetch(url, { headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    body = await res.json();
  } catch (cause) {
    throw new MeshError(
      MeshErrorCode.MetricsUnavailable,
      `Prometheus query failed at ${url.origin}: ${String(cause)}`,
      { query },
      { cause },
    );
  }
  const parsed = VectorResponse.safeParse(body);
  if (!parsed.success) {
    throw new MeshError(
      MeshErrorCode.MetricsUnavailable,
      `Prometheus answered something other than an instant vector for ${query}`,
      {
        query,
      },
    );
  }
  return parsed.data.data.result;
}

import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { SpanKind, trace } from '@opentelemetry/api';
import { withSpan } from '@meshwave/telemetry';
import { ClusterAgentError, ClusterAgentErrorCode, codeForStatus } from '../errors.js';
import type { TokenBucket } from './token-bucket.js';
import type { RawObject } from './kubernetes-views.js';

/** Calls to the apiserver: rate-limited, retried, errors mapped to ClusterAgentError. */
export interface ApiCaller {
  /** One API call: rate-limited, retried on 429/5xx/network errors, mapped to ClusterAgentError otherwise. */
  call<T>(verb: string, method: string, path: string, body?: unknown, contentType?: string): Promise<T>;
  /** a GET that answers undefined on 404 */
  getOrUndefined<T>(verb: string, path: string): Promise<T | undefined>;
  /** every page of a collection, with the list's resourceVersion */
  list(path: string): Promise<{ items: RawObject[]; resourceVersion: string }>;
  /** closes the kept-alive connections */
  close(): void;
}

export interface ApiCallerOptions {
  readonly bucket: TokenBucket;
  readonly maxAttempts: number;
  readonly onResponse?: (verb: string, status: number) => void;
}

interface RawResponse {
  readonly status: number;
  readonly json: unknown;
  readonly retryAfterMs?: number;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const tracer = trace.getTracer('@meshwave/cluster-agent/kubernetes');

/**
 * KubeConfig re-reads certificate and token files on every apply; under a 50 req/s budget that is measurable,
 * so credentials are applied once a minute (often enough for rotated in-cluster tokens).
 */
class Credentials {
  private agent: Agent | undefined;
  private cached: { at: number; options: RequestOptions } | undefined;

  constructor(private readonly kc: KubeConfig) {}

  async options(): Promise<RequestOptions> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < 60_000) return this.cached.options;
    const opts: RequestOptions = {};
    await this.kc.applyToHTTPSOptions(opts);
    this.agent ??= new Agent({
      keepAlive: true,
      maxSockets: 32,
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      rejectUnauthorized: opts.rejectUnauthorized,
    });
    this.cached = { at: now, options: { headers: opts.headers ?? {}, agent: this.agent } };
    return this.cached.options;
  }

  close(): void {
    this.agent?.destroy();
  }
}

/** One HTTPS request, its body parsed as JSON when it is JSON. */
function sendOnce(url: URL, base: RequestOptions, method: string, body: unknown, contentType: string) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<RawResponse>((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        ...base,
        method,
        headers: {
          ...base.headers,
          accept: 'application/json',
          ...(payload ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) } : {}),
        },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = text;
          }
          const retryAfter = Number(res.headers['retry-after']);
          resolve({
            status: res.statusCode ?? 0,
            json,
            ...(Number.isFinite(retryAfter) ? { retryAfterMs: retryAfter * 1000 } : {}),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

export function createApiCaller(kc: KubeConfig, server: string, options: ApiCallerOptions): ApiCaller {
  const { bucket, maxAttempts } = options;
  const credentials = new Credentials(kc);

  const call = async <T>(
    verb: string,
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<T> =>
    withSpan(
      tracer,
      `${method}`,
      { kind: SpanKind.CLIENT, attributes: { 'http.request.method': method, 'url.path': path, 'k8s.verb': verb } },
      async (span) => {
        let lastStatus = 0;
        let lastMessage = '';
        for (let attempt = 1; attempt <= maxAttempts; attempt++) {
          await bucket.take();
          let res: RawResponse;
          try {
            res = await sendOnce(new URL(server + path), await credentials.options(), method, body, contentType);
          } catch (err) {
            options.onResponse?.(verb, 0);
            lastStatus = 0;
            lastMessage = err instanceof Error ? err.message : String(err);
            await sleep(Math.min(10_000, 200 * 2 ** (attempt - 1)));
            continue;
          }
          options.onResponse?.(verb, res.status);
          span.setAttribute('http.response.status_code', res.status);
          if (res.status >= 200 && res.status < 300) return res.json as T;
          lastStatus = res.status;
          lastMessage = (res.json as { message?: string } | undefined)?.message ?? `HTTP ${res.status}`;
          if (res.status !== 429 && res.status < 500) break;
          await sleep(Math.min(30_000, res.retryAfterMs ?? 200 * 2 ** (attempt - 1)));
        }
        throw new ClusterAgentError(codeForStatus(lastStatus), `${method} ${path}: ${lastMessage}`, {
          status: lastStatus,
          path,
        });
      },
    );

  return {
    call,
    async getOrUndefined<T>(verb: string, path: string): Promise<T | undefined> {
      try {
        return await call<T>(verb, 'GET', path);
      } catch (err) {
        if (err instanceof ClusterAgentError && err.code === ClusterAgentErrorCode.NotFound) return undefined;
        throw err;
      }
    },
    async list(path) {
      const items: RawObject[] = [];
      let cont: string | undefined;
      let resourceVersion = '';
      do {
        const page = await call<{ items?: RawObject[]; metadata?: { continue?: string; resourceVersion?: string } }>(
          'list',
          'GET',
          `${path}?limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`,
        );
        items.push(...(page.items ?? []));
        cont = page.metadata?.continue || undefined;
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      } while (cont);
      return { items, resourceVersion };
    },
    close: () => credentials.close(),
  };
}

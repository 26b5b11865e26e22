import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import { KubeConfig, PatchStrategy, Watch } from '@kubernetes/client-node';
import { SpanKind, trace } from '@opentelemetry/api';
import { WorkloadKind } from '@meshwave/contracts';
import { silentLogger, withSpan, type Logger } from '@meshwave/telemetry';
import { ClusterAgentError, ClusterAgentErrorCode, codeForStatus } from '../errors.js';
import {
  workloadRefKey,
  type KubernetesPort,
  type Labels,
  type LeaseSpec,
  type LeaseView,
  type NamespaceView,
  type PodView,
  type ResourceViews,
  type WatchHandle,
  type WatchHandler,
  type WatchedResource,
  type WorkloadRef,
  type WorkloadView,
} from '../ports/kubernetes-port.js';
import { TokenBucket } from './token-bucket.js';

export interface KubernetesClientOptions {
  /** path of a kubeconfig file; default: in-cluster config when running in a pod, else the default kubeconfig */
  readonly kubeconfig?: string;
  /** client-side rate limit, requests per second (default 50) and burst (default 100) */
  readonly qps?: number;
  readonly burst?: number;
  /** tries per request on 429, 5xx and network errors (default 6) */
  readonly maxAttempts?: number;
  /** watch restarts back off from 500 ms doubling up to this (default 30 s) */
  readonly maxWatchBackoffMs?: number;
  /** told about every response (status 0: no response), e.g. to count requests and 429s */
  readonly onResponse?: (verb: string, status: number) => void;
  readonly logger?: Logger;
}

export interface KubernetesClient extends KubernetesPort {
  /** stops every watch */
  close(): void;
}

type RawObject = {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    generation?: number;
    deletionTimestamp?: string;
    ownerReferences?: { controller?: boolean }[];
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

const WORKLOAD_RESOURCES: Readonly<Record<WorkloadKind, string>> = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
};

const num = (v: unknown, fallback = 0): number => (typeof v === 'number' ? v : fallback);

export function toNamespaceView(o: RawObject): NamespaceView {
  return {
    name: o.metadata?.name ?? '',
    labels: o.metadata?.labels ?? {},
    resourceVersion: o.metadata?.resourceVersion ?? '',
  };
}

/** One shape for the three workload kinds: their status fields differ in name, not in meaning. */
export function toWorkloadView(kind: WorkloadKind, o: RawObject): WorkloadView {
  const spec = (o.spec ?? {}) as {
    replicas?: number;
    selector?: { matchLabels?: Labels };
    template?: { metadata?: { labels?: Labels; annotations?: Labels } };
  };
  const status = o.status ?? {};
  const conditions = (status.conditions ?? []) as { type?: string; status?: string; reason?: string }[];
  const ds = kind === WorkloadKind.DaemonSet;
  return {
    namespace: o.metadata?.namespace ?? '',
    kind,
    name: o.metadata?.name ?? '',
    labels: o.metadata?.labels ?? {},
    templateLabels: spec.template?.metadata?.labels ?? {},
    templateAnnotations: spec.template?.metadata?.annotations ?? {},
    selector: spec.selector?.matchLabels ?? {},
    replicas: ds ? num(status.desiredNumberScheduled) : (spec.replicas ?? 1),
    generation: o.metadata?.generation ?? 0,
    observedGeneration: num(status.observedGeneration),
    updatedReplicas: ds ? num(status.updatedNumberScheduled) : num(status.updatedReplicas),
    availableReplicas: ds ? num(status.numberAvailable) : num(status.availableReplicas),
    progressDeadlineExceeded: conditions.some(
      (c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded',
    ),
    resourceVersion: o.metadata?.resourceVersion ?? '',
  };
}

export function toPodView(o: RawObject): PodView {
  const spec = (o.spec ?? {}) as { containers?: { name: string; image?: string }[] };
  const status = (o.status ?? {}) as {
    phase?: string;
    conditions?: { type?: string; status?: string }[];
    containerStatuses?: { restartCount?: number; state?: { waiting?: { reason?: string } } }[];
  };
  const statuses = status.containerStatuses ?? [];
  return {
    namespace: o.metadata?.namespace ?? '',
    name: o.metadata?.name ?? '',
    labels: o.metadata?.labels ?? {},
    annotations: o.metadata?.annotations ?? {},
    controlled: (o.metadata?.ownerReferences ?? []).some((r) => r.controller === true),
    containers: (spec.containers ?? []).map((c) => ({ name: c.name, image: c.image ?? '' })),
    phase: status.phase ?? 'Unknown',
    ready: (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    restarts: statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0),
    crashLooping: statuses.some((c) => c.state?.waiting?.reason === 'CrashLoopBackOff'),
    terminating: o.metadata?.deletionTimestamp !== undefined,
    resourceVersion: o.metadata?.resourceVersion ?? '',
  };
}

function toLeaseView(o: RawObject): LeaseView {
  const spec = (o.spec ?? {}) as {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
  return {
    namespace: o.metadata?.namespace ?? '',
    name: o.metadata?.name ?? '',
    holderIdentity: spec.holderIdentity ?? '',
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: spec.acquireTime ?? '',
    renewTime: spec.renewTime ?? '',
    leaseTransitions: spec.leaseTransitions ?? 0,
    resourceVersion: o.metadata?.resourceVersion ?? '',
  };
}

const leaseBody = (l: LeaseSpec & { resourceVersion?: string }): Record<string, unknown> => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: {
    name: l.name,
    namespace: l.namespace,
    ...(l.resourceVersion ? { resourceVersion: l.resourceVersion } : {}),
  },
  spec: {
    holderIdentity: l.holderIdentity,
    leaseDurationSeconds: l.leaseDurationSeconds,
    acquireTime: l.acquireTime,
    renewTime: l.renewTime,
    leaseTransitions: l.leaseTransitions,
  },
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const tracer = trace.getTracer('@meshwave/cluster-agent/kubernetes');

/** Loads credentials as kubectl would: an explicit file, else in-cluster, else the default kubeconfig. */
export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

/**
 * The real `KubernetesPort`, on @kubernetes/client-node's configuration and watch: kubeconfig or in-cluster
 * credentials, a client-side token bucket, retries with backoff on 429/5xx/network errors, explicit JSON merge
 * patches, and informers that re-list on 410 Gone and restart with capped backoff after any error.
 */
export function createKubernetesClient(options: KubernetesClientOptions = {}): KubernetesClient {
  const kc = loadKubeConfig(options.kubeconfig);
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new ClusterAgentError(ClusterAgentErrorCode.Config, 'the kubeconfig names no current cluster');
  const log = options.logger ?? silentLogger();
  const bucket = new TokenBucket(options.qps ?? 50, options.burst ?? 100);
  const maxAttempts = options.maxAttempts ?? 6;
  const maxWatchBackoff = options.maxWatchBackoffMs ?? 30_000;
  const watchClient = new Watch(kc);
  let agent: Agent | undefined;
  const stops = new Set<() => void>();

  // KubeConfig re-reads certificate and token files on every apply; under a 50 req/s budget that is measurable,
  // so credentials are applied once a minute (often enough for rotated in-cluster tokens).
  let credentials: { at: number; options: RequestOptions } | undefined;
  const tlsOptions = async (): Promise<RequestOptions> => {
    const now = Date.now();
    if (credentials && now - credentials.at < 60_000) return credentials.options;
    const opts: RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    agent ??= new Agent({
      keepAlive: true,
      maxSockets: 32,
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      rejectUnauthorized: opts.rejectUnauthorized,
    });
    credentials = { at: now, options: { headers: opts.headers ?? {}, agent } };
    return credentials.options;
  };

  const once = async (
    method: string,
    path: string,
    body: unknown,
    contentType: string,
  ): Promise<{ status: number; json: unknown; retryAfterMs?: number }> => {
    const base = await tlsOptions();
    const url = new URL(server + path);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
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
  };

  /** One API call: rate-limited, retried on 429/5xx/network errors, mapped to ClusterAgentError otherwise. */
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
          let res: { status: number; json: unknown; retryAfterMs?: number };
          try {
            res = await once(method, path, body, contentType);
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

  const getOrUndefined = async <T>(verb: string, path: string): Promise<T | undefined> => {
    try {
      return await call<T>(verb, 'GET', path);
    } catch (err) {
      if (err instanceof ClusterAgentError && err.code === ClusterAgentErrorCode.NotFound) return undefined;
      throw err;
    }
  };

  const list = async (path: string): Promise<{ items: RawObject[]; resourceVersion: string }> => {
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
  };

  const wlPath = (ref: WorkloadRef): string =>
    `/apis/apps/v1/namespaces/${encodeURIComponent(ref.namespace)}/${WORKLOAD_RESOURCES[ref.kind]}/${encodeURIComponent(ref.name)}`;

  /**
   * A list+watch loop for one collection. `onList` gets the full list after every (re)list, `onEvent` each
   * change. 410 Gone (history compacted) re-lists; any other error restarts after a capped backoff.
   */
  const informer = (
    path: string,
    onList: (items: RawObject[]) => void,
    onEvent: (type: 'upsert' | 'delete', o: RawObject) => void,
  ): (() => void) => {
    let stopped = false;
    let abort: AbortController | undefined;
    let backoff = 500;
    let resourceVersion: string | undefined;
    const loop = async (): Promise<void> => {
      while (!stopped) {
        try {
          if (resourceVersion === undefined) {
            const l = await list(path);
            resourceVersion = l.resourceVersion;
            onList(l.items);
          }
          const outcome = await new Promise<'closed' | 'gone'>((resolve, reject) => {
            void bucket.take().then(async () => {
              if (stopped) return resolve('closed');
              abort = await watchClient.watch(
                path,
                { resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 240 + Math.floor(Math.random() * 60) },
                (phase: string, obj: RawObject & { code?: number }) => {
                  if (phase === 'ERROR') {
                    if (obj.code === 410) {
                      resolve('gone');
                      abort?.abort();
                    } else reject(new Error(`watch error: ${JSON.stringify(obj)}`));
                    return;
                  }
                  if (obj.metadata?.resourceVersion) resourceVersion = obj.metadata.resourceVersion;
                  if (phase === 'BOOKMARK') return;
                  backoff = 500;
                  onEvent(phase === 'DELETED' ? 'delete' : 'upsert', obj);
                },
                (err: unknown) => {
                  const status = (err as { statusCode?: number } | null)?.statusCode;
                  if (status === 410) resolve('gone');
                  else if (err && !stopped) reject(err instanceof Error ? err : new Error(String(err)));
                  else resolve('closed');
                },
              );
            }, reject);
          });
          if (outcome === 'gone') {
            log.info({ path }, 'watch history gone (410): re-listing');
            resourceVersion = undefined;
          }
        } catch (err) {
          if (stopped) return;
          log.warn({ path, err, backoffMs: backoff }, 'watch failed; restarting after backoff');
          await sleep(backoff);
          backoff = Math.min(maxWatchBackoff, backoff * 2);
          // After an error the old version may be compacted away: list again to be sure nothing was missed.
          resourceVersion = undefined;
        }
      }
    };
    void loop();
    const stop = (): void => {
      stopped = true;
      abort?.abort();
      stops.delete(stop);
    };
    stops.add(stop);
    return stop;
  };

  const client: KubernetesClient = {
    async listNamespaces() {
      return (await list('/api/v1/namespaces')).items.map(toNamespaceView);
    },
    async listWorkloads(namespace) {
      const scope = namespace ? `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}` : '/apis/apps/v1';
      const kinds = Object.entries(WORKLOAD_RESOURCES) as [WorkloadKind, string][];
      const lists = await Promise.all(
        kinds.map(async ([kind, res]) => (await list(`${scope}/${res}`)).items.map((o) => toWorkloadView(kind, o))),
      );
      return lists.flat();
    },
    async getWorkload(ref) {
      const o = await getOrUndefined<RawObject>('get', wlPath(ref));
      return o ? toWorkloadView(ref.kind, o) : undefined;
    },
    async listPods(namespace) {
      return (
        await list(namespace ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods` : '/api/v1/pods')
      ).items.map(toPodView);
    },

    async patchNamespace(name, patch, opts) {
      const body = {
        metadata: {
          ...(patch.labels ? { labels: patch.labels } : {}),
          ...(opts?.resourceVersion ? { resourceVersion: opts.resourceVersion } : {}),
        },
      };
      return toNamespaceView(
        await call<RawObject>(
          'patch',
          'PATCH',
          `/api/v1/namespaces/${encodeURIComponent(name)}`,
          body,
          PatchStrategy.MergePatch,
        ),
      );
    },
    async patchWorkload(ref, patch, opts) {
      const template = {
        ...(patch.templateLabels ? { labels: patch.templateLabels } : {}),
        ...(patch.templateAnnotations ? { annotations: patch.templateAnnotations } : {}),
      };
      const body = {
        metadata: {
          ...(patch.labels ? { labels: patch.labels } : {}),
          ...(opts?.resourceVersion ? { resourceVersion: opts.resourceVersion } : {}),
        },
        ...(Object.keys(template).length > 0 ? { spec: { template: { metadata: template } } } : {}),
      };
      return toWorkloadView(
        ref.kind,
        await call<RawObject>('patch', 'PATCH', wlPath(ref), body, PatchStrategy.MergePatch),
      );
    },

    watch<R extends WatchedResource>(resource: R, handler: WatchHandler<ResourceViews[R]>): WatchHandle {
      const emit = handler as WatchHandler<unknown>;
      if (resource === 'namespaces') {
        const stop = informer(
          '/api/v1/namespaces',
          (items) => emit({ type: 'resync', objects: items.map(toNamespaceView) }),
          (type, o) => emit({ type, object: toNamespaceView(o) }),
        );
        return { stop };
      }
      if (resource === 'pods') {
        const stop = informer(
          '/api/v1/pods',
          (items) => emit({ type: 'resync', objects: items.map(toPodView) }),
          (type, o) => emit({ type, object: toPodView(o) }),
        );
        return { stop };
      }
      // Three collections behind one stream: a re-list of one kind re-announces the others as last seen, so
      // a consumer replacing its cache on `resync` keeps every kind; the first resync waits for all three.
      const known = new Map<WorkloadKind, Map<string, WorkloadView>>();
      const stopsForKinds = (Object.entries(WORKLOAD_RESOURCES) as [WorkloadKind, string][]).map(([kind, res]) =>
        informer(
          `/apis/apps/v1/${res}`,
          (items) => {
            known.set(kind, new Map(items.map((o) => toWorkloadView(kind, o)).map((w) => [workloadRefKey(w), w])));
            if (known.size === 3)
              emit({ type: 'resync', objects: [...known.values()].flatMap((m) => [...m.values()]) });
          },
          (type, o) => {
            const w = toWorkloadView(kind, o);
            const m = known.get(kind);
            if (type === 'delete') m?.delete(workloadRefKey(w));
            else m?.set(workloadRefKey(w), w);
            if (known.size === 3) emit({ type, object: w });
          },
        ),
      );
      return { stop: () => stopsForKinds.forEach((s) => s()) };
    },

    async getLease(namespace, name) {
      const o = await getOrUndefined<RawObject>(
        'get',
        `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases/${encodeURIComponent(name)}`,
      );
      return o ? toLeaseView(o) : undefined;
    },
    async createLease(lease) {
      return toLeaseView(
        await call<RawObject>(
          'create',
          'POST',
          `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(lease.namespace)}/leases`,
          leaseBody(lease),
        ),
      );
    },
    async replaceLease(lease) {
      return toLeaseView(
        await call<RawObject>(
          'update',
          'PUT',
          `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(lease.namespace)}/leases/${encodeURIComponent(lease.name)}`,
          leaseBody(lease),
        ),
      );
    },

    close() {
      for (const stop of [...stops]) stop();
      agent?.destroy();
    },
  };
  return client;
}

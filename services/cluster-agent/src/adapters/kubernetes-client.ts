import { KubeConfig, PatchStrategy, Watch } from '@kubernetes/client-node';
import type { WorkloadKind } from '@meshwave/contracts';
import { silentLogger, type Logger } from '@meshwave/telemetry';
import { ClusterAgentError, ClusterAgentErrorCode } from '../errors.js';
import type { GatewayDeploymentPort } from '../ports/gateway-port.js';
import type { MeshConfigPort } from '../ports/mesh-config-port.js';
import type { AmbientPort } from '../ports/ambient-port.js';
import type { KubernetesPort, WorkloadRef } from '../ports/kubernetes-port.js';
import { createApiCaller } from './kubernetes-http.js';
import { startInformer, watchResource, type Informer } from './kubernetes-informer.js';
import { gatewayOperations } from './kubernetes-gateways.js';
import { meshConfigOperations } from './kubernetes-mesh-config.js';
import { ambientOperations } from './kubernetes-ambient.js';
import { istioOperations } from './kubernetes-istio.js';
import { leaseOperations } from './kubernetes-leases.js';
import { WORKLOAD_RESOURCES, toNamespaceView, toPodView, toWorkloadView, type RawObject } from './kubernetes-views.js';
import { TokenBucket } from './token-bucket.js';

export { toNamespaceView, toPodView, toWorkloadView } from './kubernetes-views.js';

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

export interface KubernetesClient extends KubernetesPort, GatewayDeploymentPort, MeshConfigPort, AmbientPort {
  /** stops every watch */
  close(): void;
}

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
  const bucket = new TokenBucket(options.qps ?? 50, options.burst ?? 100);
  const api = createApiCaller(kc, server, {
    bucket,
    maxAttempts: options.maxAttempts ?? 6,
    ...(options.onResponse ? { onResponse: options.onResponse } : {}),
  });
  const { call, getOrUndefined, list } = api;
  const stops = new Set<() => void>();
  const deps = {
    list,
    bucket,
    watchClient: new Watch(kc),
    log: options.logger ?? silentLogger(),
    maxWatchBackoffMs: options.maxWatchBackoffMs ?? 30_000,
    stops,
  };
  const informer: Informer = (path, onList, onEvent) => startInformer(deps, path, onList, onEvent);

  const wlPath = (ref: WorkloadRef): string =>
    `/apis/apps/v1/namespaces/${encodeURIComponent(ref.namespace)}/${WORKLOAD_RESOURCES[ref.kind]}/${encodeURIComponent(ref.name)}`;

  return {
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

    ...istioOperations(api),
    ...gatewayOperations(api),
    ...meshConfigOperations(api),
    ...ambientOperations(api),

    watch: (resource, handler) => watchResource(informer, resource, handler),
    ...leaseOperations(api),

    close() {
      for (const stop of [...stops]) stop();
      api.close();
    },
  };
}

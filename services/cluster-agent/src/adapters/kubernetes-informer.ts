import type { Watch } from '@kubernetes/client-node';
import type { WorkloadKind } from '@meshwave/contracts';
import type { Logger } from '@meshwave/telemetry';
import {
  workloadRefKey,
  type ResourceViews,
  type WatchHandle,
  type WatchHandler,
  type WatchedResource,
  type WorkloadView,
} from '../ports/kubernetes-port.js';
import { sleep, type ApiCaller } from './kubernetes-http.js';
import type { TokenBucket } from './token-bucket.js';
import {
  WORKLOAD_RESOURCES,
  toDisruptionBudgetView,
  toNamespaceView,
  toPodView,
  toWebhookConfigurationView,
  toWorkloadView,
  type RawObject,
} from './kubernetes-views.js';

export interface InformerDeps {
  readonly list: ApiCaller['list'];
  readonly bucket: TokenBucket;
  readonly watchClient: Watch;
  readonly log: Logger;
  readonly maxWatchBackoffMs: number;
  /** the stop function of every running informer, so closing the client stops them all */
  readonly stops: Set<() => void>;
}

/** Starts a list+watch loop on one collection path; returns its stop function. */
export type Informer = (
  path: string,
  onList: (items: RawObject[]) => void,
  onEvent: (type: 'upsert' | 'delete', o: RawObject) => void,
) => () => void;

/**
 * A list+watch loop for one collection. `onList` gets the full list after every (re)list, `onEvent` each
 * change. 410 Gone (history compacted) re-lists; any other error restarts after a capped backoff.
 */
export function startInformer(
  deps: InformerDeps,
  path: string,
  onList: (items: RawObject[]) => void,
  onEvent: (type: 'upsert' | 'delete', o: RawObject) => void,
): () => void {
  const { list, bucket, watchClient, log, maxWatchBackoffMs: maxWatchBackoff, stops } = deps;
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
}

/** The resources served by one collection each, with the view each object becomes. */
const SINGLE_COLLECTIONS = {
  namespaces: { path: '/api/v1/namespaces', view: toNamespaceView },
  pods: { path: '/api/v1/pods', view: toPodView },
  disruptionBudgets: { path: '/apis/policy/v1/poddisruptionbudgets', view: toDisruptionBudgetView },
  webhookConfigurations: {
    path: '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
    view: toWebhookConfigurationView,
  },
} as const;

/** The port's `watch`: one informer per collection, the three workload kinds merged into one stream. */
export function watchResource<R extends WatchedResource>(
  informer: Informer,
  resource: R,
  handler: WatchHandler<ResourceViews[R]>,
): WatchHandle {
  const emit = handler as WatchHandler<unknown>;
  const single = SINGLE_COLLECTIONS[resource as keyof typeof SINGLE_COLLECTIONS];
  if (single) {
    const toView = single.view;
    const stop = informer(
      single.path,
      (items) => emit({ type: 'resync', objects: items.map((o) => toView(o)) }),
      (type, o) => emit({ type, object: toView(o) }),
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
        if (known.size === 3) emit({ type: 'resync', objects: [...known.values()].flatMap((m) => [...m.values()]) });
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
}

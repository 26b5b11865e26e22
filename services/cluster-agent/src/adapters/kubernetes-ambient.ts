import { PatchStrategy } from '@kubernetes/client-node';
import { AmbientLabel, DATAPLANE_MODE_AMBIENT, IstioLabel } from '@meshwave/istio';
import { ClusterAgentError, ClusterAgentErrorCode, isNotFound } from '../errors.js';
import type { AmbientPort, DaemonSetView, NodePodView, NodeView, WaypointView } from '../ports/ambient-port.js';
import type { Labels } from '../ports/kubernetes-port.js';
import type { ApiCaller } from './kubernetes-http.js';
import { controllerOf, type RawObject } from './kubernetes-views.js';

const selectorOf = (labels: Labels): string =>
  encodeURIComponent(
    Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  );
const pod = (namespace: string, name: string): string =>
  `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
const GATEWAYS = '/apis/gateway.networking.k8s.io/v1/gateways';

function toNodeView(o: RawObject): NodeView {
  return {
    name: o.metadata?.name ?? '',
    labels: o.metadata?.labels ?? {},
    annotations: o.metadata?.annotations ?? {},
    unschedulable: (o.spec as { unschedulable?: boolean } | undefined)?.unschedulable === true,
  };
}

function toNodePodView(o: RawObject): NodePodView {
  const spec = (o.spec ?? {}) as { nodeName?: string; containers?: { name: string; image?: string }[] };
  const status = (o.status ?? {}) as { conditions?: { type?: string; status?: string }[] };
  return {
    namespace: o.metadata?.namespace ?? '',
    name: o.metadata?.name ?? '',
    nodeName: spec.nodeName,
    labels: o.metadata?.labels ?? {},
    annotations: o.metadata?.annotations ?? {},
    ownerKind: controllerOf(o)?.kind,
    containers: (spec.containers ?? []).map((c) => ({ name: c.name, image: c.image ?? '' })),
    ready: (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    terminating: o.metadata?.deletionTimestamp !== undefined,
  };
}

function toDaemonSetView(o: RawObject): DaemonSetView {
  const spec = (o.spec ?? {}) as {
    selector?: { matchLabels?: Labels };
    updateStrategy?: { type?: string };
    template?: {
      metadata?: { labels?: Labels; annotations?: Labels };
      spec?: { containers?: { name: string; image?: string }[] };
    };
  };
  const observed = (o.status as { observedGeneration?: number } | undefined)?.observedGeneration ?? 0;
  return {
    namespace: o.metadata?.namespace ?? '',
    name: o.metadata?.name ?? '',
    labels: o.metadata?.labels ?? {},
    annotations: o.metadata?.annotations ?? {},
    templateLabels: spec.template?.metadata?.labels ?? {},
    templateAnnotations: spec.template?.metadata?.annotations ?? {},
    images: Object.fromEntries((spec.template?.spec?.containers ?? []).map((c) => [c.name, c.image ?? ''])),
    selector: spec.selector?.matchLabels ?? {},
    updateStrategy: spec.updateStrategy?.type ?? 'RollingUpdate',
    observed: observed >= (o.metadata?.generation ?? 0),
  };
}

type List = { items?: RawObject[] };

/** Ambient mode's reads and writes on the apiserver (ADR 0051): each write idempotent. */
export function ambientOperations({ call, list }: ApiCaller): AmbientPort {
  return {
    listNodes: async () => (await list('/api/v1/nodes')).items.map(toNodeView),

    async patchNode(name, patch) {
      const body = {
        ...(patch.unschedulable === undefined ? {} : { spec: { unschedulable: patch.unschedulable } }),
        ...(patch.annotations === undefined ? {} : { metadata: { annotations: patch.annotations } }),
      };
      await call('patch', 'PATCH', `/api/v1/nodes/${encodeURIComponent(name)}`, body, PatchStrategy.MergePatch);
    },

    listDaemonSets: async () => (await list('/apis/apps/v1/daemonsets')).items.map(toDaemonSetView),

    async podsLabelled(namespace, labels) {
      const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?labelSelector=${selectorOf(labels)}`;
      return ((await call<List>('list', 'GET', path)).items ?? []).map(toNodePodView);
    },

    async podsOnNode(node) {
      const path = `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`;
      return ((await call<List>('list', 'GET', path)).items ?? []).map(toNodePodView);
    },

    async ambientNamespaces() {
      const selector = selectorOf({ [AmbientLabel.DataplaneMode]: DATAPLANE_MODE_AMBIENT });
      const found = await call<List>('list', 'GET', `/api/v1/namespaces?labelSelector=${selector}`);
      return new Set((found.items ?? []).map((o) => o.metadata?.name ?? ''));
    },

    async deletePod(namespace, name) {
      try {
        await call('delete', 'DELETE', pod(namespace, name));
        return 'deleted';
      } catch (err) {
        if (isNotFound(err)) return 'absent';
        throw err;
      }
    },

    async evictPod(namespace, name) {
      const body = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { namespace, name } };
      try {
        await call('create', 'POST', `${pod(namespace, name)}/eviction`, body);
        return 'evicted';
      } catch (err) {
        if (isNotFound(err)) return 'absent';
        // a PodDisruptionBudget answers 429 for as long as it allows no disruption: tried again next pass
        if (err instanceof ClusterAgentError && err.code === ClusterAgentErrorCode.Throttled) return 'blocked';
        throw err;
      }
    },

    async listWaypoints() {
      const selector = encodeURIComponent(AmbientLabel.WaypointFor);
      try {
        const found = await call<List>('list', 'GET', `${GATEWAYS}?labelSelector=${selector}`);
        return (found.items ?? []).map((o): WaypointView => ({
          namespace: o.metadata?.namespace ?? '',
          name: o.metadata?.name ?? '',
          labels: o.metadata?.labels ?? {},
        }));
      } catch (err) {
        // the Gateway API is not installed: the cluster has no waypoints
        if (isNotFound(err)) return [];
        throw err;
      }
    },

    async labelWaypoint(namespace, name, revision) {
      const path = `/apis/gateway.networking.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/gateways/${encodeURIComponent(name)}`;
      const body = { metadata: { labels: { [IstioLabel.Revision]: revision } } };
      await call('patch', 'PATCH', path, body, PatchStrategy.MergePatch);
    },
  };
}

import type {
  KubernetesPort,
  MetadataPatch,
  PatchOptions,
  ResourceViews,
  WatchHandle,
  WatchHandler,
  WatchedResource,
  WorkloadPatch,
  WorkloadRef,
  LeaseSpec,
} from '../ports/kubernetes-port.js';
import { proxyVersionOfRevision } from '@meshwave/istio';
import { applyMapPatch, workloadRefKey } from '../ports/kubernetes-port.js';
import { ClusterAgentError, ClusterAgentErrorCode } from '../errors.js';
import { startRollout, touch } from './simulated-pods.js';
import type { SimStore, SimWorkload } from './simulated-store.js';

/** The simulated cluster's `KubernetesPort`: what the agent calls, served from memory. */

const request = (s: SimStore): void => {
  if (s.closed) throw new ClusterAgentError(ClusterAgentErrorCode.Unavailable, 'simulated cluster is closed');
  s.stats.requests++;
};

const checkVersion = (actual: number, options: PatchOptions | undefined, what: string): void => {
  if (options?.resourceVersion !== undefined && options.resourceVersion !== String(actual))
    throw new ClusterAgentError(
      ClusterAgentErrorCode.Conflict,
      `${what} was modified (resourceVersion ${actual}, expected ${options.resourceVersion})`,
      { what },
    );
};

const findWorkload = (s: SimStore, ref: WorkloadRef): SimWorkload => {
  const w = s.workloads.get(workloadRefKey(ref));
  if (!w) throw new ClusterAgentError(ClusterAgentErrorCode.NotFound, `${workloadRefKey(ref)} not found`, { ...ref });
  return w;
};

/** Lists, gets, patches and watches, as the apiserver would answer them (resourceVersion checks included). */
export function simulatedPort(s: SimStore): Omit<KubernetesPort, 'getLease' | 'createLease' | 'replaceLease'> {
  return {
    async listNamespaces() {
      request(s);
      return [...s.namespaces].map(([n, ns]) => s.nsView(n, ns));
    },
    async listWorkloads(namespace) {
      request(s);
      return s.workloadsIn(namespace).map(s.workloadView);
    },
    async getWorkload(ref) {
      request(s);
      const w = s.workloads.get(workloadRefKey(ref));
      return w ? s.workloadView(w) : undefined;
    },
    async listPods(namespace) {
      request(s);
      return s.podsIn(namespace).map(s.podView);
    },

    // The simulated cluster installs its configured revisions as ready control planes of the version their
    // names spell; it has no revision tags. Without configured revisions (any revision injects) it cannot say.
    async readIstioInstallation() {
      request(s);
      if (s.installed === undefined) return undefined;
      const controlPlanes = [...s.installed]
        .sort()
        .map((revision) => ({ revision, version: proxyVersionOfRevision(revision) ?? null, ready: true }));
      return { controlPlanes, tags: {}, injectors: [...s.installed].sort() };
    },

    // A tag of the simulated cluster stands for nothing (it injects by revision label): pointing it changes nothing.
    async pointRevisionTag() {
      request(s);
      return { outcome: 'unchanged' } as const;
    },

    // The simulated cluster runs no Jobs.
    async readCronJobs() {
      request(s);
      return { ownerOfJob: new Map<string, string>(), templates: [] };
    },

    async patchNamespace(name, patch: MetadataPatch, options) {
      request(s);
      s.stats.patches++;
      const ns = s.namespaces.get(name);
      if (!ns) throw new ClusterAgentError(ClusterAgentErrorCode.NotFound, `namespace ${name} not found`, { name });
      checkVersion(ns.rv, options, `namespace ${name}`);
      const labels = applyMapPatch(ns.labels, patch.labels);
      if (labels !== ns.labels) {
        ns.labels = labels;
        ns.rv = s.nextRv();
        s.emit('namespaces', { type: 'upsert', object: s.nsView(name, ns) });
      }
      return s.nsView(name, ns);
    },

    async patchWorkload(ref, patch: WorkloadPatch, options) {
      request(s);
      s.stats.patches++;
      const w = findWorkload(s, ref);
      checkVersion(w.rv, options, workloadRefKey(ref));
      const labels = applyMapPatch(w.labels, patch.labels);
      const templateLabels = applyMapPatch(w.templateLabels, patch.templateLabels);
      const templateAnnotations = applyMapPatch(w.templateAnnotations, patch.templateAnnotations);
      const templateChanged = templateLabels !== w.templateLabels || templateAnnotations !== w.templateAnnotations;
      if (labels === w.labels && !templateChanged) return s.workloadView(w);
      w.labels = labels;
      w.templateLabels = templateLabels;
      w.templateAnnotations = templateAnnotations;
      if (templateChanged) startRollout(s, w);
      touch(s, w);
      return s.workloadView(w);
    },

    watch<R extends WatchedResource>(resource: R, handler: WatchHandler<ResourceViews[R]>): WatchHandle {
      const set = s.watchers[resource] as Set<WatchHandler<ResourceViews[R]>>;
      set.add(handler);
      // The simulated cluster has no PodDisruptionBudgets (its workloads report no preflight either) and no webhooks.
      const objects = (
        resource === 'namespaces'
          ? [...s.namespaces].map(([n, ns]) => s.nsView(n, ns))
          : resource === 'workloads'
            ? s.workloadsIn(undefined).map(s.workloadView)
            : resource === 'pods'
              ? s.podsIn(undefined).map(s.podView)
              : []
      ) as ResourceViews[R][];
      s.emit(resource, { type: 'resync', objects });
      return { stop: () => set.delete(handler) };
    },
  };
}

/** Leases, for leader election against the simulated cluster. */
export function simulatedLeases(s: SimStore): Pick<KubernetesPort, 'getLease' | 'createLease' | 'replaceLease'> {
  return {
    async getLease(namespace, name) {
      request(s);
      return s.leases.get(`${namespace}/${name}`);
    },
    async createLease(lease: LeaseSpec) {
      request(s);
      const key = `${lease.namespace}/${lease.name}`;
      if (s.leases.has(key))
        throw new ClusterAgentError(ClusterAgentErrorCode.Conflict, `lease ${key} exists`, { key });
      const view = { ...lease, resourceVersion: String(s.nextRv()) };
      s.leases.set(key, view);
      return view;
    },
    async replaceLease(lease) {
      request(s);
      const key = `${lease.namespace}/${lease.name}`;
      const current = s.leases.get(key);
      if (!current) throw new ClusterAgentError(ClusterAgentErrorCode.NotFound, `lease ${key} not found`, { key });
      if (current.resourceVersion !== lease.resourceVersion)
        throw new ClusterAgentError(ClusterAgentErrorCode.Conflict, `lease ${key} was modified`, { key });
      const view = { ...lease, resourceVersion: String(s.nextRv()) };
      s.leases.set(key, view);
      return view;
    },
  };
}

import { WorkloadKind } from '@meshwave/contracts';
import { systemClock, type Clock, type TimerHandle } from '@meshwave/reconcile';
import { ClusterAgentError, ClusterAgentErrorCode } from '../errors.js';
import {
  applyMapPatch,
  workloadRefKey,
  type KubernetesPort,
  type Labels,
  type LeaseSpec,
  type LeaseView,
  type MetadataPatch,
  type NamespaceView,
  type PatchOptions,
  type PodView,
  type ResourceViews,
  type WatchEvent,
  type WatchHandle,
  type WatchHandler,
  type WatchedResource,
  type WorkloadPatch,
  type WorkloadRef,
  type WorkloadView,
} from '../ports/kubernetes-port.js';
import { IstioAnnotation, IstioLabel, PROXY_CONTAINER, proxyVersionOfRevision } from '@meshwave/istio';

/** Selects workloads a fault applies to: a namespace, optionally one workload in it. */
export interface FaultTarget {
  readonly namespace: string;
  readonly name?: string;
}

/** Misbehaviour the simulated cluster can show, to exercise failure paths. */
export interface SimulatedFaults {
  /** pods injected with `revision` never become Ready and report CrashLoopBackOff */
  readonly crashLoop?: readonly (FaultTarget & { readonly revision: string })[];
  /** pod start takes `factor` times longer */
  readonly slowRollout?: readonly (FaultTarget & { readonly factor: number })[];
  /** the injector of `revision` ships a proxy image of another version (`image`, default `0.0.0`) */
  readonly sidecarMismatch?: readonly (FaultTarget & { readonly revision: string; readonly version?: string })[];
}

/** A pod as the admission chain sees it before injection. */
export interface AdmissionPod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  /** the workload whose template it came from, if any */
  readonly owner?: WorkloadRef;
}

/** Runs before the injector, as meshwave's webhook does in a real cluster; returns the pod to admit. */
export type PodAdmission = (pod: AdmissionPod) => AdmissionPod;

export interface SimulatedWorkloadSpec {
  readonly namespace: string;
  readonly kind?: WorkloadKind;
  readonly name: string;
  readonly replicas?: number;
  readonly labels?: Labels;
  readonly templateLabels?: Labels;
  readonly templateAnnotations?: Labels;
}

export interface SimulatedNamespaceSpec {
  readonly name: string;
  readonly labels?: Labels;
  readonly workloads?: readonly Omit<SimulatedWorkloadSpec, 'namespace'>[];
}

export interface SimulatedClusterConfig {
  readonly name?: string;
  /** drives pod starts and deadlines; default the system clock */
  readonly clock?: Clock;
  /** time one pod takes from creation to Ready, ms (default 2000) */
  readonly podStartMs?: number;
  /** Deployment `progressDeadlineSeconds` (default 600) */
  readonly progressDeadlineSeconds?: number;
  /** control-plane revisions installed; pods labelled for another revision get no sidecar. Default: any */
  readonly revisions?: readonly string[];
  /** revision `istio-injection=enabled` means (default `default`) */
  readonly defaultRevision?: string;
  /** image registry of the proxy (default `docker.io/istio`) */
  readonly proxyHub?: string;
  readonly namespaces?: readonly SimulatedNamespaceSpec[];
  readonly faults?: SimulatedFaults;
  readonly admission?: PodAdmission;
}

/** Port calls served so far, for benchmarks and the demo's counters. */
export interface SimulatedClusterStats {
  readonly requests: number;
  readonly patches: number;
  readonly podsCreated: number;
}

/** An in-memory cluster behind the same port as the real one, plus the knobs a test or demo needs. */
export interface SimulatedCluster extends KubernetesPort {
  readonly name: string;
  createNamespace(name: string, labels?: Labels): NamespaceView;
  /** creates a workload whose pods are running and Ready at once, injected as the labels say now */
  createWorkload(spec: SimulatedWorkloadSpec): WorkloadView;
  /** a pod without a controller */
  createBarePod(namespace: string, name: string, labels?: Labels): PodView;
  deletePod(namespace: string, name: string): void;
  setAdmission(admission: PodAdmission | undefined): void;
  setFaults(faults: SimulatedFaults): void;
  stats(): SimulatedClusterStats;
  /** stops every timer (pod starts, deadlines) */
  close(): void;
}

interface SimWorkload {
  readonly ref: WorkloadRef;
  labels: Labels;
  templateLabels: Labels;
  templateAnnotations: Labels;
  readonly selector: Labels;
  readonly replicas: number;
  generation: number;
  /** bumps with every template change; pods remember the one they were made from */
  templateGen: number;
  progressDeadlineExceeded: boolean;
  rv: number;
  timers: TimerHandle[];
}

interface SimPod {
  readonly namespace: string;
  readonly name: string;
  labels: Labels;
  annotations: Labels;
  readonly owner: string | undefined;
  readonly templateGen: number;
  containers: { name: string; image: string }[];
  ready: boolean;
  restarts: number;
  crashLooping: boolean;
  rv: number;
}

const targetMatches = (t: FaultTarget, ref: WorkloadRef | undefined, namespace: string): boolean =>
  t.namespace === namespace && (t.name === undefined || t.name === ref?.name);

export function createSimulatedCluster(config: SimulatedClusterConfig = {}): SimulatedCluster {
  const clock = config.clock ?? systemClock;
  const podStartMs = config.podStartMs ?? 2000;
  const deadlineMs = (config.progressDeadlineSeconds ?? 600) * 1000;
  const hub = config.proxyHub ?? 'docker.io/istio';
  const defaultRevision = config.defaultRevision ?? 'default';
  const installed = config.revisions ? new Set(config.revisions) : undefined;
  let faults: SimulatedFaults = config.faults ?? {};
  let admission = config.admission;

  const namespaces = new Map<string, { labels: Labels; rv: number }>();
  const workloads = new Map<string, SimWorkload>();
  const pods = new Map<string, SimPod>();
  const leases = new Map<string, LeaseView>();
  const watchers: { [R in WatchedResource]: Set<WatchHandler<ResourceViews[R]>> } = {
    namespaces: new Set(),
    workloads: new Set(),
    pods: new Set(),
  };
  let rvCounter = 1;
  let podCounter = 0;
  const stats = { requests: 0, patches: 0, podsCreated: 0 };
  let closed = false;

  // Watch events are delivered asynchronously and in order, like a real watch stream: a handler never runs
  // inside the call that caused the change.
  const outbox: (() => void)[] = [];
  let flushing = false;
  const emit = <R extends WatchedResource>(resource: R, event: WatchEvent<ResourceViews[R]>): void => {
    if (watchers[resource].size === 0) return;
    const targets = [...watchers[resource]];
    outbox.push(() => {
      for (const h of targets) if (watchers[resource].has(h)) h(event);
    });
    if (!flushing) {
      flushing = true;
      queueMicrotask(() => {
        while (outbox.length > 0) outbox.shift()?.();
        flushing = false;
      });
    }
  };

  const nsView = (name: string, ns: { labels: Labels; rv: number }): NamespaceView => ({
    name,
    labels: ns.labels,
    resourceVersion: String(ns.rv),
  });

  // Pods by owning workload, so a workload's status costs its own pods, not the cluster's.
  const podsByOwner = new Map<string, Map<string, SimPod>>();
  const putPod = (p: SimPod): void => {
    const key = `${p.namespace}/${p.name}`;
    pods.set(key, p);
    if (p.owner === undefined) return;
    let own = podsByOwner.get(p.owner);
    if (!own) podsByOwner.set(p.owner, (own = new Map()));
    own.set(key, p);
  };
  const removePod = (p: SimPod): void => {
    const key = `${p.namespace}/${p.name}`;
    pods.delete(key);
    if (p.owner !== undefined) podsByOwner.get(p.owner)?.delete(key);
  };
  const podsOf = (w: SimWorkload): SimPod[] => [...(podsByOwner.get(workloadRefKey(w.ref))?.values() ?? [])];

  const workloadView = (w: SimWorkload): WorkloadView => {
    const own = podsOf(w);
    return {
      ...w.ref,
      labels: w.labels,
      templateLabels: w.templateLabels,
      templateAnnotations: w.templateAnnotations,
      selector: w.selector,
      replicas: w.replicas,
      generation: w.generation,
      observedGeneration: w.generation,
      updatedReplicas: own.filter((p) => p.templateGen === w.templateGen).length,
      availableReplicas: own.filter((p) => p.ready).length,
      progressDeadlineExceeded: w.progressDeadlineExceeded,
      resourceVersion: String(w.rv),
    };
  };

  const podView = (p: SimPod): PodView => ({
    namespace: p.namespace,
    name: p.name,
    labels: p.labels,
    annotations: p.annotations,
    controlled: p.owner !== undefined,
    containers: p.containers,
    phase: 'Running',
    ready: p.ready,
    restarts: p.restarts,
    crashLooping: p.crashLooping,
    terminating: false,
    resourceVersion: String(p.rv),
  });

  /** Which revision's injector takes the pod, following Istio's webhook selectors. */
  const injectingRevision = (namespace: string, labels: Labels): string | undefined => {
    if (labels[IstioLabel.Inject] === 'false') return undefined;
    const nsLabels = namespaces.get(namespace)?.labels ?? {};
    const injection = nsLabels[IstioLabel.Injection];
    if (injection !== undefined) return injection === 'enabled' ? defaultRevision : undefined;
    const rev = nsLabels[IstioLabel.Revision] ?? labels[IstioLabel.Revision];
    if (rev === undefined || (installed && !installed.has(rev))) return undefined;
    return rev;
  };

  const admitPod = (
    namespace: string,
    name: string,
    labels: Labels,
    annotations: Labels,
    owner: WorkloadRef | undefined,
  ): SimPod => {
    let candidate: AdmissionPod = { namespace, name, labels, annotations, ...(owner ? { owner } : {}) };
    if (admission) candidate = admission(candidate);
    const pod: SimPod = {
      namespace,
      name,
      labels: candidate.labels,
      annotations: candidate.annotations,
      owner: owner ? workloadRefKey(owner) : undefined,
      templateGen: 0,
      containers: [{ name: 'app', image: 'registry.example/app:1' }],
      ready: false,
      restarts: 0,
      crashLooping: false,
      rv: rvCounter++,
    };
    const rev = injectingRevision(namespace, pod.labels);
    if (rev !== undefined) {
      const mismatch = faults.sidecarMismatch?.find((f) => f.revision === rev && targetMatches(f, owner, namespace));
      const version = mismatch ? (mismatch.version ?? '0.0.0') : (proxyVersionOfRevision(rev) ?? rev);
      pod.annotations = {
        ...pod.annotations,
        [IstioLabel.Revision]: rev,
        [IstioAnnotation.SidecarStatus]: JSON.stringify({
          initContainers: ['istio-init'],
          containers: [PROXY_CONTAINER],
          volumes: ['istio-envoy', 'istio-data', 'istio-podinfo', 'istio-token', 'istiod-ca-cert'],
          imagePullSecrets: null,
          revision: rev,
        }),
      };
      pod.labels = { ...pod.labels, 'security.istio.io/tlsMode': 'istio' };
      pod.containers = [...pod.containers, { name: PROXY_CONTAINER, image: `${hub}/proxyv2:${version}` }];
    }
    stats.podsCreated++;
    return pod;
  };

  const crashes = (p: SimPod, ref: WorkloadRef | undefined): boolean => {
    const rev = p.annotations[IstioLabel.Revision];
    return (
      rev !== undefined &&
      (faults.crashLoop ?? []).some((f) => f.revision === rev && targetMatches(f, ref, p.namespace))
    );
  };

  const startPod = (p: SimPod, ref: WorkloadRef | undefined): void => {
    p.rv = rvCounter++;
    if (crashes(p, ref)) {
      p.crashLooping = true;
      p.restarts += 1;
    } else {
      p.ready = true;
    }
  };

  const newPod = (w: SimWorkload): SimPod => {
    const name = `${w.ref.name}-${w.templateGen}-${(podCounter++).toString(36)}`;
    const pod = admitPod(w.ref.namespace, name, w.templateLabels, w.templateAnnotations, w.ref);
    const withGen: SimPod = { ...pod, templateGen: w.templateGen };
    putPod(withGen);
    return withGen;
  };

  const slowFactor = (w: SimWorkload): number =>
    (faults.slowRollout ?? []).find((f) => targetMatches(f, w.ref, w.ref.namespace))?.factor ?? 1;

  const touch = (w: SimWorkload): void => {
    w.rv = rvCounter++;
    emit('workloads', { type: 'upsert', object: workloadView(w) });
  };

  /** One rollout step: surge a batch of new pods; when they are Ready, retire as many old ones; repeat. */
  const rolloutStep = (w: SimWorkload, gen: number): void => {
    if (closed || w.templateGen !== gen || !workloads.has(workloadRefKey(w.ref))) return;
    const own = podsOf(w);
    const fresh = own.filter((p) => p.templateGen === gen);
    const old = own.filter((p) => p.templateGen !== gen);
    if (fresh.length >= w.replicas && old.length === 0) return;
    const batch = w.ref.kind === WorkloadKind.Deployment ? Math.max(1, Math.ceil(w.replicas * 0.25)) : 1;
    const created: SimPod[] = [];
    for (let i = 0; i < Math.min(batch, w.replicas - fresh.length); i++) created.push(newPod(w));
    for (const p of created) emit('pods', { type: 'upsert', object: podView(p) });
    touch(w);
    const timer = clock.setTimer(podStartMs * slowFactor(w), () => {
      if (closed || w.templateGen !== gen) return;
      for (const p of created) {
        startPod(p, w.ref);
        emit('pods', { type: 'upsert', object: podView(p) });
      }
      const readyNew = created.filter((p) => p.ready).length;
      // A batch that does not become Ready stalls the rollout, as maxUnavailable makes a Deployment do.
      const retire = old.slice(0, created.length === 0 ? old.length : readyNew);
      for (const p of retire) {
        removePod(p);
        emit('pods', { type: 'delete', object: podView(p) });
      }
      touch(w);
      if (readyNew === created.length) rolloutStep(w, gen);
    });
    w.timers.push(timer);
  };

  const startRollout = (w: SimWorkload): void => {
    for (const t of w.timers) t.cancel();
    w.timers = [];
    w.generation += 1;
    w.templateGen = w.generation;
    w.progressDeadlineExceeded = false;
    const gen = w.templateGen;
    if (w.ref.kind === WorkloadKind.Deployment) {
      w.timers.push(
        clock.setTimer(deadlineMs, () => {
          if (w.templateGen !== gen) return;
          const own = podsOf(w);
          const done = own.length === w.replicas && own.every((p) => p.templateGen === gen && p.ready);
          if (!done) {
            w.progressDeadlineExceeded = true;
            touch(w);
          }
        }),
      );
    }
    rolloutStep(w, gen);
  };

  const request = (): void => {
    if (closed) throw new ClusterAgentError(ClusterAgentErrorCode.Unavailable, 'simulated cluster is closed');
    stats.requests++;
  };

  const checkVersion = (actual: number, options: PatchOptions | undefined, what: string): void => {
    if (options?.resourceVersion !== undefined && options.resourceVersion !== String(actual))
      throw new ClusterAgentError(
        ClusterAgentErrorCode.Conflict,
        `${what} was modified (resourceVersion ${actual}, expected ${options.resourceVersion})`,
        { what },
      );
  };

  const findWorkload = (ref: WorkloadRef): SimWorkload => {
    const w = workloads.get(workloadRefKey(ref));
    if (!w) throw new ClusterAgentError(ClusterAgentErrorCode.NotFound, `${workloadRefKey(ref)} not found`, { ...ref });
    return w;
  };

  const cluster: SimulatedCluster = {
    name: config.name ?? 'simulated',

    async listNamespaces() {
      request();
      return [...namespaces].map(([n, ns]) => nsView(n, ns));
    },
    async listWorkloads(namespace) {
      request();
      const out: WorkloadView[] = [];
      for (const w of workloads.values())
        if (namespace === undefined || w.ref.namespace === namespace) out.push(workloadView(w));
      return out;
    },
    async getWorkload(ref) {
      request();
      const w = workloads.get(workloadRefKey(ref));
      return w ? workloadView(w) : undefined;
    },
    async listPods(namespace) {
      request();
      const out: PodView[] = [];
      for (const p of pods.values()) if (namespace === undefined || p.namespace === namespace) out.push(podView(p));
      return out;
    },

    async patchNamespace(name, patch: MetadataPatch, options) {
      request();
      stats.patches++;
      const ns = namespaces.get(name);
      if (!ns) throw new ClusterAgentError(ClusterAgentErrorCode.NotFound, `namespace ${name} not found`, { name });
      checkVersion(ns.rv, options, `namespace ${name}`);
      const labels = applyMapPatch(ns.labels, patch.labels);
      if (labels !== ns.labels) {
        ns.labels = labels;
        ns.rv = rvCounter++;
        emit('namespaces', { type: 'upsert', object: nsView(name, ns) });
      }
      return nsView(name, ns);
    },

    async patchWorkload(ref, patch: WorkloadPatch, options) {
      request();
      stats.patches++;
      const w = findWorkload(ref);
      checkVersion(w.rv, options, workloadRefKey(ref));
      const labels = applyMapPatch(w.labels, patch.labels);
      const templateLabels = applyMapPatch(w.templateLabels, patch.templateLabels);
      const templateAnnotations = applyMapPatch(w.templateAnnotations, patch.templateAnnotations);
      const templateChanged = templateLabels !== w.templateLabels || templateAnnotations !== w.templateAnnotations;
      if (labels === w.labels && !templateChanged) return workloadView(w);
      w.labels = labels;
      w.templateLabels = templateLabels;
      w.templateAnnotations = templateAnnotations;
      if (templateChanged) startRollout(w);
      touch(w);
      return workloadView(w);
    },

    watch<R extends WatchedResource>(resource: R, handler: WatchHandler<ResourceViews[R]>): WatchHandle {
      const set = watchers[resource] as Set<WatchHandler<ResourceViews[R]>>;
      set.add(handler);
      const objects = (
        resource === 'namespaces'
          ? [...namespaces].map(([n, ns]) => nsView(n, ns))
          : resource === 'workloads'
            ? [...workloads.values()].map(workloadView)
            : [...pods.values()].map(podView)
      ) as ResourceViews[R][];
      emit(resource, { type: 'resync', objects });
      return { stop: () => set.delete(handler) };
    },

    async getLease(namespace, name) {
      request();
      return leases.get(`${namespace}/${name}`);
    },
    async createLease(lease: LeaseSpec) {
      request();
      const key = `${lease.namespace}/${lease.name}`;
      if (leases.has(key)) throw new ClusterAgentError(ClusterAgentErrorCode.Conflict, `lease ${key} exists`, { key });
      const view = { ...lease, resourceVersion: String(rvCounter++) };
      leases.set(key, view);
      return view;
    },
    async replaceLease(lease) {
      request();
      const key = `${lease.namespace}/${lease.name}`;
      const current = leases.get(key);
      if (!current) throw new ClusterAgentError(ClusterAgentErrorCode.NotFound, `lease ${key} not found`, { key });
      if (current.resourceVersion !== lease.resourceVersion)
        throw new ClusterAgentError(ClusterAgentErrorCode.Conflict, `lease ${key} was modified`, { key });
      const view = { ...lease, resourceVersion: String(rvCounter++) };
      leases.set(key, view);
      return view;
    },

    createNamespace(name, labels = {}) {
      const ns = { labels: { 'kubernetes.io/metadata.name': name, ...labels }, rv: rvCounter++ };
      namespaces.set(name, ns);
      emit('namespaces', { type: 'upsert', object: nsView(name, ns) });
      return nsView(name, ns);
    },

    createWorkload(spec) {
      if (!namespaces.has(spec.namespace)) cluster.createNamespace(spec.namespace);
      const ref: WorkloadRef = {
        namespace: spec.namespace,
        kind: spec.kind ?? WorkloadKind.Deployment,
        name: spec.name,
      };
      const selector = { app: spec.name };
      const w: SimWorkload = {
        ref,
        labels: spec.labels ?? { app: spec.name },
        templateLabels: { ...selector, ...spec.templateLabels },
        templateAnnotations: spec.templateAnnotations ?? {},
        selector,
        replicas: spec.replicas ?? 1,
        generation: 1,
        templateGen: 1,
        progressDeadlineExceeded: false,
        rv: rvCounter++,
        timers: [],
      };
      workloads.set(workloadRefKey(ref), w);
      for (let i = 0; i < w.replicas; i++) {
        const p = newPod(w);
        startPod(p, ref);
        emit('pods', { type: 'upsert', object: podView(p) });
      }
      touch(w);
      return workloadView(w);
    },

    createBarePod(namespace, name, labels = {}) {
      if (!namespaces.has(namespace)) cluster.createNamespace(namespace);
      const p = admitPod(namespace, name, labels, {}, undefined);
      startPod(p, undefined);
      putPod(p);
      emit('pods', { type: 'upsert', object: podView(p) });
      return podView(p);
    },

    deletePod(namespace, name) {
      const key = `${namespace}/${name}`;
      const p = pods.get(key);
      if (!p) return;
      removePod(p);
      emit('pods', { type: 'delete', object: podView(p) });
      // The workload's controller replaces a deleted pod from its current template.
      const w = p.owner ? workloads.get(p.owner) : undefined;
      if (w) {
        const replacement = newPod(w);
        emit('pods', { type: 'upsert', object: podView(replacement) });
        w.timers.push(
          clock.setTimer(podStartMs * slowFactor(w), () => {
            if (!pods.has(`${replacement.namespace}/${replacement.name}`)) return;
            startPod(replacement, w.ref);
            emit('pods', { type: 'upsert', object: podView(replacement) });
            touch(w);
          }),
        );
        touch(w);
      }
    },

    setAdmission(next) {
      admission = next;
    },
    setFaults(next) {
      faults = next;
    },
    stats: () => ({ ...stats }),
    close() {
      closed = true;
      for (const w of workloads.values()) for (const t of w.timers) t.cancel();
      for (const set of Object.values(watchers)) set.clear();
    },
  };

  for (const ns of config.namespaces ?? []) {
    cluster.createNamespace(ns.name, ns.labels);
    for (const w of ns.workloads ?? []) cluster.createWorkload({ ...w, namespace: ns.name });
  }
  return cluster;
}

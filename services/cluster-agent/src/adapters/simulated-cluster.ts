import { WorkloadKind } from '@meshwave/contracts';
import type { Clock } from '@meshwave/reconcile';
import {
  workloadRefKey,
  type KubernetesPort,
  type Labels,
  type NamespaceView,
  type PodView,
  type WorkloadRef,
  type WorkloadView,
} from '../ports/kubernetes-port.js';
import { admitPod, newPod, slowFactor, startPod, touch } from './simulated-pods.js';
import { simulatedLeases, simulatedPort } from './simulated-port.js';
import { createSimStore, type SimStore, type SimWorkload } from './simulated-store.js';

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

type SimulatedKnobs = Omit<SimulatedCluster, keyof KubernetesPort | 'name'>;

/** What a test or the demo does to the cluster besides the port: create objects, inject faults, close. */
function simulatedKnobs(s: SimStore): SimulatedKnobs {
  const knobs: SimulatedKnobs = {
    createNamespace(name, labels = {}) {
      const ns = { labels: { 'kubernetes.io/metadata.name': name, ...labels }, rv: s.nextRv() };
      s.namespaces.set(name, ns);
      s.emit('namespaces', { type: 'upsert', object: s.nsView(name, ns) });
      return s.nsView(name, ns);
    },

    createWorkload(spec) {
      if (!s.namespaces.has(spec.namespace)) knobs.createNamespace(spec.namespace);
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
        rv: s.nextRv(),
        timers: [],
      };
      s.workloads.set(workloadRefKey(ref), w);
      for (let i = 0; i < w.replicas; i++) {
        const p = newPod(s, w);
        startPod(s, p, ref);
        s.emit('pods', { type: 'upsert', object: s.podView(p) });
      }
      touch(s, w);
      return s.workloadView(w);
    },

    createBarePod(namespace, name, labels = {}) {
      if (!s.namespaces.has(namespace)) knobs.createNamespace(namespace);
      const p = admitPod(s, namespace, name, labels, {}, undefined);
      startPod(s, p, undefined);
      s.putPod(p);
      s.emit('pods', { type: 'upsert', object: s.podView(p) });
      return s.podView(p);
    },

    deletePod(namespace, name) {
      const key = `${namespace}/${name}`;
      const p = s.pods.get(key);
      if (!p) return;
      s.removePod(p);
      s.emit('pods', { type: 'delete', object: s.podView(p) });
      // The workload's controller replaces a deleted pod from its current template.
      const w = p.owner ? s.workloads.get(p.owner) : undefined;
      if (w) {
        const replacement = newPod(s, w);
        s.emit('pods', { type: 'upsert', object: s.podView(replacement) });
        w.timers.push(
          s.clock.setTimer(s.podStartMs * slowFactor(s, w), () => {
            if (!s.pods.has(`${replacement.namespace}/${replacement.name}`)) return;
            startPod(s, replacement, w.ref);
            s.emit('pods', { type: 'upsert', object: s.podView(replacement) });
            touch(s, w);
          }),
        );
        touch(s, w);
      }
    },

    setAdmission(next) {
      s.admission = next;
    },
    setFaults(next) {
      s.faults = next;
    },
    stats: () => ({ ...s.stats }),
    close() {
      s.closed = true;
      for (const w of s.workloads.values()) for (const t of w.timers) t.cancel();
      for (const set of Object.values(s.watchers)) set.clear();
    },
  };
  return knobs;
}

export function createSimulatedCluster(config: SimulatedClusterConfig = {}): SimulatedCluster {
  const s = createSimStore(config);
  const knobs = simulatedKnobs(s);
  const cluster: SimulatedCluster = {
    name: config.name ?? 'simulated',
    ...simulatedPort(s),
    ...simulatedLeases(s),
    ...knobs,
  };
  for (const ns of config.namespaces ?? []) {
    cluster.createNamespace(ns.name, ns.labels);
    for (const w of ns.workloads ?? []) cluster.createWorkload({ ...w, namespace: ns.name });
  }
  return cluster;
}

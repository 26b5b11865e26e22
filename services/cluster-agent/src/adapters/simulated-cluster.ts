import { WorkloadKind } from '@meshwave/contracts';
import { workloadRefKey, type KubernetesPort, type WorkloadRef } from '../ports/kubernetes-port.js';
import type { GatewayDeploymentPort } from '../ports/gateway-port.js';
import { admitPod, newPod, newSimWorkload, slowFactor, startPod, touch } from './simulated-pods.js';
import { simulatedLeases, simulatedPort } from './simulated-port.js';
import { simulatedGateways } from './simulated-gateways.js';
import { simulatedAmbient } from './simulated-ambient.js';
import { createSimStore, type SimStore } from './simulated-store.js';
import type { SimulatedCluster, SimulatedClusterConfig } from './simulated-types.js';

export type {
  AdmissionPod,
  FaultTarget,
  PodAdmission,
  SimulatedCluster,
  SimulatedClusterConfig,
  SimulatedClusterStats,
  SimulatedFaults,
  SimulatedNamespaceSpec,
  SimulatedWorkloadSpec,
} from './simulated-types.js';
export type {
  NodeChangeHandler,
  SimulatedAmbient,
  SimulatedAmbientConfig,
  SimulatedNodeAgentSpec,
  SimulatedNodeSpec,
  SimulatedWaypointSpec,
} from './simulated-ambient-types.js';

type SimulatedKnobs = Omit<SimulatedCluster, keyof KubernetesPort | keyof GatewayDeploymentPort | 'name' | 'ambient'>;

/** What a test or the demo does to the cluster besides the port: create objects, inject faults, close. */
function servingPods(s: SimStore, namespace: string, name?: string): ReturnType<SimulatedCluster['servingPods']> {
  const out: { name: string; ready: number; revisions: ReadonlyMap<string | null, number> }[] = [];
  for (const w of s.workloadsIn(namespace, name)) {
    const revisions = s.servingOf(w);
    if (revisions === undefined) continue;
    let ready = 0;
    for (const n of revisions.values()) ready += n;
    out.push({ name: w.ref.name, ready, revisions });
  }
  return out;
}

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
      const w = newSimWorkload(s, {
        ref,
        labels: spec.labels ?? { app: spec.name },
        templateLabels: { ...selector, ...spec.templateLabels },
        templateAnnotations: spec.templateAnnotations ?? {},
        selector,
        replicas: spec.replicas ?? 1,
      });
      s.putWorkload(w);
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
    workloadsIn: (namespace, name) => s.workloadsIn(namespace, name).map(s.workloadView),
    podsOfWorkload(ref) {
      const w = s.workloads.get(workloadRefKey(ref));
      return w ? s.podsOf(w).map(s.podView) : [];
    },
    servingPods: (namespace, name) => servingPods(s, namespace, name),
    servingStamp: (namespace, name) => s.servingStamp(namespace, name),
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
  // an eviction or delete of a workload's pod through the ambient port: its controller replaces it
  const ambient = simulatedAmbient(s, {
    has: (namespace, name) => s.pods.has(`${namespace}/${name}`),
    delete: knobs.deletePod,
  });
  const cluster: SimulatedCluster = {
    name: config.name ?? 'simulated',
    ...simulatedPort(s),
    ...simulatedLeases(s),
    ...simulatedGateways(s),
    ...knobs,
    ambient,
    close() {
      ambient.close();
      knobs.close();
    },
  };
  // nodes first, so the workloads' pods are placed on them (ADR 0057)
  for (const n of config.ambient?.nodes ?? []) ambient.createNode(n);
  for (const ns of config.namespaces ?? []) {
    cluster.createNamespace(ns.name, ns.labels);
    for (const w of ns.workloads ?? []) cluster.createWorkload({ ...w, namespace: ns.name });
  }
  for (const a of config.ambient?.nodeAgents ?? []) ambient.createNodeAgent(a);
  for (const w of config.ambient?.waypoints ?? []) ambient.createWaypoint(w);
  return cluster;
}

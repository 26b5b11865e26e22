import { AmbientLabel, GatewayLabel, IstioLabel, PROXY_CONTAINER, proxyVersionOfRevision } from '@meshwave/istio';
import type { TimerHandle } from '@meshwave/reconcile';
import type { NodePodView, WaypointView } from '../ports/ambient-port.js';
import type { Labels } from '../ports/kubernetes-port.js';
import type { SimStore } from './simulated-store.js';
import type { SimulatedWaypointSpec } from './simulated-ambient-types.js';

// Waypoints on the simulated cluster, with istiod's waypoint controller (ADR 0057): for each waypoint `Gateway`
// istiod runs a Deployment rendered on the revision of the Gateway's `istio.io/rev` label; its pods are labelled
// `gateway.networking.k8s.io/gateway-name`, never injected, and say their revision in their `istio.io/rev`
// annotation. When the label changes, istiod renders the Deployment again: new pods on the new revision start
// (Ready after the simulated pod start), then the old ones go, as a Deployment's rolling update does. Like the node
// agents' pods, they are no workloads of the simulated cluster's `KubernetesPort` (on a real cluster the agent would
// list the waypoint's Deployment; see ADR 0057); they are read through the ambient port, indexed by waypoint and by
// node, and placed on nodes by the cluster's scheduler.

interface SimWaypoint {
  readonly namespace: string;
  readonly name: string;
  labels: Labels;
  readonly replicas: number;
  /** bumps with every render of its Deployment; its pods remember the one they were made from */
  generation: number;
}

interface SimWaypointPod {
  readonly namespace: string;
  readonly name: string;
  readonly waypoint: string;
  readonly generation: number;
  readonly nodeName: string | undefined;
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly image: string;
  ready: boolean;
}

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

/** The pod labels of istiod's waypoint template. */
const waypointPodLabels = (gateway: string): Labels => ({
  [GatewayLabel.GatewayApiName]: gateway,
  'gateway.istio.io/managed': 'istio.io-mesh-controller',
  'sidecar.istio.io/inject': 'false',
  [AmbientLabel.DataplaneMode]: 'none',
});

const podView = (p: SimWaypointPod): NodePodView => ({
  namespace: p.namespace,
  name: p.name,
  nodeName: p.nodeName,
  labels: p.labels,
  annotations: p.annotations,
  ownerKind: 'ReplicaSet',
  containers: [{ name: PROXY_CONTAINER, image: p.image }],
  ready: p.ready,
  terminating: false,
});

function remember<T>(index: Map<string, Map<string, T>>, at: string, k: string, value: T | undefined): void {
  let entries = index.get(at);
  if (value !== undefined) {
    if (entries === undefined) index.set(at, (entries = new Map()));
    entries.set(k, value);
  } else if (entries !== undefined) {
    entries.delete(k);
    if (entries.size === 0) index.delete(at);
  }
}

/** The waypoints of one simulated cluster and the pods istiod runs for them. */
export class SimulatedWaypoints {
  private readonly waypoints = new Map<string, SimWaypoint>();
  private readonly pods = new Map<string, SimWaypointPod>();
  private readonly podsByWaypoint = new Map<string, Map<string, SimWaypointPod>>();
  private readonly podsByNode = new Map<string, Map<string, SimWaypointPod>>();
  private readonly timers: TimerHandle[] = [];

  constructor(private readonly s: SimStore) {}

  /** a waypoint whose pods run, Ready, on its revision */
  create(spec: SimulatedWaypointSpec): WaypointView {
    const w: SimWaypoint = {
      namespace: spec.namespace,
      name: spec.name,
      labels: { [AmbientLabel.WaypointFor]: spec.for ?? 'service', [IstioLabel.Revision]: spec.revision },
      replicas: spec.replicas ?? 1,
      generation: 1,
    };
    this.waypoints.set(key(w.namespace, w.name), w);
    for (let i = 0; i < w.replicas; i++) this.startPod(w, true);
    return { namespace: w.namespace, name: w.name, labels: w.labels };
  }

  list(): WaypointView[] {
    return [...this.waypoints.values()].map((w) => ({ namespace: w.namespace, name: w.name, labels: w.labels }));
  }

  has(namespace: string, name: string): boolean {
    return this.waypoints.has(key(namespace, name));
  }

  /** the Gateway's `istio.io/rev` set: istiod renders its Deployment on the new revision */
  relabel(namespace: string, name: string, revision: string): void {
    const w = this.waypoints.get(key(namespace, name));
    if (w === undefined || w.labels[IstioLabel.Revision] === revision) return;
    w.labels = { ...w.labels, [IstioLabel.Revision]: revision };
    w.generation++;
    const generation = w.generation;
    const fresh = Array.from({ length: w.replicas }, () => this.startPod(w, false));
    this.later(() => {
      if (w.generation !== generation) return;
      for (const p of fresh) if (this.pods.get(key(p.namespace, p.name)) === p) p.ready = true;
      // the new pods are Ready: the rolling update retires every pod of an older render
      for (const p of [...(this.podsByWaypoint.get(key(namespace, name))?.values() ?? [])])
        if (p.generation !== generation) this.index(p, false);
    });
  }

  /** the waypoints' pods in `namespace` that carry every label of `labels` */
  podsLabelled(namespace: string, labels: Labels): NodePodView[] {
    const named = labels[GatewayLabel.GatewayApiName];
    const waypoints =
      named !== undefined
        ? [key(namespace, named)]
        : [...this.waypoints.values()].filter((w) => w.namespace === namespace).map((w) => key(w.namespace, w.name));
    const out: NodePodView[] = [];
    for (const at of waypoints)
      for (const p of this.podsByWaypoint.get(at)?.values() ?? [])
        if (Object.entries(labels).every(([k, v]) => p.labels[k] === v)) out.push(podView(p));
    this.s.stats.objectsVisited += out.length;
    return out;
  }

  /** the waypoints' pods on a node */
  podsOn(node: string): NodePodView[] {
    return [...(this.podsByNode.get(node)?.values() ?? [])].map(podView);
  }

  /** a deleted (or evicted) waypoint pod: its Deployment makes the next one from its current render */
  delete(namespace: string, name: string): 'deleted' | 'absent' {
    const p = this.pods.get(key(namespace, name));
    if (p === undefined) return 'absent';
    this.index(p, false);
    const w = this.waypoints.get(p.waypoint);
    if (w !== undefined && p.generation === w.generation) {
      const next = this.startPod(w, false);
      this.later(() => {
        if (this.pods.get(key(next.namespace, next.name)) === next) next.ready = true;
      });
    }
    return 'deleted';
  }

  close(): void {
    for (const t of this.timers.splice(0)) t.cancel();
  }

  private later(run: () => void): void {
    const { s } = this;
    this.timers.push(
      s.clock.setTimer(s.podStartMs, () => {
        if (!s.closed) run();
      }),
    );
  }

  private startPod(w: SimWaypoint, ready: boolean): SimWaypointPod {
    const { s } = this;
    const revision = w.labels[IstioLabel.Revision] ?? s.defaultRevision;
    const nodeName = s.scheduler.place();
    const p: SimWaypointPod = {
      namespace: w.namespace,
      name: `${w.name}-${w.generation}-${s.nextPodId()}`,
      waypoint: key(w.namespace, w.name),
      generation: w.generation,
      nodeName,
      labels: waypointPodLabels(w.name),
      annotations: { [IstioLabel.Revision]: revision },
      image: `${s.hub}/proxyv2:${proxyVersionOfRevision(revision) ?? revision}`,
      ready,
    };
    s.stats.podsCreated++;
    this.index(p, true);
    return p;
  }

  private index(p: SimWaypointPod, present: boolean): void {
    const k = key(p.namespace, p.name);
    if (present) this.pods.set(k, p);
    else this.pods.delete(k);
    remember(this.podsByWaypoint, p.waypoint, k, present ? p : undefined);
    if (p.nodeName !== undefined) remember(this.podsByNode, p.nodeName, k, present ? p : undefined);
  }
}

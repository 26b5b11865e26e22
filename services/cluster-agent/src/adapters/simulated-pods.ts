import { WorkloadKind } from '@meshwave/contracts';
import { IstioAnnotation, IstioLabel, PROXY_CONTAINER, proxyVersionOfRevision } from '@meshwave/istio';
import { workloadRefKey, type Labels, type WorkloadRef } from '../ports/kubernetes-port.js';
import type { AdmissionPod } from './simulated-types.js';
import { targetMatches, type SimPod, type SimStore, type SimWorkload } from './simulated-store.js';

/** How the simulated cluster's controllers and injector treat pods: admission, start, rollouts. */

/** Which revision's injector takes the pod, following Istio's webhook selectors. */
function injectingRevision(s: SimStore, namespace: string, labels: Labels): string | undefined {
  if (labels[IstioLabel.Inject] === 'false') return undefined;
  const nsLabels = s.namespaces.get(namespace)?.labels ?? {};
  const injection = nsLabels[IstioLabel.Injection];
  if (injection !== undefined) return injection === 'enabled' ? s.defaultRevision : undefined;
  const rev = nsLabels[IstioLabel.Revision] ?? labels[IstioLabel.Revision];
  if (rev === undefined || (s.installed && !s.installed.has(rev))) return undefined;
  return rev;
}

/**
 * The injector's record of what it added (`sidecar.istio.io/status`), as Istio writes it: the same value for every
 * pod of a revision, so it is built once per revision (the same text, one string for all of its pods).
 */
const sidecarStatuses = new Map<string, string>();
function sidecarStatusOf(revision: string): string {
  let status = sidecarStatuses.get(revision);
  if (status === undefined) {
    status = JSON.stringify({
      initContainers: ['istio-init'],
      containers: [PROXY_CONTAINER],
      volumes: ['istio-envoy', 'istio-data', 'istio-podinfo', 'istio-token', 'istiod-ca-cert'],
      imagePullSecrets: null,
      revision,
    });
    if (sidecarStatuses.size >= 256) sidecarStatuses.clear();
    sidecarStatuses.set(revision, status);
  }
  return status;
}

/** The node a new pod runs on, when the cluster has a schedulable one (ADR 0057). */
function placed(s: SimStore): { nodeName?: string } {
  const nodeName = s.scheduler.place();
  return nodeName === undefined ? {} : { nodeName };
}

/** A new pod through the admission chain: meshwave's webhook (when set), then Istio's injector. */
export function admitPod(
  s: SimStore,
  namespace: string,
  name: string,
  labels: Labels,
  annotations: Labels,
  owner: WorkloadRef | undefined,
  /** the owner's template generation the pod is made from (0 for a bare pod) */
  templateGen = 0,
): SimPod {
  let candidate: AdmissionPod = { namespace, name, labels, annotations, ...(owner ? { owner } : {}) };
  if (s.admission) candidate = s.admission(candidate);
  const pod: SimPod = {
    namespace,
    name,
    labels: candidate.labels,
    annotations: candidate.annotations,
    owner: owner ? workloadRefKey(owner) : undefined,
    ...placed(s),
    templateGen,
    containers: [{ name: 'app', image: 'registry.example/app:1' }],
    ready: false,
    restarts: 0,
    crashLooping: false,
    rv: s.nextRv(),
  };
  const rev = injectingRevision(s, namespace, pod.labels);
  if (rev !== undefined) {
    const mismatch = s.faults.sidecarMismatch?.find((f) => f.revision === rev && targetMatches(f, owner, namespace));
    const version = mismatch ? (mismatch.version ?? '0.0.0') : (proxyVersionOfRevision(rev) ?? rev);
    pod.annotations = {
      ...pod.annotations,
      [IstioLabel.Revision]: rev,
      [IstioAnnotation.SidecarStatus]: sidecarStatusOf(rev),
    };
    pod.labels = { ...pod.labels, 'security.istio.io/tlsMode': 'istio' };
    pod.containers = [...pod.containers, { name: PROXY_CONTAINER, image: `${s.hub}/proxyv2:${version}` }];
  }
  s.stats.podsCreated++;
  return pod;
}

const crashes = (s: SimStore, p: SimPod, ref: WorkloadRef | undefined): boolean => {
  const rev = p.annotations[IstioLabel.Revision];
  return (
    rev !== undefined &&
    (s.faults.crashLoop ?? []).some((f) => f.revision === rev && targetMatches(f, ref, p.namespace))
  );
};

/** The pod's containers start: Ready, or crash-looping when a fault says so. */
export function startPod(s: SimStore, p: SimPod, ref: WorkloadRef | undefined): void {
  p.rv = s.nextRv();
  if (crashes(s, p, ref)) {
    p.crashLooping = true;
    p.restarts += 1;
  } else {
    s.markReady(p);
  }
}

/** A new workload at its first generation, no pod yet: what a create writes. */
export function newSimWorkload(
  s: SimStore,
  fields: Pick<SimWorkload, 'ref' | 'labels' | 'templateLabels' | 'templateAnnotations' | 'selector' | 'replicas'>,
): SimWorkload {
  return { ...fields, generation: 1, templateGen: 1, progressDeadlineExceeded: false, rv: s.nextRv(), timers: [] };
}

/** A pod the workload's controller creates from its current template. */
export function newPod(s: SimStore, w: SimWorkload): SimPod {
  const name = `${w.ref.name}-${w.templateGen}-${s.nextPodId()}`;
  const pod = admitPod(s, w.ref.namespace, name, w.templateLabels, w.templateAnnotations, w.ref, w.templateGen);
  s.putPod(pod);
  return pod;
}

export const slowFactor = (s: SimStore, w: SimWorkload): number =>
  (s.faults.slowRollout ?? []).find((f) => targetMatches(f, w.ref, w.ref.namespace))?.factor ?? 1;

/** The workload changed: a new resourceVersion, announced to its watchers. */
export function touch(s: SimStore, w: SimWorkload): void {
  w.rv = s.nextRv();
  s.emit('workloads', { type: 'upsert', object: s.workloadView(w) });
}

/** One rollout step: surge a batch of new pods; when they are Ready, retire as many old ones; repeat. */
function rolloutStep(s: SimStore, w: SimWorkload, gen: number): void {
  if (s.closed || w.templateGen !== gen || !s.workloads.has(workloadRefKey(w.ref))) return;
  const own = s.podsOf(w);
  const fresh = own.filter((p) => p.templateGen === gen);
  const old = own.filter((p) => p.templateGen !== gen);
  if (fresh.length >= w.replicas && old.length === 0) {
    rolloutDone(s, w);
    return;
  }
  const batch = w.ref.kind === WorkloadKind.Deployment ? Math.max(1, Math.ceil(w.replicas * 0.25)) : 1;
  const created: SimPod[] = [];
  for (let i = 0; i < Math.min(batch, w.replicas - fresh.length); i++) created.push(newPod(s, w));
  for (const p of created) s.emit('pods', { type: 'upsert', object: s.podView(p) });
  touch(s, w);
  const timer = s.clock.setTimer(s.podStartMs * slowFactor(s, w), () => {
    if (s.closed || w.templateGen !== gen) return;
    for (const p of created) {
      startPod(s, p, w.ref);
      s.emit('pods', { type: 'upsert', object: s.podView(p) });
    }
    const readyNew = created.filter((p) => p.ready).length;
    // A batch that does not become Ready stalls the rollout, as maxUnavailable makes a Deployment do.
    const retire = old.slice(0, created.length === 0 ? old.length : readyNew);
    for (const p of retire) {
      s.removePod(p);
      s.emit('pods', { type: 'delete', object: s.podView(p) });
    }
    touch(s, w);
    if (readyNew === created.length) rolloutStep(s, w, gen);
  });
  w.timers.push(timer);
}

/** The workload's rollout ended (its last old pod is gone) or the workload did: it no longer counts as restarting. */
export function rolloutDone(s: SimStore, w: SimWorkload): void {
  if (!w.rollingOut) return;
  w.rollingOut = false;
  s.stats.restarting--;
}

/** The pod template changed: a new generation rolls out, and a Deployment's progress deadline starts. */
export function startRollout(s: SimStore, w: SimWorkload): void {
  for (const t of w.timers) t.cancel();
  w.timers = [];
  w.generation += 1;
  w.templateGen = w.generation;
  w.progressDeadlineExceeded = false;
  const gen = w.templateGen;
  if (!w.rollingOut) {
    w.rollingOut = true;
    s.stats.restarting++;
    s.stats.peakRestarting = Math.max(s.stats.peakRestarting, s.stats.restarting);
  }
  if (w.ref.kind === WorkloadKind.Deployment) {
    w.timers.push(
      s.clock.setTimer(s.deadlineMs, () => {
        if (w.templateGen !== gen) return;
        const own = s.podsOf(w);
        const done = own.length === w.replicas && own.every((p) => p.templateGen === gen && p.ready);
        if (!done) {
          w.progressDeadlineExceeded = true;
          touch(s, w);
        }
      }),
    );
  }
  rolloutStep(s, w, gen);
}

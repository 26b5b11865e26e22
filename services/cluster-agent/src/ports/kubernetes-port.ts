import type { WorkloadKind, WorkloadPreflight } from '@meshwave/contracts';
import type { ControlPlaneView } from '@meshwave/istio';

/**
 * The agent's only way into a cluster: list/watch/patch of namespaces and workloads, list/watch of pods, and
 * the Lease it elects its leader with. Two implementations pass one scenario suite: the real apiserver
 * (`createKubernetesClient`) and an in-memory cluster (`createSimulatedCluster`). Views are normalised so the
 * decision code never sees the three workload kinds' different status fields.
 */
export interface KubernetesPort {
  listNamespaces(): Promise<readonly NamespaceView[]>;
  listWorkloads(namespace?: string): Promise<readonly WorkloadView[]>;
  getWorkload(ref: WorkloadRef): Promise<WorkloadView | undefined>;
  listPods(namespace?: string): Promise<readonly PodView[]>;

  /** merge-patches namespace labels; `null` removes a label. With `resourceVersion` the write is conditional (409 when stale). */
  patchNamespace(name: string, patch: MetadataPatch, options?: PatchOptions): Promise<NamespaceView>;
  /** merge-patches the workload's own labels and its pod template's labels and annotations */
  patchWorkload(ref: WorkloadRef, patch: WorkloadPatch, options?: PatchOptions): Promise<WorkloadView>;

  /**
   * Informer semantics (namespaces, workloads, pods, PodDisruptionBudgets, webhook configurations): a `resync` with every object
   * after each (re)list, then `upsert`/`delete` per change.
   * The watch survives errors on its own (re-list on 410 Gone, restart with capped backoff).
   */
  watch<R extends WatchedResource>(resource: R, handler: WatchHandler<ResourceViews[R]>): WatchHandle;

  /**
   * The cluster's Istio control planes (istiod Deployments of istio-system) and revision tags
   * (`istio-revision-tag-<tag>` MutatingWebhookConfigurations), read-only: two list calls. Undefined where the
   * cluster cannot say (a simulated cluster that installs any revision).
   */
  readIstioInstallation(): Promise<IstioInstallation | undefined>;

  /**
   * Points revision tag `tag` at `revision` as `istioctl tag set --overwrite` does (ADR 0035): its
   * `istio-revision-tag-<tag>` configuration takes the clientConfig of the revision's own injection webhook.
   * Two gets and, when it points elsewhere, one conditional update. `missing` when either configuration is not
   * there (nothing written).
   */
  pointRevisionTag(tag: string, revision: string): Promise<RevisionTagWrite>;

  /**
   * The CronJob owning each Job (`namespace/job` → CronJob name), so pods of scheduled Jobs are named after what
   * an operator knows, and each CronJob whose pod template names a revision (`istio.io/rev`): it starts pods of
   * that revision at its next run. One list call of Jobs and one of CronJobs, read-only.
   */
  readCronJobs(): Promise<CronJobs>;

  getLease(namespace: string, name: string): Promise<LeaseView | undefined>;
  /** creates the lease; a `Conflict` error when it exists already */
  createLease(lease: LeaseSpec): Promise<LeaseView>;
  /** replaces the lease if `resourceVersion` still matches; a `Conflict` error otherwise */
  replaceLease(lease: LeaseSpec & { readonly resourceVersion: string }): Promise<LeaseView>;
}

export type Labels = Readonly<Record<string, string>>;

/** What a cluster says of its Istio installation: the inventory's `controlPlanes` and `tags`. */
export interface IstioInstallation {
  readonly controlPlanes: readonly ControlPlaneView[];
  /** tag → the revision it points to */
  readonly tags: Readonly<Record<string, string>>;
  /** revisions whose own injection webhook (`istio-sidecar-injector-<rev>`) is registered */
  readonly injectors: readonly string[];
}

export interface CronJobs {
  /** `namespace/job` → the CronJob that created it */
  readonly ownerOfJob: ReadonlyMap<string, string>;
  /** CronJobs whose pod template labels `istio.io/rev` */
  readonly templates: readonly { readonly namespace: string; readonly name: string; readonly revision: string }[];
}

/** What pointing a revision tag did: idempotent, so a second call reports `unchanged`. */
export type RevisionTagWrite =
  { readonly outcome: 'unchanged' | 'updated' } | { readonly outcome: 'missing'; readonly detail: string };

export interface WorkloadRef {
  readonly namespace: string;
  readonly kind: WorkloadKind;
  readonly name: string;
}

export const workloadRefKey = (r: WorkloadRef): string => `${r.namespace}/${r.kind}/${r.name}`;

export interface NamespaceView {
  readonly name: string;
  readonly labels: Labels;
  readonly resourceVersion: string;
}

/** A Deployment, StatefulSet or DaemonSet with the status fields the agent reads, under common names. */
export interface WorkloadView extends WorkloadRef {
  readonly labels: Labels;
  readonly templateLabels: Labels;
  readonly templateAnnotations: Labels;
  /** the pod template's container images by container name (istiod's `discovery` image is its version) */
  readonly images?: Labels;
  /** what the preflight checks read of it (ADR 0035); absent where the port cannot say (a simulated cluster) */
  readonly preflight?: WorkloadPreflight;
  /** `spec.selector.matchLabels`: which pods are this workload's */
  readonly selector: Labels;
  /** desired pods: `spec.replicas`, or `status.desiredNumberScheduled` for a DaemonSet */
  readonly replicas: number;
  readonly generation: number;
  readonly observedGeneration: number;
  /** pods of the current template: `updatedReplicas` / `updatedNumberScheduled` */
  readonly updatedReplicas: number;
  /** `availableReplicas` / `numberAvailable` */
  readonly availableReplicas: number;
  /** Deployment condition Progressing=False with reason ProgressDeadlineExceeded */
  readonly progressDeadlineExceeded: boolean;
  readonly resourceVersion: string;
}

export interface ContainerView {
  readonly name: string;
  readonly image: string;
}

export interface PodView {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  /** false for a bare pod (no controller owner reference): reported, never deleted */
  readonly controlled: boolean;
  /** its controller owner reference (a ReplicaSet, a Job, ...), when it has one */
  readonly owner?: { readonly kind: string; readonly name: string };
  readonly containers: readonly ContainerView[];
  readonly phase: string;
  readonly ready: boolean;
  /** sum of container restart counts */
  readonly restarts: number;
  /** a container waits in CrashLoopBackOff */
  readonly crashLooping: boolean;
  /** has a deletionTimestamp: on its way out, not counted */
  readonly terminating: boolean;
  readonly resourceVersion: string;
}

/** A label selector as Kubernetes writes it (`metav1.LabelSelector`). */
export interface LabelSelectorView {
  readonly matchLabels?: Labels;
  readonly matchExpressions?: readonly {
    readonly key: string;
    readonly operator: string;
    readonly values?: readonly string[];
  }[];
}

/** A PodDisruptionBudget: which pods it covers and how many of them it keeps (an int or a percentage). */
export interface DisruptionBudgetView {
  readonly namespace: string;
  readonly name: string;
  /** `spec.selector`; null (none) selects no pod, an empty one every pod of the namespace (policy/v1) */
  readonly selector: LabelSelectorView | null;
  readonly minAvailable?: number | string;
  readonly maxUnavailable?: number | string;
  readonly resourceVersion: string;
}

/** A MutatingWebhookConfiguration (cluster-scoped), as much as tells whose webhook it is. */
export interface WebhookConfigurationView {
  readonly name: string;
  readonly labels: Labels;
  readonly resourceVersion: string;
}

export interface LeaseSpec {
  readonly namespace: string;
  readonly name: string;
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  /** RFC 3339 with microseconds, as the API wants */
  readonly acquireTime: string;
  readonly renewTime: string;
  readonly leaseTransitions: number;
}

export interface LeaseView extends LeaseSpec {
  readonly resourceVersion: string;
}

/** Label/annotation changes for a JSON merge patch: a string sets, `null` removes. */
export type MapPatch = Readonly<Record<string, string | null>>;

export interface MetadataPatch {
  readonly labels?: MapPatch;
}

export interface WorkloadPatch {
  readonly labels?: MapPatch;
  readonly templateLabels?: MapPatch;
  readonly templateAnnotations?: MapPatch;
}

export interface PatchOptions {
  /** optimistic concurrency: the write fails with `Conflict` if the object changed since this version */
  readonly resourceVersion?: string;
}

export interface ResourceViews {
  readonly namespaces: NamespaceView;
  readonly workloads: WorkloadView;
  readonly pods: PodView;
  /** PodDisruptionBudgets (policy/v1), read-only: the preflight's `noDisruptionAllowed` (ADR 0042) */
  readonly disruptionBudgets: DisruptionBudgetView;
  /**
   * MutatingWebhookConfigurations, read-only: a revision's injection webhook or a revision tag changed by hand is
   * seen at once, not after the control-plane check's cache window (ADR 0046)
   */
  readonly webhookConfigurations: WebhookConfigurationView;
}
export type WatchedResource = keyof ResourceViews;

export type WatchEvent<T> =
  | { readonly type: 'resync'; readonly objects: readonly T[] }
  | { readonly type: 'upsert'; readonly object: T }
  | { readonly type: 'delete'; readonly object: T };

export type WatchHandler<T> = (event: WatchEvent<T>) => void;

export interface WatchHandle {
  stop(): void;
}

/** True when `labels` carries every pair of `selector` (an empty selector selects nothing, as for workloads). */
export function selectorMatches(selector: Labels, labels: Labels): boolean {
  const entries = Object.entries(selector);
  if (entries.length === 0) return false;
  return entries.every(([k, v]) => labels[k] === v);
}

/** Applies a merge-patch map to a label map; returns the same object when nothing changes. */
export function applyMapPatch(current: Labels, patch: MapPatch | undefined): Labels {
  if (!patch) return current;
  let next: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (v === null ? !(k in current) : current[k] === v) continue;
    next ??= { ...current };
    if (v === null) delete next[k];
    else next[k] = v;
  }
  return next ?? current;
}

/** True when applying `patch` to `current` would change nothing (so the write can be skipped). */
export const mapPatchIsNoop = (current: Labels, patch: MapPatch | undefined): boolean =>
  applyMapPatch(current, patch) === current;
